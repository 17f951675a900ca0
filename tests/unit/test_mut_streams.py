"""readiness/streams.py's survivors of the mutation run (docs/testing.md): one stream run in the
test's own thread against a scripted API server, with an injected clock and a stop event that
records the back-offs instead of sleeping, so that each test checks exact values: the query
and timeout of every list and watch, the resourceVersion resumed from, the events put on the
queue (their tag, kind and payload), the back-offs and the error that ends the stream.
"""
from __future__ import annotations

import logging
import queue
import threading

import pytest

from heat_k8s_hook.errors import ClusterUnreachable, HookError
from heat_k8s_hook.kube.cluster import ApiError, NotFound, Resource
from heat_k8s_hook.objects import ObjectRef
from heat_k8s_hook.readiness.store import Target
from heat_k8s_hook.readiness.streams import Gone, Streams, _At

CM = Resource("", "v1", "ConfigMap", "configmaps", True)
DEPLOY = Resource("apps", "v1", "Deployment", "deployments", True)
PATH = CM.path("ns")
SEL = "applyset.kubernetes.io/part-of=set"
TAG = ("obj", CM, "ns")


class Clock:
    def __init__(self, t: float = 100.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


class Stop(threading.Event):
    """`stop.wait(backoff)` is the stream's back-off: recorded, and the clock moved on."""

    def __init__(self, clock: Clock):
        super().__init__()
        self.clock = clock
        self.waits: list = []

    def wait(self, timeout=None):
        self.waits.append(timeout)
        self.clock.t += timeout
        return self.is_set()


class Api:
    """Each list takes the next of `lists`, each watch the next of `watches` (a list of events
    and exceptions, raised where they stand). With no watch left the stream is stopped, as the
    waiter does once it has what it waited for."""

    def __init__(self, stop: threading.Event, watches=(), lists=()):
        self.stop = stop
        self.watches = list(watches)
        self.lists = list(lists)
        self.calls: list = []

    def get(self, path, query=None, timeout=30.0):
        self.calls.append(("list", path, dict(query), timeout))
        answer = self.lists.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def watch(self, path, query, timeout):
        self.calls.append(("watch", path, dict(query), timeout))
        if not self.watches:
            self.stop.set()
            return iter(())
        return self._play(self.watches.pop(0))

    @staticmethod
    def _play(script):
        for step in script:
            if isinstance(step, Exception):
                raise step
            yield step


def cm(name: str, rv: str | None) -> dict:
    meta = {"name": name, "namespace": "ns"}
    if rv is not None:
        meta["resourceVersion"] = rv
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta}


def listing(items: list, rv: str) -> dict:
    return {"metadata": {"resourceVersion": rv}, "items": items}


def watch_call(rv, timeout: float, selector=SEL, path=PATH) -> tuple:
    return ("watch", path, {"labelSelector": selector, "resourceVersion": rv}, timeout)


def list_call(timeout: float, selector=SEL, path=PATH) -> tuple:
    return ("list", path, {"labelSelector": selector}, timeout)


def stream(watches=(), lists=(), t: float = 100.0, gone: bool | None = None):
    """A Streams with its clock at t, its stop, its queue and a scripted API server."""
    clock = Clock(t)
    stop = Stop(clock)
    api = Api(stop, watches, lists)
    streams = Streams(api, SEL, queue.Queue(), clock, stop)
    if gone is not None:
        streams.gone = gone
    return streams, api


def drained(streams: Streams) -> list:
    found = []
    while True:
        try:
            found.append(streams.events.get_nowait())
        except queue.Empty:
            return found


def run(streams: Streams, rv: str | None, deadline: float, tag=TAG, path=PATH,
        selector=SEL) -> list:
    streams.run(tag, path, selector, rv, deadline)
    return drained(streams)


# -- where a stream starts, what it asks, for how long ---------------------------------------------

def test_a_stream_given_a_resource_version_watches_from_it_and_resumes_from_the_last_event():
    obj = cm("c", "6")
    streams, api = stream(watches=[[{"type": "MODIFIED", "object": obj}]])
    assert run(streams, "5", deadline=110.0) == [(TAG, "MODIFIED", obj)]
    assert api.calls == [watch_call("5", 10.0), watch_call("6", 10.0)]


def test_a_stream_without_a_resource_version_lists_first_and_watches_from_the_list():
    obj = cm("c", "7")
    streams, api = stream(watches=[[]], lists=[listing([obj], "40")])
    assert run(streams, None, deadline=110.0) == [(TAG, "LIST", [obj])]
    assert api.calls == [list_call(10.0), watch_call("40", 10.0), watch_call("40", 10.0)]


def test_a_long_deadline_caps_each_list_at_30_s_and_each_watch_at_300_s():
    streams, api = stream(watches=[[]], lists=[listing([], "40")])
    assert run(streams, None, deadline=1100.0) == [(TAG, "LIST", [])]
    assert api.calls[:2] == [list_call(30.0), watch_call("40", 300.0)]


def test_a_stream_at_its_deadline_asks_nothing_and_one_half_a_second_before_still_watches():
    streams, api = stream(watches=[[]])
    assert run(streams, "5", deadline=100.0) == []
    assert api.calls == []
    streams, api = stream(watches=[[]])
    run(streams, "5", deadline=100.5)
    assert api.calls[0] == watch_call("5", 0.5)


def test_a_stream_already_stopped_asks_nothing():
    streams, api = stream(watches=[[]])
    streams.stop.set()
    assert run(streams, "5", deadline=110.0) == []
    assert api.calls == []


def test_the_streams_tag_path_and_selector_are_the_ones_it_was_started_with():
    pods = "/api/v1/namespaces/ns/pods"
    pod = {"metadata": {"name": "p", "namespace": "ns", "resourceVersion": "8"}}
    streams, api = stream(watches=[[{"type": "ADDED", "object": pod}]],
                          lists=[listing([], "7")])
    assert run(streams, None, 110.0, tag=("pod", "ns"), path=pods, selector=None) == [
        (("pod", "ns"), "LIST", []), (("pod", "ns"), "ADDED", pod)]
    assert api.calls == [list_call(10.0, None, pods), watch_call("7", 10.0, None, pods),
                         watch_call("8", 10.0, None, pods)]


# -- bookmarks, events without an object or a resourceVersion --------------------------------------

def test_bookmarks_move_the_resume_point_without_an_event_and_objects_keep_it_if_unversioned():
    unversioned = cm("c", None)
    streams, api = stream(watches=[[
        {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "12"}}},
        {"type": "BOOKMARK"},                              # no object at all
        {"type": "MODIFIED", "object": unversioned},
        {"type": "BOOKMARK", "object": {"kind": "ConfigMap"}},   # an object without metadata
    ]])
    assert run(streams, "5", deadline=110.0) == [(TAG, "MODIFIED", unversioned)]
    assert api.calls == [watch_call("5", 10.0), watch_call("12", 10.0)]


def test_every_kind_of_object_event_is_put_in_order_with_its_object():
    a, b, c = cm("a", "6"), cm("b", "7"), cm("a", "8")
    streams, api = stream(watches=[[{"type": "ADDED", "object": a},
                                    {"type": "MODIFIED", "object": b},
                                    {"type": "DELETED", "object": c}]])
    assert run(streams, "5", deadline=110.0) == [
        (TAG, "ADDED", a), (TAG, "MODIFIED", b), (TAG, "DELETED", c)]
    assert api.calls[-1] == watch_call("8", 10.0)


# -- 410 Gone: relist -------------------------------------------------------------------------------

def test_a_410_error_event_relists_and_watches_from_the_new_list():
    streams, api = stream(watches=[[{"type": "ERROR", "object": {"code": 410}}], []],
                          lists=[listing([], "9")])
    assert run(streams, "5", deadline=110.0) == [(TAG, "LIST", [])]
    assert api.calls == [watch_call("5", 10.0), list_call(10.0), watch_call("9", 10.0),
                         watch_call("9", 10.0)]


def test_a_410_answer_when_a_watch_starts_relists_and_watches_from_the_new_list():
    streams, api = stream(watches=[[ApiError(410, "Expired", "too old resource version")], []],
                          lists=[listing([], "9")])
    assert run(streams, "5", deadline=110.0) == [(TAG, "LIST", [])]
    assert api.calls == [watch_call("5", 10.0), list_call(10.0), watch_call("9", 10.0),
                         watch_call("9", 10.0)]
    assert streams.stop.waits == []   # relisted at once, no back-off


def test_watch_raises_gone_on_a_410_event_as_documented():
    streams, _ = stream(watches=[[{"type": "ERROR", "object": {"code": 410, "message": "old"}}]])
    with pytest.raises(Gone):
        streams._watch(TAG, PATH, SEL, _At("5"), 10.0)


def test_watch_raises_any_other_error_event_as_the_api_error_it_is():
    for code in (400, 403, 411, 500):
        streams, _ = stream(watches=[[{"type": "ERROR", "object": {
            "code": code, "reason": "Why", "message": "what"}}]])
        with pytest.raises(ApiError) as caught:
            streams._watch(TAG, PATH, SEL, _At("5"), 10.0)
        assert not isinstance(caught.value, Gone)
        assert (caught.value.status, caught.value.reason, str(caught.value)) == (
            code, "Why", "what")


# -- errors that end a stream -----------------------------------------------------------------------

def test_an_error_event_ends_the_stream_with_its_code_reason_and_message():
    streams, api = stream(watches=[[{"type": "ERROR", "object": {
        "code": 403, "reason": "Forbidden", "message": "cannot watch configmaps"}}]])
    (event,) = run(streams, "5", deadline=110.0)
    tag, kind, error = event
    assert (tag, kind, type(error)) == (TAG, "FAIL", ApiError)
    assert (error.status, error.reason, str(error)) == (403, "Forbidden",
                                                        "cannot watch configmaps")
    assert api.calls == [watch_call("5", 10.0)] and streams.stop.waits == []


def test_an_error_event_with_nothing_in_it_is_a_500_without_reason_or_message():
    streams, api = stream(watches=[[{"type": "ERROR", "object": {}}]])
    ((tag, kind, error),) = run(streams, "5", deadline=110.0)
    assert (tag, kind) == (TAG, "FAIL")
    assert (error.status, error.reason, str(error)) == (500, "", "HTTP 500")
    streams, api = stream(watches=[[{"type": "ERROR"}]])
    ((tag, kind, error),) = run(streams, "5", deadline=110.0)
    assert (error.status, error.reason, str(error)) == (500, "", "HTTP 500")


def test_an_error_event_with_a_reason_only_says_the_reason():
    streams, _ = stream(watches=[[{"type": "ERROR", "object": {"code": 403,
                                                                "reason": "Forbidden"}}]])
    ((_, _, error),) = run(streams, "5", deadline=110.0)
    assert (error.status, error.reason, str(error)) == (403, "Forbidden", "Forbidden")


def test_a_resource_type_not_found_fails_a_fresh_stream():
    """A Streams starts as a wait for readiness (not for deletion): NotFound is a failure."""
    gone_type = NotFound(404, "NotFound", "the server could not find the requested resource")
    streams, api = stream(watches=[[gone_type], []])
    assert run(streams, "5", deadline=110.0) == [(TAG, "FAIL", gone_type)]
    assert api.calls == [watch_call("5", 10.0)]


def test_a_resource_type_not_found_holds_nothing_when_waiting_for_deletion():
    gone_type = NotFound(404, "NotFound", "the server could not find the requested resource")
    streams, api = stream(watches=[[gone_type], []], gone=True)
    assert run(streams, "5", deadline=110.0) == [(TAG, "LIST", [])]
    assert api.calls == [watch_call("5", 10.0)]


def test_a_bug_in_a_stream_fails_the_wait_naming_the_path_and_the_error():
    streams, api = stream(watches=[[ValueError("boom")], []])
    ((tag, kind, error),) = run(streams, "5", deadline=110.0)
    assert (tag, kind, type(error)) == (TAG, "FAIL", HookError)
    assert str(error) == "watch on /api/v1/namespaces/ns/configmaps: ValueError('boom')"
    assert api.calls == [watch_call("5", 10.0)]


# -- back-off: transient errors and dropped connections --------------------------------------------

def test_a_503_is_retried_with_a_back_off_doubling_to_2_s_then_a_403_fails(caplog):
    caplog.set_level(logging.DEBUG, logger="heat_k8s_hook")
    busy = ApiError(503, "ServiceUnavailable", "starting")
    forbidden = ApiError(403, "Forbidden", "cannot watch")
    streams, api = stream(watches=[[busy]] * 7 + [[forbidden], []])
    assert run(streams, "5", deadline=1100.0) == [(TAG, "FAIL", forbidden)]
    assert streams.stop.waits == [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0]
    assert len(api.calls) == 8 and api.calls[-1][:3] == watch_call("5", 0)[:3]
    assert caplog.messages == ["watch /api/v1/namespaces/ns/configmaps: starting; trying again"
                               ] * 7


def test_a_429_is_retried_too():
    busy = ApiError(429, "TooManyRequests", "slow down")
    streams, _ = stream(watches=[[busy], []])
    assert run(streams, "5", deadline=110.0) == []
    assert streams.stop.waits == [0.1]


def test_the_back_off_starts_again_after_a_watch_that_ended_well():
    busy = ApiError(503, "ServiceUnavailable", "starting")
    dropped = ClusterUnreachable("connection reset")
    forbidden = ApiError(403, "Forbidden", "cannot watch")
    streams, _ = stream(watches=[[busy], [busy], [], [busy], [dropped], [dropped], [],
                                 [dropped], [forbidden]])
    assert run(streams, "5", deadline=1100.0) == [(TAG, "FAIL", forbidden)]
    assert streams.stop.waits == [0.1, 0.2, 0.1, 0.2, 0.4, 0.1]


def test_a_503_is_given_up_on_when_the_back_off_would_reach_the_deadline():
    busy = ApiError(503, "ServiceUnavailable", "starting")
    streams, api = stream(watches=[[busy]] * 5, t=0.0)
    # 0.1 + 0.2 + 0.4 = 0.7 waited; the next 0.8 would end at 1.5, the deadline
    assert run(streams, "5", deadline=1.5) == [(TAG, "FAIL", busy)]
    assert streams.stop.waits == [0.1, 0.2, 0.4]
    assert [c[3] for c in api.calls] == pytest.approx([1.5, 1.4, 1.2, 0.8])


def test_pause_refuses_a_back_off_that_ends_exactly_at_the_deadline(caplog):
    caplog.set_level(logging.DEBUG, logger="heat_k8s_hook")
    streams, _ = stream(t=1.75)
    assert streams._pause(PATH, ApiError(503, "", "busy"), 0.25, 2.0) is False
    assert streams.stop.waits == [] and caplog.messages == []
    assert streams._pause(PATH, ApiError(503, "", "busy"), 0.125, 2.0) is True
    assert streams.stop.waits == [0.125]
    assert caplog.messages == ["watch /api/v1/namespaces/ns/configmaps: busy; trying again"]


def test_a_dropped_connection_reconnects_with_a_back_off_doubling_to_2_s(caplog):
    caplog.set_level(logging.DEBUG, logger="heat_k8s_hook")
    dropped = ClusterUnreachable("connection reset")
    forbidden = ApiError(403, "Forbidden", "cannot watch")
    streams, api = stream(watches=[[dropped]] * 7 + [[forbidden], []])
    assert run(streams, "5", deadline=1100.0) == [(TAG, "FAIL", forbidden)]
    assert streams.stop.waits == [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0]
    assert caplog.messages == [
        "watch /api/v1/namespaces/ns/configmaps: connection reset; trying again"] * 7


def test_a_dropped_connection_is_given_up_on_when_the_back_off_would_reach_the_deadline():
    dropped = ClusterUnreachable("connection reset")
    streams, _ = stream(watches=[[dropped]] * 5, t=0.0)
    assert run(streams, "5", deadline=1.5) == [(TAG, "FAIL", dropped)]
    assert streams.stop.waits == [0.1, 0.2, 0.4]


def test_a_connection_dropped_after_events_resumes_from_the_last_one():
    obj = cm("c", "6")
    dropped = ClusterUnreachable("connection reset")
    streams, api = stream(watches=[[{"type": "MODIFIED", "object": obj}, dropped]])
    assert run(streams, "5", deadline=110.0) == [(TAG, "MODIFIED", obj)]
    assert api.calls == [watch_call("5", 10.0), watch_call("6", pytest.approx(9.9))]
    assert streams.stop.waits == [0.1]


# -- start_all: one stream per scope, one pod stream per namespace with workloads -----------------

class Recorded(Streams):
    """start_all's streams, recorded instead of run in threads."""

    def start(self, tag, path, selector, rv, deadline):
        self.started.append((tag, path, selector, rv, deadline))


def recorded() -> Recorded:
    streams = Recorded(None, SEL, queue.Queue(), Clock(), threading.Event())
    streams.started = []
    return streams


def deploy(name: str, namespace: str, rv) -> Target:
    obj = {"metadata": {"name": name, "namespace": namespace, "resourceVersion": rv}}
    return Target(ObjectRef("apps", "Deployment", namespace, name, "v1"), DEPLOY, obj, 0.0)


def config(name: str, namespace: str, rv, obj: bool = True) -> Target:
    found = cm(name, rv) if obj else None
    return Target(ObjectRef("", "ConfigMap", namespace, name, "v1"), CM, found, 0.0)


def test_a_scope_whose_objects_were_all_seen_resumes_from_the_oldest_version_as_a_number():
    streams = recorded()
    streams.start_all([config("a", "ns", "12"), config("b", "ns", "9")], 60.0, pods=True)
    assert streams.started == [(("obj", CM, "ns"), PATH, SEL, "9", 60.0)]


def test_a_scope_with_an_object_not_seen_or_without_a_numeric_version_lists():
    for group in ([config("a", "ns", "12"), config("b", "ns", None, obj=False)],
                  [config("a", "ns", "12"), config("b", "ns", None)],
                  [config("a", "ns", "12"), config("b", "ns", "abc")],
                  [config("b", "ns", "")]):
        streams = recorded()
        streams.start_all(group, 60.0, pods=True)
        assert streams.started == [(("obj", CM, "ns"), PATH, SEL, None, 60.0)], group


def test_one_stream_per_resource_and_namespace_then_one_pod_stream_per_workload_namespace():
    streams = recorded()
    targets = [deploy("web", "b", "3"), config("c", "c", "4"), deploy("api", "a", "5"),
               deploy("db", "b", "2"), config("d", "a", "6")]
    streams.start_all(targets, 60.0, pods=True)
    assert streams.started == [
        (("obj", DEPLOY, "b"), "/apis/apps/v1/namespaces/b/deployments", SEL, "2", 60.0),
        (("obj", CM, "c"), "/api/v1/namespaces/c/configmaps", SEL, "4", 60.0),
        (("obj", DEPLOY, "a"), "/apis/apps/v1/namespaces/a/deployments", SEL, "5", 60.0),
        (("obj", CM, "a"), "/api/v1/namespaces/a/configmaps", SEL, "6", 60.0),
        (("pod", "a"), "/api/v1/namespaces/a/pods", None, None, 60.0),
        (("pod", "b"), "/api/v1/namespaces/b/pods", None, None, 60.0)]
    streams = recorded()
    streams.start_all(targets, 60.0, pods=False)
    assert [s[0][0] for s in streams.started] == ["obj"] * 4


# -- start: a daemon thread named after its stream, running it -------------------------------------

def test_start_runs_the_stream_in_a_daemon_thread_named_after_it():
    class Once(Streams):
        def run(self, *args):
            me = threading.current_thread()
            self.ran.put((args, me.name, me.daemon))

    streams = Once(None, SEL, queue.Queue(), Clock(), threading.Event())
    streams.ran = queue.Queue()
    streams.start(("obj", CM, "ns"), PATH, SEL, "5", 60.0)
    streams.start(("pod", "a"), "/api/v1/namespaces/a/pods", None, None, 61.0)
    first, second = streams.ran.get(timeout=5), streams.ran.get(timeout=5)
    assert sorted([first, second], key=lambda r: r[1]) == [
        ((("obj", CM, "ns"), PATH, SEL, "5", 60.0), "watch-obj-ns", True),
        ((("pod", "a"), "/api/v1/namespaces/a/pods", None, None, 61.0), "watch-pod-a", True)]
