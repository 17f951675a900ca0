"""ha.py's survivors of the mutation run (docs/testing.md, "Mutation testing"): who a holder
is, when its claim lapses, what a recorded outcome keeps, and the Lease bodies' edges."""
from __future__ import annotations

import os
import socket
import time

import pytest

from heat_k8s_hook import ha

NOW = 1_800_000_000.0


def lease(holder="", spec=None, outcome=None, annotations=None, version="7"):
    spec = dict(spec or {})
    if holder:
        spec["holderIdentity"] = holder
    notes = dict(annotations or {})
    if outcome is not None:
        notes[ha.OUTCOME] = outcome.encode()
    return {"metadata": {"name": "heat-x", "annotations": notes, "resourceVersion": version},
            "spec": spec}


# -- who holds it --------------------------------------------------------------------------

def test_me_names_this_process_so_its_death_is_seen():
    me = ha.Holder.me("web-0")
    assert me.member == "web-0"
    here = socket.gethostname()
    assert ha.Holder.parse(str(me)) == me
    assert not ha.gone(str(me), here, lambda pid: pid == os.getpid())   # this process lives
    assert ha.gone(str(me), here, lambda pid: pid != os.getpid())       # once it is gone


def test_a_member_without_a_name_is_dash():
    assert ha.Holder.me("").member == "-"
    assert ha.Holder.me("1").member == "1"


# -- time as the Lease spells it ---------------------------------------------------------------

def test_a_time_without_fractional_seconds_is_read():
    whole = ha.micro_time(NOW).replace(".000000Z", "Z")
    assert whole == "2027-01-15T08:00:00Z"
    assert ha.parse_time(whole) == NOW
    held = lease("0@h:1", {"renewTime": whole, "leaseDurationSeconds": 15})
    assert ha.expires_at(held) == NOW + 15


def test_times_are_utc_whatever_the_local_zone(monkeypatch):
    if not hasattr(time, "tzset"):
        pytest.skip("no tzset")
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        assert ha.parse_time(ha.micro_time(NOW)) == NOW
        assert ha.parse_time(ha.micro_time(NOW).replace(".000000Z", "Z")) == NOW
    finally:
        monkeypatch.undo()
        time.tzset()


# -- when a claim lapses ------------------------------------------------------------------------

def test_a_lease_never_renewed_lapses_from_its_acquisition():
    held = lease("0@h:1", {"acquireTime": ha.micro_time(NOW), "leaseDurationSeconds": 20})
    assert ha.expires_at(held) == NOW + 20
    assert ha.decide(held, "g", "1", NOW + 19, False).move is ha.Move.FOLLOW
    assert ha.decide(held, "g", "1", NOW + 21, False).move is ha.Move.ACQUIRE


def test_the_leases_own_duration_counts_and_15_s_without_one():
    renewed = {"renewTime": ha.micro_time(NOW)}
    assert ha.expires_at(lease("0@h:1", dict(renewed, leaseDurationSeconds=40))) == NOW + 40
    assert ha.expires_at(lease("0@h:1", renewed)) == NOW + ha.DEFAULT_LEASE_SECONDS


def test_nobody_holds_a_lease_without_a_holder_or_a_time():
    assert ha.expires_at(None) == 0.0
    assert ha.expires_at(lease("", {"renewTime": ha.micro_time(NOW)})) == 0.0
    assert ha.expires_at(lease("0@h:1", {"leaseDurationSeconds": 15})) == 0.0


# -- the outcome -------------------------------------------------------------------------------

def test_a_failures_error_line_survives_the_record():
    failed = ha.Outcome("g", 6, error="ERROR [phase: wait] web: CrashLoopBackOff",
                        applier="0@h:1", deployment_id="id-0", stack="s/1", action="CREATE")
    assert ha.Outcome.decode(failed.encode()) == failed
    assert ha.outcome_of(lease(outcome=failed)).error == failed.error


def test_an_outcome_missing_its_optional_fields_decodes_them_empty():
    decoded = ha.Outcome.decode('{"generation": "g", "code": 0}')
    assert decoded == ha.Outcome("g", 0)
    assert (decoded.applier, decoded.deployment_id, decoded.member) == ("", "", "")


# -- where a DELETE leaves the application ----------------------------------------------------

def test_moved_from_needs_a_recorded_stack_and_this_runs_stack():
    applied = ha.Outcome("g", 0, applier="0@h:1", stack="group/2", action="UPDATE")
    assert ha.moved_from(lease(outcome=applied), "", "DELETE") == ""
    assert ha.moved_from(lease("0@h:1"), "plain/1", "DELETE") == ""     # no outcome recorded
    assert ha.moved_from(None, "plain/1", "DELETE") == ""


def test_an_application_deleted_from_another_stack_has_not_moved():
    deleted = ha.Outcome("g", 0, applier="0@h:1", stack="group/2", action="DELETE")
    assert ha.moved_from(lease(outcome=deleted), "plain/1", "DELETE") == ""


# -- status -------------------------------------------------------------------------------------

def test_describe_at_the_exact_expiry_says_free():
    held = lease("0@h:1", {"renewTime": ha.micro_time(NOW - 15), "leaseDurationSeconds": 15})
    assert ha.describe(held, NOW) == "lease: free (claim of 0@h:1 lapsed)"
    assert ha.describe(held, NOW - 1).startswith("lease: held by 0@h:1")


def test_describe_a_lease_nobody_claimed():
    assert ha.describe(lease(), NOW) == "lease: free"


# -- Lease bodies -------------------------------------------------------------------------------

def test_renew_keeps_the_metadata_and_its_resource_version():
    held = lease("0@h:1", {"renewTime": ha.micro_time(NOW), "leaseDurationSeconds": 15})
    renewed = ha.renew_body(held, NOW + 5)
    assert renewed["metadata"] == held["metadata"]
    assert ha.expires_at(renewed) == NOW + 20


def test_a_follower_answers_with_the_appliers_outcome_and_name():
    done = ha.Outcome("g", 6, error="ERROR x", applier="0@h:1", action="CREATE")
    decision = ha.decide(lease(outcome=done), "g", "1", NOW, True)
    assert decision == ha.Decision(ha.Move.ANSWER, "0@h:1", done)


def test_a_free_lease_has_no_holder_to_name():
    assert ha.holder_of(lease()) == ""
    assert ha.decide(lease(), "g", "1", NOW, False) == ha.Decision(ha.Move.ACQUIRE, "")


def test_a_late_member_checks_naming_the_applier():
    done = ha.Outcome("g", 0, applier="0@h:1", action="CREATE")
    assert ha.decide(lease(outcome=done), "g", "1", NOW, False) == \
        ha.Decision(ha.Move.CHECK, "0@h:1", done)


def test_a_claim_lapses_at_its_exact_expiry():
    held = lease("0@h:1", {"renewTime": ha.micro_time(NOW - 15), "leaseDurationSeconds": 15})
    assert ha.decide(held, "g", "1", NOW, False) == ha.Decision(ha.Move.ACQUIRE, "0@h:1")
    assert ha.decide(held, "g", "1", NOW - 1, False) == ha.Decision(ha.Move.FOLLOW, "0@h:1")


def test_dead_is_asked_about_the_holder_itself():
    held = lease("0@h:1", {"renewTime": ha.micro_time(NOW), "leaseDurationSeconds": 15})
    asked = []

    def dead(holder):
        asked.append(holder)
        return holder == "0@h:1"
    assert ha.decide(held, "g", "1", NOW, False, dead=dead).move is ha.Move.ACQUIRE
    assert asked == ["0@h:1"]


# -- the generation (computed in the test body: a parametrize value is computed at collection,
#    before mutmut switches a mutant on, so test_ha's parametrized cases never see one) ------

def delivery(inputs, action="CREATE"):
    from heat_k8s_hook.deployment import parse_deployment
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
