"""Wait for a set of live objects against one deadline, by watching, never by polling.

One watch per (resource, namespace) shared by every object of that scope (selected by our
ApplySet label), plus one pod watch per namespace that holds workloads, so failing pods fail
the deployment as soon as they show. Each stream resumes from its last resourceVersion when the
server ends it, relists on 410 Gone, and reconnects after a dropped connection. The verdicts
come from the pure rules in `rules.py`; this module only feeds them live objects.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Mapping, Optional

from heat_k8s_hook.errors import ClusterUnreachable, HookError
from heat_k8s_hook.kube import retry
from heat_k8s_hook.kube.cluster import ApiError, Cluster, NotFound, Resource
from heat_k8s_hook.objects import ObjectRef
from heat_k8s_hook.readiness import rules
from heat_k8s_hook.readiness.judge import event_text, judge, warnings_about
from heat_k8s_hook.readiness.rules import Status, Verdict
from heat_k8s_hook.timestamps import parse_time

log = logging.getLogger("heat_k8s_hook")

POD_WORKLOADS = frozenset({"apps/Deployment", "apps/StatefulSet", "apps/DaemonSet",
                           "apps/ReplicaSet", "batch/Job"})
TICK = 1.0  # re-evaluation of time-based rules (the Unschedulable grace); no API calls


@dataclass
class Target:
    ref: ObjectRef
    resource: Resource
    obj: Optional[Mapping]            # last seen state; None when not found
    deadline: float                   # monotonic
    pods_since: Optional[datetime] = None   # only pods created since (this apply) count
    verdict: Verdict = field(default_factory=lambda: Verdict(Status.UNKNOWN, "not seen yet"))


@dataclass
class Outcome:
    ready: list                       # refs in the order they became ready (or gone)
    failed: list                      # (ref, message) of objects that failed
    pending: list                     # (ref, message) of objects still waiting at the deadline
    elapsed: float
    pods: dict = field(default_factory=dict)   # ref.key -> the pods its last verdict names

    @property
    def ok(self) -> bool:
        return not self.failed and not self.pending


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def applied_at(obj: Mapping, field_manager: str) -> Optional[datetime]:
    """Server time of our last apply of obj (from managedFields), to tell new pods from old."""
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") == field_manager and entry.get("operation") == "Apply":
            return parse_time(entry.get("time"))
    return None


class Waiter:
    """Runs the watches for one wait; use once."""

    def __init__(self, cluster: Cluster, applyset_id: str, *, wait_rules: Mapping | None = None,
                 unschedulable_grace: float = 15.0, clock: Callable[[], float] = time.monotonic,
                 now: Callable[[], datetime] = _utcnow, started: float | None = None,
                 cancel: threading.Event | None = None):
        self.cluster = cluster
        self.selector = f"applyset.kubernetes.io/part-of={applyset_id}"
        self.wait_rules = dict(wait_rules or {})
        self.grace = unschedulable_grace
        self.clock = clock
        self.now = now
        self.started = self.clock() if started is None else started
        self.events: queue.Queue = queue.Queue()
        self.stop = threading.Event()
        self.cancel = cancel or threading.Event()   # the run's deadline, cancelled early
        self.gone = False
        self.pods: dict = {}           # (namespace, owner group/kind, owner name) -> {pod: ..}

    # -- streams ---------------------------------------------------------------------------------

    def _stream(self, tag: tuple, path: str, selector: str | None, rv: str | None,
                deadline: float) -> None:
        backoff = 0.1
        while not self.stop.is_set():
            remaining = deadline - self.clock()
            if remaining <= 0:
                return
            try:
                if rv is None:
                    listing = self.cluster.get(path, {"labelSelector": selector},
                                               timeout=min(30.0, remaining))
                    rv = listing["metadata"]["resourceVersion"]
                    self.events.put((tag, "LIST", listing.get("items", [])))
                query = {"labelSelector": selector, "resourceVersion": rv}
                for event in self.cluster.watch(path, query, timeout=min(remaining, 300.0)):
                    if self.stop.is_set():
                        return
                    kind, obj = event.get("type"), event.get("object") or {}
                    if kind == "ERROR":
                        if obj.get("code") == 410:
                            rv = None  # too old: relist
                            break
                        raise ApiError(obj.get("code", 500), obj.get("reason", ""),
                                       obj.get("message", ""))
                    rv = obj.get("metadata", {}).get("resourceVersion", rv)
                    if kind != "BOOKMARK":
                        self.events.put((tag, kind, obj))
                    backoff = 0.1
            except NotFound as exc:
                # Waiting for deletion: a resource type that went with its CRD holds nothing.
                self.events.put((tag, "LIST", []) if self.gone else (tag, "FAIL", exc))
                return
            except ApiError as exc:
                if exc.status == 410:  # too old at the start of a watch: relist
                    rv = None
                    continue
                if not retry.is_transient("GET", exc) or self.clock() + backoff >= deadline:
                    self.events.put((tag, "FAIL", exc))
                    return
                log.debug("watch %s: %s; trying again", path, exc)  # 503 while starting
                self.stop.wait(backoff)
                backoff = min(backoff * 2, 2.0)
            except ClusterUnreachable as exc:
                if self.clock() + backoff >= deadline:
                    self.events.put((tag, "FAIL", exc))
                    return
                log.debug("watch %s dropped (%s); reconnecting", path, exc)
                self.stop.wait(backoff)
                backoff = min(backoff * 2, 2.0)
            except Exception as exc:  # a bug must surface, not hang the wait
                self.events.put((tag, "FAIL", HookError(f"watch on {path}: {exc!r}")))
                return

    def _start(self, tag: tuple, path: str, selector: str | None, rv: str | None,
               deadline: float) -> None:
        threading.Thread(target=self._stream, args=(tag, path, selector, rv, deadline),
                         name=f"watch-{tag[0]}-{tag[-1]}", daemon=True).start()

    def _start_watches(self, targets: list, deadline: float, pods: bool) -> None:
        scopes: dict = {}
        for t in targets:
            scopes.setdefault((t.resource, t.ref.namespace), []).append(t)
        for (resource, namespace), group in scopes.items():
            rvs = [int(rv) for rv in ((t.obj or {}).get("metadata", {}).get("resourceVersion")
                                      for t in group) if rv and str(rv).isdigit()]
            rv = str(min(rvs)) if len(rvs) == len(group) and rvs else None
            self._start(("obj", resource, namespace),
                        resource.path(namespace), self.selector, rv, deadline)
        if pods:
            for namespace in sorted({t.ref.namespace for t in targets
                                     if t.resource.group_kind in POD_WORKLOADS}):
                self._start(("pod", namespace), f"/api/v1/namespaces/{namespace}/pods", None,
                            None, deadline)

    # -- the loop --------------------------------------------------------------------------------

    def _apply_event(self, by_key: dict, tag: tuple, kind: str, payload) -> list:
        """Update state from one event; returns the keys whose verdict may have changed."""
        if kind == "FAIL":
            raise payload
        if tag[0] == "pod":
            namespace = tag[1]
            changed = self._forget_pods(namespace, payload) if kind == "LIST" else []
            for pod in (payload if kind == "LIST" else [payload]):
                changed += self._store_pod(namespace, pod, deleted=(kind == "DELETED"))
            return changed
        _, resource, namespace = tag
        group, rkind = resource.group, resource.kind
        changed = []
        objs = payload if kind == "LIST" else [payload]
        if kind == "LIST":  # a relist: what is missing is gone
            names = {o["metadata"]["name"] for o in objs}
            for key, t in by_key.items():
                if key[:3] == (group, rkind, namespace) and key[3] not in names:
                    t.obj = None
                    changed.append(key)
        for obj in objs:
            key = (group, rkind, namespace, obj["metadata"]["name"])
            if key in by_key:
                obj.setdefault("kind", rkind)  # LIST items carry neither
                obj.setdefault("apiVersion", resource.api_version)
                by_key[key].obj = None if kind == "DELETED" else obj
                changed.append(key)
        return changed

    def _store_pod(self, namespace: str, pod: Mapping, deleted: bool) -> list:
        """Keep a pod under the workloads that own it; returns those workloads' keys.

        Indexing by owner (not by scanning every pod against every selector) keeps a wait
        for hundreds of workloads cheap: a pod event re-judges only its own workload.
        """
        name = pod["metadata"]["name"]
        owners = pod_owners(pod)
        for owner in owners:
            bucket = self.pods.setdefault((namespace,) + owner, {})
            if deleted:
                bucket.pop(name, None)
            else:
                bucket[name] = (pod, parse_time(pod["metadata"].get("creationTimestamp")))
        keys = []
        for gk, owner_name in owners:
            group, _, kind = gk.rpartition("/")
            keys.append((group, kind, namespace, owner_name))
        return keys

    def _forget_pods(self, namespace: str, listing: list) -> list:
        """A relist of pods: those deleted while no watch ran are gone (keys of their owners)."""
        names = {pod["metadata"]["name"] for pod in listing}
        keys = []
        for (ns, gk, owner), bucket in self.pods.items():
            gone = [name for name in bucket if ns == namespace and name not in names]
            for name in gone:
                del bucket[name]
            if gone:
                group, _, kind = gk.rpartition("/")
                keys.append((group, kind, ns, owner))
        return keys

    def _pods_of(self, t: Target, now: datetime) -> list:
        bucket = self.pods.get((t.ref.namespace, t.resource.group_kind, t.ref.name), {})
        return [pod for pod, created in bucket.values()
                if t.pods_since is None or (created or now) >= t.pods_since
                or pod["metadata"].get("deletionTimestamp")]  # old pods still going

    def _verdict(self, t: Target, now: datetime, gone: bool) -> Verdict:
        if gone:
            if t.obj is None:
                return Verdict(Status.READY, "deleted")
            return Verdict(Status.IN_PROGRESS, "being deleted")
        pods = self._pods_of(t, now) if t.resource.group_kind in POD_WORKLOADS else ()
        return judge(t.obj, now, pods, wait_rules=self.wait_rules,
                     unschedulable_grace=self.grace)

    def _already_ready(self, by_key: dict, on_change: Callable[[Target], None]) -> list:
        """What the apply answers already show as ready needs no watch (re-delivery: none)."""
        now, ready = self.now(), []
        for key, t in list(by_key.items()):
            if t.obj is None:
                continue
            verdict = rules.object_status(t.obj, now, self.wait_rules)
            if verdict.status is Status.READY:
                t.verdict = verdict
                on_change(t)
                ready.append(t.ref)
                del by_key[key]
        return ready

    def wait(self, targets: list, deadline: float, gone: bool = False,
             on_change: Callable[[Target], None] = lambda t: None) -> Outcome:
        """Until every target is ready (or gone), one fails, or the deadline passes."""
        by_key = {t.ref.key: t for t in targets}
        self.gone = gone
        failed: list = []
        named: dict = {}
        if not targets:
            return Outcome([], [], [], self.clock() - self.started)
        ready = [] if gone else self._already_ready(by_key, on_change)
        if not by_key:
            return Outcome(ready, [], [], self.clock() - self.started)
        pending = list(by_key.values())
        self._start_watches(pending, max(t.deadline for t in pending), pods=not gone)
        dirty = set(by_key)
        last_tick = self.clock()
        try:
            while by_key:
                now_m = self.clock()
                now = self.now()
                for key in list(dirty):
                    t = by_key.get(key)
                    if t is None:
                        continue
                    verdict = self._verdict(t, now, gone)
                    if verdict != t.verdict:
                        t.verdict = verdict
                        on_change(t)
                    if verdict.status is Status.READY:
                        ready.append(t.ref)
                        del by_key[key]
                    elif verdict.status is Status.FAILED:
                        failed.append((t.ref, verdict.message))
                        named[key] = verdict.pods
                        del by_key[key]
                dirty.clear()
                if failed or not by_key or self.cancel.is_set():
                    break
                expired = [t for t in by_key.values() if t.deadline <= now_m]
                if expired:
                    break
                wake = min(t.deadline for t in by_key.values()) - now_m
                try:
                    tag, kind, payload = self.events.get(timeout=max(0.0, min(TICK, wake)))
                    dirty.update(self._apply_event(by_key, tag, kind, payload))
                    while True:  # drain what already arrived before judging again
                        tag, kind, payload = self.events.get_nowait()
                        dirty.update(self._apply_event(by_key, tag, kind, payload))
                except queue.Empty:
                    pass
                if self.clock() - last_tick >= TICK:  # time-based rules (Unschedulable grace)
                    last_tick = self.clock()
                    dirty |= {k for k, t in by_key.items()
                              if t.resource.group_kind in POD_WORKLOADS or t.ref.kind == "Pod"}
        finally:
            self.stop.set()
        pending = [(t.ref, t.verdict.message) for t in by_key.values()]
        named.update((key, t.verdict.pods) for key, t in by_key.items())
        return Outcome(ready, failed, pending, self.clock() - self.started, named)

    # -- diagnostics -----------------------------------------------------------------------------

    def warning_events(self, namespace: str, names: list, limit: int = 3) -> list:
        """The last Warning events of the named objects, oldest first, as short lines."""
        if not namespace:
            return []
        try:
            listing = self.cluster.get(f"/api/v1/namespaces/{namespace}/events",
                                       {"fieldSelector": "type=Warning"}, timeout=5.0)
        except HookError:
            return []
        lines = []
        for e in warnings_about(listing.get("items", []), names, namespace)[-limit:]:
            io = e.get("involvedObject") or e.get("regarding") or {}
            count = e.get("count") or 1
            lines.append(f"{io.get('kind')}/{io.get('name')}: {event_text(e)}"
                         + (f" (x{count})" if count > 1 else ""))
        return lines


def pod_owners(pod: Mapping) -> list:
    """(group/kind, name) of the workloads a pod belongs to, from its controller reference.

    A ReplicaSet's pod also belongs to the Deployment whose name is the ReplicaSet's minus
    the `-<pod-template-hash>` suffix.
    """
    meta = pod.get("metadata") or {}
    owners = []
    for ref in meta.get("ownerReferences") or []:
        if not ref.get("controller"):
            continue
        group = str(ref.get("apiVersion", "")).rpartition("/")[0]
        owners.append((f"{group}/{ref['kind']}" if group else ref["kind"], ref["name"]))
        pod_hash = (meta.get("labels") or {}).get("pod-template-hash")
        if ref["kind"] == "ReplicaSet" and pod_hash and ref["name"].endswith("-" + pod_hash):
            owners.append(("apps/Deployment", ref["name"][:-len(pod_hash) - 1]))
    return owners


def deadline_for(obj: Mapping, start: float, deadline: float, annotation: str) -> float:
    """An object's own deadline from its timeout annotation, never past the deployment's."""
    raw = ((obj.get("metadata") or {}).get("annotations") or {}).get(annotation)
    try:
        own = float(raw) if raw is not None else None
    except ValueError:
        own = None
    return min(deadline, start + own) if own and own > 0 else deadline

