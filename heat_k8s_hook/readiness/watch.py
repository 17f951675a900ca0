"""Wait for a set of live objects against one deadline, by watching, never by polling.

Three parts, each testable alone: the streams (`streams.py`: list, watch, resume from the
last resourceVersion, relist on 410 Gone, reconnect) put events on a queue; the store
(`store.py`, pure) applies them to the targets' objects and the pod index; this module is the
loop that judges what changed (`judge.judge`, the one judge) and decides against the deadline.
"""
from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Mapping, Optional

from heat_k8s_hook.errors import HookError
from heat_k8s_hook.kube.cluster import Cluster
from heat_k8s_hook.readiness import rules
from heat_k8s_hook.readiness.judge import event_text, judge, warnings_about
from heat_k8s_hook.readiness.rules import Status, Verdict, pod_owners
from heat_k8s_hook.readiness.store import POD_WORKLOADS, Target, WatchStore
from heat_k8s_hook.readiness.streams import Streams
from heat_k8s_hook.timestamps import parse_time

__all__ = ["POD_WORKLOADS", "TICK", "Outcome", "Target", "Waiter", "applied_at",
           "deadline_for", "pod_owners"]

TICK = 1.0  # re-evaluation of time-based rules (the Unschedulable grace); no API calls


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
    """The loop of one wait (use once): starts the streams, applies their events to the
    store, judges the targets they change, and stops at a failure, readiness, or the deadline."""

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
        self.store = WatchStore()
        self.streams = Streams(cluster, self.selector, self.events, clock, self.stop)

    def _verdict(self, t: Target, now: datetime, gone: bool) -> Verdict:
        if gone:
            if t.obj is None:
                return Verdict(Status.READY, "deleted")
            return Verdict(Status.IN_PROGRESS, "being deleted")
        pods = self.store.pods_of(t, now) if t.resource.group_kind in POD_WORKLOADS else ()
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
        if not targets:
            return Outcome([], [], [], self.clock() - self.started)
        ready = [] if gone else self._already_ready(by_key, on_change)
        if not by_key:
            return Outcome(ready, [], [], self.clock() - self.started)
        self.store.targets = by_key
        self.streams.gone = gone
        pending = list(by_key.values())
        self.streams.start_all(pending, max(t.deadline for t in pending), pods=not gone)
        failed: list = []
        named: dict = {}
        try:
            self._loop(by_key, gone, on_change, ready, failed, named)
        finally:
            self.stop.set()
        pending = [(t.ref, t.verdict.message) for t in by_key.values()]
        named.update((key, t.verdict.pods) for key, t in by_key.items())
        return Outcome(ready, failed, pending, self.clock() - self.started, named)

    def _loop(self, by_key: dict, gone: bool, on_change: Callable[[Target], None],
              ready: list, failed: list, named: dict) -> None:
        """Judge what changed, then wait for events (or the tick), until a target fails,
        none is left, the run is cancelled, or a target's deadline passes."""
        dirty = set(by_key)
        last_tick = self.clock()
        while by_key:
            now_m = self.clock()
            self._judge(by_key, dirty, gone, on_change, ready, failed, named)
            dirty.clear()
            if failed or not by_key or self.cancel.is_set():
                return
            if any(t.deadline <= now_m for t in by_key.values()):
                return
            wake = min(t.deadline for t in by_key.values()) - now_m
            dirty |= self._next_events(max(0.0, min(TICK, wake)))
            if self.clock() - last_tick >= TICK:  # time-based rules (Unschedulable grace)
                last_tick = self.clock()
                dirty |= {k for k, t in by_key.items()
                          if t.resource.group_kind in POD_WORKLOADS or t.ref.kind == "Pod"}

    def _judge(self, by_key: dict, dirty: set, gone: bool,
               on_change: Callable[[Target], None], ready: list, failed: list,
               named: dict) -> None:
        """A new verdict for each changed target; the ready and the failed leave by_key."""
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

    def _apply_event(self, by_key: dict, tag: tuple, kind: str, payload) -> list:
        """One event into the store; the keys of the targets it may have changed. A wait
        judged by another rule extends this (suspend_client.Drain notes listed namespaces)."""
        return self.store.apply(tag, kind, payload)

    def _next_events(self, timeout: float) -> set:
        """Apply the next event (waiting up to timeout) and all that already arrived; the
        keys they may have changed. A stream's failure ends the wait (raised)."""
        dirty: set = set()
        try:
            event = self.events.get(timeout=timeout)
            while True:  # drain what already arrived before judging again
                tag, kind, payload = event
                if kind == "FAIL":
                    raise payload
                dirty.update(self._apply_event(self.store.targets, tag, kind, payload))
                event = self.events.get_nowait()
        except queue.Empty:
            pass
        return dirty

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


def deadline_for(obj: Mapping, start: float, deadline: float, annotation: str) -> float:
    """An object's own deadline from its timeout annotation, never past the deployment's."""
    raw = ((obj.get("metadata") or {}).get("annotations") or {}).get(annotation)
    try:
        own = float(raw) if raw is not None else None
    except ValueError:
        own = None
    return min(deadline, start + own) if own and own > 0 else deadline

