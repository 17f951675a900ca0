"""The watch streams of one wait: list, watch, resume, relist on 410 Gone, reconnect. I/O.

One stream per (resource, namespace) shared by every target of that scope (selected by our
ApplySet label), plus one pod stream per namespace that holds workloads. Each runs in its own
thread on `kube.cluster.Cluster`'s `get` and `watch`, and puts what it sees on one queue as
events `(tag, kind, payload)` for `store.WatchStore`: LIST (a first list or a relist),
ADDED/MODIFIED/DELETED, or FAIL with the error that ends the wait. A stream resumes from its
last resourceVersion (bookmarks advance it without an event) when the server ends it, relists
on 410 Gone, and reconnects with a backoff after a dropped connection or a transient error.
"""
from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import Callable, Optional

from heat_k8s_hook.errors import ClusterUnreachable, HookError
from heat_k8s_hook.kube import retry
from heat_k8s_hook.kube.cluster import ApiError, Cluster, NotFound
from heat_k8s_hook.readiness.store import POD_WORKLOADS

log = logging.getLogger("heat_k8s_hook")


class Gone(Exception):
    """The watch answered 410 Gone: its resourceVersion is too old; relist."""


@dataclass
class _At:
    """Where a stream is: the resourceVersion to resume from; None lists (again)."""

    rv: Optional[str]


class Streams:
    """Starts and runs the streams of one wait; `stop` ends them all."""

    def __init__(self, cluster: Cluster, selector: str, events: queue.Queue,
                 clock: Callable[[], float], stop: threading.Event):
        self.cluster = cluster
        self.selector = selector
        self.events = events
        self.clock = clock
        self.stop = stop
        self.gone = False   # waiting for deletion: a resource type that went holds nothing

    def start_all(self, targets: list, deadline: float, pods: bool) -> None:
        """One stream per (resource, namespace) of the targets; one pod stream per namespace
        with workloads. A scope whose every object was just seen resumes from the oldest of
        their resourceVersions instead of listing."""
        scopes: dict = {}
        for t in targets:
            scopes.setdefault((t.resource, t.ref.namespace), []).append(t)
        for (resource, namespace), group in scopes.items():
            rvs = [int(rv) for rv in ((t.obj or {}).get("metadata", {}).get("resourceVersion")
                                      for t in group) if rv and str(rv).isdigit()]
            rv = str(min(rvs)) if len(rvs) == len(group) and rvs else None
            self.start(("obj", resource, namespace),
                       resource.path(namespace), self.selector, rv, deadline)
        if pods:
            for namespace in sorted({t.ref.namespace for t in targets
                                     if t.resource.group_kind in POD_WORKLOADS}):
                self.start(("pod", namespace), f"/api/v1/namespaces/{namespace}/pods", None,
                           None, deadline)

    def start(self, tag: tuple, path: str, selector: str | None, rv: str | None,
              deadline: float) -> None:
        threading.Thread(target=self.run, args=(tag, path, selector, rv, deadline),
                         name=f"watch-{tag[0]}-{tag[-1]}", daemon=True).start()

    def run(self, tag: tuple, path: str, selector: str | None, rv: str | None,
            deadline: float) -> None:
        """One stream until stopped, the deadline, or a failure (put as FAIL)."""
        backoff, at = 0.1, _At(rv)
        while not self.stop.is_set():
            remaining = deadline - self.clock()
            if remaining <= 0:
                return
            try:
                if at.rv is None:
                    at.rv = self._list(tag, path, selector, remaining)
                self._watch(tag, path, selector, at, remaining)
                backoff = 0.1
            except Gone:
                at.rv = None   # too old: relist
            except NotFound as exc:
                self.events.put((tag, "LIST", []) if self.gone else (tag, "FAIL", exc))
                return
            except ApiError as exc:
                if exc.status == 410:  # too old at the start of a watch: relist
                    at.rv = None
                    continue
                if not retry.is_transient("GET", exc) or not self._pause(path, exc, backoff,
                                                                           deadline):
                    self.events.put((tag, "FAIL", exc))
                    return
                backoff = min(backoff * 2, 2.0)
            except ClusterUnreachable as exc:   # a dropped connection: reconnect
                if not self._pause(path, exc, backoff, deadline):
                    self.events.put((tag, "FAIL", exc))
                    return
                backoff = min(backoff * 2, 2.0)
            except Exception as exc:  # a bug must surface, not hang the wait
                self.events.put((tag, "FAIL", HookError(f"watch on {path}: {exc!r}")))
                return

    def _pause(self, path: str, exc: Exception, backoff: float, deadline: float) -> bool:
        """Wait `backoff` before trying again; False when that would pass the deadline."""
        if self.clock() + backoff >= deadline:
            return False
        log.debug("watch %s: %s; trying again", path, exc)  # 503 while starting, a reset
        self.stop.wait(backoff)
        return True

    def _list(self, tag: tuple, path: str, selector: str | None, remaining: float) -> str:
        listing = self.cluster.get(path, {"labelSelector": selector},
                                   timeout=min(30.0, remaining))
        self.events.put((tag, "LIST", listing.get("items", [])))
        return listing["metadata"]["resourceVersion"]

    def _watch(self, tag: tuple, path: str, selector: str | None, at: _At,
               remaining: float) -> None:
        """Watch from at.rv until the server ends the stream, moving at.rv on with each event
        (the server's bookmarks move it without an event), so a dropped stream resumes where
        it was. Raises Gone on 410."""
        query = {"labelSelector": selector, "resourceVersion": at.rv}
        for event in self.cluster.watch(path, query, timeout=min(remaining, 300.0)):
            if self.stop.is_set():
                return
            kind, obj = event.get("type"), event.get("object") or {}
            if kind == "ERROR":
                if obj.get("code") == 410:
                    raise Gone()
                raise ApiError(obj.get("code", 500), obj.get("reason", ""),
                               obj.get("message", ""))
            at.rv = obj.get("metadata", {}).get("resourceVersion", at.rv)
            if kind != "BOOKMARK":
                self.events.put((tag, kind, obj))
