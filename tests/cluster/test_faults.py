"""API-server faults during a run (issue 15.3), against the real local cluster.

The API server is killed and started again (tools/local-cluster stop-apiserver/start-apiserver)
in the middle of an apply of 200 objects; the longer outages and the dropped watch go through
a TCP proxy in front of it (faultproxy.py) so that other test sessions on the same cluster are
not disturbed. What is checked is read from the API server, not from the hook's words.
"""
from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid

import pytest
from faultproxy import FaultProxy
from hookrun import ROOT, deployment, run_hook

from heat_k8s_hook.engine import inventory
from heat_k8s_hook.engine.plan import PART_OF
from heat_k8s_hook.kube.cluster import Cluster, KubeconfigCredentials
from heat_k8s_hook.objects import ObjectRef
from heat_k8s_hook.readiness.watch import Target, Waiter

N = 200  # objects: one Namespace and 199 ConfigMaps of 2 kB


def config(ns: str) -> list:
    return [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}] + [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"c-{i:03d}"},
         "data": {"k": "x" * 2000}} for i in range(N - 1)]


@pytest.fixture
def api(kubeconfig) -> Cluster:
    """The test's own client of the real API server (not through any proxy)."""
    return Cluster(KubeconfigCredentials(kubeconfig))


def local_cluster(*args: str) -> None:
    proc = subprocess.run([str(ROOT / "tools" / "local-cluster"), *args], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, f"tools/local-cluster {' '.join(args)}: {proc.stderr[-500:]}"


def in_background(dep: dict, env: dict, timeout: float = 150) -> tuple:
    box: list = []
    thread = threading.Thread(target=lambda: box.append(run_hook(dep, env, timeout=timeout)))
    thread.start()
    return thread, box


def members_live(api: Cluster, ns: str) -> set:
    """(kind, namespace, name) of every object in the cluster labelled as an ApplySet member."""
    found = set()
    cms = api.get(f"/api/v1/namespaces/{ns}/configmaps", {"labelSelector": PART_OF})["items"]
    found |= {("ConfigMap", ns, o["metadata"]["name"]) for o in cms}
    namespace = api.get("/api/v1/namespaces", {"labelSelector": PART_OF,
                                               "fieldSelector": f"metadata.name={ns}"})["items"]
    found |= {("Namespace", "", o["metadata"]["name"]) for o in namespace}
    return found


def members_recorded(api: Cluster, ns: str) -> set:
    """(kind, namespace, name) of every member the inventory (ApplySet parent) lists."""
    live = api.get(f"/api/v1/namespaces/{ns}/configmaps", {"labelSelector": PART_OF,
                                                           "limit": "1"})["items"]
    assert live, "no member to find the parent by"
    set_id = live[0]["metadata"]["labels"][PART_OF]
    parents = api.get("/api/v1/configmaps",
                      {"labelSelector": f"{inventory.APPLYSET_ID}={set_id}"})["items"]
    assert len(parents) == 1, f"{len(parents)} parents for ApplySet {set_id}"
    return {(r.kind, r.namespace, r.name) for r in inventory.members_of(parents[0])}


def wait_for_first_objects(api: Cluster, ns: str, box: list, timeout: float = 90) -> int:
    """Poll until the apply has created some ConfigMaps (the run is mid-apply); their count."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and not box:
        count = len(api.get(f"/api/v1/namespaces/{ns}/configmaps",
                            {"labelSelector": PART_OF}, timeout=5)["items"])
        if count:
            return count
        time.sleep(0.03)
    raise AssertionError(f"the apply created nothing in {timeout:.0f}s: "
                         f"{box[0].err[-800:] if box else 'still running'}")


def test_api_server_killed_mid_apply_the_run_completes_and_a_rerun_converges(api, kubeconfig,
                                                                               ns):
    """kube-apiserver SIGKILLed after the first of 200 objects exists, started again 2 s later:
    the hook retries (with backoff, within its deadline) and completes; the inventory lists
    exactly the objects that exist; a re-run changes nothing.

    Checked red: with retries off (retry.is_transient returning False) the run failed with
    code 3 `cannot reach the Kubernetes API server at ...: connection refused` right after the
    dry-run.
    """
    dep = deployment(config(ns), stack=f"faults-{ns}", options={"namespace": ns, "timeout": 120})
    thread, box = in_background(dep, {"KUBECONFIG": kubeconfig})
    seen = wait_for_first_objects(api, ns, box)
    killed = time.monotonic()
    local_cluster("restart-apiserver", "2")   # holds the cluster's lock: no `up` meanwhile
    downtime = time.monotonic() - killed
    thread.join()
    run = box[0]
    print(f"killed with {seen} of {N - 1} ConfigMaps created; down {downtime:.1f}s; "
          f"run {run.elapsed:.1f}s")
    assert seen < N - 1, f"the apply had finished ({seen}) before the kill: nothing was proven"
    assert run.code == 0, run.err
    assert "trying again" in run.stderr, "the run never met the fault"
    live = members_live(api, ns)
    assert len(live) == N
    assert members_recorded(api, ns) == live   # nothing orphaned, nothing missing

    before = {o["metadata"]["name"]: o["metadata"]["resourceVersion"] for o in
              api.get(f"/api/v1/namespaces/{ns}/configmaps", {"labelSelector": PART_OF})["items"]}
    again = run_hook(dict(dep, id=str(uuid.uuid4()), inputs=[
        dict(i, value="UPDATE") if i["name"] == "deploy_action" else i for i in dep["inputs"]]),
        {"KUBECONFIG": kubeconfig})
    assert again.code == 0, again.err
    after = {o["metadata"]["name"]: o["metadata"]["resourceVersion"] for o in
             api.get(f"/api/v1/namespaces/{ns}/configmaps", {"labelSelector": PART_OF})["items"]}
    assert after == before   # the server changed none of them


def test_api_server_gone_past_the_deadline_fails_with_the_cause_and_orphans_nothing(
        api, kubeconfig, ns, tmp_path):
    """Every connection cut (and refused) mid-apply until the deadline: the hook answers code 3
    naming the cause within its deadline; every object it created is in the inventory (which
    is written before the objects); a re-run through the healthy server converges.

    Checked red: with RecordInventory moved after the apply stages (steps.plan_apply), the
    objects created before the cut had no parent at all (`0 parents for ApplySet ...`).
    """
    proxy = FaultProxy(kubeconfig, delay=0.05)   # a slow link: the cut lands mid-apply
    env = {"KUBECONFIG": proxy.kubeconfig(tmp_path / "kubeconfig")}
    timeout = 30
    dep = deployment(config(ns), stack=f"faults-{ns}",
                     options={"namespace": ns, "timeout": timeout})
    try:
        thread, box = in_background(dep, env)
        wait_for_first_objects(api, ns, box)
        proxy.cut()
        thread.join()
    finally:
        proxy.close()
    run = box[0]
    last = run.err.splitlines()[-1]
    assert run.code == 3, run.err
    assert last.startswith(f"ERROR: cannot reach the Kubernetes API server at "
                           f"https://127.0.0.1:{proxy.port}: connection refused ("), last
    assert run.elapsed < timeout + 5
    live = members_live(api, ns)
    assert 0 < len(live) < N, "the cut did not come mid-apply"
    assert live <= members_recorded(api, ns), "objects created but not in the inventory"

    again = run_hook(dict(dep, id=str(uuid.uuid4()), options={"namespace": ns, "timeout": 120}),
                     {"KUBECONFIG": kubeconfig})
    assert again.code == 0, again.err
    live = members_live(api, ns)
    assert len(live) == N and members_recorded(api, ns) == live


def unschedulable_web(ns: str) -> list:
    """A Deployment whose pod cannot be scheduled until its nodeSelector is removed."""
    return [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
            {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
             "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                      "template": {"metadata": {"labels": {"app": "web"}},
                                   "spec": {"nodeSelector": {"heat-k8s-hook.test/none": "x"},
                                            "containers": [{"name": "web",
                                                            "image": "nginx:1.27"}]}}}}]


def make_schedulable(kubectl, ns: str) -> None:
    kubectl("-n", ns, "patch", "deployment", "web", "--type", "json", "-p",
            '[{"op": "remove", "path": "/spec/template/spec/nodeSelector"}]')


def wait_until(check, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"{what} not seen within {timeout:.0f}s")


def test_watch_dropped_mid_wait_misses_no_readiness_change(api, kubectl, kubeconfig, ns,
                                                          tmp_path):
    """The hook is waiting on a Deployment when every connection drops; the Deployment becomes
    ready while no watch runs; the watch comes back (resumed, or relisted on 410) and the run
    ends ready, not at its deadline.

    Checked red: with a dropped watch failing the wait (watch.py, ClusterUnreachable put as
    FAIL at once) the run answered code 3 `watch on ... broke`.
    """
    proxy = FaultProxy(kubeconfig)
    env = {"KUBECONFIG": proxy.kubeconfig(tmp_path / "kubeconfig")}
    dep = deployment(unschedulable_web(ns), stack=f"faults-{ns}",
                     options={"namespace": ns, "timeout": 60, "unschedulable_grace": 300})
    try:
        thread, box = in_background(dep, env)
        pods = f"/api/v1/namespaces/{ns}/pods"
        wait_until(lambda: box or api.get(pods)["items"], 45, "the unschedulable pod")
        time.sleep(1.0)  # the hook's watches are running
        proxy.cut()
        make_schedulable(kubectl, ns)
        wait_until(lambda: (api.get(f"/apis/apps/v1/namespaces/{ns}/deployments/web")
                            .get("status", {}).get("availableReplicas")), 30,
                   "the Deployment available")
        accepted = proxy.accepted
        proxy.restore()
        thread.join()
    finally:
        proxy.close()
    run = box[0]
    assert run.code == 0, run.err
    assert f"Deployment/{ns}/web: ready" in run.err
    assert proxy.accepted > accepted, "the hook never came back through the proxy"
    assert run.elapsed < 50


class ExpiredSpy:
    """The real client, counting the 410 Gone answers its watches get."""

    def __init__(self, cluster: Cluster):
        self.cluster, self.expired = cluster, 0

    def __getattr__(self, name):
        return getattr(self.cluster, name)

    def watch(self, path, query, timeout):
        for event in self.cluster.watch(path, query, timeout):
            if event.get("type") == "ERROR" and (event.get("object") or {}).get("code") == 410:
                self.expired += 1
            yield event


def test_410_at_the_start_of_a_watch_relists_and_sees_the_change(api, kubectl, ns):
    """A wait that starts from a resourceVersion the API server no longer has (410 Gone,
    `too old resource version`): the waiter relists and then sees the Deployment become ready.

    Checked red: with both 410 paths of watch.py (the ERROR event and the 410 answer) failing
    instead of relisting, the wait failed with `too old resource version: 1 (670)`.
    """
    set_id = f"applyset-{ns}"
    docs = unschedulable_web(ns)
    docs[1]["metadata"].update(namespace=ns, labels={PART_OF: set_id})
    kubectl("apply", "-f", "-", input="\n---\n".join(json.dumps(d) for d in docs))
    stale = api.get(f"/apis/apps/v1/namespaces/{ns}/deployments/web")
    stale["metadata"]["resourceVersion"] = "1"   # long compacted out of the watch cache
    stale.update(kind="Deployment", apiVersion="apps/v1")
    spy = ExpiredSpy(api)
    deadline = time.monotonic() + 45
    target = Target(ObjectRef("apps", "Deployment", ns, "web", "v1"),
                    api.resource("apps/v1", "Deployment"), stale, deadline)
    threading.Timer(1.5, make_schedulable, args=(kubectl, ns)).start()
    outcome = Waiter(spy, set_id, unschedulable_grace=300).wait([target], deadline)
    assert outcome.ok, outcome
    assert spy.expired >= 1, "the API server did not answer 410: nothing was proven"
