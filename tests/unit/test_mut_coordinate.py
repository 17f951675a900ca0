"""coordinate.py's survivors of the mutation run (docs/testing.md, "Mutation testing"): the
members of a group through `pipeline.execute` against the in-memory API server, sharing one
Lease: the late member's check, a follower answering the applier's failure, DELETEs that leave
the application to others."""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time

from fakeapi import FakeApiServer
from wiring import deployment, through_hook, through_pipeline

from heat_k8s_hook.engine.inventory import NAMESPACE
from heat_k8s_hook.ha import coordinate, policy
from heat_k8s_hook.input.deployment import load_deployment
from heat_k8s_hook.kube.cluster import ApiError
from heat_k8s_hook.names import parent_name

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, namespace: default}\ndata: {a: '1'}\n"
CM_PATH = "/api/v1/namespaces/default/configmaps/web"
LEASES = f"/apis/coordination.k8s.io/v1/namespaces/{NAMESPACE}/leases"


def member(i, action="CREATE", options=None, server=None, stack="s/1") -> dict:
    """Member `i` of a group: option `application` names what they share."""
    dep = deployment(CM, dict({"application": "web"}, **(options or {})), action)
    keep = [x for x in dep["inputs"] if x["name"] not in ("deploy_resource_name",
                                                          "deploy_stack_id")]
    dep["inputs"] = keep + [{"name": "deploy_resource_name", "value": str(i)},
                            {"name": "deploy_stack_id", "value": stack},
                            {"name": "deploy_server_id", "value": server or f"srv-{i}"}]
    return dep


def loaded(dep: dict):
    return load_deployment(json.dumps(dep).encode())


def lease_of(api: FakeApiServer, dep: dict) -> dict:
    return api.objects[f"{LEASES}/{parent_name(loaded(dep).slug)}"]


def run(dep: dict, api: FakeApiServer) -> tuple:
    """(answer, stderr lines without their clock, writes this run made)."""
    before = len(api.writes)
    answer, _ = through_pipeline(dep, api)
    lines = [re.sub(r"^\[ *[0-9.]+s\] ", "", line)
             for line in answer["deploy_stderr"].splitlines()]
    return answer, lines, api.writes[before:]


def applied_by_0() -> tuple:
    api = FakeApiServer()
    first, _, _ = run(member(0), api)
    assert first["deploy_status_code"] == 0, first
    return api, policy.answer_of(lease_of(api, member(0)))


# -- a late member: check, then answer or apply -------------------------------------------------

def test_a_late_member_answers_from_the_appliers_success_and_writes_only_the_lease():
    api, done = applied_by_0()
    assert done.member == "0" and done.code == 0
    answer, lines, writes = run(member(1), api)
    assert answer["deploy_status_code"] == 0
    assert answer["deploy_stdout"] == "ConfigMap/default/web created\n"   # the applier's change
    assert f"applied by member {done.applier} (generation {loaded(member(1)).generation}): " \
        "this member answers with its outcome and wrote nothing" in lines
    assert [w.split("?")[0] for w in writes] == [f"PUT {LEASES}/{done_name(api)}"]
    assert policy.group_members(lease_of(api, member(1))) == ("0", "1")


def done_name(api) -> str:
    return parent_name(loaded(member(0)).slug)


def test_a_late_member_applies_again_when_the_objects_changed():
    api, done = applied_by_0()
    api.objects[CM_PATH]["data"] = {"a": "changed by hand"}
    answer, lines, writes = run(member(1), api)
    assert answer["deploy_status_code"] == 0
    assert f"the objects changed since member {done.applier} applied: applying again" in lines
    me = policy.Holder.me("1")
    assert any(line.startswith(f"applied by this member, {me} ") for line in lines), lines
    assert any(w.startswith(f"PATCH {CM_PATH}?") for w in writes)
    assert api.objects[CM_PATH]["data"] == {"a": "1"}
    assert policy.answer_of(lease_of(api, member(1))).member == "1"


def test_a_redelivery_to_the_applier_runs_with_nothing_to_write_and_no_claim():
    api, done = applied_by_0()
    answer, lines, writes = run(member(0), api)
    assert answer["deploy_status_code"] == 0
    assert "applied: 1 unchanged" in lines
    assert not any("answers with its outcome" in line for line in lines)
    assert not any(w.startswith(f"POST {LEASES}") for w in writes)
    assert policy.answer_of(lease_of(api, member(0))) == done     # no new claim, no new record


# -- a follower: the holder's failure is its answer ----------------------------------------------

def held_elsewhere(api: FakeApiServer, dep: dict, holder: str, seconds: int = 15) -> dict:
    api.request("POST", "/api/v1/namespaces",
                body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    d = loaded(dep)
    body = policy.acquire_body(None, parent_name(d.slug), NAMESPACE, d.identity,
                           policy.Holder.parse(holder), d.generation, seconds, time.time())
    return api.request("POST", LEASES, body=body)


def test_a_follower_answers_with_the_holders_failure_its_code_and_its_words():
    api = FakeApiServer()
    holder = "0@another-host.example:1"
    held = held_elsewhere(api, member(1), holder)
    error = "[phase: wait] ConfigMap/default/web: failed: broken on purpose"
    failed = policy.Answer(loaded(member(1)).generation, 6,
                        ((dict(apiVersion="v1", kind="ConfigMap", namespace="default",
                               name="web"), "created"),), {}, error, holder, "", "s/1", "CREATE")

    def release_later():
        time.sleep(0.5)
        with api.lock:
            live = api.objects[f"{LEASES}/{held['metadata']['name']}"]
        api.request("PUT", f"{LEASES}/{held['metadata']['name']}",
                    body=policy.release_body(live, failed))
    thread = threading.Thread(target=release_later)
    thread.start()
    try:
        answer, lines, writes = run(member(1), api)
    finally:
        thread.join()
    assert answer["deploy_status_code"] == 6
    assert lines[-1] == f"ERROR: {error}"
    assert lines.count(f"member {holder} holds Lease {NAMESPACE}/{held['metadata']['name']}: "
                       "waiting for its outcome") == 1          # said once, however long
    assert not any(w.startswith(f"POST {LEASES}") for w in writes)   # no claim while it is held
    assert policy.group_members(lease_of(api, member(1))) == ("0", "1")   # it answered: a member
    assert answer["deploy_stdout"] == "ConfigMap/default/web created\n"
    assert f"applied by member {holder} (generation {loaded(member(1)).generation}): this " \
        "member answers with its outcome and wrote nothing" in lines
    assert not any("configmaps" in w for w in writes)   # it wrote nothing of the application


# -- DELETE: left to the others, to another stack, to a replacement ------------------------------

def test_a_delete_with_other_members_recorded_leaves_the_application_to_them():
    api, _ = applied_by_0()
    run(member(1), api)
    answer, lines, _ = run(member(1, "DELETE", {"group_delete": "last"}), api)
    assert answer["deploy_status_code"] == 0
    assert lines[-1] == "left application application/web; members 0 remain; objects kept"
    assert CM_PATH in api.objects
    assert policy.group_members(lease_of(api, member(0))) == ("0",)


def test_a_delete_from_a_stack_the_application_moved_from_keeps_it():
    api, _ = applied_by_0()
    # the same stack name, another stack (Lease and inventory are named by the name)
    answer, lines, _ = run(member(0, "DELETE", stack="s/9"), api)
    assert answer["deploy_status_code"] == 0
    assert lines[-1] == "not deleted: application application/web was last applied from " \
        "stack s/1; left to it"
    assert CM_PATH in api.objects
    assert policy.group_members(lease_of(api, member(0))) == ()        # gone from that stack for good


def test_a_delete_left_to_another_stack_that_lost_a_race_reads_again():
    api = RacingApiServer()
    run(member(0), api)
    run(member(1), api)
    api.races = 1
    answer, lines, _ = run(member(0, "DELETE", stack="s/9"), api)
    assert answer["deploy_status_code"] == 0, answer
    assert lines[-1].startswith("not deleted: application application/web was last applied")
    assert policy.group_members(lease_of(api, member(0))) == ("1",)


def test_a_replaced_resources_delete_keeps_the_objects():
    api, _ = applied_by_0()
    run(member(0, "UPDATE", server="srv-new"), api)      # the replacement applies
    answer, lines, _ = run(member(0, "DELETE"), api)       # then the old one is deleted
    assert answer["deploy_status_code"] == 0
    assert lines[-1] == "not deleted: deployment resource 0 was replaced by a new resource of " \
        "the same name, which owns application application/web now; objects kept"
    assert CM_PATH in api.objects



class RacingApiServer(FakeApiServer):
    """Another member writes the Lease just before this member's next update (a 409)."""

    def __init__(self):
        super().__init__()
        self.races = 0

    def request_full(self, method, path, query=None, body=None, content_type=None,
                     timeout=30.0, **kw):
        if self.races and method == "PUT" and path.startswith(LEASES):
            self.races -= 1
            with self.lock:
                self._stamp(self.objects[path], False)   # a new resourceVersion: ours is stale
        return super().request_full(method, path, query, body, content_type, timeout, **kw)


def test_a_leave_that_lost_a_race_reads_the_lease_again_and_leaves():
    api = RacingApiServer()
    run(member(0), api)
    run(member(1), api)
    run(member(2), api)
    api.races = 1
    answer, lines, writes = run(member(1, "DELETE", {"group_delete": "last"}), api)
    assert answer["deploy_status_code"] == 0
    assert lines[-1] == "left application application/web; members 0, 2 remain; objects kept"
    assert policy.group_members(lease_of(api, member(0))) == ("0", "2")
    # the update that lost (409), then the one on the Lease read again; nothing else
    assert [w.split("?")[0] for w in writes] == [f"PUT {LEASES}/{done_name(api)}"] * 2


def test_a_holder_on_this_host_whose_process_is_gone_is_taken_over_at_once():
    api = FakeApiServer()
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()                                   # its pid names no process now
    holder = f"0@{socket.gethostname()}:{child.pid}"
    held_elsewhere(api, member(1), holder, seconds=60)
    started = time.monotonic()
    answer, lines, _ = run(member(1, options={"timeout": 3}), api)
    assert answer["deploy_status_code"] == 0, answer
    assert time.monotonic() - started < 3
    assert any(line.startswith(f"applied by this member, {policy.Holder.me('1')} ") for line in lines)
    assert policy.answer_of(lease_of(api, member(1))).member == "1"


def test_following_past_the_deadline_names_the_holder_and_the_lease():
    api = FakeApiServer()
    holder = "0@another-host.example:1"
    held = held_elsewhere(api, member(1), holder, seconds=60)
    answer, lines, writes = run(member(1, options={"timeout": 1}), api)
    assert answer["deploy_status_code"] == 7
    assert lines[-1] == f"ERROR: deadline of 1s passed while member {holder} applied " \
        f"(Lease {NAMESPACE}/{held['metadata']['name']}) [phase: wait for applier]"
    assert not any("configmaps" in w for w in writes)


class TimedWatchApiServer(FakeApiServer):
    """Records how long each watch of the Lease was asked to last."""

    def __init__(self):
        super().__init__()
        self.watched: list = []

    def watch(self, path, query, timeout):
        if path.startswith(LEASES):
            self.watched.append(timeout)
        return super().watch(path, query, timeout)


def follow_a_claim_lapsing_in_2s(holder: str) -> tuple:
    api = TimedWatchApiServer()
    api.request("POST", "/api/v1/namespaces",
                body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
    d = loaded(member(1))
    body = policy.acquire_body(None, parent_name(d.slug), NAMESPACE, d.identity,
                           policy.Holder.parse(holder), d.generation, 15, time.time() - 13)
    api.request("POST", LEASES, body=body)
    answer, lines, _ = run(member(1), api)
    return answer, lines, api.watched


def test_a_follower_watches_until_the_claim_lapses_and_no_longer():
    answer, lines, watched = follow_a_claim_lapsing_in_2s("0@another-host.example:1")
    assert answer["deploy_status_code"] == 0, answer     # then takes over (deadline 10 s)
    assert any(line.startswith(f"applied by this member, {policy.Holder.me('1')} ") for line in lines)
    assert 2.0 < watched[0] <= 2.5                        # the lapse and half a second
    assert min(watched) == 1.0 and max(watched) <= 2.5     # never shorter than a second


def test_a_holder_on_this_host_is_looked_at_every_second():
    answer, _, watched = follow_a_claim_lapsing_in_2s(f"0@{socket.gethostname()}:{os.getpid()}")
    assert answer["deploy_status_code"] == 0, answer
    assert watched and max(watched) == coordinate.LOCAL_RECHECK == 1.0


class LeaseWritesApiServer(RacingApiServer):
    """Keeps each Lease write's body, in order."""

    def __init__(self):
        super().__init__()
        self.lease_bodies: list = []

    def request_full(self, method, path, query=None, body=None, content_type=None,
                     timeout=30.0, **kw):
        if method in ("POST", "PUT") and path.startswith(LEASES):
            self.lease_bodies.append((method, json.loads(json.dumps(body))))
        return super().request_full(method, path, query, body, content_type, timeout, **kw)


def test_the_claim_names_this_member_its_generation_and_the_application():
    api = LeaseWritesApiServer()
    run(member(1), api)
    method, claim = api.lease_bodies[0]
    d = loaded(member(1))
    assert method == "POST"
    assert claim["spec"]["holderIdentity"] == str(policy.Holder.me("1"))
    assert claim["metadata"]["namespace"] == NAMESPACE
    assert claim["metadata"]["name"] == parent_name(d.slug)
    assert claim["metadata"]["annotations"][policy.GENERATION] == d.generation
    assert claim["metadata"]["annotations"][policy.IDENTITY] == d.identity == "application/web"
    assert policy.owner_of(claim, "1") == d.owner


def test_a_late_member_is_recorded_with_the_resource_it_came_from():
    api, _ = applied_by_0()
    run(member(1), api)
    assert policy.owner_of(lease_of(api, member(1)), "1") == loaded(member(1)).owner
    assert policy.owner_of(lease_of(api, member(1)), "0") == loaded(member(0)).owner


def test_a_late_member_that_lost_a_race_to_record_itself_reads_again_and_records():
    api = RacingApiServer()
    run(member(0), api)
    api.races = 1
    answer, lines, writes = run(member(1), api)
    assert answer["deploy_status_code"] == 0
    assert policy.group_members(lease_of(api, member(1))) == ("0", "1")
    assert len(writes) == 2 and all(w.startswith(f"PUT {LEASES}/") for w in writes)


def test_a_member_past_the_record_limit_answers_and_says_it_is_not_recorded():
    api, _ = applied_by_0()
    live = lease_of(api, member(0))
    names = [str(i) for i in range(policy.MAX_MEMBERS)]
    live["metadata"]["annotations"][policy.MEMBERS] = json.dumps(names)
    answer, lines, writes = run(member("new"), api)
    assert answer["deploy_status_code"] == 0
    assert f"not recorded as a member on Lease {NAMESPACE}/{done_name(api)}: it records " \
        f"{policy.MAX_MEMBERS} already" in lines
    assert writes == []


OUTPUT_CM = CM.replace("data: {a: '1'}", "data: {a: '1', addr: 10.0.0.7}")


def test_a_late_member_answers_with_the_appliers_outputs():
    api = FakeApiServer()
    options = {"outputs": {"addr": "ConfigMap/web:{.data.addr}"}}
    first = member(0, options=options)
    first["config"] = OUTPUT_CM
    applied, _, _ = run(first, api)
    assert applied["addr"] == "10.0.0.7", applied
    late = member(1, options=options)
    late["config"] = OUTPUT_CM
    answer, lines, _ = run(late, api)
    assert any("answers with its outcome" in line for line in lines)
    assert answer["addr"] == applied["addr"]


class BrokenWatchApiServer(FakeApiServer):
    """The first watch of the Lease breaks (a 500), as a dropped connection would."""

    def __init__(self):
        super().__init__()
        self.broken = 1

    def watch(self, path, query, timeout):
        if path.startswith(LEASES) and self.broken:
            self.broken -= 1
            raise ApiError(500, "InternalError", "the watch broke")
        return super().watch(path, query, timeout)


def follow_a_broken_watch(monkeypatch, timeout: float) -> tuple:
    api = BrokenWatchApiServer()
    held_elsewhere(api, member(1), "0@another-host.example:1", seconds=60)
    slept: list = []
    real_sleep = time.sleep

    def sleep(seconds):   # time.sleep is global: only coordinate's own calls, in this thread
        if threading.current_thread() is runner and \
                sys._getframe(1).f_globals.get("__name__") == coordinate.__name__:
            slept.append(seconds)
        real_sleep(min(seconds, 0.05))
    runner = threading.current_thread()
    monkeypatch.setattr(coordinate.time, "sleep", sleep)
    answer, _, _ = run(member(1, options={"timeout": timeout}), api)
    monkeypatch.undo()
    return answer, slept


def test_a_broken_watch_is_watched_again_after_a_second(monkeypatch):
    answer, slept = follow_a_broken_watch(monkeypatch, 3)
    assert answer["deploy_status_code"] == 7          # the holder never released
    assert slept[0] == 1.0


def test_a_broken_watch_near_the_deadline_sleeps_only_until_it(monkeypatch):
    answer, slept = follow_a_broken_watch(monkeypatch, 1)
    assert answer["deploy_status_code"] == 7
    assert slept and 0.2 < slept[0] < 0.9   # what was left of the deadline, less 0.1 s


def test_the_record_names_the_appliers_deployment_action_and_no_error():
    api = FakeApiServer()
    dep = dict(member(0), id="deployment-id-0")
    run(dep, api)
    done = policy.answer_of(lease_of(api, dep))
    assert (done.deployment_id, done.action, done.stack, done.error, done.code) == \
        ("deployment-id-0", "CREATE", "s/1", "", 0)


def test_a_failed_run_records_its_code_and_its_error_line():
    api = FakeApiServer()
    dep = member(0)
    dep["config"] = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: " \
        "default}\n"
    answer, lines, _ = run(dep, api)
    assert answer["deploy_status_code"] not in (0, 70), answer
    done = policy.answer_of(lease_of(api, dep))
    assert done.code == answer["deploy_status_code"]
    assert f"ERROR: {done.error}" == lines[-1]


def test_every_lease_write_before_the_apply_is_a_create():
    """No Lease yet and no records namespace: create, create the namespace, create again."""
    api = LeaseWritesApiServer()
    _, _, writes = run(member(0), api)
    before = writes[:next(i for i, w in enumerate(writes) if "configmaps/web" in w)]
    lease_writes = [w.split("?")[0] for w in before if w.split("?")[0].startswith(f"PUT {LEASES}")
                    or w.split("?")[0].startswith(f"POST {LEASES}")]
    assert lease_writes == [f"POST {LEASES}"] * 2


def test_the_operators_lease_duration_is_the_claims(monkeypatch, tmp_path):
    api = LeaseWritesApiServer()
    answer, code, _, _ = through_hook(monkeypatch, member(0), api, "lease_duration: 1\n",
                                      tmp_path)
    assert code == 0, answer
    assert api.lease_bodies[0][1]["spec"]["leaseDurationSeconds"] == 1


class LeaseTimeoutsApiServer(FakeApiServer):
    """Records the timeout of each Lease request."""

    def __init__(self):
        super().__init__()
        self.timeouts: list = []

    def request_full(self, method, path, query=None, body=None, content_type=None,
                     timeout=30.0, **kw):
        if path.startswith(LEASES):
            self.timeouts.append(timeout)
        return super().request_full(method, path, query, body, content_type, timeout, **kw)


def test_lease_requests_wait_at_most_10_s_or_the_deadline_and_2_s_more():
    api = LeaseTimeoutsApiServer()
    run(member(0), api)
    assert api.timeouts and all(t == 10.0 for t in api.timeouts)   # a 10 s deadline: 12 s left
    short = LeaseTimeoutsApiServer()
    run(member(0, options={"timeout": 1}), short)
    assert all(1.0 <= t <= 3.0 for t in short.timeouts) and short.timeouts[0] > 2.0


class TakeOverApiServer(FakeApiServer):
    """Another member takes the Lease over while this one applies (its claim had lapsed)."""

    def request_full(self, method, path, query=None, body=None, content_type=None,
                     timeout=30.0, **kw):
        if method == "PATCH" and path == CM_PATH and (query or {}).get("dryRun") != "All":
            with self.lock:
                lease_ = next(o for p, o in self.objects.items() if p.startswith(LEASES))
                lease_["spec"]["holderIdentity"] = "9@another-host.example:9"
                self._stamp(lease_, False)
        return super().request_full(method, path, query, body, content_type, timeout, **kw)


def test_a_holder_whose_lease_was_taken_over_says_so():
    api = TakeOverApiServer()
    answer, lines, _ = run(member(0), api)
    assert answer["deploy_status_code"] == 0
    assert f"Lease {NAMESPACE}/{done_name(api)} was taken over before the end" in lines
    assert policy.holder_of(lease_of(api, member(0))) == "9@another-host.example:9"


class ReleaseRefusedApiServer(FakeApiServer):
    """The API server refuses the release (a 500 on the Lease's update)."""

    def request_full(self, method, path, query=None, body=None, content_type=None,
                     timeout=30.0, **kw):
        if method == "PUT" and path.startswith(LEASES) and \
                policy.ANSWER_ANNOTATION in ((body or {}).get("metadata") or {}).get("annotations", {}):
            raise ApiError(500, "InternalError", "etcd is away")
        return super().request_full(method, path, query, body, content_type, timeout, **kw)


def test_an_outcome_the_api_server_refuses_lapses_with_a_line_that_says_so():
    api = ReleaseRefusedApiServer()
    answer, lines, _ = run(member(0), api)
    assert answer["deploy_status_code"] == 0
    assert any(line.startswith("the outcome could not be recorded on the Lease (") and
               line.endswith("): it lapses and another member will check the objects")
               for line in lines), lines
    failing = member(0)
    failing["config"] = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"
    answer, lines, _ = run(failing, ReleaseRefusedApiServer())
    assert answer["deploy_status_code"] not in (0, 70), answer
    assert any(line.startswith("the outcome could not be recorded") for line in lines), lines



def test_a_member_following_its_own_earlier_claim_checks_rather_than_answers():
    """The outcome a member follows may be its own (an earlier worker of the same member):
    never an answer, a check; here the objects are not there, so it applies."""
    api = FakeApiServer()
    holder = "0@another-host.example:1"
    held = held_elsewhere(api, member(0), holder)
    done = policy.Answer(loaded(member(0)).generation, 0, (), {}, "", holder, "", "s/1", "CREATE")

    def release_later():
        time.sleep(0.5)
        with api.lock:
            live = api.objects[f"{LEASES}/{held['metadata']['name']}"]
        api.request("PUT", f"{LEASES}/{held['metadata']['name']}", body=policy.release_body(live, done))
    thread = threading.Thread(target=release_later)
    thread.start()
    try:
        answer, lines, writes = run(member(0), api)
    finally:
        thread.join()
    assert answer["deploy_status_code"] == 0, answer
    assert not any("answers with its outcome" in line for line in lines)
    assert f"the objects changed since member {holder} applied: applying again" in lines
    assert any(w.startswith(f"PATCH {CM_PATH}?") for w in writes)


def test_a_redelivery_from_a_replacement_resource_records_its_new_owner():
    api, _ = applied_by_0()
    replacement = member(0, server="srv-new")          # same member, same generation
    assert loaded(replacement).generation == loaded(member(0)).generation
    answer, lines, writes = run(replacement, api)
    assert answer["deploy_status_code"] == 0
    assert "applied: 1 unchanged" in lines
    assert policy.owner_of(lease_of(api, member(0)), "0") == loaded(replacement).owner
    assert [w.split("?")[0] for w in writes if LEASES in w] == [f"PUT {LEASES}/{done_name(api)}"]


class SlowApplyApiServer(LeaseWritesApiServer):
    """The apply takes 1.2 s: longer than a renewal interval of a 1 s Lease."""

    def request_full(self, method, path, query=None, body=None, content_type=None,
                     timeout=30.0, **kw):
        if method == "PATCH" and path == CM_PATH and (query or {}).get("dryRun") != "All":
            time.sleep(1.2)
        return super().request_full(method, path, query, body, content_type, timeout, **kw)


def test_the_holder_renews_its_claim_while_it_applies(monkeypatch, tmp_path):
    api = SlowApplyApiServer()
    answer, code, _, _ = through_hook(monkeypatch, member(0), api, "lease_duration: 1\n",
                                      tmp_path)
    assert code == 0, answer
    claim = api.lease_bodies[0][1]["spec"]
    renewals = [b["spec"] for m, b in api.lease_bodies[1:]
                if m == "PUT" and b["spec"].get("holderIdentity") == claim["holderIdentity"]]
    assert renewals, api.lease_bodies
    assert policy.parse_time(renewals[0]["renewTime"]) > policy.parse_time(claim["renewTime"])
    assert renewals[0]["acquireTime"] == claim["acquireTime"]


class CreatedMeanwhileApiServer(FakeApiServer):
    """Another member creates the Lease (and its namespace) between this member's GET and its
    POST; it has applied and left it free."""

    def __init__(self, other: dict):
        super().__init__()
        self.other = other

    def request_full(self, method, path, query=None, body=None, content_type=None,
                     timeout=30.0, **kw):
        if method == "POST" and path == LEASES and self.other:
            other, self.other = self.other, None
            super().request_full("POST", "/api/v1/namespaces", body={
                "apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}})
            super().request_full("POST", LEASES, body=other)
        return super().request_full(method, path, query, body, content_type, timeout, **kw)


def test_a_lease_created_by_another_member_meanwhile_is_read_again_not_created_again():
    d = loaded(member(1))
    freed = policy.release_body(
        policy.acquire_body(None, parent_name(d.slug), NAMESPACE, d.identity,
                        policy.Holder("0", "another-host.example", 1), "older", 15, time.time()),
        policy.Answer("older", 0, applier="0@another-host.example:1", stack="s/1",
                   action="CREATE"))
    api = CreatedMeanwhileApiServer(freed)
    answer, lines, writes = run(member(1), api)
    assert answer["deploy_status_code"] == 0, answer
    lease_writes = [w.split("?")[0] for w in writes if w.split("?")[0].startswith(
        (f"POST {LEASES}", f"PUT {LEASES}", "PATCH /api/v1/namespaces/heat-k8s-hook"))]
    # the other member's create, its own (a 409), then its claim as an update of the Lease read
    assert lease_writes[:3] == [f"POST {LEASES}", f"POST {LEASES}",
                                f"PUT {LEASES}/{parent_name(d.slug)}"]
    assert policy.answer_of(lease_of(api, member(1))).member == "1"
