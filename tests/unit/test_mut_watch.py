"""readiness/watch.py's survivors of the mutation run (docs/testing.md): what a wait does with
pod events and relists, Warning events as detail lines, and which workloads own a pod.

Each test drives `Waiter.wait` (or a public function) against a scripted API boundary and
checks what the wait answers: ready, failed, or still pending at its deadline.
"""
from __future__ import annotations

import logging
import threading
import time

import pytest

from heat_k8s_hook.errors import ClusterUnreachable, HookError
from heat_k8s_hook.kube.cluster import ApiError, NotFound, Resource
from heat_k8s_hook.objects import ObjectRef
from heat_k8s_hook.readiness import watch
from heat_k8s_hook.readiness.watch import Target, Waiter, pod_owners

CM = Resource("", "v1", "ConfigMap", "configmaps", True)
DEPLOY = Resource("apps", "v1", "Deployment", "deployments", True)
HASH = "6486586db"


def deployment(name: str, namespace: str, rv: str, available: int) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace, "resourceVersion": rv,
                         "generation": 1, "labels": {}},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": name}}},
            "status": {"observedGeneration": 1, "replicas": 2, "updatedReplicas": 2,
                       "readyReplicas": available, "availableReplicas": available,
                       "conditions": [{"type": "Available", "status": "True"}]}}


def pod(name: str, namespace: str = "ns", app: str = "web", *, terminating: bool = False,
        created: str | None = None, crashing: bool = False) -> dict:
    """A pod of Deployment `app` (through its ReplicaSet `<app>-<hash>`)."""
    meta = {"name": name, "namespace": namespace,
            "labels": {"app": app, "pod-template-hash": HASH},
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                 "name": f"{app}-{HASH}", "controller": True}]}
    if terminating:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    if created:
        meta["creationTimestamp"] = created
    status: dict = {"phase": "Running",
                    "conditions": [{"type": "Ready", "status": "True"}]}
    if crashing:
        status["containerStatuses"] = [{"name": "app", "restartCount": 5, "state": {
            "waiting": {"reason": "CrashLoopBackOff", "message": "back-off restarting"}}}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "status": status}


def pods_path(namespace: str = "ns") -> str:
    return f"/api/v1/namespaces/{namespace}/pods"


class Sleep:
    def __init__(self, seconds: float):
        self.seconds = seconds


class ScriptedCluster:
    """Scripted LIST answers and watch streams per path; each call takes the next script.

    A script is a list of events, exceptions (raised) and Sleep steps; with no script left a
    watch idles for a moment and ends (the stream then watches again), as a quiet server does.
    """

    def __init__(self, watches: dict, lists: dict):
        self.watches = {k: list(v) for k, v in watches.items()}
        self.lists = {k: list(v) if isinstance(v, list) else [v] for k, v in lists.items()}
        self.calls: list = []
        self.lock = threading.Lock()

    def watch(self, path, query, timeout):
        with self.lock:
            self.calls.append(("watch", path, dict(query), timeout))
            scripts = self.watches.get(path) or []
            script = scripts.pop(0) if scripts else None
        if script is None:
            time.sleep(min(timeout, 0.1))
            return
        for step in script:
            if isinstance(step, Sleep):
                time.sleep(step.seconds)
            elif isinstance(step, Exception):
                raise step
            else:
                yield step

    def get(self, path, query=None, timeout=30.0):
        with self.lock:
            self.calls.append(("list", path, dict(query or {}), timeout))
            answers = self.lists[path]
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def listing(items: list, rv: str = "20") -> dict:
    return {"metadata": {"resourceVersion": rv}, "items": items}


def target(obj: dict, resource: Resource, deadline: float, pods_since=None) -> Target:
    meta = obj["metadata"]
    group = resource.group
    return Target(ObjectRef(group, resource.kind, meta.get("namespace"), meta["name"], "v1"),
                  resource, obj, deadline, pods_since)


TOO_OLD = {"type": "ERROR", "object": {"code": 410, "message": "too old"}}


def no_tick(monkeypatch):
    """Time-based rules re-judge every workload each TICK; without it, only the events that
    name a workload re-judge it (what these tests look at)."""
    monkeypatch.setattr(watch, "TICK", 60.0)


# -- pods: deleted, forgotten on a relist, re-judged at once --------------------------------------

def test_a_deleted_terminating_pod_lets_its_deployment_become_ready(monkeypatch):
    """Ready = the old pods no longer run: the DELETED event of the last terminating pod ends
    the wait at once (not at the next tick, not never)."""
    no_tick(monkeypatch)
    old = pod(f"web-{HASH}-old", terminating=True)
    cluster = ScriptedCluster(
        watches={DEPLOY.path("ns"): [[{"type": "MODIFIED",
                                        "object": deployment("web", "ns", "11", 2)}]],
                 pods_path(): [[Sleep(0.3), {"type": "DELETED", "object": old}]]},
        lists={pods_path(): listing([old])})
    start = time.monotonic()
    t = target(deployment("web", "ns", "10", 1), DEPLOY, start + 3)
    outcome = Waiter(cluster, "set").wait([t], start + 3)
    assert outcome.ok, outcome
    assert outcome.ready == [t.ref]
    assert time.monotonic() - start < 2.5


def test_a_deleted_pod_never_seen_is_ignored(monkeypatch):
    no_tick(monkeypatch)
    stranger = pod(f"web-{HASH}-x", terminating=True)
    cluster = ScriptedCluster(
        watches={DEPLOY.path("ns"): [[Sleep(0.3), {"type": "MODIFIED",
                                                    "object": deployment("web", "ns", "11", 2)}]],
                 pods_path(): [[{"type": "DELETED", "object": stranger}]]},
        lists={pods_path(): listing([])})
    start = time.monotonic()
    t = target(deployment("web", "ns", "10", 1), DEPLOY, start + 3)
    outcome = Waiter(cluster, "set").wait([t], start + 3)
    assert outcome.ok and outcome.ready == [t.ref], outcome


def test_a_pod_relist_forgets_a_deleted_pod_and_re_judges_its_workload(monkeypatch):
    """The pod watch expires (410) after the Deployment is ready but its old pod still
    terminates; the relist no longer has the old pod (only another workload's): the
    Deployment is ready at once."""
    no_tick(monkeypatch)
    old = pod(f"web-{HASH}-old", terminating=True)
    other = pod(f"api-{HASH}-1", app="api")
    cluster = ScriptedCluster(
        watches={DEPLOY.path("ns"): [[{"type": "MODIFIED",
                                        "object": deployment("web", "ns", "11", 2)}]],
                 pods_path(): [[Sleep(0.4), TOO_OLD]]},
        lists={pods_path(): [listing([old], "20"), listing([other], "30")]})
    start = time.monotonic()
    t = target(deployment("web", "ns", "10", 1), DEPLOY, start + 3)
    outcome = Waiter(cluster, "set").wait([t], start + 3)
    assert outcome.ok and outcome.ready == [t.ref], outcome
    assert time.monotonic() - start < 2.5


def test_a_pod_relist_in_one_namespace_keeps_the_pods_of_another(monkeypatch):
    """Namespace a's pod watch relists; Deployment b's terminating pod (namespace b) is not
    in that list, and still holds b back."""
    a_path, b_path = pods_path("a"), pods_path("b")
    going = pod(f"web-{HASH}-old", "b", terminating=True)
    cluster = ScriptedCluster(
        watches={DEPLOY.path("a"): [[{"type": "MODIFIED",
                                      "object": deployment("web", "a", "11", 2)}]],
                 DEPLOY.path("b"): [[{"type": "MODIFIED",
                                      "object": deployment("web", "b", "11", 2)}]],
                 a_path: [[Sleep(0.4), TOO_OLD]]},
        lists={a_path: listing([]), b_path: listing([going])})
    start = time.monotonic()
    ta = target(deployment("web", "a", "10", 1), DEPLOY, start + 2)
    tb = target(deployment("web", "b", "10", 1), DEPLOY, start + 2)
    outcome = Waiter(cluster, "set").wait([ta, tb], start + 2)
    assert outcome.ready == [ta.ref], outcome
    assert [r for r, _ in outcome.pending] == [tb.ref], outcome
    assert outcome.pending[0][1].endswith(f"; pod web-{HASH}-old still terminating")


def test_a_pod_created_in_the_second_of_the_apply_counts():
    """pods_since is the apply's server time (seconds): a pod created in that same second is
    one of this apply's, and its crash loop fails the Deployment."""
    from datetime import datetime, timezone
    since = datetime(2026, 12, 5, 10, 0, 0, tzinfo=timezone.utc)
    crash = pod(f"web-{HASH}-new", created="2026-12-05T10:00:00Z", crashing=True)
    cluster = ScriptedCluster(watches={}, lists={pods_path(): listing([crash])})
    start = time.monotonic()
    t = target(deployment("web", "ns", "10", 1), DEPLOY, start + 2, pods_since=since)
    outcome = Waiter(cluster, "set").wait([t], start + 2)
    assert [r for r, _ in outcome.failed] == [t.ref], outcome
    assert "CrashLoopBackOff" in outcome.failed[0][1]
    assert outcome.pods == {t.ref.key: (f"web-{HASH}-new",)}


# -- a relist of the watched objects: what it lacks is gone ---------------------------------------

def cm(name: str, namespace: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace, "resourceVersion": "5"}}


def test_an_object_missing_from_a_relist_is_deleted():
    """Waiting for a deletion, the watch expires (410); the relist lacks the object: gone."""
    kept = cm("kept", "ns")
    cluster = ScriptedCluster(watches={CM.path("ns"): [[TOO_OLD]]},
                              lists={CM.path("ns"): listing([kept])})
    start = time.monotonic()
    t = target(cm("c", "ns"), CM, start + 2)
    t_kept = target(kept, CM, start + 2)
    outcome = Waiter(cluster, "set").wait([t, t_kept], start + 2, gone=True)
    assert outcome.ready == [t.ref], outcome
    assert outcome.pending == [(t_kept.ref, "being deleted")]


def test_a_relist_of_one_namespace_says_nothing_of_another():
    cluster = ScriptedCluster(watches={CM.path("a"): [[TOO_OLD]]},
                              lists={CM.path("a"): listing([])})
    start = time.monotonic()
    ta = target(cm("c", "a"), CM, start + 1.5)
    tb = target(cm("d", "b"), CM, start + 1.5)
    outcome = Waiter(cluster, "set").wait([ta, tb], start + 1.5, gone=True)
    assert outcome.ready == [ta.ref], outcome
    assert outcome.pending == [(tb.ref, "being deleted")]


# -- the streams: what is listed and watched, for how long, and what ends them --------------------

WIDGETS = Resource("example.com", "v1", "Widget", "widgets", True)
SELECTOR = "applyset.kubernetes.io/part-of=set"


def widget(synced: str) -> dict:
    """As a LIST item: without kind and apiVersion (the LIST carries them once)."""
    return {"metadata": {"name": "w", "namespace": "ns", "resourceVersion": "7"},
            "status": {"conditions": [{"type": "Synced", "status": synced},
                                      {"type": "Ready", "status": "False"}]}}


def widget_target(deadline: float) -> Target:
    # not found when applied (a dry-run stand-in): no resourceVersion, so the stream lists
    return Target(ObjectRef("example.com", "Widget", "ns", "w", "v1"), WIDGETS, None, deadline)


def test_a_listed_item_is_judged_as_its_resources_kind_and_group():
    """LIST items carry no kind or apiVersion: the stream's resource gives them, so the
    wait rule of example.com/Widget applies (Synced, not Ready)."""
    cluster = ScriptedCluster(watches={}, lists={WIDGETS.path("ns"): listing([widget("True")])})
    start = time.monotonic()
    t = widget_target(start + 2)
    outcome = Waiter(cluster, "set", wait_rules={"example.com/Widget": "Synced"}).wait(
        [t], start + 2)
    assert outcome.ok and outcome.ready == [t.ref], outcome


def test_only_the_applysets_objects_are_listed_and_watched_within_the_deadline():
    cluster = ScriptedCluster(
        watches={WIDGETS.path("ns"): [[{"type": "MODIFIED", "object": dict(
            widget("True"), kind="Widget", apiVersion="example.com/v1")}]]},
        lists={WIDGETS.path("ns"): listing([widget("False")], "40")})
    start = time.monotonic()
    t = widget_target(start + 2)
    outcome = Waiter(cluster, "set", wait_rules={"example.com/Widget": "Synced"}).wait(
        [t], start + 2)
    assert outcome.ok, outcome
    (_, path, query, list_timeout), (_, wpath, wquery, watch_timeout) = cluster.calls[:2]
    assert (path, query) == (WIDGETS.path("ns"), {"labelSelector": SELECTOR})
    assert (wpath, wquery) == (path, {"labelSelector": SELECTOR, "resourceVersion": "40"})
    assert 1.0 < list_timeout <= 2.0 and 1.0 < watch_timeout <= 2.0


def test_a_long_wait_caps_each_list_and_watch():
    cluster = ScriptedCluster(
        watches={WIDGETS.path("ns"): [[{"type": "MODIFIED", "object": dict(
            widget("True"), kind="Widget", apiVersion="example.com/v1")}]]},
        lists={WIDGETS.path("ns"): listing([widget("False")])})
    start = time.monotonic()
    t = widget_target(start + 1000)
    outcome = Waiter(cluster, "set", wait_rules={"example.com/Widget": "Synced"}).wait(
        [t], start + 1000)
    assert outcome.ok, outcome
    assert [c[3] for c in cluster.calls[:2]] == [30.0, 300.0]


def test_a_list_without_items_holds_nothing():
    """Waiting for a deletion: a LIST without `items` means every object is gone."""
    cluster = ScriptedCluster(watches={}, lists={WIDGETS.path("ns"): {"metadata": {
        "resourceVersion": "9"}}})
    start = time.monotonic()
    seen = dict(widget("True"), kind="Widget", apiVersion="example.com/v1")  # no version: listed
    del seen["metadata"]["resourceVersion"]
    t = Target(ObjectRef("example.com", "Widget", "ns", "w", "v1"), WIDGETS, seen, start + 2)
    outcome = Waiter(cluster, "set").wait([t], start + 2, gone=True)
    assert outcome.ok and outcome.ready == [t.ref], outcome


def test_a_stream_with_less_than_a_second_left_still_watches():
    path = CM.path("ns")
    obj = cm("c", "ns")
    cluster = ScriptedCluster(watches={path: [[{"type": "DELETED", "object": obj}]]}, lists={})
    start = time.monotonic()
    t = target(obj, CM, start + 0.8)
    outcome = Waiter(cluster, "set").wait([t], start + 0.8, gone=True)
    assert outcome.ok and outcome.ready == [t.ref], outcome


def test_a_dropped_connection_is_retried_at_once_even_near_the_deadline():
    """The first retry comes after 0.1 s: with one second left, a dropped watch is watched
    again (not given up on as if the back-off would pass the deadline)."""
    path = CM.path("ns")
    obj = cm("c", "ns")
    dropped = ClusterUnreachable("connection reset")
    dropped.transient = True
    cluster = ScriptedCluster(watches={path: [[dropped], [{"type": "DELETED", "object": obj}]]},
                              lists={})
    start = time.monotonic()
    t = target(obj, CM, start + 1.0)
    outcome = Waiter(cluster, "set").wait([t], start + 1.0, gone=True)
    assert outcome.ok and outcome.ready == [t.ref], outcome


def test_an_error_event_other_than_410_fails_the_wait_with_its_status():
    path = CM.path("ns")
    obj = cm("c", "ns")
    cluster = ScriptedCluster(watches={path: [[{"type": "ERROR", "object": {
        "code": 403, "reason": "Forbidden", "message": "cannot watch configmaps"}}]]}, lists={})
    start = time.monotonic()
    t = target(obj, CM, start + 3)
    with pytest.raises(ApiError) as caught:
        Waiter(cluster, "set").wait([t], start + 3, gone=True)
    assert (caught.value.status, caught.value.reason, str(caught.value)) == (
        403, "Forbidden", "cannot watch configmaps")
    assert time.monotonic() - start < 2


def test_an_error_event_without_a_code_is_a_500():
    path = CM.path("ns")
    cluster = ScriptedCluster(watches={path: [[{"type": "ERROR", "object": {}}]]}, lists={})
    start = time.monotonic()
    t = target(cm("c", "ns"), CM, start + 3)
    with pytest.raises(ApiError) as caught:
        Waiter(cluster, "set").wait([t], start + 3, gone=True)
    assert (caught.value.status, caught.value.reason, str(caught.value)) == (500, "", "HTTP 500")


def test_a_drop_after_events_is_retried_at_once_too():
    """The back-off starts again at 0.1 s after each event that came."""
    path = CM.path("ns")
    obj = cm("c", "ns")
    cluster = ScriptedCluster(
        watches={path: [[{"type": "MODIFIED", "object": obj},
                         ClusterUnreachable("connection reset")],
                        [{"type": "DELETED", "object": obj}]]}, lists={})
    start = time.monotonic()
    t = target(obj, CM, start + 1.0)
    outcome = Waiter(cluster, "set").wait([t], start + 1.0, gone=True)
    assert outcome.ok and outcome.ready == [t.ref], outcome


def test_bookmarks_move_the_resume_point_and_are_not_objects():
    """A BOOKMARK (even one without an object) is no object event; the next watch resumes from
    its resourceVersion, and an event without one keeps the last."""
    path = CM.path("ns")
    obj = cm("c", "ns")
    unversioned = {"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "c", "namespace": "ns"}}
    cluster = ScriptedCluster(
        watches={path: [[{"type": "BOOKMARK", "object": {
                             "kind": "ConfigMap", "apiVersion": "v1",
                             "metadata": {"resourceVersion": "12"}}},
                         {"type": "BOOKMARK"}],
                        [{"type": "MODIFIED", "object": unversioned}],
                        [{"type": "DELETED", "object": obj}]]}, lists={})
    start = time.monotonic()
    t = target(obj, CM, start + 3)
    outcome = Waiter(cluster, "set").wait([t], start + 3, gone=True)
    assert outcome.ok and outcome.ready == [t.ref], outcome
    # (the stream may watch once more before the wait stops it)
    assert [(c[0], c[2].get("resourceVersion")) for c in cluster.calls][:3] == [
        ("watch", "5"), ("watch", "12"), ("watch", "12")]


def test_a_resource_type_gone_with_its_crd_holds_nothing_to_wait_for():
    obj = dict(widget("True"), kind="Widget", apiVersion="example.com/v1")
    gone_type = NotFound(404, "NotFound", "the server could not find the requested resource")
    cluster = ScriptedCluster(watches={WIDGETS.path("ns"): [[gone_type]]}, lists={})
    start = time.monotonic()
    t = Target(ObjectRef("example.com", "Widget", "ns", "w", "v1"), WIDGETS, obj, start + 3)
    outcome = Waiter(cluster, "set").wait([t], start + 3, gone=True)
    assert outcome.ok and outcome.ready == [t.ref], outcome
    assert time.monotonic() - start < 2


def test_a_resource_type_not_found_fails_a_wait_for_readiness():
    obj = dict(widget("False"), kind="Widget", apiVersion="example.com/v1")
    gone_type = NotFound(404, "NotFound", "the server could not find the requested resource")
    cluster = ScriptedCluster(watches={WIDGETS.path("ns"): [[gone_type]]}, lists={})
    start = time.monotonic()
    t = Target(ObjectRef("example.com", "Widget", "ns", "w", "v1"), WIDGETS, obj, start + 3)
    with pytest.raises(NotFound, match="could not find the requested resource"):
        Waiter(cluster, "set", wait_rules={"example.com/Widget": "Synced"}).wait([t], start + 3)
    assert time.monotonic() - start < 2


def test_a_410_when_a_watch_starts_relists():
    path = CM.path("ns")
    obj = cm("c", "ns")
    cluster = ScriptedCluster(
        watches={path: [[ApiError(410, "Expired", "too old resource version")],
                        [{"type": "DELETED", "object": obj}]]},
        lists={path: listing([obj], "30")})
    start = time.monotonic()
    t = target(obj, CM, start + 3)
    outcome = Waiter(cluster, "set").wait([t], start + 3, gone=True)
    assert outcome.ok and outcome.ready == [t.ref], outcome
    assert [(c[0], c[2].get("resourceVersion")) for c in cluster.calls][:3] == [
        ("watch", "5"), ("list", None), ("watch", "30")]


class RecordingStop(threading.Event):
    """The stream's back-off is `stop.wait(backoff)`: recorded here, and not slept."""

    def __init__(self):
        super().__init__()
        self.waits: list = []

    def wait(self, timeout=None):
        self.waits.append(timeout)
        return self.is_set()


def failing_stream(error, times: int, deadline_in: float, caplog) -> tuple:
    """A watch that fails `times` times with `error`, then with a 403; returns the back-offs
    waited and what the wait raised."""
    path = CM.path("ns")
    obj = cm("c", "ns")
    cluster = ScriptedCluster(watches={path: [[error]] * times + [[ApiError(
        403, "Forbidden", "cannot watch")]]}, lists={})
    waiter = Waiter(cluster, "set")
    waiter.stop = waiter.streams.stop = RecordingStop()   # the loop's and the streams' own
    caplog.set_level(logging.DEBUG, logger="heat_k8s_hook")
    start = time.monotonic()
    t = target(obj, CM, start + deadline_in)
    with pytest.raises(Exception) as caught:
        waiter.wait([t], start + deadline_in, gone=True)
    return waiter.stop.waits, caught.value


def test_a_503_is_retried_with_a_doubling_back_off_up_to_2_seconds(caplog):
    waits, error = failing_stream(ApiError(503, "ServiceUnavailable", "starting"), 8, 30, caplog)
    assert waits == [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0, 2.0]
    assert isinstance(error, ApiError) and error.status == 403
    assert "watch /api/v1/namespaces/ns/configmaps: starting; trying again" in caplog.messages


def test_a_503_is_given_up_on_when_the_back_off_would_pass_the_deadline(caplog):
    waits, error = failing_stream(ApiError(503, "ServiceUnavailable", "starting"), 8, 1.0,
                                  caplog)
    assert waits == [0.1, 0.2, 0.4, 0.8]
    assert isinstance(error, ApiError) and error.status == 503


def test_a_dropped_watch_reconnects_with_a_doubling_back_off_up_to_2_seconds(caplog):
    waits, error = failing_stream(ClusterUnreachable("connection reset"), 8, 30, caplog)
    assert waits == [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0, 2.0]
    assert isinstance(error, ApiError) and error.status == 403
    assert ("watch /api/v1/namespaces/ns/configmaps: connection reset; trying again"
            in caplog.messages)


def test_a_dropped_watch_is_given_up_on_when_the_back_off_would_pass_the_deadline(caplog):
    waits, error = failing_stream(ClusterUnreachable("connection reset"), 8, 1.0, caplog)
    assert waits == [0.1, 0.2, 0.4, 0.8]
    assert isinstance(error, ClusterUnreachable) and str(error) == "connection reset"


# -- warning_events -------------------------------------------------------------------------------

def warning(name: str, when: str, *, count=None, regarding: bool = False, kind="Pod") -> dict:
    about = {"kind": kind, "name": name, "namespace": "ns"}
    event = {"type": "Warning", "reason": "BackOff", "message": f"at {when}",
             "lastTimestamp": when}
    event["regarding" if regarding else "involvedObject"] = about
    if count is not None:
        event["count"] = count
    return event


def waiter_with_events(answer) -> tuple:
    cluster = ScriptedCluster(watches={}, lists={"/api/v1/namespaces/ns/events": answer})
    return Waiter(cluster, "set"), cluster


def test_warning_events_are_the_last_three_oldest_first_with_their_count():
    events = [warning("p", f"2026-12-05T10:00:0{i}Z", count=c)
              for i, c in enumerate([None, 1, 2, 7])]
    waiter, cluster = waiter_with_events(listing(list(reversed(events))))
    assert waiter.warning_events("ns", ["p"]) == [
        "Pod/p: BackOff: at 2026-12-05T10:00:01Z",
        "Pod/p: BackOff: at 2026-12-05T10:00:02Z (x2)",
        "Pod/p: BackOff: at 2026-12-05T10:00:03Z (x7)"]
    assert cluster.calls == [("list", "/api/v1/namespaces/ns/events",
                              {"fieldSelector": "type=Warning"}, 5.0)]
    assert waiter.warning_events("ns", ["p"], limit=1) == [
        "Pod/p: BackOff: at 2026-12-05T10:00:03Z (x7)"]


def test_warning_events_of_events_k8s_io_name_what_they_regard():
    waiter, _ = waiter_with_events(listing([warning("web", "2026-12-05T10:00:00Z",
                                                    regarding=True, kind="Deployment")]))
    assert waiter.warning_events("ns", ["web"]) == [
        "Deployment/web: BackOff: at 2026-12-05T10:00:00Z"]


def test_warning_events_without_items_or_namespace_or_an_answer_are_none():
    waiter, cluster = waiter_with_events({"metadata": {}})
    assert waiter.warning_events("ns", ["p"]) == []
    assert waiter.warning_events("", ["p"]) == []
    assert len(cluster.calls) == 1   # no namespace: nothing asked
    waiter, _ = waiter_with_events(HookError("events: forbidden"))
    assert waiter.warning_events("ns", ["p"]) == []


# -- pod_owners -----------------------------------------------------------------------------------

def test_pod_owners_skips_a_non_controller_reference_before_the_controller():
    p = {"metadata": {"ownerReferences": [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "not-a-controller"},
        {"apiVersion": "batch/v1", "kind": "Job", "name": "migrate", "controller": True}]}}
    assert pod_owners(p) == [("batch/Job", "migrate")]


def test_pod_owners_of_a_core_group_controller_has_no_group():
    p = {"metadata": {"ownerReferences": [
        {"apiVersion": "v1", "kind": "ReplicationController", "name": "rc", "controller": True}]}}
    assert pod_owners(p) == [("ReplicationController", "rc")]


def test_only_a_replicaset_with_the_pods_hash_names_a_deployment():
    no_hash = {"metadata": {"ownerReferences": [
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-abc", "controller": True}]}}
    assert pod_owners(no_hash) == [("apps/ReplicaSet", "web-abc")]
    job = {"metadata": {"labels": {"pod-template-hash": "abc"}, "ownerReferences": [
        {"apiVersion": "batch/v1", "kind": "Job", "name": "web-abc", "controller": True}]}}
    assert pod_owners(job) == [("batch/Job", "web-abc")]
