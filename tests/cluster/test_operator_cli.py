"""Every CLI subcommand against the real cluster, as an operator runs it (a subprocess)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest
from hookrun import deployment

PW = "hunter22-cli-secret"


def cli(*args, env=None, timeout=180):
    return subprocess.run([sys.executable, "-m", "heat_k8s_hook.cli.main", *args], text=True,
                          capture_output=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))


def crd(group):
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"widgets.{group}"},
            "spec": {"group": group, "scope": "Namespaced",
                     "names": {"kind": "Widget", "plural": "widgets", "singular": "widget"},
                     "versions": [{"name": "v1", "served": True, "storage": True,
                                   "schema": {"openAPIV3Schema": {
                                       "type": "object",
                                       "x-kubernetes-preserve-unknown-fields": True}}}]}}


def app(ns, greeting="hello", image="nginx:1.27", extra=()):
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web-config",
                                                                "namespace": ns},
         "data": {"greeting": greeting}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "db", "namespace": ns},
         "stringData": {"password": PW if greeting == "hello" else PW + "-rotated"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web",
                                                                      "namespace": ns},
         "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}},
                               "spec": {"containers": [{"name": "web", "image": image}]}}}},
        *extra,
    ]


@pytest.fixture
def write(tmp_path):
    def write(docs, name="d.json", **kw):
        path = tmp_path / name
        path.write_text(json.dumps(deployment(docs, **kw)))
        return str(path)
    return write


def test_plan_of_a_create_with_a_new_namespace_and_a_crd(hook_env, ns, write):
    group = f"{uuid.uuid4().hex[:6]}.example.com"
    widget = {"apiVersion": f"{group}/v1", "kind": "Widget",
              "metadata": {"name": "w1", "namespace": ns}, "spec": {"size": 1}}
    path = write(app(ns, extra=[crd(group), widget]), stack=f"p{uuid.uuid4().hex[:6]}")
    out = cli("plan", path, env=hook_env)
    assert out.returncode == 0, out.stderr
    print(out.stdout)  # the closing note of issue 16 shows this
    lines = [line.split(". ", 1)[1] for line in out.stdout.splitlines()[1:]]
    assert lines[0].startswith("EnsureInventoryNamespace")
    assert lines[1].startswith("DryRun: 5 object(s) (namespaces " + ns)  # not the Widget
    assert lines[3].startswith(f"ApplyStage definitions: Namespace/{ns}, "
                               f"CustomResourceDefinition/widgets.{group}")
    assert lines[4] == f"WaitReady (established): CustomResourceDefinition/widgets.{group}"
    assert f"Widget/{ns}/w1; bind 1 custom resource(s) first" in lines[6]
    data = json.loads(cli("plan", path, "-o", "json", env=hook_env).stdout)
    assert [s["step"] for s in data["steps"]][:3] == ["EnsureInventoryNamespace", "DryRun",
                                                      "RecordInventory"]


def test_apply_diff_status_list_replay_delete(hook_env, ns, write, kubectl):
    stack = f"l{uuid.uuid4().hex[:6]}"
    path = write(app(ns), stack=stack, options={"timeout": 120})
    applied = cli("apply", path, env=hook_env)
    assert applied.returncode == 0, applied.stderr
    assert f"Deployment/{ns}/web created" in applied.stdout
    assert "all 4 object(s) ready" in applied.stderr             # plain lines: not a TTY

    changed = write(app(ns, greeting="bonjour")[:3], "changed.json", stack=stack)
    diff = cli("diff", changed, env=hook_env)
    assert diff.returncode == 0, diff.stderr
    assert f"ConfigMap/{ns}/web-config configure" in diff.stdout
    assert "-  greeting: hello\n+  greeting: bonjour\n" in diff.stdout      # a real change
    assert f"Secret/{ns}/db configure" in diff.stdout and "(changed)" in diff.stdout
    assert PW not in diff.stdout + diff.stderr
    assert f"Deployment/{ns}/web prune" in diff.stdout
    assert kubectl.get("configmap", "web-config", "-n", ns)["data"]["greeting"] == "hello"
    as_json = json.loads(cli("diff", changed, "-o", "json", env=hook_env).stdout)
    assert as_json["prune"] == [f"Deployment/{ns}/web"]

    identity = f"{stack}/0b5c2d7e-1111/{stack}-app"   # stack + name (issue 15)
    status = cli("status", identity, env=hook_env)
    assert status.returncode == 0, status.stdout + status.stderr
    assert f"Deployment/{ns}/web: ready" in status.stdout
    assert len(json.loads(cli("status", path, "-o", "json", env=hook_env).stdout)["members"]) == 4

    listed = json.loads(cli("list", "-o", "json", env=hook_env).stdout)
    mine = [d for d in listed if d["identity"] == identity]
    assert mine and mine[0]["objects"] == 4 and mine[0]["readiness"] == "4/4 ready"
    assert identity.rsplit("/", 1)[0] in cli("list", env=hook_env).stdout

    replay = cli("replay", path, "-o", "json", env=hook_env)
    assert replay.returncode == 0, replay.stderr
    result = json.loads(replay.stdout)
    assert result["deploy_status_code"] == 0
    assert set(line.rsplit(" ", 1)[1] for line in result["deploy_stdout"].splitlines()) == \
        {"unchanged"}

    deleted = cli("delete", path, "-o", "json", env=hook_env)
    assert deleted.returncode == 0, deleted.stderr
    assert json.loads(deleted.stdout)["deploy_status_code"] == 0
    assert kubectl.get("namespace", ns) is None
    gone = cli("status", identity, env=hook_env)
    assert gone.returncode == 0 and "no objects" in gone.stdout


def test_status_names_a_failing_pods_cause(hook_env, ns, write):
    stack = f"f{uuid.uuid4().hex[:6]}"
    path = write(app(ns, image="nginx:missing"), stack=stack, options={"timeout": 60})
    applied = cli("apply", path, env=hook_env)
    assert applied.returncode == 6, applied.stderr
    assert "[phase: wait ready]" in applied.stderr                  # the phase that failed
    status = cli("status", path, env=hook_env)
    assert status.returncode == 6, status.stdout
    line = next(x for x in status.stdout.splitlines() if x.startswith(f"Deployment/{ns}/web"))
    assert ": failed: pod web-" in line
    assert any(reason in line for reason in ("ErrImagePull", "ImagePullBackOff")), line
    watched = cli("status", path, "--watch", "--timeout", "3", "--interval", "1",
                  env=hook_env)
    assert watched.returncode == 6 and f"Deployment/{ns}/web: failed" in watched.stdout
    cli("delete", path, env=hook_env)
