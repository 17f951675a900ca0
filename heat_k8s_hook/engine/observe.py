"""Read-only views of deployments on a cluster: find one, judge its members (I/O).

`status`, `status --watch` and `list` use these; every verdict comes from the one judge with
the member's pods and Warning events, so a crash-looping Deployment is FAILED here exactly as
the hook's waiter would fail it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Mapping, Optional

from heat_k8s_hook.engine import inventory
from heat_k8s_hook.engine.inventory_client import InventoryClient
from heat_k8s_hook.errors import InvalidInput
from heat_k8s_hook.kube.cluster import Cluster, NotFound, UnknownKind
from heat_k8s_hook.objects import ObjectRef
from heat_k8s_hook.readiness.judge import judge
from heat_k8s_hook.readiness.rules import WORKLOAD_KINDS, Status, Verdict


@dataclass(frozen=True)
class Row:
    ref: ObjectRef
    status: str          # ready | in_progress | failed | unknown | missing
    message: str

    def line(self) -> str:
        return f"{self.ref}: {self.status}: {self.message}"

    def as_dict(self) -> dict:
        return dict(self.ref.to_dict(), object=str(self.ref), status=self.status,
                    message=self.message)


def identity_of(parent: Mapping) -> str:
    return (parent["metadata"].get("annotations") or {}).get(inventory.IDENTITY, "")


def find_parent(client: InventoryClient, key: str) -> Optional[dict]:
    """The parent of a deployment named by its identity (stack id/resource), the parent's
    name, or an unambiguous part of the identity; None when there is none."""
    parents = client.all()
    for match in (lambda p: identity_of(p) == key or p["metadata"]["name"] == key,
                  lambda p: key in identity_of(p)):
        found = [p for p in parents if match(p)]
        if len(found) > 1:
            raise InvalidInput(f"{key!r} names {len(found)} deployments: " + ", ".join(
                identity_of(p) for p in found))
        if found:
            return found[0]
    return None


class LiveJudge:
    """Judges members, listing pods and Warning events once per namespace."""

    def __init__(self, cluster: Cluster, now: datetime, wait_rules: Mapping | None = None,
                 grace: float = 15.0):
        self.cluster, self.now, self.wait_rules, self.grace = cluster, now, wait_rules, grace
        self._pods: dict = {}
        self._events: dict = {}

    def _listed(self, cache: dict, namespace: str, what: str, query=None) -> list:
        if namespace not in cache:
            try:
                cache[namespace] = self.cluster.get(
                    f"/api/v1/namespaces/{namespace}/{what}", query).get("items", [])
            except NotFound:
                cache[namespace] = []
        return cache[namespace]

    def row(self, ref: ObjectRef) -> Row:
        try:
            resource = self.cluster.resource(ref.api_version, ref.kind)
            obj = self.cluster.get(resource.path(ref.namespace, ref.name))
        except (NotFound, UnknownKind):
            return Row(ref, "missing", "not found")
        obj.setdefault("kind", ref.kind)
        obj.setdefault("apiVersion", ref.api_version)
        pods, events = (), ()
        if ref.namespace:
            if resource.group_kind in WORKLOAD_KINDS:
                pods = self._listed(self._pods, ref.namespace, "pods")
            events = self._listed(self._events, ref.namespace, "events",
                                  {"fieldSelector": "type=Warning"})
        verdict: Verdict = judge(obj, self.now, pods, events, wait_rules=self.wait_rules,
                                 unschedulable_grace=self.grace)
        return Row(ref, verdict.status.value, verdict.message)

    def rows(self, members) -> list:
        return [self.row(ref) for ref in members]


def summary(rows: list) -> str:
    """`3/4 ready, 1 failed` for `list`."""
    ready = sum(1 for r in rows if r.status == Status.READY.value)
    failed = sum(1 for r in rows if r.status == Status.FAILED.value)
    missing = sum(1 for r in rows if r.status == "missing")
    text = f"{ready}/{len(rows)} ready"
    return text + (f", {failed} failed" if failed else "") + \
        (f", {missing} missing" if missing else "")
