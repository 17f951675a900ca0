"""readiness/watch.py's survivors of the mutation run (docs/testing.md), second part: the wait's
loop against an injected clock, so each test checks exact values without sleeping.

The waiter's queue is a `Feed` that hands scripted batches of events: each `get(timeout)`
records the timeout the loop asked for and moves the clock on (by the batch's delay, or by
the whole timeout when nothing comes), so a wait of seconds runs in microseconds and its
deadlines, ticks and elapsed times are exact. The streams are recorded, not started (the test
of `streams.py` is `test_mut_streams.py`), except in the one test of how the waiter wires its
own streams. Also `applied_at` and `deadline_for`, pure.
"""
from __future__ import annotations

import queue
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest
from test_mut_streams import Api
from test_mut_watch import CM, DEPLOY, HASH, WIDGETS, cm, deployment, pod, target, widget

from heat_k8s_hook.kube.cluster import ApiError, Resource
from heat_k8s_hook.objects import ObjectRef
from heat_k8s_hook.readiness import watch
from heat_k8s_hook.readiness.rules import Status, Verdict
from heat_k8s_hook.readiness.watch import Target, Waiter, applied_at, deadline_for

EPOCH = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)   # what `now` says at clock 100
POD = Resource("", "v1", "Pod", "pods", True)
PODS = ("pod", "ns")
CMS = ("obj", CM, "ns")
SELECTOR = "applyset.kubernetes.io/part-of=set"


class Clock:
    def __init__(self, t: float = 100.0):
        self.t = t

    def __call__(self) -> float:
        return self.t

    def now(self) -> datetime:
        return EPOCH + timedelta(seconds=self.t - 100.0)


class Feed:
    """The waiter's queue. Each batch is (delay, events): the first event comes after `delay`
    seconds (None: nothing comes within the timeout asked for), the rest already arrived."""

    def __init__(self, clock: Clock, batches=()):
        self.clock = clock
        self.batches = list(batches)
        self.timeouts: list = []
        self.rest: list = []

    def get(self, block=True, timeout=None):
        self.timeouts.append(timeout)
        if len(self.timeouts) > 100:
            raise AssertionError(f"the wait does not end: {self.timeouts[:10]}...")
        delay, events = self.batches.pop(0) if self.batches else (None, [])
        self.clock.t += timeout if delay is None else delay
        if not events:
            raise queue.Empty
        self.rest = list(events[1:])
        return events[0]

    def get_nowait(self):
        if self.rest:
            return self.rest.pop(0)
        raise queue.Empty


class Streams:
    """Records what the waiter starts (the refs, deadline, pods) and its `gone` at that time."""

    def __init__(self):
        self.gone = "not set"
        self.started: list = []

    def start_all(self, targets, deadline, pods):
        self.started.append(([t.ref for t in targets], deadline, pods, self.gone))


def waiter(clock: Clock, batches=(), **options) -> Waiter:
    options.setdefault("now", clock.now)
    w = Waiter(None, "set", clock=clock, **options)
    w.streams = Streams()
    w.events = Feed(clock, batches)
    return w


class Changes(list):
    """on_change's calls: (name, status, message) of the target as it was when called."""

    def __call__(self, t: Target) -> None:
        self.append((t.ref.name, t.verdict.status.value, t.verdict.message))

    def of(self, name: str) -> list:
        return [c[1:] for c in self if c[0] == name]


def result(outcome) -> tuple:
    return outcome.ready, outcome.failed, outcome.pending, outcome.elapsed, outcome.pods


def missing(name: str, deadline: float) -> Target:
    """A ConfigMap not found when applied (a dry-run stand-in): ready once it is seen."""
    return Target(ObjectRef("", "ConfigMap", "ns", name, "v1"), CM, None, deadline)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def unschedulable(name: str, since: float, owned: bool = True) -> dict:
    """A pending pod the scheduler cannot place since `since` seconds before EPOCH (clock 100);
    with `owned`, a pod of Deployment web."""
    p = pod(name) if owned else {"apiVersion": "v1", "kind": "Pod",
                                 "metadata": {"name": name, "namespace": "ns"}}
    p["status"] = {"phase": "Pending", "conditions": [{
        "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": "0/1 nodes are available: 1 Insufficient cpu.",
        "lastTransitionTime": iso(EPOCH - timedelta(seconds=since))}]}
    return p


STUCK = "pod {}: Unschedulable: 0/1 nodes are available: 1 Insufficient cpu."


# -- nothing to wait for ----------------------------------------------------------------------------

def test_no_targets_is_an_empty_outcome_at_once_timed_from_the_start_given():
    clock = Clock(100.0)
    w = waiter(clock, started=90.0)
    assert result(w.wait([], 200.0)) == ([], [], [], 10.0, {})
    assert w.streams.started == [] and w.events.timeouts == []


def test_the_time_waited_counts_from_the_waiters_creation_when_no_start_is_given():
    clock = Clock(100.0)
    w = waiter(clock)
    clock.t = 103.0
    assert result(w.wait([], 200.0)) == ([], [], [], 3.0, {})


def test_objects_the_apply_answered_ready_need_no_watch():
    clock = Clock(100.0)
    w = waiter(clock, started=99.0)
    a, c = target(cm("a", "ns"), CM, 105.0), target(cm("c", "ns"), CM, 105.0)
    changes = Changes()
    assert result(w.wait([a, c], 105.0, on_change=changes)) == (
        [a.ref, c.ref], [], [], 1.0, {})
    assert changes == [("a", "ready", "exists"), ("c", "ready", "exists")]
    assert a.verdict == Verdict(Status.READY, "exists")
    assert w.streams.started == [] and w.events.timeouts == []


def test_only_the_objects_not_ready_yet_are_watched_and_the_others_are_ready_at_once():
    """An object not found (here between two ready ones) is watched; the ready ones after it
    are ready too, without a watch."""
    clock = Clock(100.0)
    w = waiter(clock)
    a, b, c = target(cm("a", "ns"), CM, 103.0), missing("b", 101.0), target(cm("c", "ns"),
                                                                          CM, 103.0)
    changes = Changes()
    assert result(w.wait([a, b, c], 103.0, on_change=changes)) == (
        [a.ref, c.ref], [], [(b.ref, "not found")], 1.0, {b.ref.key: ()})
    assert w.streams.started == [([b.ref], 101.0, True, False)]
    assert changes.of("a") == changes.of("c") == [("ready", "exists")]
    assert changes.of("b") == [("in_progress", "not found")]
    assert w.events.timeouts == [1.0]


def test_a_wait_rule_judges_what_the_apply_answered():
    clock = Clock(100.0)
    obj = dict(widget("True"), kind="Widget", apiVersion="example.com/v1")
    t = Target(ObjectRef("example.com", "Widget", "ns", "w", "v1"), WIDGETS, obj, 101.0)
    w = waiter(clock, wait_rules={"example.com/Widget": "Synced"})
    assert result(w.wait([t], 101.0)) == ([t.ref], [], [], 0.0, {})
    assert w.streams.started == []
    # without the rule the same Widget is not ready (its Ready condition is False)
    t = Target(ObjectRef("example.com", "Widget", "ns", "w", "v1"), WIDGETS, obj, 101.0)
    w = waiter(Clock(100.0))
    outcome = w.wait([t], 101.0)
    assert outcome.ready == [] and [r for r, _ in outcome.pending] == [t.ref]


def test_a_wait_rule_judges_what_the_watch_shows():
    clock = Clock(100.0)
    t = Target(ObjectRef("example.com", "Widget", "ns", "w", "v1"), WIDGETS, None, 105.0)
    seen = dict(widget("True"), kind="Widget", apiVersion="example.com/v1")
    w = waiter(clock, [(0.5, [(("obj", WIDGETS, "ns"), "ADDED", seen)])],
               wait_rules={"example.com/Widget": "Synced"})
    assert result(w.wait([t], 105.0)) == ([t.ref], [], [], 0.5, {})


# -- waiting for deletion ---------------------------------------------------------------------------

def test_a_deletion_wait_watches_everything_and_ends_at_its_deadline():
    """Present objects are "being deleted" (none is ready at once, no pod stream); a DELETED
    event makes one "deleted"; the loop wakes each tick, then at the deadline exactly."""
    clock = Clock(100.0)
    a, b = target(cm("a", "ns"), CM, 102.0), target(cm("b", "ns"), CM, 102.0)
    w = waiter(clock, [(0.5, [(CMS, "DELETED", cm("a", "ns"))])])
    changes = Changes()
    assert result(w.wait([a, b], 102.0, gone=True, on_change=changes)) == (
        [a.ref], [], [(b.ref, "being deleted")], 2.0, {b.ref.key: ()})
    assert w.streams.started == [([a.ref, b.ref], 102.0, False, True)]
    assert w.events.timeouts == [1.0, 1.0, 0.5]
    assert changes.of("a") == [("in_progress", "being deleted"), ("ready", "deleted")]
    assert changes.of("b") == [("in_progress", "being deleted")]
    assert a.verdict == Verdict(Status.READY, "deleted")


def test_events_that_already_arrived_are_applied_before_judging_again():
    clock = Clock(100.0)
    a, b = target(cm("a", "ns"), CM, 102.0), target(cm("b", "ns"), CM, 102.0)
    w = waiter(clock, [(0.25, [(CMS, "DELETED", cm("b", "ns")), (CMS, "DELETED", cm("a", "ns"))])])
    outcome = w.wait([a, b], 102.0, gone=True)
    assert sorted(outcome.ready) == sorted([a.ref, b.ref]) and outcome.ok
    assert (outcome.elapsed, w.events.timeouts) == (0.25, [1.0])


def test_the_loop_wakes_at_the_first_deadline_and_the_streams_run_to_the_last():
    clock = Clock(100.0)
    a, b = target(cm("a", "ns"), CM, 101.5), target(cm("b", "ns"), CM, 103.0)
    w = waiter(clock)
    assert result(w.wait([a, b], 103.0, gone=True)) == (
        [], [], [(a.ref, "being deleted"), (b.ref, "being deleted")], 1.5,
        {a.ref.key: (), b.ref.key: ()})
    assert w.streams.started == [([a.ref, b.ref], 103.0, False, True)]
    assert w.events.timeouts == [1.0, 0.5]


def test_a_stream_failure_ends_the_wait_with_that_very_error():
    clock = Clock(100.0)
    a = target(cm("a", "ns"), CM, 105.0)
    error = ApiError(403, "Forbidden", "cannot watch configmaps")
    w = waiter(clock, [(0.5, [(CMS, "FAIL", error), (CMS, "DELETED", cm("a", "ns"))])])
    with pytest.raises(ApiError) as caught:
        w.wait([a], 105.0, gone=True)
    assert caught.value is error
    assert w.stop.is_set()


# -- failures, cancellation --------------------------------------------------------------------------

def test_the_first_failure_ends_the_wait_at_once_with_the_others_pending():
    clock = Clock(100.0)
    web = target(deployment("web", "ns", "10", 1), DEPLOY, 105.0)
    c = missing("c", 105.0)
    crash = pod(f"web-{HASH}-new", crashing=True)
    w = waiter(clock, [(0.5, [(PODS, "LIST", [crash])])])
    changes = Changes()
    ready, failed, pending, elapsed, pods = result(w.wait([web, c], 105.0, on_change=changes))
    assert (ready, pending, elapsed) == ([], [(c.ref, "not found")], 0.5)
    assert [r for r, _ in failed] == [web.ref]
    assert failed[0][1].startswith(f"pod web-{HASH}-new container app: CrashLoopBackOff")
    assert pods == {web.ref.key: (f"web-{HASH}-new",), c.ref.key: ()}
    assert changes.of("web")[-1] == ("failed", failed[0][1])
    assert w.streams.started == [([web.ref, c.ref], 105.0, True, False)]
    assert w.events.timeouts == [1.0]


def test_a_cancelled_run_stops_after_judging_once():
    cancel = threading.Event()
    cancel.set()
    clock = Clock(100.0)
    c = missing("c", 105.0)
    w = waiter(clock, cancel=cancel)
    assert result(w.wait([c], 105.0)) == ([], [], [(c.ref, "not found")], 0.0, {c.ref.key: ()})
    assert w.events.timeouts == []


# -- time-based rules: re-judged each tick -----------------------------------------------------------

def test_a_bare_pod_is_re_judged_each_tick_and_fails_once_past_the_default_grace():
    """Unschedulable for 14.5 s at the start, 15.5 s at the first tick (one second later):
    past the default 15 s grace, failed then."""
    clock = Clock(100.0)
    t = Target(ObjectRef("", "Pod", "ns", "p", "v1"), POD, unschedulable("p", 14.5, False), 110)
    w = waiter(clock)
    changes = Changes()
    outcome = w.wait([t], 110.0, on_change=changes)
    assert result(outcome) == ([], [(t.ref, STUCK.format("p"))], [], 1.0, {t.ref.key: ()})
    assert changes == [
        ("p", "in_progress",
         "pending, not scheduled: Unschedulable: 0/1 nodes are available: 1 Insufficient cpu."),
        ("p", "failed", STUCK.format("p"))]
    assert w.events.timeouts == [1.0]


def test_a_workloads_pods_are_re_judged_each_tick_with_the_grace_given():
    clock = Clock(100.0)
    web = target(deployment("web", "ns", "10", 1), DEPLOY, 110.0)
    stuck = unschedulable(f"web-{HASH}-a", 4.5)
    w = waiter(clock, [(0.0, [(PODS, "LIST", [stuck])])], unschedulable_grace=5.0)
    outcome = w.wait([web], 110.0)
    name = f"web-{HASH}-a"
    assert result(outcome) == ([], [(web.ref, STUCK.format(name))], [], 1.0,
                               {web.ref.key: (name,)})
    assert w.events.timeouts == [1.0, 1.0]


def test_a_workloads_pods_fail_once_past_the_default_grace_of_15_s():
    clock = Clock(100.0)
    web = target(deployment("web", "ns", "10", 1), DEPLOY, 110.0)
    name = f"web-{HASH}-a"
    w = waiter(clock, [(0.0, [(PODS, "LIST", [unschedulable(name, 14.5)])])])
    assert result(w.wait([web], 110.0)) == ([], [(web.ref, STUCK.format(name))], [], 1.0,
                                            {web.ref.key: (name,)})


def test_time_based_rules_wait_for_the_tick_not_for_any_event():
    """An event for another target 0.75 s in re-judges that target only; the pod is re-judged
    at the tick, one second after the last."""
    clock = Clock(100.0)
    t = Target(ObjectRef("", "Pod", "ns", "p", "v1"), POD, unschedulable("p", 14.5, False), 110)
    c = missing("c", 110.0)
    w = waiter(clock, [(0.75, [(CMS, "ADDED", cm("c", "ns"))])])
    assert result(w.wait([t, c], 110.0)) == (
        [c.ref], [(t.ref, STUCK.format("p"))], [], 1.75, {t.ref.key: ()})
    assert w.events.timeouts == [1.0, 1.0]


def test_a_tick_keeps_the_events_that_came_with_it():
    """The CM's event arrives just as a tick is due: the CM is judged (ready) as well as the
    workload the tick re-judges."""
    clock = Clock(100.0)
    web = target(deployment("web", "ns", "10", 1), DEPLOY, 101.5)
    c = missing("c", 101.5)
    w = waiter(clock, [(1.0, [(CMS, "ADDED", cm("c", "ns"))])])
    outcome = w.wait([web, c], 101.5)
    assert (outcome.ready, [r for r, _ in outcome.pending], outcome.elapsed) == (
        [c.ref], [web.ref], 1.5)


def test_a_pod_without_a_creation_time_counts_for_an_apply_since_a_time():
    """pods_since: a pod the server gave no creationTimestamp is taken as created now."""
    clock = Clock(100.0)
    web = target(deployment("web", "ns", "10", 1), DEPLOY, 110.0,
                 pods_since=EPOCH - timedelta(seconds=60))
    crash = pod(f"web-{HASH}-new", crashing=True)
    w = waiter(clock, [(0.5, [(PODS, "LIST", [crash])])])
    outcome = w.wait([web], 110.0)
    assert [r for r, _ in outcome.failed] == [web.ref] and outcome.elapsed == 0.5


def test_the_default_now_is_aware_utc():
    """Without `now`, the waiter compares the server's (aware, UTC) times with the time now."""
    clock = Clock(100.0)
    since = datetime.now(timezone.utc) - timedelta(hours=1)
    web = target(deployment("web", "ns", "10", 1), DEPLOY, 110.0, pods_since=since)
    w = waiter(clock, [(0.5, [(PODS, "LIST", [pod(f"web-{HASH}-new", crashing=True)])])],
               now=watch._utcnow)
    outcome = w.wait([web], 110.0)
    assert [r for r, _ in outcome.failed] == [web.ref]
    assert abs((w.now() - datetime.now(timezone.utc)).total_seconds()) < 60


def test_a_changed_key_no_longer_waited_for_is_skipped_not_the_end_of_the_judging():
    """A pod event names its ReplicaSet too, which is no target; the keys after it are judged."""
    clock = Clock(100.0)
    w = waiter(clock)
    c = target(cm("c", "ns"), CM, 110.0)
    by_key = {c.ref.key: c}
    ready, failed, named, changes = [], [], {}, Changes()
    w._judge(by_key, [("apps", "ReplicaSet", "ns", f"web-{HASH}"), c.ref.key], False,
             changes, ready, failed, named)
    assert (ready, failed, named, by_key) == ([c.ref], [], {}, {})
    assert changes == [("c", "ready", "exists")]


def test_an_unchanged_verdict_is_not_reported_again():
    clock = Clock(100.0)
    a = target(cm("a", "ns"), CM, 102.0)
    w = waiter(clock, [(0.5, [(CMS, "MODIFIED", cm("a", "ns"))])])
    changes = Changes()
    w.wait([a], 102.0, gone=True, on_change=changes)
    assert changes == [("a", "in_progress", "being deleted")]


# -- the waiter's own streams --------------------------------------------------------------------

def test_the_waiters_streams_watch_with_its_cluster_selector_clock_queue_and_stop():
    def clock() -> float:
        return time.monotonic() + 1000.0

    obj = cm("c", "ns")
    api = Api(None, watches=[[{"type": "DELETED", "object": obj}]])
    w = Waiter(api, "set", clock=clock)
    api.stop = w.stop
    deadline = clock() + 2.0
    t = target(obj, CM, deadline)
    outcome = w.wait([t], deadline, gone=True)
    assert outcome.ready == [t.ref], outcome
    kind, path, query, timeout = api.calls[0]
    assert (kind, path, query) == ("watch", CM.path("ns"), {"labelSelector": SELECTOR,
                                                            "resourceVersion": "5"})
    assert 1.0 < timeout <= 2.0
    assert w.stop.is_set()


# -- applied_at, deadline_for ---------------------------------------------------------------------

def test_applied_at_is_the_time_of_our_own_last_apply():
    obj = {"metadata": {"managedFields": [
        {"manager": "kubectl", "operation": "Apply", "time": "2026-12-05T10:00:01Z"},
        {"manager": "heat", "operation": "Update", "time": "2026-12-05T10:00:02Z"},
        {"manager": "heat", "operation": "Apply", "time": "2026-12-05T10:00:03Z"},
        {"manager": "heat", "operation": "Apply", "time": "2026-12-05T10:00:04Z"}]}}
    assert applied_at(obj, "heat") == datetime(2026, 12, 5, 10, 0, 3, tzinfo=timezone.utc)
    assert applied_at(obj, "kubectl") == datetime(2026, 12, 5, 10, 0, 1, tzinfo=timezone.utc)
    assert applied_at(obj, "other") is None


def test_applied_at_without_managed_fields_or_metadata_is_none():
    for obj in ({}, {"metadata": None}, {"metadata": {}}, {"metadata": {"managedFields": None}},
                {"metadata": {"managedFields": []}}):
        assert applied_at(obj, "heat") is None, obj
    entry = {"manager": "heat", "operation": "Apply"}   # no time: none known
    assert applied_at({"metadata": {"managedFields": [entry]}}, "heat") is None


def test_deadline_for_takes_the_objects_own_timeout_never_past_the_deployments():
    def with_timeout(raw) -> dict:
        return {"metadata": {"annotations": {"t": raw}}}

    assert deadline_for(with_timeout("30"), 100.0, 200.0, "t") == 130.0
    assert deadline_for(with_timeout("0.5"), 100.0, 200.0, "t") == 100.5
    assert deadline_for(with_timeout("300"), 100.0, 200.0, "t") == 200.0
    for raw in ("0", "-5", "abc", ""):
        assert deadline_for(with_timeout(raw), 100.0, 200.0, "t") == 200.0, raw
    for obj in ({}, {"metadata": None}, {"metadata": {"annotations": None}},
                {"metadata": {"annotations": {"other": "5"}}}):
        assert deadline_for(obj, 100.0, 200.0, "t") == 200.0, obj
