"""Readiness on the real cluster: healthy sets succeed, each failure class fails fast with
its cause (the local cluster's simulation conventions, docs/local-cluster.md)."""
from __future__ import annotations

import time
import uuid

import pytest
from hookrun import deployment, run_hook


def ns_doc(ns):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}


def deploy(ns, name, image, replicas=2, **resources):
    container = {"name": name, "image": image}
    if resources:
        container["resources"] = {"requests": resources}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [container]}}}}


def job(ns, name, image):
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": ns},
            "spec": {"backoffLimit": 0, "template": {"spec": {
                "restartPolicy": "Never", "containers": [{"name": name, "image": image}]}}}}


def stack():
    return f"s{uuid.uuid4().hex[:6]}"


def test_healthy_workloads_and_crd_set_succeed(kubectl, hook_env, ns):
    group = f"{uuid.uuid4().hex[:6]}.example.com"
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": f"widgets.{group}"},
           "spec": {"group": group, "scope": "Namespaced",
                    "names": {"kind": "Widget", "plural": "widgets", "singular": "widget"},
                    "versions": [{"name": "v1", "served": True, "storage": True,
                                  "schema": {"openAPIV3Schema": {
                                      "type": "object",
                                      "x-kubernetes-preserve-unknown-fields": True}}}]}}
    widget = {"apiVersion": f"{group}/v1", "kind": "Widget",
              "metadata": {"name": "w1", "namespace": ns}, "spec": {"size": 3}}
    sts = {"apiVersion": "apps/v1", "kind": "StatefulSet",
           "metadata": {"name": "db", "namespace": ns},
           "spec": {"replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                    "template": {"metadata": {"labels": {"app": "db"}},
                                 "spec": {"containers": [{"name": "db", "image": "postgres:16"}]}}}}
    docs = [widget, ns_doc(ns), crd, deploy(ns, "web", "nginx:1.27", 3), sts,
            job(ns, "migrate", "busybox:1.36")]
    run = run_hook(deployment(docs, stack=stack(), options={"timeout": 120}), hook_env)
    assert run.code == 0, run.err
    assert kubectl.get("statefulset", "db", "-n", ns)["status"]["readyReplicas"] == 2
    assert any(c["type"] == "Complete" and c["status"] == "True"
               for c in kubectl.get("job", "migrate", "-n", ns)["status"]["conditions"])
    assert kubectl.get(f"widgets.{group}", "w1", "-n", ns)["spec"]["size"] == 3
    assert run.elapsed < 60
    kubectl("delete", "crd", f"widgets.{group}", "--wait=false", check=False)


@pytest.mark.parametrize("name,docs,needles", [
    ("image pull", lambda ns: [deploy(ns, "web", "nginx:missing")],
     ["Deployment/{ns}/web", "ImagePullBackOff|ErrImagePull", "nginx:missing"]),
    ("crash loop", lambda ns: [deploy(ns, "web", "example/crashloop:1")],
     ["Deployment/{ns}/web", "CrashLoopBackOff", "exit code"]),
    ("failed job", lambda ns: [job(ns, "migrate", "example/fail:1")],
     ["Job/{ns}/migrate", "fail"]),
])
def test_failures_are_reported_fast_with_cause(hook_env, ns, name, docs, needles):
    t = time.monotonic()
    run = run_hook(deployment([ns_doc(ns)] + docs(ns), stack=stack(),
                              options={"timeout": 300}), hook_env)
    assert run.code == 6, run.err
    assert time.monotonic() - t < 30, f"{name}: took {run.elapsed:.1f}s, not fast"
    last = run.err.strip().splitlines()
    error = [line for line in last if line.startswith("ERROR:")][0]
    for needle in needles:
        options = needle.format(ns=ns).split("|")
        assert any(o in run.err for o in options), f"{options} not in {run.err}"
    assert error.startswith("ERROR:")


def test_unschedulable_fails_after_grace(hook_env, ns):
    run = run_hook(deployment([ns_doc(ns), deploy(ns, "huge", "nginx:1.27", 1, cpu="1000")],
                              stack=stack(), options={"timeout": 300, "unschedulable_grace": 3}),
                   hook_env)
    assert run.code == 6, run.err
    assert "Unschedulable" in run.err
    assert run.elapsed < 20


def test_timeout_lists_what_is_pending_and_answers_in_time(hook_env, ns):
    # Unschedulable with a long grace: not failed, just never ready.
    run = run_hook(deployment([ns_doc(ns), deploy(ns, "huge", "nginx:1.27", 1, cpu="1000")],
                              stack=stack(), options={"timeout": 6, "unschedulable_grace": 600}),
                   hook_env)
    assert run.code == 7, run.err
    assert f"Deployment/{ns}/huge" in run.err and "0 of 1" in run.err
    assert run.elapsed < 6 + 3


def test_wait_false_and_annotation_opt_out(hook_env, ns):
    opted = deploy(ns, "huge", "nginx:1.27", 1, cpu="1000")
    opted["metadata"]["annotations"] = {"heat-k8s-hook.dev/wait": "false"}
    run = run_hook(deployment([ns_doc(ns), opted], stack=stack(), options={"timeout": 30}),
                   hook_env)
    assert run.code == 0, run.err
    run = run_hook(deployment([ns_doc(ns), deploy(ns, "huge2", "nginx:1.27", 1, cpu="1000")],
                              stack=stack(), options={"wait": False}), hook_env)
    assert run.code == 0, run.err
