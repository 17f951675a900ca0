"""readiness/store.py's survivors of the mutation run (docs/testing.md): the pod index of a
workload in the core API group, and a store made without targets or with an empty mapping.

Pure: the store is fed events as data, as `test_watch_store.py` does.
"""
from __future__ import annotations

from test_watch_store import CM, TAG, cm

from heat_k8s_hook.objects import ObjectRef
from heat_k8s_hook.readiness.store import Target, WatchStore


def rc_pod(name: str) -> dict:
    """A pod of the ReplicationController `rc` (core group: its apiVersion is plain `v1`)."""
    return {"metadata": {"name": name, "namespace": "ns", "ownerReferences": [
        {"apiVersion": "v1", "kind": "ReplicationController", "name": "rc",
         "controller": True}]}}


RC_KEY = ("", "ReplicationController", "ns", "rc")   # ObjectRef("", kind, ns, name).key


def test_a_core_group_owner_is_named_by_its_refs_key():
    """pod_owners gives a core-group owner as a bare kind ("ReplicationController"): its key
    has group "" and that kind, the same key as the target's ref, so its pods re-judge it."""
    assert RC_KEY == ObjectRef("", "ReplicationController", "ns", "rc", "v1").key
    store = WatchStore()
    assert store.apply(("pod", "ns"), "ADDED", rc_pod("rc-1")) == [RC_KEY]
    assert store.store_pod("ns", rc_pod("rc-2"), deleted=True) == [RC_KEY]
    # a relist without rc-1: its owner is named by the same key
    assert store.forget_pods("ns", []) == [RC_KEY]


def test_a_store_made_without_targets_holds_none_and_no_pods():
    store = WatchStore()
    assert store.targets == {} and store.pods == {}
    assert store.apply(TAG, "LIST", [cm("a", "1")]) == []   # no target: nothing changed


def test_a_store_keeps_the_very_mapping_it_was_given_even_empty():
    """The waiter hands its targets to the store and removes the ready ones from that same
    mapping; an empty one given is the one kept (a target added later is seen)."""
    by_key: dict = {}
    store = WatchStore(by_key)
    assert store.targets is by_key
    ref = ObjectRef("", "ConfigMap", "ns", "a", "v1")
    by_key[ref.key] = Target(ref, CM, None, deadline=0.0)
    assert store.apply(TAG, "ADDED", cm("a", "2")) == [ref.key]
    assert by_key[ref.key].obj["metadata"]["resourceVersion"] == "2"
