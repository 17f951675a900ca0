"""ha/policy.py's survivors of the mutation run (docs/testing.md, "Mutation testing"): who a holder
is, when its claim lapses, what a recorded outcome keeps, and the Lease bodies' edges."""
from __future__ import annotations

import json
import os
import socket
import time

from heat_k8s_hook.config import settings
from heat_k8s_hook.ha import policy
from heat_k8s_hook.input import owner

NOW = 1_800_000_000.0


def lease(holder="", spec=None, outcome=None, annotations=None, version="7"):
    spec = dict(spec or {})
    if holder:
        spec["holderIdentity"] = holder
    notes = dict(annotations or {})
    if outcome is not None:
        notes[policy.ANSWER_ANNOTATION] = outcome.encode()
    return {"metadata": {"name": "heat-x", "annotations": notes, "resourceVersion": version},
            "spec": spec}


# -- who holds it --------------------------------------------------------------------------

def test_me_names_this_process_so_its_death_is_seen():
    me = policy.Holder.me("web-0")
    assert me.member == "web-0"
    here = socket.gethostname()
    assert policy.Holder.parse(str(me)) == me
    assert not policy.gone(str(me), here, lambda pid: pid == os.getpid())   # this process lives
    assert policy.gone(str(me), here, lambda pid: pid != os.getpid())       # once it is gone


def test_a_member_without_a_name_is_dash():
    assert policy.Holder.me("").member == "-"
    assert policy.Holder.me("1").member == "1"


# -- time as the Lease spells it ---------------------------------------------------------------

def test_a_time_without_fractional_seconds_is_read():
    whole = policy.micro_time(NOW).replace(".000000Z", "Z")
    assert whole == "2027-01-15T08:00:00Z"
    assert policy.parse_time(whole) == NOW
    held = lease("0@h:1", {"renewTime": whole, "leaseDurationSeconds": 15})
    assert policy.expires_at(held) == NOW + 15


def test_times_are_utc_whatever_the_local_zone(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert policy.parse_time(policy.micro_time(NOW)) == NOW
        assert policy.parse_time(policy.micro_time(NOW).replace(".000000Z", "Z")) == NOW
    finally:
        monkeypatch.undo()
        time.tzset()


# -- when a claim lapses ------------------------------------------------------------------------

def test_a_lease_never_renewed_lapses_from_its_acquisition():
    held = lease("0@h:1", {"acquireTime": policy.micro_time(NOW), "leaseDurationSeconds": 20})
    assert policy.expires_at(held) == NOW + 20
    assert policy.decide(held, "g", "1", NOW + 19, False).move is policy.Move.FOLLOW
    assert policy.decide(held, "g", "1", NOW + 21, False).move is policy.Move.ACQUIRE


def test_the_leases_own_duration_counts_and_15_s_without_one():
    renewed = {"renewTime": policy.micro_time(NOW)}
    assert policy.expires_at(lease("0@h:1", dict(renewed, leaseDurationSeconds=40))) == NOW + 40
    assert policy.expires_at(lease("0@h:1", renewed)) == NOW + settings.DEFAULT_LEASE_SECONDS


def test_nobody_holds_a_lease_without_a_holder_or_a_time():
    assert policy.expires_at(None) == 0.0
    assert policy.expires_at(lease("", {"renewTime": policy.micro_time(NOW)})) == 0.0
    assert policy.expires_at(lease("0@h:1", {"leaseDurationSeconds": 15})) == 0.0


# -- the outcome -------------------------------------------------------------------------------

def test_a_failures_error_line_survives_the_record():
    failed = policy.Answer("g", 6, error="ERROR [phase: wait] web: CrashLoopBackOff",
                        applier="0@h:1", deployment_id="id-0", stack="s/1", action="CREATE")
    assert policy.Answer.decode(failed.encode()) == failed
    assert policy.answer_of(lease(outcome=failed)).error == failed.error


def test_an_outcome_missing_its_optional_fields_decodes_them_empty():
    decoded = policy.Answer.decode('{"generation": "g", "code": 0}')
    assert decoded == policy.Answer("g", 0)
    assert (decoded.applier, decoded.deployment_id, decoded.member) == ("", "", "")


# -- where a DELETE leaves the application ----------------------------------------------------

def test_moved_from_needs_a_recorded_stack_and_this_runs_stack():
    applied = policy.Answer("g", 0, applier="0@h:1", stack="group/2", action="UPDATE")
    assert policy.moved_from(lease(outcome=applied), "", "DELETE") == ""
    assert policy.moved_from(lease("0@h:1"), "plain/1", "DELETE") == ""     # no outcome recorded
    assert policy.moved_from(None, "plain/1", "DELETE") == ""


def test_an_application_deleted_from_another_stack_has_not_moved():
    deleted = policy.Answer("g", 0, applier="0@h:1", stack="group/2", action="DELETE")
    assert policy.moved_from(lease(outcome=deleted), "plain/1", "DELETE") == ""


# -- status -------------------------------------------------------------------------------------

def test_describe_at_the_exact_expiry_says_free():
    held = lease("0@h:1", {"renewTime": policy.micro_time(NOW - 15), "leaseDurationSeconds": 15})
    assert policy.describe(held, NOW) == "lease: free (claim of 0@h:1 lapsed)"
    assert policy.describe(held, NOW - 1).startswith("lease: held by 0@h:1")


def test_describe_a_lease_nobody_claimed():
    assert policy.describe(lease(), NOW) == "lease: free"


# -- Lease bodies -------------------------------------------------------------------------------

def test_renew_keeps_the_metadata_and_its_resource_version():
    held = lease("0@h:1", {"renewTime": policy.micro_time(NOW), "leaseDurationSeconds": 15})
    renewed = policy.renew_body(held, NOW + 5)
    assert renewed["metadata"] == held["metadata"]
    assert policy.expires_at(renewed) == NOW + 20


def test_a_follower_answers_with_the_appliers_outcome_and_name():
    done = policy.Answer("g", 6, error="ERROR x", applier="0@h:1", action="CREATE")
    decision = policy.decide(lease(outcome=done), "g", "1", NOW, True)
    assert decision == policy.Decision(policy.Move.ANSWER, "0@h:1", done)


def test_a_free_lease_has_no_holder_to_name():
    assert policy.holder_of(lease()) == ""
    assert policy.decide(lease(), "g", "1", NOW, False) == policy.Decision(policy.Move.ACQUIRE, "")


def test_a_late_member_checks_naming_the_applier():
    done = policy.Answer("g", 0, applier="0@h:1", action="CREATE")
    assert policy.decide(lease(outcome=done), "g", "1", NOW, False) == \
        policy.Decision(policy.Move.CHECK, "0@h:1", done)


def test_a_claim_lapses_at_its_exact_expiry():
    held = lease("0@h:1", {"renewTime": policy.micro_time(NOW - 15), "leaseDurationSeconds": 15})
    assert policy.decide(held, "g", "1", NOW, False) == policy.Decision(policy.Move.ACQUIRE, "0@h:1")
    assert policy.decide(held, "g", "1", NOW - 1, False) == policy.Decision(policy.Move.FOLLOW, "0@h:1")


def test_dead_is_asked_about_the_holder_itself():
    held = lease("0@h:1", {"renewTime": policy.micro_time(NOW), "leaseDurationSeconds": 15})
    asked = []

    def dead(holder):
        asked.append(holder)
        return holder == "0@h:1"
    assert policy.decide(held, "g", "1", NOW, False, dead=dead).move is policy.Move.ACQUIRE
    assert asked == ["0@h:1"]


# -- the generation (computed in the test body: a parametrize value is computed at collection,
#    before mutmut switches a mutant on, so test_ha's parametrized cases never see one) ------

def delivery(inputs, action="CREATE"):
    from heat_k8s_hook.input.deployment import parse_deployment
    return parse_deployment({"id": "x", "name": "web", "config": "kind: X", "options": {},
                             "inputs": [{"name": "deploy_action", "value": action}] + inputs})


def test_the_generation_follows_each_user_inputs_name_and_value():
    base = delivery([{"name": "replicas", "value": "2"}, {"name": "image", "value": "a"}])
    assert delivery([{"name": "image", "value": "a"}, {"name": "replicas", "value": "2"}]
                    ).generation == base.generation             # the order of inputs is not
    assert delivery([{"name": "replicas", "value": "3"}, {"name": "image", "value": "a"}]
                    ).generation != base.generation             # a value is
    assert delivery([{"name": "replica", "value": "2"}, {"name": "image", "value": "a"}]
                    ).generation != base.generation             # a name is
    assert delivery([{"name": "replicas", "value": "2"}, {"name": "image", "value": "a"},
                     {"name": "deploy_server_id", "value": "srv-9"}]
                    ).generation == base.generation             # a per-member input is not


def test_a_repeated_input_name_keeps_its_order_in_the_generation():
    first = delivery([{"name": "a", "value": "2"}, {"name": "a", "value": "1"}])
    second = delivery([{"name": "a", "value": "1"}, {"name": "a", "value": "2"}])
    assert first.inputs["a"] != second.inputs["a"]              # the last one wins
    assert first.generation != second.generation


def test_the_generation_ignores_the_order_of_keys_in_options_and_config():
    one = owner.generation({"kind": "X", "data": {"a": 1}}, {"timeout": 10, "wait": True}, [], "CREATE")
    two = owner.generation({"data": {"a": 1}, "kind": "X"}, {"wait": True, "timeout": 10}, [], "CREATE")
    assert one == two
    assert one != owner.generation({"kind": "X", "data": {"a": 1}}, {"timeout": 10, "wait": False},
                                [], "CREATE")


# -- Lease bodies: claim, release, members ---------------------------------------------------

def test_each_claim_counts_one_more_transition():
    seen = lease("", {"leaseTransitions": 4, "renewTime": policy.micro_time(NOW - 60)})
    claimed = policy.acquire_body(seen, "heat-x", "ns", "s/1/app", policy.Holder("1", "h", 2), "g", 15,
                              NOW)
    assert claimed["spec"]["leaseTransitions"] == 5
    again = policy.acquire_body(claimed, "heat-x", "ns", "s/1/app", policy.Holder("2", "h", 3), "g", 15,
                            NOW)
    assert again["spec"]["leaseTransitions"] == 6


def test_a_claim_names_the_lease_its_generation_and_identity():
    claimed = policy.acquire_body(None, "heat-x", "records", "s/1/app", policy.Holder("1", "h", 2), "g7",
                              15, NOW)
    assert claimed["metadata"] == {"name": "heat-x", "namespace": "records", "annotations": {
        policy.GENERATION: "g7", policy.IDENTITY: "s/1/app"}}
    assert policy.describe(claimed, NOW) == "lease: held by 1@h:2 (applying generation g7)"
    done = policy.Answer("g6", 0, applier="0@h:1", action="CREATE")
    reclaimed = policy.acquire_body(lease(outcome=done), "heat-x", "records", "s/1/app",
                                policy.Holder("1", "h", 2), "g7", 15, NOW)
    assert reclaimed["metadata"]["annotations"] == {policy.ANSWER_ANNOTATION: done.encode(),
                                                    policy.GENERATION: "g7",
                                                    policy.IDENTITY: "s/1/app"}
    assert policy.describe(reclaimed, NOW) == "lease: held by 1@h:2 (applying generation g7)"


def test_a_claim_is_a_lease_the_api_server_accepts():
    """The body as coordination.k8s.io/v1 defines it (the in-memory server does not check)."""
    claimed = policy.acquire_body(None, "heat-x", "records", "s/1/app", policy.Holder("1", "h", 2), "g7",
                              20, NOW)
    assert (claimed["apiVersion"], claimed["kind"]) == ("coordination.k8s.io/v1", "Lease")
    spec = claimed["spec"]
    assert set(spec) == {"holderIdentity", "leaseDurationSeconds", "acquireTime", "renewTime",
                         "leaseTransitions"}
    assert spec["holderIdentity"] == "1@h:2" and spec["leaseDurationSeconds"] == 20
    assert policy.parse_time(spec["acquireTime"]) == policy.parse_time(spec["renewTime"]) == NOW
    assert policy.expires_at(claimed) == NOW + 20


def test_the_record_keeps_at_most_max_record_lines_changes():
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "n", "name": "c"}

    def kept(n):
        out = policy.Answer("g", 0, tuple((dict(ref, name=f"c{i}"), "created") for i in range(n)))
        return policy.Answer.decode(out.encode()).changes
    assert len(kept(policy.MAX_RECORD_LINES)) == policy.MAX_RECORD_LINES
    cut = kept(policy.MAX_RECORD_LINES + 1)
    assert len(cut) == policy.MAX_RECORD_LINES and cut[-1][0]["name"] == f"c{policy.MAX_RECORD_LINES - 1}"


def test_release_frees_the_claim_and_keeps_the_rest():
    held = policy.acquire_body(None, "heat-x", "records", "s/1/app", policy.Holder("0", "h", 1), "g", 15,
                           NOW)
    held["metadata"]["resourceVersion"] = "9"
    done = policy.Answer("g", 0, applier="0@h:1", action="CREATE")
    freed = policy.release_body(held, done)
    assert freed["spec"] == {k: v for k, v in held["spec"].items() if k != "holderIdentity"}
    assert (freed["apiVersion"], freed["kind"]) == ("coordination.k8s.io/v1", "Lease")
    assert freed["metadata"]["resourceVersion"] == "9"
    assert freed["metadata"]["annotations"][policy.GENERATION] == "g"
    assert policy.answer_of(freed) == done and policy.group_members(freed) == ("0",)
    assert policy.describe(freed, NOW) == "lease: free; generation g (CREATE) applied by 0@h:1, code 0"
    gone = policy.release_body(held, policy.Answer("g", 0, applier="0@h:1", action="DELETE"))
    assert policy.group_members(gone) == () and policy.answer_of(gone).action == "DELETE"


def test_a_member_name_is_kept_whole_up_to_the_limit_then_cut_with_a_hash():
    exact = "m" * policy.MAX_MEMBER_CHARS
    assert policy.member_key(exact) == exact
    longer = exact + "x"
    key = policy.member_key(longer)
    assert len(key) == policy.MAX_MEMBER_CHARS and key != policy.member_key(exact + "y")
    head, tilde, digest = key.rpartition("~")
    assert tilde and longer.startswith(head) and len(digest) == 16
    assert all(c in "0123456789abcdef" for c in digest)
    assert policy.member_key("é" * 200) != policy.member_key("è" * 200)


def with_members_annotation(text):
    return lease(annotations={policy.MEMBERS: text})


def test_members_are_sorted_unique_non_empty_names():
    assert policy.group_members(with_members_annotation('["b", "a", "b", "", 7, null]')) == ("a", "b")
    assert policy.group_members(with_members_annotation('{"a": 1}')) == ()
    assert policy.group_members(with_members_annotation("")) == ()
    assert policy.group_members(None) == ()


def test_a_legacy_lease_knows_its_applier_unless_it_deleted():
    applied = policy.Answer("g", 0, applier="0@h:1", action="UPDATE")
    assert policy.group_members(lease(outcome=applied)) == ("0",)
    assert policy.group_members(lease(outcome=policy.Answer("g", 0, applier="0@h:1", action="DELETE"))) == ()
    assert policy.group_members(lease(outcome=policy.Answer("g", 0, applier="junk", action="UPDATE"))) == ()
    long = "w" * (policy.MAX_MEMBER_CHARS + 5)
    legacy = lease(outcome=policy.Answer("g", 0, applier=f"{long}@h:1", action="UPDATE"))
    assert policy.group_members(legacy) == (policy.member_key(long),)
    assert policy.others(legacy, long) == ()


def test_owners_are_read_only_from_a_map_of_strings():
    def owners(text):
        return policy.owner_of(lease(annotations={policy.MEMBERS: '["0"]', policy.OWNERS: text}), "0")
    assert owners('{"0": "a0"}') == "a0"
    assert owners('{"0": 7}') == ""
    assert owners('["0"]') == ""
    assert owners("{bad") == ""
    assert owners("") == ""


def test_with_member_adds_and_removes_with_its_owner():
    base = lease(annotations={policy.MEMBERS: '["0"]', policy.OWNERS: '{"0": "a0"}'})
    added = policy.with_member(base, "1", True, "a1")
    assert policy.group_members(added) == ("0", "1")
    assert policy.owner_of(added, "1") == "a1" and policy.owner_of(added, "0") == "a0"
    assert added["metadata"]["resourceVersion"] == "7"
    assert {k: v for k, v in added.items() if k != "metadata"} == \
        {k: v for k, v in base.items() if k != "metadata"}          # the claim itself kept
    removed = policy.with_member(added, "0", False)
    assert policy.group_members(removed) == ("1",) and policy.owner_of(removed, "0") == ""
    assert policy.with_member(removed, "1", True, "a1") is None      # nothing changes: no write
    plain = lease(annotations={policy.MEMBERS: '["0"]'})
    joined = policy.with_member(plain, "1", True)                    # no owner: none recorded
    assert policy.OWNERS not in joined["metadata"]["annotations"]
    assert policy.group_members(joined) == ("0", "1")
    owned_off = policy.with_member(base, "0", False)                 # the last owner leaves
    assert owned_off["metadata"]["annotations"][policy.OWNERS] == "{}"
    assert policy.group_members(owned_off) == ()


def test_a_full_record_takes_no_new_owner_or_member():
    names = [str(i) for i in range(policy.MAX_MEMBERS)]
    full = lease(annotations={policy.MEMBERS: json.dumps(names)})
    assert policy.with_member(full, "new", True, "o") is None
    assert policy.owner_of(policy.with_member(full, "0", True, "o0"), "0") == "o0"   # a recorded one may
    one_short = lease(annotations={policy.MEMBERS: json.dumps(names[1:])})
    assert policy.group_members(policy.with_member(one_short, "new", True, "o")) == tuple(
        sorted(names[1:] + ["new"]))


def test_a_holder_is_parsed_from_its_last_at_and_colon():
    assert policy.Holder.parse("a@b@host:1:2") == policy.Holder("a@b", "host:1", 2)
    assert policy.Holder.parse("@h:1") == policy.Holder("", "h", 1)
    for junk in ("", None, "m@h", "m:1", "m@h:", "m@h:x1"):
        assert policy.Holder.parse(junk) is None, junk


def test_micro_time_has_microseconds_in_utc():
    assert policy.parse_time(policy.micro_time(NOW + 0.25)) == NOW + 0.25
    stamp = policy.micro_time(NOW + 0.000123)
    assert stamp.endswith("Z") and stamp[-8:-1] == ".000123"
