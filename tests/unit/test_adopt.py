"""adopt.by_label with plain data: which ApplySet label a wait until gone must watch each
pruned or deleted member by (engine/adopt.py)."""
from __future__ import annotations

from types import SimpleNamespace

from heat_k8s_hook.engine import adopt, plan


def target(name: str, part_of: str | None):
    labels = {plan.PART_OF: part_of} if part_of is not None else {}
    return SimpleNamespace(name=name, obj={"metadata": {"name": name, "labels": labels}})


def names(groups) -> list:
    return [(set_id, [t.name for t in group]) for set_id, group in groups]


def test_without_an_adoption_every_target_is_watched_by_the_runs_own_label():
    ctx = SimpleNamespace(adopted_id="")
    targets = [target("a", "set-own"), target("b", ""), target("c", None)]
    assert names(adopt.by_label(ctx, targets)) == [("", ["a", "b", "c"])]
    assert names(adopt.by_label(ctx, [])) == [("", [])]


def test_after_an_adoption_members_still_labelled_for_it_are_watched_apart():
    ctx = SimpleNamespace(adopted_id="set-old")
    targets = [target("a", "set-own"), target("b", "set-old"), target("c", None),
               target("d", "set-old")]
    assert names(adopt.by_label(ctx, targets)) == [("", ["a", "c"]), ("set-old", ["b", "d"])]


def test_after_an_adoption_with_none_of_its_members_left_there_is_one_group():
    ctx = SimpleNamespace(adopted_id="set-old")
    assert names(adopt.by_label(ctx, [target("a", "set-own")])) == [("", ["a"])]
    gone = SimpleNamespace(name="g", obj=None)   # a member already gone when read
    assert names(adopt.by_label(ctx, [gone])) == [("", ["g"])]
