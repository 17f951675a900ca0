"""The inventory parent and its namespace are written only when they must change."""
from __future__ import annotations

import json

from heat_k8s_hook.engine import inventory
from heat_k8s_hook.engine.inventory_client import InventoryClient
from heat_k8s_hook.kube.cluster import NotFound
from heat_k8s_hook.objects import ObjectRef

REFS = [ObjectRef("", "ConfigMap", "n", "a", "v1"), ObjectRef("apps", "Deployment", "n", "d", "v1")]


class FakeCluster:
    """Answers GETs from `objects`; a PATCH stores its body (as the server would answer it)."""

    def __init__(self, objects=None):
        self.objects, self.writes = dict(objects or {}), []

    def get(self, path, query=None, timeout=30.0):
        if path not in self.objects:
            raise NotFound(404, "NotFound", "not found")
        return json.loads(json.dumps(self.objects[path]))

    def request(self, method, path, query=None, body=None, content_type=None, timeout=30.0):
        self.writes.append((method, path))
        self.objects[path] = json.loads(body)
        return json.loads(body)


def client(cluster):
    return InventoryClient(cluster, "heat-k8s-hook")


def test_same_parent_is_not_written_again():
    """Checked red with `_holds` always False: every record was a PATCH."""
    cluster = FakeCluster()
    records = client(cluster)
    assert records.get("p") is None
    assert records.record("p", "id", REFS, {"wait_rules": {}}) is True
    again = client(cluster)
    again.get("p")
    assert again.record("p", "id", REFS, {"wait_rules": {}}) is False
    assert again.record("p", "id", REFS[:1], {"wait_rules": {}}) is True
    assert len(cluster.writes) == 2


def test_outcome_kept_while_members_stay_and_dropped_when_they_change():
    cluster = FakeCluster()
    records = client(cluster)
    records.get("p")
    records.record("p", "id", REFS, None, outcome="proof")
    assert records.record("p", "id", REFS, None) is False      # kept: nothing written
    assert records.record("p", "id", REFS, None, outcome="proof") is False
    assert records.record("p", "id", REFS[:1], None) is True   # changed: the proof goes
    path = f"{records.parents}/p"
    assert inventory.RECORD_KEY not in cluster.objects[path]["data"]


def test_namespace_applied_only_when_missing():
    cluster = FakeCluster({"/api/v1/namespaces/heat-k8s-hook": {"metadata": {}}})
    client(cluster).ensure_namespace()
    assert cluster.writes == []
    empty = FakeCluster()
    client(empty).ensure_namespace()
    assert empty.writes == [("PATCH", "/api/v1/namespaces/heat-k8s-hook")]
