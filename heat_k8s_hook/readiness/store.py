"""What the watches have shown so far, as plain data: the targets' live objects and their pods.

The streams (`streams.py`) turn the API server's answers into events `(tag, kind, payload)`:
`tag` is `("obj", resource, namespace)` or `("pod", namespace)`, `kind` is ADDED, MODIFIED or
DELETED with one object, or LIST with every object of the scope (a first list or a relist
after 410 Gone, which replaces what the scope held: what it lacks was deleted meanwhile).
The store applies them and answers which targets may have changed; the loop (`watch.py`)
judges those. Pure: no threads, no clock, no client; a test feeds it events as data.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Optional

from heat_k8s_hook.objects import ObjectRef
from heat_k8s_hook.readiness.rules import Status, Verdict, owns, pod_owners
from heat_k8s_hook.timestamps import parse_time

# The kinds whose pods are watched and judged with them.
POD_WORKLOADS = frozenset({"apps/Deployment", "apps/StatefulSet", "apps/DaemonSet",
                           "apps/ReplicaSet", "batch/Job"})


@dataclass
class Target:
    """One object a wait is for; `obj` is updated by the store as events arrive."""

    ref: ObjectRef
    resource: Any                     # kube.cluster.Resource: group, kind, api_version, group_kind
    obj: Optional[Mapping]            # last seen state; None when not found
    deadline: float                   # monotonic
    pods_since: Optional[datetime] = None   # only pods created since (this apply) count
    verdict: Verdict = field(default_factory=lambda: Verdict(Status.UNKNOWN, "not seen yet"))


class WatchStore:
    """The targets' live objects (by `ref.key`) and a pod index by owning workload.

    Indexing pods by owner (not by scanning every pod against every workload) keeps a wait
    for hundreds of workloads cheap: a pod event re-judges only its own workloads.
    """

    def __init__(self, targets: Mapping | None = None):
        self.targets: Mapping = targets if targets is not None else {}   # ref.key -> Target
        self.pods: dict = {}   # (namespace, owner group/kind, owner name) -> {pod: (pod, created)}

    def apply(self, tag: tuple, kind: str, payload: Any) -> list:
        """Apply one event; returns the keys of the targets whose verdict may have changed."""
        if tag[0] == "pod":
            namespace = tag[1]
            changed = self.forget_pods(namespace, payload) if kind == "LIST" else []
            for pod in (payload if kind == "LIST" else [payload]):
                changed += self.store_pod(namespace, pod, deleted=(kind == "DELETED"))
            return changed
        _, resource, namespace = tag
        scope = (resource.group, resource.kind, namespace)
        changed = []
        objs = payload if kind == "LIST" else [payload]
        if kind == "LIST":  # a relist: what is missing is gone
            names = {o["metadata"]["name"] for o in objs}
            for key, t in self.targets.items():
                if key[:3] == scope and key[3] not in names:
                    t.obj = None
                    changed.append(key)
        for obj in objs:
            key = scope + (obj["metadata"]["name"],)
            if key in self.targets:
                obj.setdefault("kind", resource.kind)  # LIST items carry neither
                obj.setdefault("apiVersion", resource.api_version)
                self.targets[key].obj = None if kind == "DELETED" else obj
                changed.append(key)
        return changed

    def store_pod(self, namespace: str, pod: Mapping, deleted: bool) -> list:
        """Keep a pod under the workloads that own it; returns those workloads' keys."""
        name = pod["metadata"]["name"]
        owners = pod_owners(pod)
        for owner in owners:
            bucket = self.pods.setdefault((namespace,) + owner, {})
            if deleted:
                bucket.pop(name, None)
            else:
                bucket[name] = (pod, parse_time(pod["metadata"].get("creationTimestamp")))
        return [_key(namespace, gk, owner) for gk, owner in owners]

    def forget_pods(self, namespace: str, listing: list) -> list:
        """A relist of pods: those deleted while no watch ran are gone (keys of their owners)."""
        names = {pod["metadata"]["name"] for pod in listing}
        keys = []
        for (ns, gk, owner), bucket in self.pods.items():
            gone = [name for name in bucket if ns == namespace and name not in names]
            for name in gone:
                del bucket[name]
            if gone:
                keys.append(_key(ns, gk, owner))
        return keys

    def pods_of(self, t: Target, now: datetime) -> list:
        """The pods that count for target t: its own (`rules.owns`), created since its apply,
        or older ones still being deleted."""
        gk = t.resource.group_kind
        bucket = self.pods.get((t.ref.namespace, gk, t.ref.name), {})
        return [pod for pod, created in bucket.values()
                if (t.obj is None or owns(t.obj, pod, gk))
                and (t.pods_since is None or (created or now) >= t.pods_since
                     or pod["metadata"].get("deletionTimestamp"))]  # old pods still going


def _key(namespace: str, gk: str, owner: str) -> tuple:
    group, _, kind = gk.rpartition("/")
    return (group, kind, namespace, owner)
