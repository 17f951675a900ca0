"""SUSPEND/RESUME's pure decisions (suspend.py) and the parent's record of suspended values,
with plain data: which members change, to what, the record's JSON, "no pods left".

Each test names what it would catch.
"""
from __future__ import annotations

import json

import pytest
from test_inventory_record import FakeCluster

from heat_k8s_hook.engine import inventory, suspend
from heat_k8s_hook.engine.inventory_client import InventoryClient
from heat_k8s_hook.engine.suspend import Held
from heat_k8s_hook.objects import ObjectRef
from heat_k8s_hook.readiness.rules import Status

DEP = ObjectRef("apps", "Deployment", "shop", "web", "v1")
STS = ObjectRef("apps", "StatefulSet", "shop", "db", "v1")
RS = ObjectRef("apps", "ReplicaSet", "shop", "rs", "v1")
CRON = ObjectRef("batch", "CronJob", "shop", "tick", "v1")
DS = ObjectRef("apps", "DaemonSet", "shop", "agent", "v1")
JOB = ObjectRef("batch", "Job", "shop", "once", "v1")
CM = ObjectRef("", "ConfigMap", "shop", "c", "v1")


@pytest.mark.parametrize("ref, changes, scaled", [
    (DEP, True, True), (STS, True, True), (RS, True, True), (CRON, True, False),
    (DS, False, False), (JOB, False, False), (CM, False, False),
    (ObjectRef("example.com", "Deployment", "shop", "x", "v1"), False, False),
])
def test_which_members_change(ref, changes, scaled):
    """Would catch a DaemonSet or a Job scaled (neither has replicas), or a custom kind
    named Deployment taken for apps'."""
    assert suspend.changes(ref) is changes
    assert suspend.scaled(ref) is scaled


@pytest.mark.parametrize("ref, live, value", [
    (DEP, {"spec": {"replicas": 3}}, 3),
    (DEP, {"spec": {}}, 1),                       # the server's default
    (STS, {"spec": {"replicas": 0}}, 0),
    (CRON, {"spec": {"suspend": True}}, True),
    (CRON, {"spec": {}}, False),
    (DEP, None, None),                            # gone: nothing to hold
])
def test_current_values(ref, live, value):
    held = suspend.current(ref, live)
    assert (held.value if held else None) == value


def test_a_second_suspend_keeps_the_values_recorded_first():
    """Would catch a record overwritten with the zeros of the first SUSPEND."""
    first = suspend.to_record(None, [Held(DEP, 2), Held(CRON, False)])
    second = suspend.to_record(first, [Held(DEP, 0), Held(CRON, True), Held(STS, 4)])
    assert second == (Held(DEP, 2), Held(STS, 4), Held(CRON, False))
    assert suspend.to_record(first, [Held(CRON, True), Held(DEP, 0)]) == first


def test_what_to_write():
    live = [Held(DEP, 2), Held(STS, 0), Held(CRON, False)]
    assert suspend.to_suspend(live) == (Held(DEP, 0), Held(CRON, True))
    recorded = (Held(DEP, 2), Held(STS, 1), Held(CRON, False), Held(RS, 3))
    now = [Held(DEP, 0), Held(STS, 1), Held(CRON, True)]   # RS gone since
    assert suspend.to_restore(recorded, now) == (Held(DEP, 2), Held(CRON, False))


def test_record_round_trip_and_stable_text():
    held = (Held(CRON, False), Held(DEP, 2), Held(STS, 0))
    text = suspend.record_json(held)
    assert text == suspend.record_json(reversed(held))
    assert json.loads(text)[0] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                   "namespace": "shop", "name": "web", "replicas": 2}
    assert suspend.parse_record(text) == tuple(sorted(held, key=lambda h: h.ref.key))
    assert suspend.parse_record(None) is None
    assert suspend.parse_record("[]") == ()


@pytest.mark.parametrize("text", [
    "not json", "{}", '[{"kind": "Deployment"}]',
    '[{"apiVersion": "apps/v1", "kind": "Deployment", "name": "w", "replicas": -1}]',
    '[{"apiVersion": "apps/v1", "kind": "Deployment", "name": "w", "replicas": true}]',
    '[{"apiVersion": "batch/v1", "kind": "CronJob", "name": "t", "suspend": 1}]',
])
def test_an_unreadable_record_is_an_error_not_an_empty_one(text):
    """Would catch a RESUME that silently restores nothing from a damaged record."""
    with pytest.raises(ValueError, match="cannot be read"):
        suspend.parse_record(text)


def test_patches_and_their_manager():
    """/scale for replicas (it leaves no owner of spec.replicas behind, measured), the CronJob
    itself for suspend; never under the hook's own field manager."""
    assert suspend.patch_for(Held(DEP, 0)) == ("/scale", {"spec": {"replicas": 0}})
    assert suspend.patch_for(Held(CRON, True)) == ("", {"spec": {"suspend": True}})
    assert suspend.patch_manager("heat-k8s-hook") == "heat-k8s-hook-suspend"
    assert len(suspend.patch_manager("m" * 128)) == 128


def obj(replicas=0, generation=2, observed=2, status_replicas=0):
    return {"metadata": {"generation": generation},
            "spec": {"replicas": replicas},
            "status": {"observedGeneration": observed, "replicas": status_replicas}}


@pytest.mark.parametrize("live, listed, pods, status", [
    (obj(), True, 0, Status.READY),
    (None, False, 0, Status.READY),                            # gone: nothing left
    (obj(), False, 0, Status.IN_PROGRESS),                     # no pod list yet proves nothing
    (obj(), True, 1, Status.IN_PROGRESS),                      # a pod still terminating
    (obj(status_replicas=1), True, 0, Status.IN_PROGRESS),
    (obj(observed=1), True, 0, Status.IN_PROGRESS),            # the controller has not seen it
    (obj(replicas=2), True, 0, Status.IN_PROGRESS),            # scaled up again
])
def test_drained(live, listed, pods, status):
    """Would catch a SUSPEND answering while pods still run."""
    assert suspend.drained(live, listed, pods).status is status


# -- the parent's record ----------------------------------------------------------------------

def test_record_set_kept_and_removed_without_losing_other_keys():
    """Would catch the record lost by the next inventory write, the outcome lost by the
    record, or a write when nothing changed."""
    cluster = FakeCluster()
    records = InventoryClient(cluster, "heat-k8s-hook")
    records.get("p")
    records.record("p", "app", [DEP, CM], {"wait_rules": {}}, outcome="proof")
    text = suspend.record_json([Held(DEP, 2)])
    assert records.record_suspended("p", text) is True
    assert records.record_suspended("p", text) is False             # unchanged: not written
    path = f"{records.parents}/p"
    data = cluster.objects[path]["data"]
    assert data[inventory.SUSPENDED] == text and data[inventory.RECORD_KEY] == "proof"
    assert set(inventory.members_of(cluster.objects[path])) == {DEP, CM}
    assert inventory.judge_options(cluster.objects[path]) == {"wait_rules": {}}
    writes = len(cluster.writes)
    assert records.record("p", "app", [DEP, CM], {"wait_rules": {}}) is False
    assert records.record("p", "app", [DEP], {"wait_rules": {}}) is True
    assert cluster.objects[path]["data"][inventory.SUSPENDED] == text   # kept until RESUME
    assert records.record_suspended("p", None) is True
    assert inventory.SUSPENDED not in cluster.objects[path]["data"]
    assert records.record_suspended("p", None) is False
    assert len(cluster.writes) == writes + 2
