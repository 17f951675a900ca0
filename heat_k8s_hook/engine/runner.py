"""Execute a plan of steps against a run context: the cluster, the inventory, one deadline.

`gather` reads what the planner needs (inventory, discovery, live objects: no writes);
`steps.plan_run` decides the order; `run` performs each step and emits typed events
(`events.py`). One handler per step type; errors carry the phase of the step that failed (I/O).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from heat_k8s_hook import names
from heat_k8s_hook.engine import adopt, drift, inventory, plan, steps, suspend, suspend_client
from heat_k8s_hook.engine.apply import Applier, Change
from heat_k8s_hook.engine.inventory_client import InventoryClient
from heat_k8s_hook.errors import HookError, InvalidInput, NotReady, TimedOut
from heat_k8s_hook.input.deployment import Deployment
from heat_k8s_hook.kube.cluster import Cluster, NotFound, UnknownKind
from heat_k8s_hook.kube.deadline import Deadline
from heat_k8s_hook.objects import Action
from heat_k8s_hook.readiness.watch import Target, Waiter, applied_at, deadline_for
from heat_k8s_hook.result.events import (
    Detail,
    Emit,
    ObjectChanged,
    OutputRead,
    Progress,
    StepStarted,
    VerdictChanged,
)
from heat_k8s_hook.result.report import read_output

log = logging.getLogger("heat_k8s_hook")


@dataclass
class RunContext:
    """What every step may use; the only mutable state of a run."""

    dep: Deployment
    cluster: Cluster
    inventory: InventoryClient
    applier: Applier
    deadline: Deadline
    emit: Emit
    clock: Callable[[], float]
    started: float
    items: dict = field(default_factory=dict)     # ref.key -> apply.Item
    live: dict = field(default_factory=dict)      # ref.key -> live object
    changes: dict = field(default_factory=dict)   # ref.key -> Change (apply, prune, delete)
    adopted: str = ""      # the parent under the identity before groups, taken over (adopt.py)
    adopted_id: str = ""   # its ApplySet id: its members carry it until applied again

    @property
    def parent_name(self) -> str:
        return names.parent_name(self.dep.slug)


# -- before the plan: read-only facts -----------------------------------------------------------

def gather(ctx: RunContext, manifests: list) -> steps.Facts:
    """Inventory, discovery, live members and missing namespaces: what the planner needs."""
    dep, opts = ctx.dep, ctx.dep.options
    parent = ctx.inventory.get(ctx.parent_name) or adopt.parent(ctx)
    previous = tuple(inventory.members_of(parent))
    objects: tuple = ()
    missing: frozenset = frozenset()
    if dep.action in steps.SUSPEND_ACTIONS:
        return _gather_suspend(ctx, manifests, parent, previous)
    if dep.action in steps.APPLY_ACTIONS:
        items = ctx.applier.resolve(manifests, opts.namespace)
        ctx.items = {it.ref.key: it for it in items}
        ctx.live = ctx.applier.observe(items)
        if ctx.adopted:  # members still labelled for the adopted parent are live too
            ctx.live = {**adopt.observe(ctx, items), **ctx.live}
        output_sources(ctx)  # a wrong output is code 2 before anything is written
        missing = frozenset(_namespaces_to_create(ctx, manifests))
        objects = tuple(steps.Planned(
            it.ref, unchanged=drift.unchanged(it.body, ctx.live.get(it.ref.key)),
            deferred=it.resource is None, wait=_wants_wait(it.body)) for it in items)
    return steps.Facts(dep.action, objects, previous, parent is not None, missing,
                       opts.wait, opts.prune, tuple(opts.outputs), opts.allow_empty)


def _gather_suspend(ctx: RunContext, manifests: list, parent, previous: tuple) -> steps.Facts:
    """SUSPEND/RESUME: the members' values now (live), the record, and for RESUME's wait and
    outputs the rendered objects as they are live (nothing is applied)."""
    dep, opts = ctx.dep, ctx.dep.options
    items = ctx.applier.resolve(manifests, opts.namespace)
    ctx.items = {it.ref.key: it for it in items}
    ctx.live = ctx.applier.observe(items)
    ctx.changes = {key: Change(it.ref, Action.UNCHANGED, ctx.live[key])
                   for key, it in ctx.items.items() if key in ctx.live}
    if dep.action == "RESUME":
        output_sources(ctx)  # a wrong output is code 2 before anything is written
    live = tuple(h for h in (suspend.current(ref, _live_member(ctx, ref))
                             for ref in previous if suspend.changes(ref)) if h is not None)
    try:
        recorded = suspend.parse_record(inventory.suspended_of(parent))
    except ValueError as exc:
        raise InvalidInput(f"inventory ConfigMap {ctx.inventory.namespace}/"
                           f"{ctx.parent_name}: {exc}") from None
    objects = tuple(steps.Planned(it.ref, wait=_wants_wait(it.body) and it.ref.key in ctx.live)
                    for it in items)
    return steps.Facts(dep.action, objects, previous, parent is not None, frozenset(),
                       opts.wait, opts.prune, tuple(opts.outputs), opts.allow_empty,
                       opts.suspend, live, recorded)


def _live_member(ctx: RunContext, ref) -> object:
    """A member as it is live: from the labelled LISTs, else one GET (None when gone)."""
    if ref.key in ctx.live:
        return ctx.live[ref.key]
    try:
        path = ctx.cluster.resource(ref.api_version, ref.kind).path(ref.namespace, ref.name)
        return ctx.cluster.get(path, timeout=ctx.deadline.cap(30.0))
    except (NotFound, UnknownKind):
        return None


def _wants_wait(body: dict) -> bool:
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    return annotations.get(plan.WAIT_ANNOTATION, "").lower() != "false"


def _namespaces_to_create(ctx: RunContext, manifests: list) -> set:
    missing = set()
    for m in manifests:
        if m.kind == "Namespace" and not m.group:
            try:
                ctx.cluster.get(f"/api/v1/namespaces/{m.name}", timeout=ctx.deadline.cap(10.0))
            except NotFound:
                missing.add(m.name)
    return missing


# -- the runner ---------------------------------------------------------------------------------

def phase_of(step) -> str:
    """The phase an error message names: dry-run, inventory, apply workloads, wait, ..."""
    name = getattr(step, "name", "")
    return {
        steps.DryRun: "dry-run", steps.ApplyStage: f"apply {name}", steps.Prune: "prune",
        steps.Delete: f"delete {name}", steps.WaitGone: "wait gone",
        steps.WaitReady: f"wait {getattr(step, 'what', '')}", steps.ReadOutputs: "outputs",
        steps.Suspend: "suspend", steps.Resume: "resume", steps.WaitDrained: "wait drained",
    }.get(type(step), "inventory")


def run(ctx: RunContext, plan_steps: list) -> None:
    """Each step in order, against the one deadline; the first error stops the run."""
    last_apply = max((i for i, s in enumerate(plan_steps) if isinstance(s, steps.ApplyStage)),
                     default=-1)
    for index, step in enumerate(plan_steps):
        ctx.emit(StepStarted(index, len(plan_steps), step))
        try:
            ctx.deadline.remaining()
            HANDLERS[type(step)](ctx, step)
        except HookError as exc:
            exc.phase = exc.phase or phase_of(step)
            raise
        if index == last_apply:
            counts = _counts(c.action for c in ctx.changes.values())
            ctx.emit(Progress("applied: " + ", ".join(f"{n} {a}" for a, n in counts)))


def _counts(actions) -> list:
    counts: dict = {}
    for a in actions:
        counts[a.value] = counts.get(a.value, 0) + 1
    return sorted(counts.items())


def _items(ctx: RunContext, refs) -> list:
    return [ctx.items[r.key] for r in refs]


def _ensure_namespace(ctx: RunContext, step) -> None:
    ctx.inventory.ensure_namespace()


def _dry_run(ctx: RunContext, step: steps.DryRun) -> None:
    checked = ctx.applier.dry_run(_items(ctx, step.refs), skip=lambda it: False,
                                  missing=step.stand_in_for, stand_in=ctx.inventory.namespace)
    ctx.emit(Progress(f"validated: {checked} object(s) passed server-side dry-run"))


def _record(ctx: RunContext, step: steps.RecordInventory) -> None:
    opts = ctx.dep.options
    ctx.inventory.record(ctx.parent_name, ctx.dep.identity, step.members,
                         {"wait_rules": dict(opts.wait_rules),
                          "unschedulable_grace": opts.unschedulable_grace})
    if ctx.adopted:
        ctx.inventory.forget(ctx.adopted)
        ctx.adopted = ""


def _apply_stage(ctx: RunContext, step: steps.ApplyStage) -> None:
    items = _items(ctx, step.refs)
    if step.bind:
        bind = _items(ctx, step.bind)
        ctx.applier.bind_deferred(bind)
        ctx.live.update(ctx.applier.observe(bind))
    for change in ctx.applier.apply(items, ctx.live):
        ctx.changes[change.ref.key] = change
        ctx.emit(ObjectChanged(change.ref, change.action))


def _remove(ctx: RunContext, refs, action: Action, also: str = "") -> list:
    changes = ctx.applier.delete(list(refs), action, also)
    for change in changes:
        ctx.changes[change.ref.key] = change
        ctx.emit(ObjectChanged(change.ref, change.action))
    return changes


def _prune(ctx: RunContext, step: steps.Prune) -> None:
    """Members the config dropped; after an adoption they still carry the adopted parent's
    ApplySet id (only what is applied is labelled again), so that one is ours too."""
    _remove(ctx, step.refs, Action.PRUNED, also=ctx.adopted_id)


def _delete(ctx: RunContext, step: steps.Delete) -> None:
    _remove(ctx, step.refs, Action.DELETED)


def _forget(ctx: RunContext, step) -> None:
    ctx.inventory.forget(ctx.parent_name)
    if ctx.adopted:
        ctx.inventory.forget(ctx.adopted)
    ctx.emit(Progress(f"deleted: {len(ctx.changes)} object(s)"))


def _note(ctx: RunContext, step: steps.Note) -> None:
    ctx.emit(Progress(step.text))


def _waiter(ctx: RunContext, applyset_id: str = "") -> Waiter:
    opts = ctx.dep.options
    return Waiter(ctx.cluster, applyset_id or ctx.applier.applyset_id,
                  wait_rules=opts.wait_rules, unschedulable_grace=opts.unschedulable_grace,
                  clock=ctx.clock, started=ctx.started, cancel=ctx.deadline.cancelled)


def _wait_ready(ctx: RunContext, step: steps.WaitReady) -> None:
    targets = []
    for ref in step.refs:
        change: Change = ctx.changes[ref.key]
        obj = change.obj or {}
        since = None if change.action is Action.UNCHANGED else \
            applied_at(obj, ctx.dep.options.field_manager)
        targets.append(Target(change.ref, ctx.items[ref.key].resource, obj,
                              deadline_for(obj, ctx.clock(), ctx.deadline.at,
                                           plan.TIMEOUT_ANNOTATION), since))
    waiter = _waiter(ctx)

    def changed(t: Target) -> None:
        ctx.emit(VerdictChanged(t.ref, t.verdict.status, t.verdict.message, step.what))
    outcome = waiter.wait(targets, ctx.deadline.at, on_change=changed)
    if outcome.failed:
        lines = []
        for ref, message in outcome.failed:
            lines.append(f"{ref}: {message}")
            named = list(outcome.pods.get(ref.key, ()))
            events = waiter.warning_events(ref.namespace, [ref.name] + named)
            lines += [f"  event {e}" for e in events]
        for line in lines[1:]:
            ctx.emit(Detail(line))
        raise NotReady(lines[0] + (f" (+{len(outcome.failed) - 1} more failed)"
                                   if len(outcome.failed) > 1 else ""))
    if outcome.pending:
        for ref, _message in outcome.pending:
            # A pod named as not ready: its Warnings (a readiness probe's Unhealthy) say why.
            named = list(outcome.pods.get(ref.key, ()))
            if named:
                for e in waiter.warning_events(ref.namespace, named):
                    ctx.emit(Detail(f"  event {e}"))
        waiting = "; ".join(f"{ref}: {msg}" for ref, msg in outcome.pending)
        raise TimedOut(f"not {step.what} after {outcome.elapsed:.0f}s: {waiting}")
    ctx.emit(Progress(f"all {len(targets)} object(s) {step.what}"))


def _wait_gone(ctx: RunContext, step: steps.WaitGone) -> None:
    targets = []
    for ref in step.refs:
        change = ctx.changes.get(ref.key)
        if change is None or change.action not in (Action.PRUNED, Action.DELETED):
            continue
        try:
            resource = ctx.cluster.resource(ref.api_version, ref.kind)
        except UnknownKind:
            continue  # its CRD went: so did it
        targets.append(Target(ref, resource, change.obj, ctx.deadline.at))

    def changed(t: Target) -> None:
        ctx.emit(VerdictChanged(t.ref, t.verdict.status, t.verdict.message, "gone"))

    pending: list = []
    elapsed = 0.0
    for applyset_id, group in adopt.by_label(ctx, targets):   # the Waiter watches by label
        outcome = _waiter(ctx, applyset_id).wait(group, ctx.deadline.at, gone=True,
                                                 on_change=changed)
        pending += outcome.pending
        elapsed = max(elapsed, outcome.elapsed)
    if pending:
        waiting = "; ".join(str(ref) for ref, _ in pending)
        raise TimedOut(f"not deleted after {elapsed:.0f}s: {waiting}")
    if targets:
        ctx.emit(Progress(f"all {len(targets)} deleted object(s) gone"))


# -- SUSPEND and RESUME (what to write: suspend.py) -------------------------------------------

def _record_suspended(ctx: RunContext, step: steps.RecordSuspended) -> None:
    parent = adopt.record_parent(ctx)
    if ctx.inventory.record_suspended(parent, suspend.record_json(step.held)):
        ctx.emit(Progress(f"recorded {len(step.held)} value(s) for RESUME in inventory "
                          f"ConfigMap {ctx.inventory.namespace}/{parent}"))


def _forget_suspended(ctx: RunContext, step) -> None:
    ctx.inventory.record_suspended(adopt.record_parent(ctx), None)


def _suspend(ctx: RunContext, step: steps.Suspend) -> None:
    suspend_client.set_values(ctx, step.held, "suspended")


def _resume(ctx: RunContext, step: steps.Resume) -> None:
    suspend_client.set_values(ctx, step.held, "restored")


def _wait_drained(ctx: RunContext, step: steps.WaitDrained) -> None:
    targets = [Target(ref, ctx.cluster.resource(ref.api_version, ref.kind),
                      ctx.changes[ref.key].obj if ref.key in ctx.changes else
                      _live_member(ctx, ref), ctx.deadline.at) for ref in step.refs]
    suspend_client.wait_drained(ctx, targets)


def output_sources(ctx: RunContext) -> dict:
    """name -> (ref, item) per output; the path is tried on what is applied (Secret data?)."""
    sources = {}
    for out_name, ref in ctx.dep.options.outputs.items():
        kind = ref.kind.rpartition("/")[2]
        candidates = [it for it in ctx.items.values()
                      if it.ref.kind == kind and it.ref.name == ref.name
                      and (ref.namespace is None or it.ref.namespace == ref.namespace)]
        if not candidates:
            raise InvalidInput(f"output {out_name}: {ref.kind}/{ref.name} is not an object "
                               f"of this config")
        read_output(out_name, ref.jsonpath, dict(candidates[0].body, kind=kind))
        sources[out_name] = (ref, candidates[0])
    return sources


def _read_outputs(ctx: RunContext, step: steps.ReadOutputs) -> None:
    sources = output_sources(ctx)
    for out_name in step.names:
        ref, item = sources[out_name]
        obj = ctx.cluster.get(item.resource.path(item.ref.namespace, item.ref.name),
                              timeout=ctx.deadline.cap(30.0))
        obj.setdefault("kind", item.ref.kind)
        ctx.emit(OutputRead(out_name, read_output(out_name, ref.jsonpath, obj)))


HANDLERS = {
    steps.EnsureInventoryNamespace: _ensure_namespace, steps.DryRun: _dry_run,
    steps.RecordInventory: _record, steps.ApplyStage: _apply_stage,
    steps.WaitReady: _wait_ready, steps.Prune: _prune, steps.Delete: _delete,
    steps.WaitGone: _wait_gone, steps.ForgetInventory: _forget,
    steps.ReadOutputs: _read_outputs, steps.Note: _note,
    steps.RecordSuspended: _record_suspended, steps.Suspend: _suspend,
    steps.WaitDrained: _wait_drained, steps.Resume: _resume,
    steps.ForgetSuspended: _forget_suspended,
}
