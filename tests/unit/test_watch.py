"""watch.py against a scripted API boundary: dropped streams, 410 Gone, failures, deadlines."""
from __future__ import annotations

import threading
import time

from heat_k8s_hook.errors import ClusterUnreachable
from heat_k8s_hook.kube.cluster import ApiError, Resource
from heat_k8s_hook.objects import ObjectRef
from heat_k8s_hook.readiness.store import WatchStore
from heat_k8s_hook.readiness.watch import Target, Waiter

CM = Resource("", "v1", "ConfigMap", "configmaps", True)
DEPLOY = Resource("apps", "v1", "Deployment", "deployments", True)


def deployment(rv: str, available: int, generation: int = 1) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "ns", "resourceVersion": rv,
                         "generation": generation, "labels": {}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}}},
            "status": {"observedGeneration": generation, "replicas": 2, "updatedReplicas": 2,
                       "readyReplicas": available, "availableReplicas": available,
                       "conditions": [{"type": "Available", "status": "True"}]}}


class FakeCluster:
    """Serves scripted watch streams per path; each call takes the next script."""

    def __init__(self, watches: dict, lists: dict):
        self.watches = {k: list(v) for k, v in watches.items()}
        self.lists = lists
        self.calls: list = []
        self.lock = threading.Lock()

    def watch(self, path, query, timeout):
        with self.lock:
            self.calls.append(("watch", path, query.get("resourceVersion")))
            script = self.watches[path].pop(0) if self.watches[path] else "idle"
        if script == "idle":
            time.sleep(min(timeout, 0.2))
            return
        for step in script:
            if isinstance(step, Exception):
                raise step
            yield step

    def get(self, path, query=None, timeout=30.0):
        with self.lock:
            self.calls.append(("list", path, None))
        return self.lists[path]


def test_dropped_watch_and_410_are_survived():
    path = DEPLOY.path("ns")
    pods = "/api/v1/namespaces/ns/pods"
    cluster = FakeCluster(
        watches={
            path: [
                [{"type": "MODIFIED", "object": deployment("11", 1)},
                 ClusterUnreachable("connection reset")],                   # dropped
                [{"type": "ERROR", "object": {"code": 410, "message": "too old"}}],  # 410
                [{"type": "MODIFIED", "object": deployment("14", 2)}],
            ],
            pods: [],
        },
        lists={path: {"metadata": {"resourceVersion": "13"}, "items": [deployment("13", 1)]},
               pods: {"metadata": {"resourceVersion": "13"}, "items": []}})
    start = time.monotonic()
    target = Target(ObjectRef("apps", "Deployment", "ns", "web", "v1"), DEPLOY,
                    deployment("10", 0), start + 10)
    outcome = Waiter(cluster, "set").wait([target], start + 10)
    assert outcome.ok, outcome
    assert outcome.ready == [target.ref]
    watches = [c for c in cluster.calls if c[0] == "watch" and c[1] == path]
    # resumed from the last seen resourceVersion, relisted after 410, resumed from the list
    assert [w[2] for w in watches][:3] == ["10", "11", "13"]
    assert ("list", path, None) in cluster.calls
    assert time.monotonic() - start < 5


def test_api_error_in_watch_fails_the_wait_with_cause():
    path = CM.path("ns")
    cluster = FakeCluster(watches={path: [[ApiError(403, "Forbidden", "cannot watch")]]},
                          lists={})
    obj = {"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "c", "namespace": "ns", "resourceVersion": "5",
                        "deletionTimestamp": "2026-01-01T00:00:00Z"}}
    start = time.monotonic()
    target = Target(ObjectRef("", "ConfigMap", "ns", "c", "v1"), CM, obj, start + 10)
    try:
        Waiter(cluster, "set").wait([target], start + 10)
    except ApiError as exc:
        assert "cannot watch" in str(exc)
    else:
        raise AssertionError("a forbidden watch must not be waited out")


def test_deadline_lists_pending_with_reason():
    path = DEPLOY.path("ns")
    cluster = FakeCluster(watches={path: [], "/api/v1/namespaces/ns/pods": []},
                          lists={"/api/v1/namespaces/ns/pods":
                                 {"metadata": {"resourceVersion": "1"}, "items": []}})
    start = time.monotonic()
    target = Target(ObjectRef("apps", "Deployment", "ns", "web", "v1"), DEPLOY,
                    deployment("10", 1), start + 1.0)
    outcome = Waiter(cluster, "set").wait([target], start + 1.0)
    assert not outcome.ok and outcome.pending
    assert "1 of 2" in outcome.pending[0][1]
    assert 0.9 < time.monotonic() - start < 2.5


def test_gone_wait_sees_deleted_event():
    path = CM.path("ns")
    obj = {"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "c", "namespace": "ns", "resourceVersion": "5"}}
    cluster = FakeCluster(watches={path: [[{"type": "DELETED", "object": obj}]]}, lists={})
    start = time.monotonic()
    target = Target(ObjectRef("", "ConfigMap", "ns", "c", "v1"), CM, obj, start + 5)
    outcome = Waiter(cluster, "set").wait([target], start + 5, gone=True)
    assert outcome.ok and outcome.ready == [target.ref]


def test_pod_owners_maps_replicaset_pods_to_their_deployment():
    from heat_k8s_hook.readiness.watch import pod_owners
    pod = {"metadata": {"labels": {"pod-template-hash": "6486586db"}, "ownerReferences": [
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-6486586db",
         "controller": True}]}}
    assert pod_owners(pod) == [("apps/ReplicaSet", "web-6486586db"), ("apps/Deployment", "web")]
    job_pod = {"metadata": {"ownerReferences": [
        {"apiVersion": "batch/v1", "kind": "Job", "name": "migrate", "controller": True},
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "not-a-controller"}]}}
    assert pod_owners(job_pod) == [("batch/Job", "migrate")]
    assert pod_owners({"metadata": {}}) == []


def test_pod_relist_forgets_pods_deleted_while_no_watch_ran():
    """After a dropped pod watch, the relist is the truth: a pod deleted meanwhile (its DELETED
    event never came) no longer counts for its Deployment (a stale crash-looping pod would fail
    it). Checked red: without WatchStore.forget_pods the old pod stayed in the Deployment's bucket.
    """
    def pod(name: str) -> dict:
        return {"metadata": {"name": name, "namespace": "ns",
                             "labels": {"pod-template-hash": "6486586db"},
                             "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                                  "name": "web-6486586db", "controller": True}]}}
    store = WatchStore()
    store.apply(("pod", "ns"), "ADDED", pod("web-6486586db-old"))
    changed = store.apply(("pod", "ns"), "LIST", [pod("web-6486586db-new")])
    bucket = store.pods[("ns", "apps/Deployment", "web")]
    assert sorted(bucket) == ["web-6486586db-new"]
    assert ("apps", "Deployment", "ns", "web") in changed
