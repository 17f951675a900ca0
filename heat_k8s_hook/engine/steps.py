"""The run as data: a pure planner from what is known before anything changes to typed steps.

Learned from cli-utils' `TaskQueueBuilder` (pkg/apply/solver): the safety order of a run
(inventory before any object, dry-run before any write, CRDs Established before their custom
resources, prune only after the apply, DELETE in reverse stage order) is a list that a unit test
can read without a cluster. `runner.py` executes the list; nothing here does I/O (pure).
SUSPEND/RESUME (`suspend.py`): record the values, scale to zero, wait until no pods are left;
restore the recorded values, forget them, wait until ready, read outputs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional, Union

from heat_k8s_hook.engine import plan, suspend
from heat_k8s_hook.engine.plan import CRD_KIND
from heat_k8s_hook.errors import InvalidInput
from heat_k8s_hook.names import APPLY_ACTIONS  # noqa: F401 (steps.APPLY_ACTIONS for callers)
from heat_k8s_hook.objects import ObjectRef

SUSPEND_ACTIONS = frozenset({"SUSPEND", "RESUME"})
CHECK_NOTE = ("CHECK: nothing to do (Heat never sends CHECK to a software deployment: "
              "`stack check` has no handle_check for it)")


@dataclass(frozen=True)
class Planned:
    """One rendered object as the planner sees it: identity and three facts found before."""

    ref: ObjectRef
    unchanged: bool = False     # the live object already is what would be applied
    deferred: bool = False      # a custom resource of a CRD in the same config (not served yet)
    wait: bool = True           # False: annotation heat-k8s-hook.dev/wait: "false"


@dataclass(frozen=True)
class Facts:
    """Everything the planner needs, gathered read-only by the runner (or given by a test)."""

    action: str                                  # CREATE | UPDATE | ROLLBACK | DELETE | ...
    objects: tuple = ()                          # Planned, in document order
    previous: tuple = ()                         # ObjectRef members of the last applied set
    has_inventory: bool = False                  # a parent ConfigMap exists
    missing_namespaces: frozenset = frozenset()  # Namespaces the config creates
    wait: bool = True
    prune: bool = True
    outputs: tuple = ()                          # names of options.outputs
    allow_empty: bool = False                    # an UPDATE rendering nothing may prune all
    suspend: str = "scale"                       # option suspend: "scale" or "none"
    live: tuple = ()                             # suspend.Held: members' values now
    suspended: Optional[tuple] = None            # suspend.Held recorded; None: no record


# -- the step types --------------------------------------------------------------------------

@dataclass(frozen=True)
class EnsureInventoryNamespace:
    """Server-side apply the `heat-k8s-hook` namespace (holds inventories; dry-run stand-in)."""


@dataclass(frozen=True)
class DryRun:
    refs: tuple
    stand_in_for: frozenset = frozenset()   # namespaces checked in the stand-in namespace


@dataclass(frozen=True)
class RecordInventory:
    members: tuple
    final: bool                             # False: old + new members while a change is in flight


@dataclass(frozen=True)
class ApplyStage:
    name: str
    refs: tuple
    bind: tuple = ()                        # deferred custom resources to bind before applying


@dataclass(frozen=True)
class WaitReady:
    refs: tuple
    what: str = "ready"                     # "established" for CRDs ahead of their resources


@dataclass(frozen=True)
class Prune:
    refs: tuple


@dataclass(frozen=True)
class Delete:
    name: str
    refs: tuple


@dataclass(frozen=True)
class WaitGone:
    refs: tuple                             # a kind whose CRD went too counts as gone


@dataclass(frozen=True)
class ForgetInventory:
    """Delete the parent ConfigMap once every member is gone."""


@dataclass(frozen=True)
class ReadOutputs:
    names: tuple


@dataclass(frozen=True)
class Note:
    text: str


@dataclass(frozen=True)
class RecordSuspended:
    """Write the values before SUSPEND (suspend.Held) into the parent, before any change."""

    held: tuple


@dataclass(frozen=True)
class Suspend:
    held: tuple                             # suspend.Held: the suspended values to write


@dataclass(frozen=True)
class WaitDrained:
    refs: tuple                             # scaled workloads: until none has a pod left


@dataclass(frozen=True)
class Resume:
    held: tuple                             # suspend.Held: the recorded values to write back


@dataclass(frozen=True)
class ForgetSuspended:
    """Remove the record of suspended values from the parent (RESUME restored them)."""


Step = Union[EnsureInventoryNamespace, DryRun, RecordInventory, ApplyStage, WaitReady, Prune,
             Delete, WaitGone, ForgetInventory, ReadOutputs, Note, RecordSuspended, Suspend,
             WaitDrained, Resume, ForgetSuspended]


# -- planners ----------------------------------------------------------------------------------

def plan_run(facts: Facts) -> list:
    """The steps of one action (CHECK, which Heat never sends, and SUSPEND/RESUME with
    option suspend: none have only a Note)."""
    quiet = without_cluster(facts.action, facts.suspend)
    if quiet:
        return [Note(quiet)]
    if facts.action == "DELETE":
        return plan_delete(facts)
    if facts.action == "SUSPEND":
        return plan_suspend(facts)
    if facts.action == "RESUME":
        return plan_resume(facts)
    return plan_apply(facts)


def without_cluster(action: str, suspend_mode: str) -> str:
    """The answer of an action that needs no cluster at all ("" for every other)."""
    if action == "CHECK":
        return CHECK_NOTE
    if action in SUSPEND_ACTIONS and suspend_mode == "none":
        return f"{action}: option suspend is none: workloads left as they are"
    return ""


def plan_suspend(facts: Facts) -> list:
    """SUSPEND: record the values first (a run cut short keeps them), then scale to zero and
    suspend CronJobs, then wait until the scaled workloads have no pods left."""
    if not facts.has_inventory:
        return [Note("nothing to suspend: this deployment owns no objects")]
    if not facts.live and facts.suspended is None:
        return [Note("nothing to suspend: no Deployment, StatefulSet, ReplicaSet or CronJob "
                     "among its members")]
    held = suspend.to_record(facts.suspended, facts.live)
    steps: list = []
    if held != facts.suspended:
        steps.append(RecordSuspended(held))
    writes = suspend.to_suspend(facts.live)
    steps.append(Suspend(writes) if writes else
                 Note(f"nothing to scale: {len(facts.live)} object(s) already at 0 replicas "
                      "or suspended"))
    drained = tuple(h.ref for h in facts.live if suspend.scaled(h.ref))
    if facts.wait and drained:
        steps.append(WaitDrained(drained))
    return steps


def plan_resume(facts: Facts) -> list:
    """RESUME: restore exactly the recorded values, forget the record, then wait until ready
    and read outputs as CREATE does."""
    if not facts.has_inventory:
        return [Note("nothing to resume: this deployment owns no objects")]
    steps: list = []
    if facts.suspended is None:
        steps.append(Note("not suspended: no recorded values to restore"))
    else:
        writes = suspend.to_restore(facts.suspended, facts.live)
        if writes:
            steps.append(Resume(writes))
        steps.append(ForgetSuspended())
    waited = tuple(o.ref for o in facts.objects if o.wait)
    if facts.wait and waited:
        steps.append(WaitReady(waited))
    if facts.outputs:
        steps.append(ReadOutputs(tuple(facts.outputs)))
    return steps


def settled(facts: Facts) -> bool:
    """A SUSPEND or RESUME with nothing to write (a late member of a group may answer from
    the recorded outcome)."""
    return facts.has_inventory and suspend.settled(facts.action, facts.suspended, facts.live)


def plan_apply(facts: Facts) -> list:
    """CREATE/UPDATE: validate all, record, apply in stages, prune, record, wait, outputs.

    Refused (InvalidInput) when the config renders nothing while the deployment owns objects
    and `allow_empty` is not set: that plan would prune everything.
    """
    refused = plan.wipe_out(facts.objects, facts.previous, facts.allow_empty)
    if refused:
        raise InvalidInput(refused)
    desired = tuple(o.ref for o in facts.objects)
    stand_in = frozenset(facts.missing_namespaces)
    steps: list = []
    ensure = [EnsureInventoryNamespace()]
    if stand_in:   # the stand-in namespace must exist before the dry-run uses it
        steps += ensure
        ensure = []
    steps.append(DryRun(tuple(o.ref for o in facts.objects if not o.unchanged and not o.deferred),
                        stand_in))
    steps += ensure
    steps.append(RecordInventory(_unique(facts.previous + desired), final=False))
    steps += _stages(facts.objects)
    pruned = tuple(plan.to_prune(facts.previous, desired)) if facts.prune else ()
    if pruned:
        steps.append(Prune(pruned))
    steps.append(RecordInventory(desired, final=True))
    waited = tuple(o.ref for o in facts.objects if o.wait)
    if facts.wait and waited:
        steps.append(WaitReady(waited))
    if pruned:
        steps.append(WaitGone(pruned))
    if facts.outputs:
        steps.append(ReadOutputs(tuple(facts.outputs)))
    return steps


def _stages(objects: Iterable[Planned]) -> list:
    """One ApplyStage per stage; CRDs waited Established before a stage with their resources."""
    groups = plan.stages(list(objects))
    steps: list = []
    for index, stage in enumerate(groups):
        name = plan.STAGE_NAMES[plan.stage_of(stage[0].ref.kind)]
        bind = tuple(o.ref for o in stage if o.deferred)
        steps.append(ApplyStage(name, tuple(o.ref for o in stage), bind))
        crds = tuple(o.ref for o in stage if o.ref.kind == CRD_KIND)
        if crds and any(o.deferred for later in groups[index + 1:] for o in later):
            steps.append(WaitReady(crds, what="established"))
    return steps


def plan_delete(facts: Facts) -> list:
    """DELETE: stage by stage in reverse (workloads and custom resources first, then what
    they use, CRDs and Namespaces last), each waited gone before the next starts."""
    if not facts.has_inventory:
        return [Note("nothing to delete: this deployment owns no objects")]
    steps: list = []
    buckets: dict = {}
    for ref in facts.previous:
        buckets.setdefault(plan.stage_of(ref.kind), []).append(ref)
    for stage in sorted(buckets, reverse=True):
        refs = tuple(plan.delete_order(buckets[stage]))
        steps += [Delete(plan.STAGE_NAMES[stage], refs), WaitGone(refs)]
    steps.append(ForgetInventory())
    return steps


def _unique(refs: Iterable[ObjectRef]) -> tuple:
    seen: dict = {}
    for ref in refs:
        seen.setdefault(ref.key, ref)
    return tuple(seen.values())


# -- how a step reads -----------------------------------------------------------------------

def _refs(refs: tuple, limit: int = 4) -> str:
    names = [str(r) for r in refs[:limit]]
    more = f", +{len(refs) - limit} more" if len(refs) > limit else ""
    return ", ".join(names) + more


def describe(step: Step) -> str:
    """One line per step, as `heat-k8s-hook plan` prints it."""
    name = type(step).__name__
    if isinstance(step, DryRun):
        where = f" (namespaces {', '.join(sorted(step.stand_in_for))} checked in " \
                f"the stand-in namespace)" if step.stand_in_for else ""
        return f"{name}: {len(step.refs)} object(s){where}"
    if isinstance(step, RecordInventory):
        return f"{name}: {len(step.members)} member(s)" + ("" if step.final else
                                                           " (old and new, before any change)")
    if isinstance(step, (ApplyStage, Delete)):
        bind = f"; bind {len(step.bind)} custom resource(s) first" \
            if getattr(step, "bind", ()) else ""
        return f"{name} {step.name}: {_refs(step.refs)}{bind}"
    if isinstance(step, WaitReady):
        return f"{name} ({step.what}): {_refs(step.refs)}"
    if isinstance(step, (Prune, WaitGone)):
        return f"{name}: {_refs(step.refs)}"
    if isinstance(step, ReadOutputs):
        return f"{name}: {', '.join(step.names)}"
    if isinstance(step, Note):
        return f"{name}: {step.text}"
    if isinstance(step, EnsureInventoryNamespace):
        return f"{name}: namespace heat-k8s-hook (holds the inventory)"
    if isinstance(step, (RecordSuspended, Suspend, Resume)):
        return f"{name}: {_refs(step.held)}"
    if isinstance(step, WaitDrained):
        return f"{name} (no pods left): {_refs(step.refs)}"
    if isinstance(step, ForgetSuspended):
        return f"{name}: the record of suspended values"
    return name


def as_dict(step: Step) -> dict:
    """A step as plain JSON data (`--output json`)."""
    out: dict = {"step": type(step).__name__}
    for key, value in vars(step).items():
        if isinstance(value, (tuple, frozenset)):
            value = [dict(v.ref.to_dict(), **{v.field: v.value})
                     if isinstance(v, suspend.Held) else str(v)
                     for v in (sorted(value) if isinstance(value, frozenset) else value)]
        out[key] = value
    return out
