"""coordinate.py's survivors of mutation run d (docs/testing.md, "Mutation testing"): what a
follower or a re-delivery leaves for the fast path (only `applied` runs are recorded), the
timeout of a Lease request sent after the deadline, and `pid_alive` (test_supervise.py, which
also tests it, runs subprocesses and is left out of mutmut's oracle)."""
from __future__ import annotations

import json
import os
import time

from test_fastpath_wiring import FakeClient
from test_mut_coordinate import CM_PATH, LeaseTimeoutsApiServer, applied_by_0, lease_of, member, run
from wiring import through_hook, through_pipeline

from heat_k8s_hook.entry import fastpath
from heat_k8s_hook.ha import coordinate, policy
from heat_k8s_hook.kube import tinykube


def fast_path_over(monkeypatch, api) -> dict:
    """The environ of a fast-path try against `api` (a kubeconfig the full path used too)."""
    monkeypatch.setattr(FakeClient, "api", api)
    monkeypatch.setattr(tinykube, "Client", FakeClient)
    monkeypatch.setattr(FakeClient, "seen", [])
    return {"KUBECONFIG": os.environ["KUBECONFIG"], "HEAT_K8S_HOOK_CONFIG": "/nonexistent/hook.yaml"}


def kubeconfig(monkeypatch, tmp_path) -> None:
    path = tmp_path / "kubeconfig"
    path.write_text("fake: true\n")
    path.chmod(0o600)
    monkeypatch.setenv("KUBECONFIG", str(path))


def test_a_member_answering_with_the_appliers_outcome_records_nothing_for_the_fast_path(
        monkeypatch, tmp_path):
    """Only the member that ran the apply records its outcome: a member that answers from
    the applier's record leaves the applier's fast-path record as it was."""
    kubeconfig(monkeypatch, tmp_path)
    first, code, _, api = through_hook(monkeypatch, member(0))
    assert code == 0, first
    parent = fastpath.parent_path(member(0))
    recorded = json.loads(json.dumps(api.objects[parent]))
    answer, code, _, _ = through_hook(monkeypatch, member(1), api)
    assert code == 0, answer
    assert "this member answers with its outcome and wrote nothing" in answer["deploy_stderr"]
    assert api.objects[parent]["metadata"].get("annotations") == \
        recorded["metadata"].get("annotations")
    assert api.objects[parent].get("data") == recorded.get("data")
    environ = fast_path_over(monkeypatch, api)
    again = fastpath.try_answer(json.dumps(member(0)).encode(), environ)
    assert again is not None and again["deploy_status_code"] == 0        # still the applier's
    assert fastpath.try_answer(json.dumps(member(1)).encode(), environ) is None


def test_a_redelivery_to_the_applier_through_the_full_path_records_its_outcome(
        monkeypatch, tmp_path):
    """A re-delivery that ran (nothing to write) is an applied run: a later re-delivery of
    the same deployment is answered by the fast path."""
    kubeconfig(monkeypatch, tmp_path)
    first, api = through_pipeline(member(0))      # the pipeline alone records no outcome
    assert first["deploy_status_code"] == 0, first
    environ = fast_path_over(monkeypatch, api)
    assert fastpath.try_answer(json.dumps(member(0)).encode(), environ) is None
    answer, code, _err, _ = through_hook(monkeypatch, member(0), api)
    assert code == 0, answer
    assert answer["deploy_stdout"] == "ConfigMap/default/web unchanged\n"
    assert "answers with its outcome" not in answer["deploy_stderr"]
    environ = fast_path_over(monkeypatch, api)
    fast = fastpath.try_answer(json.dumps(member(0)).encode(), environ)
    assert fast is not None and fast["deploy_status_code"] == 0
    assert fast["deploy_stdout"] == "ConfigMap/default/web unchanged\n"


class SlowApplyTimeoutsApiServer(LeaseTimeoutsApiServer):
    """The apply takes 0.5 s: the run's 0.3 s deadline passes during it."""

    def request_full(self, method, path, query=None, body=None, content_type=None,
                     timeout=30.0, **kw):
        if method == "PATCH" and path == CM_PATH and (query or {}).get("dryRun") != "All":
            time.sleep(0.5)
        return super().request_full(method, path, query, body, content_type, timeout, **kw)


def test_the_release_after_the_deadline_waits_what_is_left_of_the_2_s_grace():
    """Lease requests wait until 2 s past the deadline, at least 1 s: a release 0.2 s or more
    past a 0.3 s deadline waits less than 2 s."""
    api = SlowApplyTimeoutsApiServer()
    answer, lines, _ = run(member(0, options={"timeout": 0.3}), api)
    assert answer["deploy_status_code"] == 7, answer
    assert api.timeouts[0] > 2.0                          # before: 2.3 s less the time taken
    assert 1.0 <= api.timeouts[-1] < 1.9, api.timeouts    # the release, past the deadline
    assert any(line.startswith("applied by this member") for line in lines)


def test_pid_alive_never_calls_a_pid_it_cannot_name_gone():
    assert coordinate.pid_alive(0) and coordinate.pid_alive(-3)
    assert coordinate.pid_alive(2 ** 70)                  # os.kill: OverflowError, not "gone"


def test_a_pid_this_user_may_not_signal_is_alive(monkeypatch):
    def refused(pid, sig):
        raise PermissionError(1, "Operation not permitted")
    monkeypatch.setattr(coordinate.os, "kill", refused)
    assert coordinate.pid_alive(4242)


# -- a member never recorded: nothing to take off, no Lease write --------------------------------
# (docs/testing.md listed `present=None` as equivalent, "the same removal": `with_member`
# compares `(key in names) == present`, so with None a member not on the record is not "no
# change" and the Lease is written again unchanged.)

def test_a_delete_from_a_member_never_recorded_leaves_without_writing_the_lease():
    api, _ = applied_by_0()
    run(member(1), api)
    version = lease_of(api, member(0))["metadata"]["resourceVersion"]
    answer, lines, writes = run(member(2, "DELETE", {"group_delete": "last"}), api)
    assert answer["deploy_status_code"] == 0, answer
    assert lines[-1] == "left application application/web; members 0, 1 remain; objects kept"
    assert writes == []
    assert lease_of(api, member(0))["metadata"]["resourceVersion"] == version
    assert policy.group_members(lease_of(api, member(0))) == ("0", "1")


def test_a_delete_from_another_stack_by_a_member_never_recorded_writes_nothing():
    api, _ = applied_by_0()
    version = lease_of(api, member(0))["metadata"]["resourceVersion"]
    answer, lines, writes = run(member(5, "DELETE", stack="s/9"), api)
    assert answer["deploy_status_code"] == 0, answer
    assert lines[-1] == "not deleted: application application/web was last applied from " \
        "stack s/1; left to it"
    assert writes == []
    assert lease_of(api, member(0))["metadata"]["resourceVersion"] == version
    assert CM_PATH in api.objects
