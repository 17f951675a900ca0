"""Record the outcome of a successful apply, the proof a fast re-delivery checks (fastpath.py).

The recorder sees the run's events (the change set in order, the outputs); `save` LISTs every
member by its ApplySet label, the way the fast path will (metadata only: the digest needs the
names and resourceVersions, not some MB of objects), and writes the outcome into the inventory
parent only when it differs from the one recorded (an unchanged re-delivery through the full
path writes nothing).

A LIST is taken only once every member it returns was judged ready (controllers move
resourceVersions until then), but not necessarily at the end: during the final wait, a scope
whose members are all ready (ConfigMaps, Secrets, Services: the bulk of a big deployment, ready
as soon as applied) is LISTed in the background while the workloads are still rolling out, so
the time past the last ready object is the LISTs of the workloads' scopes alone. A scope that
holds a pruned object is LISTed at the end, once the pruned object is gone.
"""
from __future__ import annotations

from urllib.parse import urlencode

from heat_k8s_hook import objects
from heat_k8s_hook.engine import inventory, plan, steps
from heat_k8s_hook.readiness.rules import Status
from heat_k8s_hook.result.events import ObjectChanged, OutputRead, StepStarted, VerdictChanged
from heat_k8s_hook.result.report import _field


class Recorder:
    """An Emit that passes every event on and keeps the change set's order and the outputs;
    with `run_ctx` attached, it starts the LIST of each scope whose members are all ready."""

    def __init__(self, emit):
        self.emit, self.refs, self.outputs = emit, [], {}
        self.run_ctx = None   # attached by the pipeline once the run is open
        self.pending: dict = {}    # scope path -> keys of its members not yet judged ready
        self.early: dict = {}      # scope path -> Future of its LIST, taken once all were ready
        self.pruned: set = set()   # (group, kind, namespace) of the pruned objects

    def __call__(self, event) -> None:
        if isinstance(event, ObjectChanged):
            self.refs.append(event.ref)
            if event.action is objects.Action.PRUNED:
                self.pruned.add(event.ref.key[:3])
        elif isinstance(event, OutputRead):
            self.outputs[event.name] = event.value
        elif isinstance(event, StepStarted) and isinstance(event.step, steps.WaitReady) and \
                event.step.what == "ready" and self.run_ctx is not None:
            self._expect(event.step.refs)
        elif isinstance(event, VerdictChanged) and event.what == "ready" and \
                event.status is Status.READY:
            self._ready(event.ref.key)
        self.emit(event)

    def _expect(self, waited) -> None:
        """The final wait starts (every object applied): which members each scope waits for."""
        keys = {ref.key for ref in waited}
        by_scope = members_by_scope(self.run_ctx)
        self.pending = {s: {k for k in members if k in keys} for s, members in by_scope.items()
                        if not any(k[:3] in self.pruned for k in members)}
        for scope in [s for s, left in self.pending.items() if not left]:
            self._list_early(scope)

    def _ready(self, key: tuple) -> None:
        for scope, left in list(self.pending.items()):
            if key in left:
                left.discard(key)
                if not left:
                    self._list_early(scope)

    def _list_early(self, scope: str) -> None:
        del self.pending[scope]
        self.early[scope] = self.run_ctx.applier.pool.submit(list_members, self.run_ctx, scope)


def _query(run_ctx) -> str:
    return urlencode({"labelSelector": f"{plan.PART_OF}={run_ctx.applier.applyset_id}"})


def members_by_scope(run_ctx) -> dict:
    """The labelled LIST (path and query) of each (resource, namespace) -> its members' keys."""
    groups: dict = {}
    for it in run_ctx.items.values():
        if it.resource:
            groups.setdefault((it.resource, it.ref.namespace), set()).add(it.ref.key)
    query = _query(run_ctx)
    return {f"{resource.path(ns)}?{query}": keys for (resource, ns), keys in groups.items()}


def scopes(run_ctx) -> list:
    """The labelled LIST of each (resource, namespace) holding members: path and query."""
    query = _query(run_ctx)
    return sorted({f"{resource.path(ns)}?{query}" for resource, ns in
                   {(it.resource, it.ref.namespace) for it in run_ctx.items.values()
                    if it.resource}})


def list_members(run_ctx, scope: str) -> dict:
    """One scope's members as metadata only (PartialObjectMetadataList), as the fast path
    LISTs them: inventory.digest reads only namespace, name and resourceVersion."""
    return run_ctx.cluster.get(scope, timeout=run_ctx.deadline.cap(30.0),
                               accept=inventory.METADATA_LIST)


def save(run_ctx, recorder: Recorder, key: str, mask) -> None:
    """After a successful apply: record what a re-delivery of the same key may answer."""
    lists = scopes(run_ctx)
    late = [s for s in lists if s not in recorder.early]
    answers = dict(zip(late, run_ctx.applier.pool.map(
        lambda s: list_members(run_ctx, s), late)))
    listings = [(s, answers[s] if s in answers else recorder.early[s].result()) for s in lists]
    applied = [ref for ref in recorder.refs if ref.key in run_ctx.items]  # not the pruned
    stdout = _field([f"{ref} {objects.Action.UNCHANGED.value}" for ref in applied], mask)
    outputs = {name: mask.value(value) for name, value in recorder.outputs.items()}
    outcome = inventory.encode_outcome(key, lists, inventory.digest(listings), stdout, outputs,
                                      len(applied))
    opts = run_ctx.dep.options
    members = [it.ref for it in run_ctx.items.values()]
    run_ctx.inventory.record(run_ctx.parent_name, run_ctx.dep.identity, members,
                             {"wait_rules": dict(opts.wait_rules),
                              "unschedulable_grace": opts.unschedulable_grace},
                             outcome=outcome)
