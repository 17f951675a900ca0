"""Delete by absence, the pure plan (absence.py): what left this server, what is still here."""
from __future__ import annotations

from heat_k8s_hook.engine import absence


def payload(id_, action="CREATE", stack="shop/1", resource="web", name="shop-web_config-"
            "abcdefghijkl", group="kubectl", options=None):
    return {"id": id_, "name": name, "group": group, "config": "", "options": options,
            "inputs": [{"name": "deploy_action", "value": action},
                       {"name": "deploy_stack_id", "value": stack},
                       {"name": "deploy_resource_name", "value": resource},
                       {"name": "deploy_password", "value": "Pa55word"}]}


def marks(*specs):
    """(payload, order, code) -> Markers as absence_run reads them."""
    return [absence.marker(p, order, code) for p, order, code in specs]


def test_an_application_whose_deployments_all_left_is_deleted_with_its_newest_marker():
    ms = marks((payload("c1"), 1, 0), (payload("u2", "UPDATE"), 2, 0))
    plan = absence.plan([], ms, [])
    assert [m.id for m in plan.delete] == ["u2"]
    assert plan.settled == ("c1",)


def test_a_later_action_or_a_replacement_still_delivered_keeps_it():
    """The same application is still in the metadata (an UPDATE's new id, a replacement's
    CREATE, another member or stack naming the same `application`)."""
    ms = marks((payload("c1"), 1, 0), (payload("u2", "UPDATE"), 2, 0))
    plan = absence.plan([payload("u2", "UPDATE")], ms, [])
    assert plan.delete == () and plan.settled == ("c1",)   # u2's marker carries it now
    assert plan.kept == (("shop/1/shop-web_config", "still delivered to this server"),)
    not_run_yet = absence.plan([payload("u2", "UPDATE")], ms[:1], [])
    assert not_run_yet.delete == () and not_run_yet.settled == ()   # c1 still carries it
    named = {"application": "shop"}
    other_stack = absence.plan([payload("x", stack="other/2", options=named)],
                               marks((payload("c1", options=named), 1, 0)), [])
    assert other_stack.delete == ()


def test_a_replacement_that_leaves_before_the_resource_it_replaced_still_deletes():
    """A stack delete during a replacement: Heat deletes the new resource first, so its
    deployment (b2, the newer marker) leaves while the replaced one (a1) is still delivered.
    b2 is not settled then; when a1 leaves too, b2's DELETE runs (the Lease's owner: a1's
    would answer "replaced by a new resource" and keep the application for good).

    Seen in the e2e (test_lifecycle's fix after a failure, Heat's name race, then a stack
    delete): the application stayed; red here with every gone marker of a delivered
    application settled."""
    ms = marks((payload("a1"), 1, 7), (payload("b2", resource="web"), 2, 0))
    first = absence.plan([payload("a1")], ms, [])
    assert first.delete == () and first.settled == ()
    then = absence.plan([], ms, first.settled)
    assert [m.id for m in then.delete] == ["b2"] and then.settled == ("a1",)


def test_a_delete_that_ran_and_answered_0_is_settled_else_run_again():
    done = absence.plan([], marks((payload("c1"), 1, 0), (payload("d2", "DELETE"), 2, 0)), [])
    assert done.delete == () and done.settled == ("c1", "d2")
    failed = absence.plan([], marks((payload("c1"), 1, 0), (payload("d2", "DELETE"), 2, 7)), [])
    assert [m.id for m in failed.delete] == ["d2"]


def test_settled_markers_and_other_groups_are_never_looked_at_again():
    ms = marks((payload("c1"), 1, 0))
    assert absence.plan([], ms, ["c1"]) == absence.Plan()
    assert absence.marker(payload("s1", group="script"), 1) is None
    assert absence.marker({"id": "bad", "group": "kubectl", "inputs": "nope"}, 1) is None


def test_one_delete_per_application():
    ms = marks((payload("a1"), 1, 0), (payload("b1", resource="db", name="shop-db_config"), 1, 0))
    plan = absence.plan([], ms, [])
    assert sorted(m.id for m in plan.delete) == ["a1", "b1"]


def test_as_delete_keeps_everything_but_the_action():
    p = payload("u2", "UPDATE")
    d = absence.as_delete(p)
    assert {i["name"]: i["value"] for i in d["inputs"]}["deploy_action"] == "DELETE"
    assert d["config"] == p["config"] and d["id"] == "u2"
    assert {i["name"]: i["value"] for i in p["inputs"]}["deploy_action"] == "UPDATE"
    bare = absence.as_delete({"id": "x", "inputs": []})
    assert bare["inputs"] == [{"name": "deploy_action", "type": "String", "value": "DELETE"}]
