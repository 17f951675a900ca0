"""Every step's line as `heat-k8s-hook plan` prints it, and the notes a SUSPEND/RESUME with
nothing to do leaves in deploy_stderr, pinned exactly (issue 26: mutants of describe, _refs
and the notes survived)."""
import pytest

from heat_k8s_hook.engine import steps
from heat_k8s_hook.engine.steps import (
    ApplyStage,
    Delete,
    DryRun,
    EnsureInventoryNamespace,
    Facts,
    ForgetInventory,
    ForgetSuspended,
    Note,
    Prune,
    ReadOutputs,
    RecordInventory,
    WaitGone,
    WaitReady,
)
from heat_k8s_hook.objects import ObjectRef

R = tuple(ObjectRef("", "ConfigMap", "shop", f"c{i}", "v1") for i in range(6))
C = "ConfigMap/shop/c"


@pytest.mark.parametrize("step,line", [
    (DryRun(R[:2]), "DryRun: 2 object(s)"),
    (DryRun(R[:1], frozenset({"b", "a"})),
     "DryRun: 1 object(s) (namespaces a, b checked in the stand-in namespace)"),
    (RecordInventory(R[:3], True), "RecordInventory: 3 member(s)"),
    (RecordInventory(R[:3], False), "RecordInventory: 3 member(s) (old and new, before any change)"),
    (ApplyStage("workloads", R[:2]), f"ApplyStage workloads: {C}0, {C}1"),
    (ApplyStage("workloads", R[:1], R[1:3]),
     f"ApplyStage workloads: {C}0; bind 2 custom resource(s) first"),
    (Delete("workloads", R[:4]), f"Delete workloads: {C}0, {C}1, {C}2, {C}3"),
    (Delete("workloads", R[:5]), f"Delete workloads: {C}0, {C}1, {C}2, {C}3, +1 more"),
    (WaitReady(R[:6], "established"),
     f"WaitReady (established): {C}0, {C}1, {C}2, {C}3, +2 more"),
    (Prune(R[:1]), f"Prune: {C}0"), (WaitGone(R[1:2]), f"WaitGone: {C}1"),
    (ReadOutputs(("a", "b")), "ReadOutputs: a, b"), (Note("n"), "Note: n"),
    (EnsureInventoryNamespace(), "EnsureInventoryNamespace: namespace heat-k8s-hook (holds the "
                                 "inventory)"),
    (ForgetSuspended(), "ForgetSuspended: the record of suspended values"),
    (ForgetInventory(), "ForgetInventory"),
])
def test_describe(step, line):
    assert steps.describe(step) == line


def test_as_dict_sorts_sets_and_keeps_tuples_in_order():
    assert steps.as_dict(DryRun(R[1::-1], frozenset({"b", "a"}))) == {
        "step": "DryRun", "refs": [f"{C}1", f"{C}0"], "stand_in_for": ["a", "b"]}


@pytest.mark.parametrize("action,facts,note", [
    ("SUSPEND", {}, "nothing to suspend: this deployment owns no objects"),
    ("SUSPEND", {"has_inventory": True},
     "nothing to suspend: no Deployment, StatefulSet, ReplicaSet or CronJob among its members"),
    ("RESUME", {}, "nothing to resume: this deployment owns no objects"),
])
def test_nothing_to_suspend_or_resume_says_why(action, facts, note):
    plan = steps.plan_run(Facts(action, (), **facts))
    assert plan == [Note(note)]


DEP = ObjectRef("apps", "Deployment", "shop", "web", "v1")
CRON = ObjectRef("batch", "CronJob", "shop", "tick", "v1")


def _suspend(live, wait=True):
    from heat_k8s_hook.engine.steps import Planned
    return steps.plan_run(Facts("SUSPEND", tuple(Planned(h.ref) for h in live),
                                previous=tuple(h.ref for h in live), has_inventory=True,
                                live=live, suspended=None, wait=wait))


def test_suspend_waits_for_drained_pods_only_when_waiting_and_only_if_any():
    from heat_k8s_hook.engine.steps import WaitDrained
    from heat_k8s_hook.engine.suspend import Held
    assert [type(s) for s in _suspend((Held(DEP, 2),))][-1] is WaitDrained
    assert not [s for s in _suspend((Held(DEP, 2),), wait=False) if isinstance(s, WaitDrained)]
    assert not [s for s in _suspend((Held(CRON, False),)) if isinstance(s, WaitDrained)]


def test_suspend_with_everything_at_zero_says_so():
    from heat_k8s_hook.engine.suspend import Held
    plan = _suspend((Held(DEP, 0), Held(CRON, True)))
    assert Note("nothing to scale: 2 object(s) already at 0 replicas or suspended") in plan
