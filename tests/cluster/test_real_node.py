"""Issue 28: the hook's verdicts against a real kubelet (`tools/local-cluster up --real-node`).

Every pod here runs on `real-node-0` (containerd, runc, the CNI bridge; the busybox-static image
made locally) and each case compares the hook's verdict and cause with what the kubelet itself
wrote into the pod's status and events. The node is brought up on demand by the `real_node`
fixture; a missing component fails the tests with its cause (never a skip).
"""
from __future__ import annotations

import json
import pathlib
import re
import subprocess
import time
import urllib.request
import uuid

import pytest
from hookrun import deployment, run_hook

ROOT = pathlib.Path(__file__).resolve().parents[2]
NODE = "real-node-0"
TAINT = "heat-k8s-hook/real-node"


def _versions() -> dict:
    out = {}
    for line in (ROOT / "tools" / "versions.env").read_text().splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            k, v = line.split("=", 1)
            out[k.strip()] = v.strip()
    return out


_V = _versions()
BUSYBOX = "local/busybox:" + _V["BUSYBOX_STATIC_DEB_VERSION"].split(":", 1)[1].split("+", 1)[0]


@pytest.fixture(scope="session")
def real_node(kubeconfig, kubectl) -> str:
    """`tools/local-cluster up --real-node` on the tests' cluster (reuses a running node)."""
    proc = subprocess.run([str(ROOT / "tools" / "local-cluster"), "up", "--real-node"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=3600)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        pytest.fail(f"the real node could not start (tools/local-cluster up --real-node):\n{tail}",
                    pytrace=False)
    node = kubectl.get("node", NODE)
    assert node, f"node {NODE} is not registered"
    assert any(t["key"] == TAINT for t in node["spec"].get("taints", [])), "real node not tainted"
    return NODE


def ns_doc(ns):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}


def pod_spec(command, *, probe=None, memory=None, restart="Always", grace=1):
    c = {"name": "main", "image": BUSYBOX, "command": ["sh", "-c", command]}
    if probe:
        c["readinessProbe"] = probe
    if memory:
        c["resources"] = {"limits": {"memory": memory}}
    return {"nodeSelector": {"kubernetes.io/hostname": NODE},
            "tolerations": [{"key": TAINT, "operator": "Exists", "effect": "NoSchedule"}],
            "terminationGracePeriodSeconds": grace, "restartPolicy": restart,
            "containers": [c]}


def deploy(ns, name, spec, replicas=1, strategy=None):
    d = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": ns},
         "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                  "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}
    if strategy:
        d["spec"]["strategy"] = strategy
    return d


def job(ns, name, command):
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": ns},
            "spec": {"backoffLimit": 0, "template": {"spec": pod_spec(command, restart="Never")}}}


HTTP = "mkdir -p /www && echo \"hello from $HOSTNAME\" > /www/index.html && exec httpd -f -p 8080 -h /www"
HTTP_PROBE = {"httpGet": {"path": "/index.html", "port": 8080}, "periodSeconds": 1,
              "initialDelaySeconds": 2}


def stack():
    return f"s{uuid.uuid4().hex[:6]}"


def pods(kubectl, ns, app=None):
    sel = ["-l", f"app={app}"] if app else []
    return kubectl.get("pods", "-n", ns, *sel)["items"]


def events(kubectl, ns):
    return json.loads(kubectl("get", "events", "-n", ns, "-o", "json"))["items"]


def error_line(run):
    return [line for line in run.err.strip().splitlines() if line.startswith("ERROR:")]


def fetch(ip, port=8080):
    with urllib.request.urlopen(f"http://{ip}:{port}/index.html", timeout=5) as r:
        return r.read().decode()


def test_http_deployment_ready_once_probe_passes(real_node, kubectl, hook_env, ns):
    # A Deployment gated by an HTTP readiness probe, and one bare Pod whose IP the outputs give
    # (outputs read objects of the config: a Deployment's pods are not among them).
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "solo", "namespace": ns},
           "spec": pod_spec(HTTP, probe=HTTP_PROBE)}
    docs = [ns_doc(ns), deploy(ns, "web", pod_spec(HTTP, probe=HTTP_PROBE), replicas=2), pod]
    run = run_hook(deployment(docs, stack=stack(), outputs=["ip"], options={
        "timeout": 90, "outputs": {"ip": f"Pod/{ns}/solo:{{.status.podIP}}"}}), hook_env)
    assert run.code == 0, run.err
    ip = run.result["ip"]
    assert re.fullmatch(r"10\.244\.200\.\d+", ip), ip
    assert fetch(ip) == "hello from solo\n"
    web = pods(kubectl, ns, "web")
    assert len(web) == 2
    for p in web:
        assert p["spec"]["nodeName"] == NODE
        ready = [c for c in p["status"]["conditions"] if c["type"] == "Ready"][0]
        started = p["status"]["containerStatuses"][0]["state"]["running"]["startedAt"]
        # The kubelet said Ready only after the probe's initial delay: the hook waited for it.
        assert ready["status"] == "True" and ready["lastTransitionTime"] > started
        assert fetch(p["status"]["podIP"]) == f"hello from {p['metadata']['name']}\n"
    assert run.elapsed >= 2, "ready before the readiness probe could have passed"


def test_unpullable_image_fails_fast_with_runtime_message(real_node, kubectl, hook_env, ns):
    spec = pod_spec("sleep 3600")
    spec["containers"][0]["image"] = "example.invalid/nosuch:1"
    run = run_hook(deployment([ns_doc(ns), deploy(ns, "web", spec)], stack=stack(),
                              options={"timeout": 120}), hook_env)
    assert run.code == 6, run.err
    assert run.elapsed < 10, f"took {run.elapsed:.1f}s: not before the kubelet's first back-off"
    [p] = pods(kubectl, ns, "web")
    waiting = p["status"]["containerStatuses"][0]["state"].get("waiting", {})
    assert waiting.get("reason") in ("ErrImagePull", "ImagePullBackOff"), p["status"]
    # What the kubelet reported (the runtime's own error) is what the hook names.
    assert "connection refused" in run.err and "example.invalid/nosuch:1" in run.err, run.err
    assert p["metadata"]["name"] in run.err and "main" in run.err, run.err
    assert re.search(r"ErrImagePull|ImagePullBackOff", run.err)


# Without a readiness probe the kubelet reports the pod Ready as soon as the container has
# started, for the moment before it exits: the Deployment counts it available and the hook (like
# kubectl rollout status) may say ready (seen here). A probe whose first check comes after the
# exit keeps the pod unready, as in any real Deployment with a probe.
LATE_PROBE = {"exec": {"command": ["true"]}, "initialDelaySeconds": 5, "periodSeconds": 1}


def test_exit_1_is_crashloop_with_exit_code(real_node, kubectl, hook_env, ns):
    spec = pod_spec("echo bye; sleep 1; exit 1", probe=LATE_PROBE)
    run = run_hook(deployment([ns_doc(ns), deploy(ns, "web", spec)],
                              stack=stack(), options={"timeout": 120}), hook_env)
    assert run.code == 6, run.err
    [p] = pods(kubectl, ns, "web")
    cs = p["status"]["containerStatuses"][0]
    term = cs.get("lastState", {}).get("terminated") or cs["state"].get("terminated")
    assert term["exitCode"] == 1, cs
    assert "exit code 1" in run.err or "exitCode 1" in run.err or "exit 1" in run.err, run.err
    assert "CrashLoopBackOff" in run.err and "last exit code 1" in run.err, run.err
    # Measured here: exit at 2 s, immediate restart, second exit at 4.5 s, then the pod's
    # status stays `terminated` (restartCount 1) through the 10 s back-off. The hook counts
    # that state as the crash loop it is (rules._backing_off): within the first back-off.
    # Before, failing only on `waiting: CrashLoopBackOff`, it answered after 4-18 s.
    assert run.elapsed < 15, f"took {run.elapsed:.1f}s: not within the first back-off"


def oom_case(kubectl, hook_env, ns):
    # tail keeps a line without newline in memory: grows past the 16 MiB limit.
    spec = pod_spec("head -c 200000000 /dev/zero | tail", memory="16Mi", probe=LATE_PROBE)
    run = run_hook(deployment([ns_doc(ns), deploy(ns, "hog", spec)], stack=stack(),
                              options={"timeout": 120}), hook_env)
    assert run.code == 6, run.err
    [p] = pods(kubectl, ns, "hog")
    cs = p["status"]["containerStatuses"][0]
    term = cs.get("lastState", {}).get("terminated") or cs["state"].get("terminated")
    assert term["reason"] == "OOMKilled", cs
    assert term["exitCode"] == 137 and "exit code 137: OOMKilled" in run.err, run.err
    assert run.elapsed < 20, f"took {run.elapsed:.1f}s: not within the first back-off"
    return run


def test_over_memory_limit_is_oomkilled(real_node, kubectl, hook_env, ns):
    oom_case(kubectl, hook_env, ns)


def test_oomkilled_is_named(real_node, kubectl, hook_env, ns):
    run = oom_case(kubectl, hook_env, ns)
    assert "OOMKilled" in run.err, run.err


def test_readiness_never_passing_times_out_with_probe_message(real_node, kubectl, hook_env, ns):
    probe = {"exec": {"command": ["sh", "-c", "echo backend-unreachable; exit 1"]},
             "periodSeconds": 1}
    run = run_hook(deployment([ns_doc(ns), deploy(ns, "web", pod_spec("sleep 3600", probe=probe))],
                              stack=stack(), options={"timeout": 12}), hook_env)
    assert run.code == 7, run.err
    [p] = pods(kubectl, ns, "web")
    assert p["status"]["containerStatuses"][0]["ready"] is False
    evs = [e for e in events(kubectl, ns) if e["reason"] == "Unhealthy"]
    assert evs and "backend-unreachable" in evs[0]["message"], evs
    assert p["metadata"]["name"] in run.err, run.err
    assert "backend-unreachable" in run.err, run.err
    assert run.elapsed < 12 + 5


def rolling_case(kubectl, hook_env, ns):
    s = stack()
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}

    def docs(greeting):
        spec = pod_spec(HTTP.replace("hello from", greeting), probe=HTTP_PROBE, grace=3)
        return [ns_doc(ns), deploy(ns, "web", spec, replicas=2, strategy=strategy)]

    run = run_hook(deployment(docs("hello from"), stack=s, options={"timeout": 90}), hook_env)
    assert run.code == 0, run.err
    old = {p["metadata"]["name"] for p in pods(kubectl, ns, "web")}
    run = run_hook(deployment(docs("goodbye from"), stack=s, action="UPDATE",
                              options={"timeout": 120}), hook_env)
    assert run.code == 0, run.err
    now = pods(kubectl, ns, "web")
    dep = kubectl.get("deployment", "web", "-n", ns)["status"]
    assert dep["updatedReplicas"] == dep["readyReplicas"] == dep["replicas"] == 2, dep
    new = [p for p in now if p["metadata"]["name"] not in old]
    assert len(new) == 2
    for p in new:
        assert fetch(p["status"]["podIP"]).startswith("goodbye from")
    # Never ready while the new ReplicaSet scaled: two new pods, each gated by a 2 s probe
    # delay, one at a time (maxSurge 1), and every old pod at least being deleted.
    assert run.elapsed >= 4, f"ready after {run.elapsed:.1f}s, before the rollout could finish"
    lingering = [p["metadata"]["name"] for p in now
                 if p["metadata"]["name"] in old and not p["metadata"].get("deletionTimestamp")]
    assert not lingering, f"old pods not even terminating when the hook said ready: {lingering}"
    return [p["metadata"]["name"] for p in now if p["metadata"]["name"] in old]


def test_rolling_update_ready_only_when_old_pods_gone(real_node, kubectl, hook_env, ns):
    rolling_case(kubectl, hook_env, ns)


def test_rolling_update_old_pods_gone_when_ready(real_node, kubectl, hook_env, ns):
    terminating = rolling_case(kubectl, hook_env, ns)
    assert not terminating, f"old pods still terminating when the hook said ready: {terminating}"


def test_jobs_succeed_and_fail_on_the_real_node(real_node, kubectl, hook_env, ns):
    run = run_hook(deployment([ns_doc(ns), job(ns, "ok", "echo done; exit 0")], stack=stack(),
                              options={"timeout": 60}), hook_env)
    assert run.code == 0, run.err
    st = kubectl.get("job", "ok", "-n", ns)["status"]
    assert st.get("succeeded") == 1, st
    run = run_hook(deployment([ns_doc(ns), job(ns, "bad", "echo broken; exit 3")], stack=stack(),
                              options={"timeout": 60}), hook_env)
    assert run.code == 6, run.err
    st = kubectl.get("job", "bad", "-n", ns)["status"]
    assert any(c["type"] == "Failed" and c["status"] == "True" for c in st["conditions"]), st
    [p] = kubectl.get("pods", "-n", ns, "-l", "job-name=bad")["items"]
    assert p["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 3
    assert f"Job/{ns}/bad" in run.err, run.err
    assert run.elapsed < 20


def test_nothing_else_lands_on_the_real_node(real_node, kubectl, hook_env, ns):
    # The taint keeps the existing tests and benchmarks on the KWOK nodes.
    spec = pod_spec("sleep 1")
    del spec["tolerations"], spec["nodeSelector"]
    run = run_hook(deployment([ns_doc(ns), deploy(ns, "plain", spec, replicas=3)], stack=stack(),
                              options={"timeout": 60}), hook_env)
    assert run.code == 0, run.err
    assert all(p["spec"]["nodeName"] != NODE for p in pods(kubectl, ns, "plain"))


def test_hpa_verdict_follows_the_real_controller(kubectl, hook_env, ns):
    # The local cluster has no metrics API: the real HPA controller sets ScalingActive False
    # (FailedGetResourceMetric) within a second, so an HPA on CPU is not ready (named in the
    # timeout), while one whose target is scaled to zero (ScalingDisabled) is.
    def hpa(name):
        return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": name, "namespace": ns},
                "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                            "name": name},
                         "minReplicas": 1, "maxReplicas": 3,
                         "metrics": [{"type": "Resource", "resource": {
                             "name": "cpu",
                             "target": {"type": "Utilization", "averageUtilization": 50}}}]}}

    zero = deploy(ns, "zero", pod_spec("sleep 3600"), replicas=0)
    run = run_hook(deployment([ns_doc(ns), zero, hpa("zero")], stack=stack(),
                              options={"timeout": 30}), hook_env)
    assert run.code == 0, run.err
    assert "scaling disabled" in run.err, run.err
    web = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": ns},
           "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                    "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [
                        {"name": "web", "image": "nginx:1.27",
                         "resources": {"requests": {"cpu": "100m"}}}]}}}}
    s = stack()
    run = run_hook(deployment([ns_doc(ns), web, hpa("web")], stack=s,
                              options={"timeout": 8}), hook_env)
    assert run.code == 7, run.err
    assert f"HorizontalPodAutoscaler/{ns}/web" in run.err, run.err
    # The controller's first check comes within a second normally, later (its 15 s resync)
    # after an API-server restart (tests/cluster/test_faults.py): wait for it, then ask again.
    deadline = time.monotonic() + 60
    while True:
        conds = kubectl.get("hpa", "web", "-n", ns).get("status", {}).get("conditions") or []
        cond = [c for c in conds if c["type"] == "ScalingActive"]
        if cond or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert cond, f"the HPA controller set no ScalingActive condition in 60 s: {conds}"
    assert cond[0]["status"] == "False" and cond[0]["reason"] == "FailedGetResourceMetric", cond
    run = run_hook(deployment([ns_doc(ns), web, hpa("web")], stack=s, action="UPDATE",
                              options={"timeout": 5}), hook_env)
    assert run.code == 7, run.err
    assert f"HorizontalPodAutoscaler/{ns}/web" in run.err and "FailedGetResourceMetric" in run.err
