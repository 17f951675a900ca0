"""Dry-run, server-side apply, prune and delete: the I/O that changes the cluster.

`Applier` is the engine's one handle on these, and runs each stage in parallel on one pool;
the jobs are parts of their own, each testable alone: binding manifests to resources
(`bind.py`), what is there already (`members.py`), the server-side apply and its conflict
policy (`patch.py`), deleting a member (`remove.py`). Discovery is asked once per apiVersion;
a LIST per (kind, namespace) shows which objects already match, so a re-delivery sends no
PATCH at all unless something drifted.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, Mapping

from heat_k8s_hook.engine import bind, drift, members, remove
from heat_k8s_hook.engine.bind import Item
from heat_k8s_hook.engine.patch import Change, Patcher, action_of
from heat_k8s_hook.errors import ApplyRejected, HookError
from heat_k8s_hook.kube.cluster import ApiError, Cluster
from heat_k8s_hook.objects import Action, ObjectRef

__all__ = ["Applier", "Change", "Item"]

# Requests in flight at once: the ideal client's 32 (bench/ideal.py). An apply's latency is
# mostly the API server waiting (storage, admission), so 16 left it idle: a N=500 apply phase
# took 2.96 s at 16, 2.32 s at 32 (docs/benchmarks.md, issue 27 part 3). The server's own
# max-in-flight and priority and fairness queue anything beyond what it takes.
WORKERS = 32


class Applier:
    """One run's dry-runs, applies and deletes, in parallel on one pool.

    Holds what the parts share across a run: the ApplySet id (the runner switches it while
    it reads an adopted deployment's members), our members as last observed (`live`, which
    the conflict policy reads) and the server's dry-run answers (`dry`).
    """

    def __init__(self, cluster: Cluster, field_manager: str, force_conflicts: bool,
                 applyset_id: str, mask: Callable[[str], str] = lambda s: s, workers: int = WORKERS,
                 timeout: Callable[[], float] = lambda: 30.0):
        self.cluster = cluster
        self.field_manager = field_manager
        self.force = force_conflicts
        self.applyset_id = applyset_id
        self.mask = mask
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="apply")
        self.timeout = timeout
        self.patcher = Patcher(cluster, field_manager, force_conflicts, mask, timeout)
        self.live: dict = {}   # our members as last observed, by ref.key
        self.dry: dict = {}    # the server's dry-run answer per ref.key (in its own namespace)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _map(self, fn: Callable, items: Iterable) -> list:
        """Run fn over items in parallel; results in order; the first error (in order) raised."""
        futures = [self.pool.submit(fn, it) for it in items]
        results, first_error = [], None
        for f in futures:
            try:
                results.append(f.result())
            except HookError as exc:
                first_error = first_error or exc
                results.append(None)
        if first_error is not None:
            failed = sum(1 for r in results if r is None)
            if failed > 1 and isinstance(first_error, ApplyRejected):  # not a raw ApiError
                raise type(first_error)(f"{first_error} (and {failed - 1} more)")
            raise first_error
        return results

    # -- binding manifests to resources -------------------------------------------------------

    def resolve(self, manifests: list, default_namespace: str | None) -> list:
        """Bind each manifest to its resource via discovery; default namespaces; label."""
        self._map(lambda v: self._discover(v), bind.versions_to_discover(manifests))
        return bind.bind(manifests, default_namespace, self.applyset_id, self.cluster.resource)

    def _discover(self, api_version: str) -> None:
        try:
            self.cluster.discover(api_version)
        except ApiError as exc:
            raise ApplyRejected(f"discovery of {api_version} failed: {self.mask(exc.message)}") \
                from None

    def bind_deferred(self, items: list, patience: float = 10.0) -> None:
        """After CRDs are Established: refresh discovery and bind their custom resources."""
        bind.bind_deferred(self.cluster, items, time.monotonic() + min(patience, self.timeout()))

    # -- what is there already ------------------------------------------------------------------

    def observe(self, items: list) -> dict:
        """Live members, keyed by ref.key, from one labelled LIST per (resource, namespace)."""
        scopes = members.scopes_of(items)
        listed = self._map(lambda s: members.list_members(
            self.cluster, s[0], s[1], self.applyset_id, self.timeout()), scopes)
        live = members.by_key(scopes, listed)
        self.live.update(live)
        return live

    # -- validation, apply, delete ---------------------------------------------------------------

    def _patch(self, item: Item, dry_run: bool, stand_in: str | None = None,
               answer: bool = True) -> tuple:
        return self.patcher.patch(item, dry_run, self.live.get(item.ref.key), stand_in, answer)

    def dry_run(self, items: list, skip: Callable[[Item], bool], missing: set = frozenset(),
                stand_in: str | None = None) -> int:
        """Server-side dry-run of every item not skipped; raises on the first rejected one.

        Objects whose namespace the same config creates are checked in `stand_in` (an existing
        namespace), so the API server validates them before anything is applied.
        """
        todo = [it for it in items if it.resource is not None and not skip(it)]
        # An answer from the stand-in namespace is never compared with a live object: not
        # decoded (half of a create's responses).
        answers = self._map(lambda it: self._patch(
            it, True, *((stand_in, False) if it.ref.namespace in missing else (None, True))),
            todo)
        for it, (_status, obj) in zip(todo, answers):
            if it.ref.namespace not in missing:
                self.dry[it.ref.key] = obj
        return len(todo)

    def dry_run_one(self, item: Item, stand_in: str | None = None) -> dict:
        """The server's answer to a dry-run apply of one item: the object as it would be."""
        return self._patch(item, True, stand_in)[1]

    def apply(self, items: list, live: Mapping) -> list:
        """Server-side apply of one stage in parallel; unchanged objects are not sent."""
        def one(item: Item) -> Change:
            current = live.get(item.ref.key)
            if drift.unchanged(item.body, current) or \
                    drift.same_object(self.dry.get(item.ref.key), current):
                return Change(item.ref, Action.UNCHANGED, current)  # nothing to send
            status, obj = self._patch(item, False)
            return Change(item.ref, action_of(status, obj, current), obj)
        return self._map(one, items)

    def delete(self, refs: Iterable[ObjectRef], action: Action, also: str = "") -> list:
        """Delete refs (foreground for workloads, see plan.propagation); those already gone
        are reported as such. `also`: another ApplySet id whose members are ours too (an
        adopted parent's)."""
        ids = (self.applyset_id, also) if also else (self.applyset_id,)
        return self._map(lambda ref: remove.delete_one(
            self.cluster, ref, action, ids, self.mask, self.timeout), refs)
