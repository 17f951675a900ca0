"""The plan of steps, read without a cluster (as cli-utils' solver_test.go reads its task queue).

Each test names the safety rule it would catch if the planner lost it.
"""
import pathlib

import pytest
import yaml

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
    Planned,
    Prune,
    ReadOutputs,
    RecordInventory,
    RecordSuspended,
    Resume,
    Suspend,
    WaitDrained,
    WaitGone,
    WaitReady,
)
from heat_k8s_hook.engine.suspend import Held
from heat_k8s_hook.objects import ObjectRef

CORPORA = pathlib.Path("/work/shared/corpora/real-manifests")

NS = ObjectRef("", "Namespace", "", "shop", "v1")
CM = ObjectRef("", "ConfigMap", "shop", "web-config", "v1")
DEP = ObjectRef("apps", "Deployment", "shop", "web", "v1")
SVC = ObjectRef("", "Service", "shop", "web", "v1")
CRD = ObjectRef("apiextensions.k8s.io", "CustomResourceDefinition", "", "widgets.example.com", "v1")
CR = ObjectRef("example.com", "Widget", "shop", "w1", "v1")
OLD = ObjectRef("", "ConfigMap", "shop", "old", "v1")


def kinds(plan):
    return [type(s).__name__ for s in plan]


def only(plan, kind):
    return [s for s in plan if isinstance(s, kind)]


def test_create_order_without_new_namespace():
    """Dry-run before any write; inventory before any object; wait after the apply."""
    plan = steps.plan_run(Facts("CREATE", (Planned(CM), Planned(DEP))))
    assert plan == [
        DryRun((CM, DEP)),
        EnsureInventoryNamespace(),
        RecordInventory((CM, DEP), final=False),
        ApplyStage("dependencies", (CM,)),
        ApplyStage("workloads", (DEP,)),
        RecordInventory((CM, DEP), final=True),
        WaitReady((CM, DEP)),
    ]


def test_new_namespace_is_checked_in_the_stand_in():
    """The stand-in namespace must exist before the dry-run that uses it."""
    facts = Facts("CREATE", (Planned(NS), Planned(CM), Planned(DEP)),
                  missing_namespaces=frozenset({"shop"}))
    plan = steps.plan_run(facts)
    assert kinds(plan)[:3] == ["EnsureInventoryNamespace", "DryRun", "RecordInventory"]
    assert plan[1] == DryRun((NS, CM, DEP), frozenset({"shop"}))
    assert only(plan, ApplyStage)[0] == ApplyStage("definitions", (NS,))


def test_crd_is_established_before_its_custom_resources():
    """CR bound and applied only after its CRD is Established; never dry-run before."""
    facts = Facts("CREATE", (Planned(CRD), Planned(CR, deferred=True), Planned(DEP)))
    plan = steps.plan_run(facts)
    assert plan[0] == DryRun((CRD, DEP))
    stage0, established, stage2 = plan[3:6]
    assert stage0 == ApplyStage("definitions", (CRD,))
    assert established == WaitReady((CRD,), what="established")
    assert stage2 == ApplyStage("workloads", (DEP, CR), bind=(CR,))


def test_crd_without_its_resources_is_not_waited_twice():
    plan = steps.plan_run(Facts("CREATE", (Planned(CRD), Planned(DEP))))
    assert [s.what for s in only(plan, WaitReady)] == ["ready"]


def test_prune_after_apply_then_record_then_wait_gone():
    """Prune only after every stage applied; the final inventory only after the prune."""
    facts = Facts("UPDATE", (Planned(DEP),), previous=(OLD, DEP), has_inventory=True)
    plan = steps.plan_run(facts)
    assert kinds(plan) == ["DryRun", "EnsureInventoryNamespace", "RecordInventory", "ApplyStage",
                           "Prune", "RecordInventory", "WaitReady", "WaitGone"]
    assert plan[2] == RecordInventory((OLD, DEP), final=False)  # old members kept in flight
    assert plan[4] == Prune((OLD,))
    assert plan[5] == RecordInventory((DEP,), final=True)
    assert plan[7] == WaitGone((OLD,))


def test_prune_disabled_keeps_old_members_out_of_the_plan():
    facts = Facts("UPDATE", (Planned(DEP),), previous=(OLD, DEP), prune=False)
    assert not only(steps.plan_run(facts), Prune)
    assert not only(steps.plan_run(facts), WaitGone)


def test_wait_disabled_still_waits_for_crds_its_resources_need():
    facts = Facts("CREATE", (Planned(CRD), Planned(CR, deferred=True)), wait=False)
    plan = steps.plan_run(facts)
    assert only(plan, WaitReady) == [WaitReady((CRD,), what="established")]


def test_wait_annotation_and_unchanged_objects():
    """Unchanged objects are not dry-run again; wait: "false" objects are not waited for."""
    facts = Facts("UPDATE", (Planned(CM, unchanged=True), Planned(DEP, wait=False),
                             Planned(SVC)), previous=(CM, DEP, SVC), has_inventory=True)
    plan = steps.plan_run(facts)
    assert plan[0] == DryRun((DEP, SVC))
    assert only(plan, WaitReady) == [WaitReady((CM, SVC))]


def test_outputs_are_read_last():
    plan = steps.plan_run(Facts("CREATE", (Planned(SVC),), outputs=("web_ip",)))
    assert plan[-1] == ReadOutputs(("web_ip",))


def test_check_is_a_note_that_heat_never_sends_it():
    """CHECK (a hand-run only: Heat's deployment has no handle_check) changes nothing."""
    assert steps.plan_run(Facts("CHECK", (Planned(DEP),), previous=(DEP,),
                                has_inventory=True)) == [Note(steps.CHECK_NOTE)]
    assert "Heat never sends CHECK" in steps.CHECK_NOTE
    assert steps.without_cluster("CHECK", "scale") == steps.CHECK_NOTE


# -- SUSPEND and RESUME -----------------------------------------------------------------------

STS = ObjectRef("apps", "StatefulSet", "shop", "db", "v1")
CRON = ObjectRef("batch", "CronJob", "shop", "tick", "v1")
RUNNING = (Held(DEP, 2), Held(STS, 1), Held(CRON, False))
ZEROS = (Held(DEP, 0), Held(STS, 0), Held(CRON, True))


def suspend_facts(action="SUSPEND", live=RUNNING, suspended=None, **kw):
    return Facts(action, (Planned(CM), Planned(DEP), Planned(STS), Planned(CRON)),
                 previous=(CM, DEP, STS, CRON), has_inventory=True, live=live,
                 suspended=suspended, **kw)


def test_suspend_records_first_then_scales_then_waits_for_no_pods():
    """The values are recorded before any change (a run cut short can still be resumed);
    only scaled workloads are waited for; the ConfigMap is not touched."""
    record = tuple(sorted(RUNNING, key=lambda h: h.ref.key))
    assert steps.plan_run(suspend_facts()) == [
        RecordSuspended(record),
        Suspend(ZEROS),
        WaitDrained((DEP, STS)),
    ]


def test_a_second_suspend_keeps_the_record_and_writes_nothing():
    """Would catch a second SUSPEND recording the zeros of the first (RESUME would then
    restore nothing)."""
    record = tuple(sorted(RUNNING, key=lambda h: h.ref.key))
    plan = steps.plan_run(suspend_facts(live=ZEROS, suspended=record))
    assert not only(plan, RecordSuspended) and not only(plan, Suspend)
    assert only(plan, WaitDrained) == [WaitDrained((DEP, STS))]
    assert steps.settled(suspend_facts(live=ZEROS, suspended=record))
    assert not steps.settled(suspend_facts(live=(Held(DEP, 1),) + ZEROS[1:],
                                           suspended=record))


def test_suspend_after_a_hand_scale_up_keeps_the_recorded_value():
    record = (Held(DEP, 2),)
    plan = steps.plan_run(suspend_facts(live=(Held(DEP, 5),), suspended=record))
    assert plan[0] == Suspend((Held(DEP, 0),))


def test_resume_restores_the_record_then_forgets_it_then_waits_like_create():
    record = tuple(sorted(RUNNING, key=lambda h: h.ref.key))
    plan = steps.plan_run(suspend_facts("RESUME", live=ZEROS, suspended=record,
                                        outputs=("ready",)))
    assert plan == [
        Resume(record),
        ForgetSuspended(),
        WaitReady((CM, DEP, STS, CRON)),
        ReadOutputs(("ready",)),
    ]
    assert not steps.settled(suspend_facts("RESUME", live=ZEROS, suspended=record))


def test_resume_without_a_record_restores_nothing():
    plan = steps.plan_run(suspend_facts("RESUME", wait=False))
    assert plan == [Note("not suspended: no recorded values to restore")]
    assert steps.settled(suspend_facts("RESUME"))


@pytest.mark.parametrize("action", ["SUSPEND", "RESUME"])
def test_suspend_none_does_nothing_and_says_so(action):
    plan = steps.plan_run(suspend_facts(action, suspend="none", suspended=ZEROS))
    assert plan == [Note(f"{action}: option suspend is none: workloads left as they are")]
    assert steps.without_cluster(action, "none") == plan[0].text
    assert steps.without_cluster(action, "scale") == ""


@pytest.mark.parametrize("action", ["SUSPEND", "RESUME"])
def test_suspend_without_inventory_or_workloads(action):
    assert kinds(steps.plan_run(Facts(action))) == ["Note"]
    facts = Facts(action, (Planned(CM),), previous=(CM,), has_inventory=True, wait=False)
    assert kinds(steps.plan_run(facts)) == ["Note"]


def test_describe_and_as_dict_of_suspend_steps():
    record = tuple(sorted(RUNNING, key=lambda h: h.ref.key))
    for plan in (steps.plan_run(suspend_facts()),
                 steps.plan_run(suspend_facts("RESUME", live=ZEROS, suspended=record))):
        assert all("\n" not in steps.describe(s) for s in plan)
    assert steps.describe(Suspend(ZEROS)) == (
        "Suspend: Deployment/shop/web replicas=0, StatefulSet/shop/db replicas=0, "
        "CronJob/shop/tick suspend=true")
    assert steps.describe(WaitDrained((DEP,))) == "WaitDrained (no pods left): Deployment/shop/web"
    assert steps.as_dict(Resume((Held(CRON, False),))) == {"step": "Resume", "held": [
        {"apiVersion": "batch/v1", "kind": "CronJob", "namespace": "shop", "name": "tick",
         "suspend": False}]}


def test_rollback_re_applies_like_an_update():
    """Heat's ROLLBACK re-delivers the previous config: it is applied, as before issue 16."""
    facts = Facts("ROLLBACK", (Planned(DEP),), previous=(DEP, OLD), has_inventory=True)
    assert steps.plan_run(facts) == steps.plan_run(Facts("UPDATE", (Planned(DEP),),
                                                         previous=(DEP, OLD),
                                                         has_inventory=True))


def test_delete_without_inventory_changes_nothing():
    assert steps.plan_run(Facts("DELETE")) == [
        Note("nothing to delete: this deployment owns no objects")]


def test_delete_is_reverse_stage_order_each_waited_gone():
    """Workloads and custom resources first, their CRDs and Namespaces last."""
    facts = Facts("DELETE", previous=(NS, CRD, CM, DEP, CR, SVC), has_inventory=True)
    assert steps.plan_run(facts) == [
        Delete("workloads", (CR, DEP)), WaitGone((CR, DEP)),
        Delete("dependencies", (SVC, CM)), WaitGone((SVC, CM)),
        Delete("definitions", (CRD, NS)), WaitGone((CRD, NS)),
        ForgetInventory(),
    ]


def _refs_of(path: pathlib.Path) -> list:
    refs = []
    for doc in yaml.safe_load_all(path.read_text()):
        if not doc:
            continue
        group, _, version = doc["apiVersion"].rpartition("/")
        refs.append(ObjectRef(group, doc["kind"], doc["metadata"].get("namespace", ""),
                              doc["metadata"]["name"], version))
    return refs


def test_delete_of_a_real_bundle_removes_custom_resources_before_their_crds():
    """Contour's Gateway bundle: GatewayClass/Gateway go (and are gone) before any CRD."""
    refs = _refs_of(CORPORA / "contour-gateway.yaml")
    plan = steps.plan_run(Facts("DELETE", previous=tuple(refs), has_inventory=True))
    position = {}
    for index, step in enumerate(plan):
        for ref in getattr(step, "refs", ()):
            if isinstance(step, Delete):
                position[ref.key] = index
    crds = {(r.name.split(".", 1)[1], r.name) for r in refs if r.kind == "CustomResourceDefinition"}
    custom = [r for r in refs if any(r.group == g for g, _ in crds)]
    assert {r.kind for r in custom} >= {"GatewayClass", "Gateway"}
    first_crd = min(position[r.key] for r in refs if r.kind == "CustomResourceDefinition")
    assert all(position[r.key] < first_crd for r in custom)
    assert isinstance(plan[position[custom[0].key] + 1], WaitGone)
    assert plan[-2].refs[-1].kind == "Namespace" and isinstance(plan[-1], ForgetInventory)


@pytest.mark.parametrize("facts", [
    Facts("CREATE", (Planned(NS), Planned(CRD), Planned(CR, deferred=True), Planned(DEP)),
          missing_namespaces=frozenset({"shop"}), outputs=("x",)),
    Facts("UPDATE", (Planned(DEP), Planned(SVC, unchanged=True)), previous=(OLD, SVC),
          has_inventory=True),
    Facts("UPDATE", (Planned(DEP),), previous=(OLD,), has_inventory=True, wait=False),
])
def test_safety_invariants(facts):
    """For any plan: dry-run before writes, inventory before objects, prune after apply."""
    plan = steps.plan_run(facts)
    names = kinds(plan)
    first_apply = names.index("ApplyStage")
    assert names.index("DryRun") < names.index("RecordInventory") < first_apply
    last_apply = len(names) - 1 - names[::-1].index("ApplyStage")
    if "Prune" in names:
        assert names.index("Prune") > last_apply
        assert plan[names.index("Prune") + 1].final
    assert plan[names.index("RecordInventory")].final is False


def test_describe_every_step_in_one_line():
    facts = Facts("CREATE", (Planned(NS), Planned(CRD), Planned(CR, deferred=True)),
                  missing_namespaces=frozenset({"shop"}))
    lines = [steps.describe(s) for s in steps.plan_run(facts)]
    assert lines[1] == ("DryRun: 2 object(s) (namespaces shop checked in the stand-in "
                        "namespace)")
    assert "ApplyStage workloads: Widget/shop/w1; bind 1 custom resource(s) first" in lines
    assert all("\n" not in line for line in lines)
    assert steps.as_dict(steps.plan_run(facts)[1])["stand_in_for"] == ["shop"]


def test_an_update_rendering_nothing_is_refused_unless_allowed():
    """The wipe-out guard lives in the planner: no plan, so no step, prunes everything."""
    from heat_k8s_hook.errors import InvalidInput
    facts = Facts("UPDATE", (), previous=(CM, DEP), has_inventory=True)
    with pytest.raises(InvalidInput, match="config renders no objects.*allow_empty"):
        steps.plan_run(facts)
    allowed = steps.plan_run(Facts("UPDATE", (), previous=(CM, DEP), has_inventory=True,
                                   allow_empty=True))
    assert only(allowed, Prune) == [Prune((DEP, CM))]
