"""The pure rules of one applier per application (ha/policy.py): identity, generation, decisions."""
from __future__ import annotations

import pytest

from heat_k8s_hook.engine.steps import Facts, Planned
from heat_k8s_hook.ha import policy
from heat_k8s_hook.ha.coordinate import matches
from heat_k8s_hook.input.deployment import parse_deployment
from heat_k8s_hook.objects import ObjectRef

NOW = 1_800_000_000.0


def member(i: int, action="CREATE", replicas="2", options=None, name="s-web_config-x1"):
    """A member of a SoftwareDeploymentGroup as Heat derives it (software_deployment.py:
    same deploy_stack_id and name, its own id, deploy_resource_name and deploy_server_id)."""
    return parse_deployment({
        "id": f"id-{i}-{action}", "name": name, "group": "kubectl", "config": "kind: X",
        "options": options, "outputs": [],
        "inputs": [{"name": "replicas", "value": replicas},
                   {"name": "deploy_action", "value": action},
                   {"name": "deploy_stack_id", "value": "s-group-abc/1234"},
                   {"name": "deploy_resource_name", "value": str(i)},
                   {"name": "deploy_server_id", "value": f"server-{i}"},
                   {"name": "deploy_signal_id", "value": f"http://x/?sig={i}"}]})


def test_members_share_identity_and_generation():
    a, b = member(0), member(1)
    assert a.identity == b.identity == "s-group-abc/1234/s-web_config-x1"
    assert a.slug == b.slug and a.generation == b.generation
    assert a.legacy_identity != b.legacy_identity   # what each had before groups


@pytest.mark.parametrize("other", [
    member(0, action="UPDATE"), member(0, replicas="3"),
    member(0, options={"timeout": 30})])
def test_generation_changes_with_action_inputs_options(other):
    assert other.generation != member(0).generation
    assert other.identity == member(0).identity


def test_option_application_names_the_identity_in_any_stack():
    named = member(0, options={"application": "shop-web"})
    assert named.identity == "application/shop-web"
    plain = parse_deployment({"id": "p", "name": "other", "options": {"application": "shop-web"},
                              "inputs": [{"name": "deploy_stack_id", "value": "plain/9"},
                                         {"name": "deploy_resource_name", "value": "web"}]})
    assert plain.identity == named.identity


def lease(holder="", renewed=NOW, seconds=15, outcome=None):
    spec = {"leaseDurationSeconds": seconds, "renewTime": policy.micro_time(renewed)}
    if holder:
        spec["holderIdentity"] = holder
    annotations = {policy.ANSWER_ANNOTATION: outcome.encode()} if outcome else {}
    return {"metadata": {"annotations": annotations, "resourceVersion": "7"}, "spec": spec}


def outcome(code=0, member_="0", generation="g1"):
    return policy.Answer(generation, code, ((ObjectRef("", "ConfigMap", "n", "c", "v1").to_dict(),
                                          "created"),), {"ip": "10.0.0.1"}, "",
                      f"{member_}@ctl-{member_}:42", "id")


@pytest.mark.parametrize("seen,following,checked,move", [
    (None, False, False, policy.Move.ACQUIRE),                                  # first
    (lease("0@h:1"), False, False, policy.Move.FOLLOW),                         # held
    (lease("0@h:1", renewed=NOW - 16), False, False, policy.Move.ACQUIRE),      # lapsed: take over
    (lease("0@h:1", renewed=NOW - 16), True, False, policy.Move.ACQUIRE),       # holder died
    (lease(outcome=outcome()), True, False, policy.Move.ANSWER),                # followed: answer
    (lease(outcome=outcome(code=6)), True, False, policy.Move.ANSWER),          # same failure
    (lease(outcome=outcome()), False, False, policy.Move.CHECK),                # late: check first
    (lease(outcome=outcome()), False, True, policy.Move.ACQUIRE),               # check failed
    (lease(outcome=outcome(code=6)), False, False, policy.Move.ACQUIRE),        # late after failure
    (lease(outcome=outcome(generation="g0")), True, False, policy.Move.ACQUIRE),  # older outcome
    (lease("2@h:3", outcome=outcome(generation="g0")), True, False, policy.Move.FOLLOW),
])
def test_decide(seen, following, checked, move):
    assert policy.decide(seen, "g1", "1", NOW, following, checked).move is move


def test_own_outcome_is_a_redelivery_not_an_answer():
    # this member's own success: check (a match runs with nothing to write), never ANSWER
    assert policy.decide(lease(outcome=outcome(member_="1")), "g1", "1", NOW, True).move \
        is policy.Move.CHECK


def test_holder_identity_names_host_and_pid():
    holder = policy.Holder("controller-0", "ctl0.example", 4242)
    assert str(holder) == "controller-0@ctl0.example:4242"
    assert policy.Holder.parse(str(holder)) == holder
    assert policy.Holder.parse("garbage") is None


def test_outcome_round_trip_and_release_frees_the_lease():
    out = outcome(code=6)
    assert policy.Answer.decode(out.encode()) == out
    held = policy.acquire_body(None, "heat-x", "heat-k8s-hook", "s/1/app", policy.Holder("0", "h", 1),
                           "g1", 15, NOW)
    assert held["spec"]["holderIdentity"] == "0@h:1" and held["spec"]["leaseTransitions"] == 0
    freed = policy.release_body(dict(held, metadata=dict(held["metadata"], resourceVersion="9")), out)
    assert "holderIdentity" not in freed["spec"] and policy.answer_of(freed) == out
    assert freed["metadata"]["resourceVersion"] == "9"      # optimistic concurrency
    again = policy.acquire_body(freed, "heat-x", "heat-k8s-hook", "s/1/app", policy.Holder("1", "h", 2),
                            "g2", 15, NOW)
    assert again["spec"]["leaseTransitions"] == 1 and policy.answer_of(again) == out


def test_delete_from_a_stack_the_application_moved_from_is_left_alone():
    moved = policy.Answer("g", 0, applier="0@h:1", stack="group/2", action="UPDATE")
    assert policy.moved_from(lease(outcome=moved), "plain/1", "DELETE") == "group/2"
    assert policy.moved_from(lease(outcome=moved), "group/2", "DELETE") == ""
    assert policy.moved_from(lease(outcome=moved), "plain/1", "UPDATE") == ""


def ref(name):
    return ObjectRef("", "ConfigMap", "n", name, "v1")


@pytest.mark.parametrize("facts,ok", [
    (Facts("CREATE", (Planned(ref("a"), True),), (ref("a"),), True), True),
    (Facts("CREATE", (Planned(ref("a"), False),), (ref("a"),), True), False),   # drifted
    (Facts("CREATE", (Planned(ref("a"), True),), (), False), False),            # no inventory
    (Facts("CREATE", (Planned(ref("a"), True),), (ref("a"), ref("b")), True), False),
    (Facts("DELETE", (), (), False), True),
    (Facts("DELETE", (), (ref("a"),), True), False),
])
def test_late_member_check(facts, ok):
    assert matches(facts) is ok


def test_describe_for_status():
    assert policy.describe(None, NOW) == ""
    held = lease("0@h:1")
    held["metadata"]["annotations"][policy.GENERATION] = "g1"
    assert policy.describe(held, NOW) == "lease: held by 0@h:1 (applying generation g1)"
    done = lease(outcome=policy.Answer("g1", 0, applier="0@h:1", action="CREATE"))
    assert policy.describe(done, NOW) == "lease: free; generation g1 (CREATE) applied by 0@h:1, code 0"
    assert policy.describe(lease("0@h:1", renewed=NOW - 60), NOW) == \
        "lease: free (claim of 0@h:1 lapsed)"


# -- the members that answered: a group shrinks, a stack delete deletes (issue 15) ------------

def freed(members=(), member_="0", action="CREATE"):
    """A released Lease recording `members`, as the applier `member_` left it."""
    held = policy.acquire_body(None, "heat-x", "heat-k8s-hook", "s/1/app",
                           policy.Holder(member_, "h", 1), "g1", 15, NOW)
    for name in members:
        held = policy.with_member(held, name, True) or held
    return policy.release_body(held, policy.Answer("g1", 0, applier=f"{member_}@h:1", action=action))


def test_the_applier_is_recorded_on_release_and_its_delete_takes_it_off():
    assert policy.group_members(freed()) == ("0",)
    assert policy.group_members(freed(["1", "2"])) == ("0", "1", "2")
    assert policy.group_members(freed(["0", "1"], action="DELETE")) == ("1",)
    assert policy.group_members(freed(["0"], action="DELETE")) == ()


def test_with_member_keeps_the_resource_version_and_writes_only_a_change():
    lease_ = dict(freed(), metadata=dict(freed()["metadata"], resourceVersion="9"))
    joined = policy.with_member(lease_, "1", True)
    assert policy.group_members(joined) == ("0", "1") and joined["metadata"]["resourceVersion"] == "9"
    assert policy.answer_of(joined) == policy.answer_of(lease_)          # nothing else touched
    assert policy.with_member(joined, "1", True) is None                # recorded: no write
    assert policy.with_member(lease_, "7", False) is None               # never recorded: no write
    assert policy.group_members(policy.with_member(joined, "0", False)) == ("1",)


@pytest.mark.parametrize("recorded,me,rest", [
    ((), "0", ()),                     # a plain deployment from before members were recorded
    (("0",), "0", ()),                 # a plain deployment: one member, its DELETE deletes
    (("0", "1", "2"), "2", ("0", "1")),   # a group shrinks: 2 leaves, 0 and 1 remain
    (("0", "1"), "5", ("0", "1")),     # a member that never answered deletes nothing either
])
def test_others_decide_whether_a_delete_leaves_or_deletes(recorded, me, rest):
    assert policy.others(freed(recorded[1:], recorded[0]) if recorded else None, me) == rest


def test_a_lease_from_before_members_were_recorded_knows_its_applier():
    legacy = lease(outcome=policy.Answer("g1", 0, applier="0@h:1", action="UPDATE"))
    assert policy.others(legacy, "2") == ("0",)        # an old group shrinks: 2 leaves it to 0
    assert policy.others(legacy, "0") == ()            # a plain deployment: deletes as before
    gone = lease(outcome=policy.Answer("g1", 0, applier="0@h:1", action="DELETE"))
    assert policy.others(gone, "2") == ()


def test_the_record_is_bounded():
    long = "c" * 300
    assert policy.member_key(long) != policy.member_key(long[:-1] + "d")       # no collision by a cut
    assert len(policy.member_key(long)) == policy.MAX_MEMBER_CHARS
    assert policy.others(policy.with_member(freed(), long, True), long) == ("0",)
    full = freed([str(i) for i in range(1, policy.MAX_MEMBERS)])
    assert len(policy.group_members(full)) == policy.MAX_MEMBERS
    assert policy.record_full(full, "new") and not policy.record_full(full, "7")
    assert policy.with_member(full, "new", True) is None
    broken = dict(full, metadata=dict(full["metadata"], annotations={policy.MEMBERS: "{bad"}))
    assert policy.group_members(broken) == ()


def test_status_names_the_members():
    assert policy.describe(freed(["1"]), NOW) == \
        "lease: free; generation g1 (CREATE) applied by 0@h:1, code 0; members 0, 1"


def delete_all_at_once(recorded: tuple, deleting: tuple) -> list:
    """Every interleaving of concurrent DELETEs under optimistic concurrency, by the rules
    coordinate.run follows: read the Lease; a live holder or a recorded DELETE: follow it;
    other members recorded: take itself off (a write on the version read) and keep the
    objects; none: claim the Lease (a write on the version read) and delete. A write on a
    stale version is a 409: read again. Returns what each member did, per interleaving."""
    start = (0, freed(recorded[1:], recorded[0]) if recorded else None, "")
    ends: list = []

    def explore(store, members):   # members: name -> ("read" | "write", snapshot) or result
        pending = [m for m, s in members.items() if isinstance(s, tuple)]
        if not pending:
            ends.append(dict(members))
            return
        for name in pending:
            step, seen = members[name]
            version, lease_, deleter = store
            nxt, out = dict(members), store
            if step == "read":
                nxt[name] = ("write", store)
            elif deleter:
                nxt[name] = "followed"
            elif seen[0] != version:
                nxt[name] = ("read", None)        # 409: read again
            elif policy.others(seen[1], name):
                body = policy.with_member(seen[1], name, False)
                out = (version + (body is not None), body or lease_, "")
                nxt[name] = "left"
            else:
                out, nxt[name] = (version + 1, lease_, name), "deleted"
            explore(out, nxt)
    explore(start, {m: ("read", None) for m in deleting})
    return ends


@pytest.mark.parametrize("recorded,deleting,deleters", [
    (("0", "1", "2"), ("0", "1", "2"), 1),     # stack delete: exactly one deletes
    (("0", "1", "2"), ("2",), 0),              # shrink by one: nothing deleted
    (("0", "1", "2"), ("1", "2"), 0),          # shrink by two at once: 0 remains
    (("0", "1"), ("0", "1", "5"), 1),          # 5 never answered: it counts for nothing
    (("0",), ("0",), 1),                       # a plain deployment: deletes as before
    ((), ("0",), 1),                           # recorded before members were
])
def test_concurrent_deletes_delete_exactly_once_and_only_at_the_last_member(
        recorded, deleting, deleters):
    """Broken on purpose once (others() returning () always): the shrink rows deleted."""
    ends = delete_all_at_once(recorded, deleting)
    assert ends
    for end in ends:
        assert list(end.values()).count("deleted") == deleters, end


# -- a killed hook worker's Lease (issue 15.4: the supervising parent runs a new worker) ------

def test_holder_gone_only_on_this_host_with_its_pid_gone():
    alive = {1: True, 2: False}.__getitem__
    assert policy.gone("0@ctl0:2", "ctl0", alive)                 # this host, pid gone
    assert not policy.gone("0@ctl0:1", "ctl0", alive)             # this host, alive
    assert not policy.gone("0@ctl1:2", "ctl0", alive)             # another host: its duration
    assert not policy.gone("garbage", "ctl0", alive)


@pytest.mark.parametrize("holder,dead,move", [
    ("0@h:1", True, policy.Move.ACQUIRE),       # its worker was killed: taken over at once
    ("0@h:1", False, policy.Move.FOLLOW),       # alive (or elsewhere): followed until it lapses
])
def test_decide_takes_over_a_dead_holder_at_once(holder, dead, move):
    """Broken on purpose once (decide ignoring `dead`): the first row went red (FOLLOW)."""
    seen = lease(holder, renewed=NOW - 1)   # renewed a second ago: far from lapsing
    assert policy.decide(seen, "g1", "0", NOW, True, dead=lambda h: dead).move is move
    assert policy.decide(seen, "g1", "1", NOW, False, dead=lambda h: dead).move is move


# -- ownership: a replaced deployment resource's DELETE (issue 23) -----------------------------

def test_the_replacement_owns_the_application_and_the_old_delete_is_superseded():
    lease_ = policy.with_member(freed(member_="web"), "web", True, "owner-a")
    assert lease_ is not None and policy.owner_of(lease_, "web") == "owner-a"
    assert policy.superseded(lease_, "web", "owner-a", "DELETE") == ""        # the owner deletes
    replaced = policy.with_member(lease_, "web", True, "owner-b")              # already a member
    assert replaced is not None, "a new owner of a recorded member must be written"
    assert policy.group_members(replaced) == ("web",)
    assert policy.superseded(replaced, "web", "owner-a", "DELETE") == "owner-b"
    assert policy.superseded(replaced, "web", "owner-b", "DELETE") == ""
    assert policy.superseded(replaced, "web", "owner-a", "UPDATE") == ""      # only a DELETE
    assert policy.with_member(replaced, "web", True, "owner-b") is None        # no change, no write
    gone = policy.with_member(replaced, "web", False)
    assert policy.owner_of(gone, "web") == "" and policy.group_members(gone) == ()


@pytest.mark.parametrize("recorded, owner", [("", "owner-a"), ("owner-a", ""), ("", "")])
def test_nothing_known_is_never_superseded(recorded, owner):
    """A Lease from before owners were recorded, or a delivery without any per-resource
    input, deletes as before."""
    lease_ = policy.with_member(freed(), "web", True, recorded) if recorded else \
        policy.with_member(freed(), "web", True)
    assert policy.superseded(lease_, "web", owner, "DELETE") == ""


def test_owners_are_per_member():
    lease_ = policy.with_member(policy.with_member(freed(), "0", True, "a0"), "1", True, "a1")
    assert policy.superseded(lease_, "0", "a1", "DELETE") == "a0"
    assert policy.superseded(lease_, "1", "a1", "DELETE") == ""
    assert policy.owner_of(policy.with_member(lease_, "0", False), "1") == "a1"
