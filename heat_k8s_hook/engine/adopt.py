"""An inventory parent under the identity before groups (stack + resource name), taken over.

Before issue 15 a deployment's parent was named after its stack and resource; now after its
application identity. A run that finds no parent under the new name looks under the old one:
its members become the run's previous set, recorded under the new name (the old parent is
then forgotten). Until a member is applied again it carries the old parent's ApplySet id, so
what works on members as they are labelled uses that one: a DELETE, SUSPEND/RESUME (nothing is
applied; their record of values stays on the adopted parent) and the prune of members the
config dropped (runner._prune, _wait_gone). I/O through the run context's inventory.
"""
from __future__ import annotations

from typing import Any

from heat_k8s_hook import names
from heat_k8s_hook.engine import inventory, plan, steps
from heat_k8s_hook.result.events import Progress


def parent(ctx: Any):
    """The parent under the identity before groups, if any, taken over (see the module's doc);
    None when there is none (or it is the same name)."""
    legacy = names.parent_name(ctx.dep.legacy_slug)
    found = ctx.inventory.get(legacy) if legacy != ctx.parent_name else None
    if found is not None:
        ctx.adopted = legacy
        ctx.adopted_id = inventory.applyset_id(legacy, ctx.inventory.namespace)
        ctx.emit(Progress(f"adopting inventory {ctx.inventory.namespace}/{legacy} "
                          f"(identity {ctx.dep.legacy_identity})"))
        if ctx.dep.action not in steps.APPLY_ACTIONS:   # nothing is applied: members as labelled
            ctx.applier.applyset_id = ctx.adopted_id
    return found


def record_parent(ctx: Any) -> str:
    """Where SUSPEND/RESUME keep the values to restore: the parent they read (adopted or own)."""
    return ctx.adopted or ctx.parent_name


def observe(ctx: Any, items: list) -> dict:
    """The members live as still labelled for the adopted parent."""
    own = ctx.applier.applyset_id
    ctx.applier.applyset_id = ctx.adopted_id
    try:
        return ctx.applier.observe(items)
    finally:
        ctx.applier.applyset_id = own


def by_label(ctx: Any, targets: list) -> list:
    """[(ApplySet id, targets)]: the run's own ("") first, then those still labelled for the
    adopted parent (members pruned after an adoption), which a wait must watch by that label."""
    own: list = []
    adopted: list = []
    for t in targets:
        labels = ((t.obj or {}).get("metadata", {}).get("labels") or {})
        held = ctx.adopted_id and labels.get(plan.PART_OF) == ctx.adopted_id
        (adopted if held else own).append(t)
    return [("", own)] + ([(ctx.adopted_id, adopted)] if adopted else [])
