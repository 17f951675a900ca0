"""The local cluster (tools/local-cluster, issue 4) behaves like a real one.

Runs against the running cluster (the session fixture `kubeconfig` starts it if needed). Each
test works in its own namespace, deleted afterwards. Nothing here skips: a missing component
fails with its cause.

Failure-simulation convention (tools/cluster/kwokctl.yaml, docs/local-cluster.md):
  image tag `missing`                          -> ErrImagePull, then ImagePullBackOff
  image name has `crashloop`/`fail`, restartPolicy Always/OnFailure -> CrashLoopBackOff
  image name has `crashloop`/`fail`, restartPolicy Never (Job pods) -> pod Failed, exit code 1
  requests above every node                    -> Pending, PodScheduled=False Unschedulable
"""
from __future__ import annotations

import ipaddress
import json
import pathlib
import subprocess
import time
import uuid
from typing import Any, Callable, Dict, List, Optional

import pytest
import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes import watch as k8s_watch

ROOT = pathlib.Path(__file__).resolve().parents[2]
LOCAL_CLUSTER = ROOT / "tools" / "local-cluster"
KUBE_VERSION = next(line.split("=", 1)[1].strip()
                    for line in (ROOT / "tools" / "versions.env").read_text().splitlines()
                    if line.startswith("KUBE_VERSION="))
SERVICE_RANGE = ipaddress.ip_network("10.96.0.0/16")


# --- helpers ----------------------------------------------------------------------------------

class Kubectl:
    def __init__(self, binary: str, kubeconfig: str) -> None:
        self.binary = binary
        self.kubeconfig = kubeconfig

    def run(self, *args: str, input: Optional[str] = None, check: bool = True,
            timeout: float = 120) -> subprocess.CompletedProcess:
        proc = subprocess.run(
            [self.binary, "--kubeconfig", self.kubeconfig, *args],
            input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            timeout=timeout,
        )
        if check and proc.returncode != 0:
            pytest.fail(f"kubectl {' '.join(args)} failed ({proc.returncode}):\n"
                        f"{proc.stderr.strip()}\n{proc.stdout.strip()}", pytrace=False)
        return proc

    def apply(self, ns: str, *docs: Dict[str, Any]) -> None:
        self.run("-n", ns, "apply", "--server-side", "-f", "-",
                 input=yaml.safe_dump_all(docs))

    def get(self, ns: Optional[str], *what: str) -> Dict[str, Any]:
        args = (["-n", ns] if ns else []) + ["get", *what, "-o", "json"]
        return json.loads(self.run(*args).stdout)

    def wait(self, ns: Optional[str], cond: str, what: str, timeout: int = 60) -> None:
        """kubectl wait (a watch, not a sleep); on timeout fail with the object's state."""
        args = (["-n", ns] if ns else []) + ["wait", f"--for={cond}", what,
                                            f"--timeout={timeout}s"]
        proc = self.run(*args, check=False, timeout=timeout + 30)
        if proc.returncode != 0:
            state = self.run(*((["-n", ns] if ns else []) + ["get", what, "-o", "yaml"]),
                             check=False).stdout
            events = self.run("-n", ns or "default", "get", "events",
                              "--sort-by=.lastTimestamp", check=False).stdout
            pytest.fail(f"{what} never reached {cond} within {timeout}s: {proc.stderr.strip()}\n"
                        f"--- object ---\n{state}\n--- events ---\n{events}", pytrace=False)


@pytest.fixture(scope="session")
def kubectl(kubectl_bin: str, kubeconfig: str) -> Kubectl:
    return Kubectl(kubectl_bin, kubeconfig)


@pytest.fixture(scope="session")
def api(kubeconfig: str) -> k8s_client.ApiClient:
    return k8s_config.new_client_from_config(config_file=kubeconfig)


@pytest.fixture
def ns(kubectl: Kubectl, request: pytest.FixtureRequest):
    """A fresh namespace with its default ServiceAccount, deleted after the test."""
    base = request.node.name.replace("test_", "").replace("_", "-")[:40].strip("-")
    name = f"lc-{base}-{uuid.uuid4().hex[:5]}"
    kubectl.run("create", "namespace", name)
    kubectl.wait(name, "create", "serviceaccount/default", timeout=30)
    yield name
    kubectl.run("delete", "namespace", name, "--wait=false", check=False)


def container(name: str, image: str, **extra: Any) -> Dict[str, Any]:
    c: Dict[str, Any] = {"name": name, "image": image,
                         "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}
    c.update(extra)
    return c


def pod(name: str, image: str, restart: str = "Always", **spec: Any) -> Dict[str, Any]:
    body: Dict[str, Any] = {"restartPolicy": restart, "containers": [container("app", image)]}
    body.update(spec)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": body}


def deployment(name: str, image: str, replicas: int = 3) -> Dict[str, Any]:
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [container("app", image)]}}}}


def job(name: str, image: str) -> Dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"backoffLimit": 0,
                     "template": {"spec": {"restartPolicy": "Never",
                                           "containers": [container("main", image)]}}}}


def watch_pod(api: k8s_client.ApiClient, ns: str, name: str,
              done: Callable[[Any], bool], timeout: int = 60,
              since: Optional[str] = None) -> List[Any]:
    """Every state of pod `name` until done(pod) is true; fails on timeout.

    `since`: a resourceVersion from before the pod was created, so no transition is missed
    however late the watch starts (a loaded machine can pass a short state before it)."""
    core = k8s_client.CoreV1Api(api)
    seen: List[Any] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        w = k8s_watch.Watch()
        remaining = max(1, int(deadline - time.monotonic()))
        extra = {"resource_version": since} if since else {}
        for ev in w.stream(core.list_namespaced_pod, ns,
                           field_selector=f"metadata.name={name}", timeout_seconds=remaining,
                           **extra):
            p = ev["object"]
            if since:
                since = p.metadata.resource_version
            seen.append(p)
            if done(p):
                w.stop()
                return seen
    last = seen[-1].status if seen else "no pod seen"
    pytest.fail(f"pod {ns}/{name}: condition not reached in {timeout}s; last status:\n{last}",
                pytrace=False)
    return seen


def waiting_reason(p: Any, idx: int = 0) -> Optional[str]:
    cs = p.status.container_statuses or []
    if len(cs) <= idx or not cs[idx].state or not cs[idx].state.waiting:
        return None
    return cs[idx].state.waiting.reason


def is_ready(p: Any) -> bool:
    return any(c.type == "Ready" and c.status == "True" for c in (p.status.conditions or []))


# --- the cluster itself -----------------------------------------------------------------------

def test_versions_are_the_pinned_release(kubectl: Kubectl) -> None:
    v = json.loads(kubectl.run("version", "-o", "json").stdout)
    assert v["clientVersion"]["gitVersion"] == KUBE_VERSION, v
    assert v["serverVersion"]["gitVersion"] == KUBE_VERSION, v


def test_three_ready_nodes_with_realistic_capacity(kubectl: Kubectl) -> None:
    nodes = kubectl.get(None, "nodes", "-l", "type=kwok")["items"]
    assert len(nodes) == 3, [n["metadata"]["name"] for n in nodes]
    for n in nodes:
        ready = [c for c in n["status"]["conditions"] if c["type"] == "Ready"]
        assert ready and ready[0]["status"] == "True", n["status"]["conditions"]
        assert n["status"]["allocatable"]["cpu"] == "16"
        assert n["status"]["allocatable"]["memory"] == "64Gi"
        assert n["status"]["allocatable"]["pods"] == "500"  # bench/scale needs the room
        assert not n["spec"].get("taints"), n["spec"]["taints"]


def test_tls_rbac_and_service_account_tokens(kubectl: Kubectl, ns: str,
                                             tmp_path: pathlib.Path) -> None:
    cfg = yaml.safe_load(pathlib.Path(kubectl.kubeconfig).read_text())
    server = cfg["clusters"][0]["cluster"]["server"]
    assert server.startswith("https://127.0.0.1:"), server
    # RBAC is enforced: a fresh service account may do nothing.
    sa = f"system:serviceaccount:{ns}:default"
    can = kubectl.run("auth", "can-i", "create", "deployments", "-n", ns, f"--as={sa}",
                      check=False)
    assert can.stdout.strip() == "no", (can.stdout, can.stderr)
    # The API server signs service-account tokens, and they authenticate.
    token = kubectl.run("-n", ns, "create", "token", "default").stdout.strip()
    assert token.count(".") == 2, token
    cluster = cfg["clusters"][0]["cluster"]
    token_only = tmp_path / "token-kubeconfig"
    token_only.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "sa",
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "sa", "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": "c", "user": "sa"}}],
    }))
    as_sa = Kubectl(kubectl.binary, str(token_only))
    who = as_sa.run("auth", "whoami", "-o", "json")
    assert json.loads(who.stdout)["status"]["userInfo"]["username"] == sa
    denied = as_sa.run("-n", ns, "get", "secrets", check=False)
    assert denied.returncode != 0 and "forbidden" in denied.stderr, denied.stderr


def test_second_up_reuses_the_running_cluster(kubeconfig: str) -> None:
    t0 = time.monotonic()
    proc = subprocess.run([str(LOCAL_CLUSTER), "up"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=120)
    took = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == kubeconfig
    assert "reusing" in proc.stderr, proc.stderr
    assert took < 10, f"a second up took {took:.1f}s"


def test_status_reports_version_and_nodes() -> None:
    proc = subprocess.run([str(LOCAL_CLUSTER), "status"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "running" in proc.stdout
    assert KUBE_VERSION in proc.stdout
    assert proc.stdout.count("kwok-node-") >= 3, proc.stdout


# --- workloads become ready -------------------------------------------------------------------

def test_deployment_of_three_becomes_available(kubectl: Kubectl, ns: str) -> None:
    kubectl.apply(ns, deployment("web", "nginx:1.27"))
    kubectl.wait(ns, "condition=Available", "deployment/web")
    d = kubectl.get(ns, "deployment/web")
    assert d["status"]["readyReplicas"] == 3, d["status"]
    pods = kubectl.get(ns, "pods", "-l", "app=web")["items"]
    assert len(pods) == 3
    assert all(p["status"]["phase"] == "Running" and p["status"].get("podIP") for p in pods)
    # Deletion works: a deleted pod goes away and is replaced.
    victim = pods[0]["metadata"]["name"]
    kubectl.run("-n", ns, "delete", "pod", victim, "--wait=true", "--timeout=30s")
    kubectl.wait(ns, "jsonpath={.status.readyReplicas}=3", "deployment/web")


def test_statefulset_with_volume_claim_template_rolls_out(kubectl: Kubectl, ns: str) -> None:
    labels = {"app": "db"}
    kubectl.apply(ns, {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "db"},
        "spec": {"clusterIP": "None", "selector": labels, "ports": [{"port": 5432}]},
    }, {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
        "spec": {
            "serviceName": "db", "replicas": 2, "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels},
                         "spec": {"containers": [container(
                             "db", "postgres:17",
                             volumeMounts=[{"name": "data", "mountPath": "/data"}])]}},
            "volumeClaimTemplates": [{
                "metadata": {"name": "data"},
                "spec": {"accessModes": ["ReadWriteOnce"],
                         "resources": {"requests": {"storage": "1Gi"}}},
            }],
        },
    })
    kubectl.run("-n", ns, "rollout", "status", "statefulset/db", "--timeout=90s", timeout=120)
    s = kubectl.get(ns, "statefulset/db")["status"]
    assert s["readyReplicas"] == 2, s
    pvcs = kubectl.get(ns, "pvc")["items"]
    assert sorted(p["metadata"]["name"] for p in pvcs) == ["data-db-0", "data-db-1"]
    assert all(p["status"]["phase"] == "Bound" for p in pvcs), [p["status"] for p in pvcs]


def test_daemonset_rolls_out_on_every_node(kubectl: Kubectl, ns: str) -> None:
    labels = {"app": "agent"}
    kubectl.apply(ns, {
        "apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"},
        "spec": {"selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [container("agent", "fluent-bit:3")]}}},
    })
    kubectl.run("-n", ns, "rollout", "status", "daemonset/agent", "--timeout=60s", timeout=90)
    s = kubectl.get(ns, "daemonset/agent")["status"]
    assert s["desiredNumberScheduled"] == 3 and s["numberReady"] == 3, s


def test_job_completes(kubectl: Kubectl, ns: str) -> None:
    kubectl.apply(ns, job("once", "busybox:1.36"))
    kubectl.wait(ns, "condition=Complete", "job/once")
    pods = kubectl.get(ns, "pods", "-l", "job-name=once")["items"]
    assert [p["status"]["phase"] for p in pods] == ["Succeeded"]


def test_service_gets_a_cluster_ip_from_a_16(kubectl: Kubectl, ns: str) -> None:
    kubectl.apply(ns, deployment("api", "nginx:1.27", replicas=1), {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "api"},
        "spec": {"selector": {"app": "api"}, "ports": [{"port": 80}]},
    }, {
        # Outside the API server's default /24 (10.0.0.0/24), inside the configured /16.
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "fixed"},
        "spec": {"clusterIP": "10.96.200.10", "selector": {"app": "api"},
                 "ports": [{"port": 80}]},
    })
    ip = kubectl.get(ns, "service/api")["spec"]["clusterIP"]
    assert ipaddress.ip_address(ip) in SERVICE_RANGE, ip
    assert kubectl.get(ns, "service/fixed")["spec"]["clusterIP"] == "10.96.200.10"
    kubectl.wait(ns, "condition=Available", "deployment/api")
    slices = kubectl.get(ns, "endpointslices", "-l", "kubernetes.io/service-name=api")["items"]
    assert slices, "no EndpointSlice for the Service"


def test_pvc_binds_and_its_volume_is_reused(kubectl: Kubectl, ns: str) -> None:
    kubectl.apply(ns, {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "claim"},
        "spec": {"accessModes": ["ReadWriteOnce"],
                 "resources": {"requests": {"storage": "1Gi"}}},
    })
    kubectl.wait(ns, "jsonpath={.status.phase}=Bound", "pvc/claim")
    pvc = kubectl.get(ns, "pvc/claim")
    assert pvc["spec"]["storageClassName"] == "standard"  # the default StorageClass
    pv = pvc["spec"]["volumeName"]
    kubectl.run("-n", ns, "delete", "pvc", "claim", "--wait=true", "--timeout=30s")
    # The pre-made PV goes Released, then the pv-recycle stage makes it Available again.
    kubectl.wait(None, "jsonpath={.status.phase}=Available", f"pv/{pv}", timeout=30)


def test_crd_becomes_established_and_custom_resources_work(kubectl: Kubectl, ns: str) -> None:
    group = f"{ns}.heat-k8s-hook.test"
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {"group": group, "scope": "Namespaced",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                 "versions": [{"name": "v1", "served": True, "storage": True,
                               "schema": {"openAPIV3Schema": {
                                   "type": "object",
                                   "properties": {"spec": {
                                       "type": "object",
                                       "properties": {"size": {"type": "integer"}}}}}}}]},
    }
    kubectl.apply(ns, crd)
    try:
        kubectl.wait(None, "condition=Established", f"crd/widgets.{group}", timeout=30)
        kubectl.apply(ns, {"apiVersion": f"{group}/v1", "kind": "Widget",
                           "metadata": {"name": "w1"}, "spec": {"size": 3}})
        assert kubectl.get(ns, f"widgets.{group}/w1")["spec"]["size"] == 3
    finally:
        kubectl.run("delete", "crd", f"widgets.{group}", "--wait=false", check=False)


# --- failure simulation -----------------------------------------------------------------------

def test_missing_image_tag_gives_err_image_pull_then_backoff(
        kubectl: Kubectl, api: k8s_client.ApiClient, ns: str) -> None:
    since = k8s_client.CoreV1Api(api).list_namespaced_pod(ns).metadata.resource_version
    kubectl.apply(ns, pod("nopull", "nginx:missing"))
    seen = watch_pod(api, ns, "nopull", lambda p: waiting_reason(p) == "ImagePullBackOff",
                     since=since)
    reasons = [waiting_reason(p) for p in seen if waiting_reason(p)]
    assert reasons[0] == "ErrImagePull", reasons
    assert not any(is_ready(p) for p in seen)
    last = seen[-1]
    assert last.status.phase == "Pending"
    assert "nginx:missing" in last.status.container_statuses[0].state.waiting.message
    err = [p for p in seen if waiting_reason(p) == "ErrImagePull"][0]
    assert "not found" in err.status.container_statuses[0].state.waiting.message


def test_missing_image_in_a_deployment_never_becomes_available(kubectl: Kubectl,
                                                               ns: str) -> None:
    kubectl.apply(ns, deployment("broken", "registry.example/app:missing", replicas=2))
    kubectl.wait(ns, "condition=Progressing", "deployment/broken")
    pods: List[Dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pods = kubectl.get(ns, "pods", "-l", "app=broken")["items"]
        reasons = [(p["status"].get("containerStatuses") or [{}])[0]
                   .get("state", {}).get("waiting", {}).get("reason") for p in pods]
        if len(pods) == 2 and all(r == "ImagePullBackOff" for r in reasons):
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"pods never all ImagePullBackOff: {[p['status'] for p in pods]}")
    d = kubectl.get(ns, "deployment/broken")["status"]
    assert not d.get("readyReplicas"), d


def test_crashloop_image_gives_crash_loop_back_off_with_growing_restarts(
        kubectl: Kubectl, api: k8s_client.ApiClient, ns: str) -> None:
    kubectl.apply(ns, pod("crasher", "example.com/crashloop:1.0"))
    seen = watch_pod(api, ns, "crasher", lambda p: waiting_reason(p) == "CrashLoopBackOff",
                     timeout=30)
    first = seen[-1].status.container_statuses[0]
    assert first.last_state.terminated.exit_code == 1
    assert first.restart_count >= 1
    seen += watch_pod(api, ns, "crasher",
                      lambda p: (p.status.container_statuses or [None])[0] is not None and
                      p.status.container_statuses[0].restart_count > first.restart_count + 1,
                      timeout=30)
    last = seen[-1]
    assert last.status.phase == "Running"
    assert waiting_reason(last) == "CrashLoopBackOff"
    assert last.status.container_statuses[0].last_state.terminated.exit_code == 1
    assert not any(is_ready(p) for p in seen)


def test_oversized_pod_is_unschedulable(kubectl: Kubectl, ns: str) -> None:
    big = pod("huge", "nginx:1.27")
    big["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "64", "memory": "1Gi"}}
    kubectl.apply(ns, big)
    kubectl.wait(ns, "jsonpath={.status.conditions[?(@.type=='PodScheduled')].reason}"
                     "=Unschedulable", "pod/huge", timeout=30)
    p = kubectl.get(ns, "pod/huge")
    assert p["status"]["phase"] == "Pending"
    cond = [c for c in p["status"]["conditions"] if c["type"] == "PodScheduled"][0]
    assert cond["status"] == "False"
    assert "Insufficient cpu" in cond["message"], cond
    assert not p["spec"].get("nodeName")


def test_job_with_failing_image_fails(kubectl: Kubectl, ns: str) -> None:
    kubectl.apply(ns, job("doomed", "example.com/always-fail:1"))
    kubectl.wait(ns, "condition=Failed", "job/doomed")
    j = kubectl.get(ns, "job/doomed")
    failed = [c for c in j["status"]["conditions"] if c["type"] == "Failed"][0]
    assert failed["reason"] == "BackoffLimitExceeded", failed
    pods = kubectl.get(ns, "pods", "-l", "job-name=doomed")["items"]
    assert len(pods) == 1
    st = pods[0]["status"]
    assert st["phase"] == "Failed"
    assert st["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 1


def test_failure_pods_are_deleted_promptly(kubectl: Kubectl, ns: str) -> None:
    kubectl.apply(ns, pod("a", "nginx:missing"), pod("b", "example.com/crashloop:1"),
                  pod("c", "example.com/fail:1", restart="Never"))
    kubectl.wait(ns, "jsonpath={.status.podIP}", "pod/a")
    kubectl.wait(ns, "jsonpath={.status.podIP}", "pod/b")
    kubectl.wait(ns, "jsonpath={.status.phase}=Failed", "pod/c")
    t0 = time.monotonic()
    kubectl.run("-n", ns, "delete", "pod", "a", "b", "c", "--wait=true", "--timeout=30s")
    assert time.monotonic() - t0 < 15
    assert kubectl.get(ns, "pods")["items"] == []
