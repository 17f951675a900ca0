"""The watch store as plain data (no threads, no cluster), and the streams feeding it.

A relist (the first list, or the one after 410 Gone) replaces what a scope held: an object
deleted while no watch ran (its DELETED event never came) is gone from the store. Checked red:
with `WatchStore.apply`'s "what is missing is gone" loop removed, the relist tests failed (the
deleted ConfigMap kept its last state).
"""
from __future__ import annotations

import queue
import threading
from datetime import datetime, timezone

from heat_k8s_hook.objects import ObjectRef
from heat_k8s_hook.readiness.store import Target, WatchStore
from heat_k8s_hook.readiness.streams import Streams

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)


class Res:
    group, kind, api_version, group_kind = "", "ConfigMap", "v1", "ConfigMap"

    def path(self, namespace: str, name: str | None = None) -> str:
        return f"/api/v1/namespaces/{namespace}/configmaps"


CM = Res()
TAG = ("obj", CM, "ns")


def cm(name: str, rv: str) -> dict:
    return {"metadata": {"name": name, "namespace": "ns", "resourceVersion": rv}}


def targets(*names: str) -> dict:
    found = {}
    for name in names:
        ref = ObjectRef("", "ConfigMap", "ns", name, "v1")
        found[ref.key] = Target(ref, CM, None, deadline=0.0)
    return found


def test_events_update_the_targets_and_name_what_changed():
    by_key = targets("a", "b")
    store = WatchStore(by_key)
    assert store.apply(TAG, "LIST", [cm("a", "1")]) == [("", "ConfigMap", "ns", "b"),
                                                        ("", "ConfigMap", "ns", "a")]
    a, b = by_key[("", "ConfigMap", "ns", "a")], by_key[("", "ConfigMap", "ns", "b")]
    assert a.obj["metadata"]["resourceVersion"] == "1"
    assert a.obj["kind"] == "ConfigMap" and a.obj["apiVersion"] == "v1"   # LIST items lack them
    assert b.obj is None
    assert store.apply(TAG, "ADDED", cm("b", "2")) == [("", "ConfigMap", "ns", "b")]
    assert store.apply(TAG, "MODIFIED", cm("other", "3")) == []   # not a target
    store.apply(TAG, "DELETED", cm("a", "4"))
    assert a.obj is None and b.obj is not None


def test_a_relist_after_410_drops_an_object_deleted_during_the_gap():
    by_key = targets("a", "b")
    store = WatchStore(by_key)
    store.apply(TAG, "LIST", [cm("a", "1"), cm("b", "1")])
    store.apply(TAG, "MODIFIED", cm("a", "2"))
    # the watch ends with 410 Gone; b is deleted before the relist; its DELETED never comes
    changed = store.apply(TAG, "LIST", [cm("a", "2")])
    assert by_key[("", "ConfigMap", "ns", "b")].obj is None
    assert ("", "ConfigMap", "ns", "b") in changed
    assert by_key[("", "ConfigMap", "ns", "a")].obj["metadata"]["resourceVersion"] == "2"


def test_a_relist_of_another_namespace_leaves_this_one_alone():
    by_key = targets("a")
    store = WatchStore(by_key)
    store.apply(TAG, "LIST", [cm("a", "1")])
    assert store.apply(("obj", CM, "elsewhere"), "LIST", []) == []
    assert by_key[("", "ConfigMap", "ns", "a")].obj is not None


class Scripted:
    """A cluster whose first watch ends with 410 Gone; the second list stops the streams."""

    def __init__(self, stop: threading.Event):
        self.stop = stop
        self.lists = [{"metadata": {"resourceVersion": "5"}, "items": [cm("a", "5"), cm("b", "5")]},
                      {"metadata": {"resourceVersion": "9"}, "items": [cm("a", "8")]}]
        self.watched: list = []

    def get(self, path, query=None, timeout=30.0):
        answer = self.lists.pop(0)
        if not self.lists:
            self.stop.set()
        return answer

    def watch(self, path, query, timeout):
        self.watched.append(query["resourceVersion"])
        yield {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "6"}}}
        yield {"type": "MODIFIED", "object": cm("a", "7")}
        yield {"type": "ERROR", "object": {"code": 410, "message": "too old"}}


def test_the_streams_relist_on_410_and_the_store_forgets_what_went():
    stop, events = threading.Event(), queue.Queue()
    cluster = Scripted(stop)
    streams = Streams(cluster, "sel", events, clock=lambda: 0.0, stop=stop)
    streams.run(TAG, CM.path("ns"), "sel", None, deadline=60.0)   # in this thread
    seen = []
    while not events.empty():
        seen.append(events.get_nowait())
    assert [kind for _tag, kind, _payload in seen] == ["LIST", "MODIFIED", "LIST"]
    assert cluster.watched == ["5", "9"]   # resumed from the list, then from the relist
    by_key = targets("a", "b")
    store = WatchStore(by_key)
    for tag, kind, payload in seen:
        store.apply(tag, kind, payload)
    assert by_key[("", "ConfigMap", "ns", "b")].obj is None
    assert by_key[("", "ConfigMap", "ns", "a")].obj["metadata"]["resourceVersion"] == "8"
