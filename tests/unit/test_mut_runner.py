"""runner.py's survivors of the mutation run (docs/testing.md): DELETE and its wait until
gone, outputs read from the live object, each step's phase in an error, the applied counts.
Through `pipeline.execute` against the in-memory API server where the step needs a cluster."""
from __future__ import annotations

import json
import time

import pytest
from fakeapi import KINDS, FakeApiServer
from wiring import deployment, through_pipeline

from heat_k8s_hook.engine import pipeline, runner, steps
from heat_k8s_hook.objects import ObjectRef
from heat_k8s_hook.readiness.rules import Status
from heat_k8s_hook.result.events import StepStarted, VerdictChanged

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {k: v-%s}\n"
TWO = CM % ("a", "a") + "---\n" + CM % ("b", "b")
A = "/api/v1/namespaces/default/configmaps/a"
B = "/api/v1/namespaces/default/configmaps/b"


class Finalized(FakeApiServer):
    """ConfigMap a (or those in `kept`) has a finalizer nobody removes: DELETE marks it."""

    kept = (A,)

    def _delete(self, path, body, dry):
        if path not in self.kept or dry:
            return super()._delete(path, body, dry)
        obj = self.objects[path]
        obj["metadata"]["deletionTimestamp"] = "2026-12-05T00:00:00Z"
        return 200, obj


def test_delete_removes_each_member_and_waits_until_they_are_gone():
    lines: list = []
    _answer, api = through_pipeline(deployment(TWO))
    assert A in api.objects and B in api.objects
    answer, api = through_pipeline(deployment(TWO, action="DELETE"), api, lines)
    assert answer["deploy_status_code"] == 0, answer
    assert answer["deploy_stdout"] == "ConfigMap/default/a deleted\nConfigMap/default/b deleted\n"
    assert A not in api.objects and B not in api.objects
    assert not [p for p in api.objects if "/configmaps/heat-" in p]   # the inventory forgotten
    assert [line[10:] for line in lines[-2:]] == ["all 2 deleted object(s) gone",
                                                  "deleted: 2 object(s)"]


class SlowlyDeleted(Finalized):
    """ConfigMap a goes at the first watch after its DELETE (its finalizer done)."""

    def watch(self, path, query, timeout):
        with self.lock:
            for kept in self.kept:
                if kept in self.objects and "deletionTimestamp" in self.objects[kept]["metadata"]:
                    FakeApiServer._delete(self, kept, None, False)
        return super().watch(path, query, timeout)


def events_of(monkeypatch) -> list:
    """The run's events, as the result renderer (and the CLI's live view) receive them."""
    seen: list = []
    render = pipeline.ResultRenderer.__call__

    def record(self, event):
        seen.append(event)
        return render(self, event)
    monkeypatch.setattr(pipeline.ResultRenderer, "__call__", record)
    return seen


def test_a_member_that_goes_during_the_wait_is_not_reported_ready(monkeypatch):
    _answer, api = through_pipeline(deployment(TWO), SlowlyDeleted())
    lines: list = []
    events = events_of(monkeypatch)
    answer, api = through_pipeline(deployment(TWO, action="DELETE"), api, lines)
    assert answer["deploy_status_code"] == 0, answer
    assert A not in api.objects
    assert [line[10:] for line in lines[2:]] == ["all 2 deleted object(s) gone",
                                                 "deleted: 2 object(s)"]
    verdicts = [(str(e.ref), e.status, e.message, e.what) for e in events
                if isinstance(e, VerdictChanged)]
    assert sorted(verdicts) == [(f"ConfigMap/default/{n}", status, message, "gone")
                                for n in "ab" for status, message in [
                                    (Status.IN_PROGRESS, "being deleted"),
                                    (Status.READY, "deleted")]], verdicts


def test_every_member_still_there_is_named():
    class BothKept(Finalized):
        kept = (A, B)
    _answer, api = through_pipeline(deployment(TWO), BothKept())
    answer, api = through_pipeline(deployment(TWO, {"timeout": 1}, action="DELETE"), api)
    assert answer["deploy_stderr"].rstrip("\n").rpartition("\n")[2] == (
        "ERROR: not deleted after 1s: ConfigMap/default/a; ConfigMap/default/b "
        "[phase: wait gone]")


def test_a_member_already_gone_is_skipped_and_the_others_still_waited_for():
    _answer, api = through_pipeline(deployment(TWO), SlowlyDeleted())
    del api.objects[A]          # removed by someone else: DELETE finds nothing to delete
    SlowlyDeleted.kept = (B,)
    try:
        lines: list = []
        answer, api = through_pipeline(deployment(TWO, action="DELETE"), api, lines)
    finally:
        SlowlyDeleted.kept = (A,)
    assert answer["deploy_status_code"] == 0, answer
    assert answer["deploy_stdout"] == "ConfigMap/default/a gone\nConfigMap/default/b deleted\n"
    assert B not in api.objects
    assert [line[10:] for line in lines[2:]] == ["all 1 deleted object(s) gone",
                                                 "deleted: 2 object(s)"]


def test_an_output_is_read_from_the_live_object():
    """{.metadata.uid} exists only on the cluster's copy, not in the rendered document."""
    dep = deployment(TWO, {"outputs": {"uid": "ConfigMap/b:{.metadata.uid}",
                                       "value": "ConfigMap/a:{.data.k}"}})
    answer, api = through_pipeline(dep)
    assert answer["deploy_status_code"] == 0, answer
    assert answer["uid"] == api.objects[B]["metadata"]["uid"]
    assert answer["value"] == "v-a"


REF = ObjectRef("", "ConfigMap", "default", "a", "v1")


@pytest.mark.parametrize("step,phase", [
    (steps.DryRun((REF,)), "dry-run"), (steps.ApplyStage("workloads", (REF,)), "apply workloads"),
    (steps.Prune((REF,)), "prune"), (steps.Delete("config", (REF,)), "delete config"),
    (steps.WaitGone((REF,)), "wait gone"), (steps.WaitReady((REF,)), "wait ready"),
    (steps.WaitReady((REF,), "established"), "wait established"),
    (steps.ReadOutputs(("o",)), "outputs"), (steps.Suspend(()), "suspend"),
    (steps.Resume(()), "resume"), (steps.WaitDrained((REF,)), "wait drained"),
    (steps.EnsureInventoryNamespace(), "inventory"), (steps.ForgetInventory(), "inventory")])
def test_each_step_names_its_phase(step, phase):
    assert runner.phase_of(step) == phase


class TokenFilled(FakeApiServer):
    """A token controller fills Secret t's data after it is applied; the GET of one object
    is recorded with its timeout and answered without `kind` (as in a LIST's items)."""

    def __init__(self):
        super().__init__()
        self.timeouts: list = []

    def get(self, path, query=None, timeout=30.0, **kw):
        obj = super().get(path, query, timeout, **kw)
        if path.endswith(("/secrets/t", "/configmaps/a")):
            self.timeouts.append(timeout)
            obj.pop("kind", None)
            if path.endswith("/secrets/t"):
                obj["data"] = {"token": "c2VjcmV0LXRva2Vu"}
        return obj


def test_secret_data_filled_in_after_the_apply_is_still_refused():
    secret = ("apiVersion: v1\nkind: Secret\nmetadata: {name: t}\n"
              "type: kubernetes.io/service-account-token\n")
    dep = deployment(secret, {"outputs": {"tok": "Secret/t:{..token}"}})
    answer, api = through_pipeline(dep, TokenFilled())
    assert answer["deploy_status_code"] == 2, answer
    assert answer["deploy_stderr"].rstrip("\n").rpartition("\n")[2].startswith(
        "ERROR: output tok: refused: its JSONPath selects Secret data")
    assert "c2VjcmV0" not in str(answer) and "tok" not in answer


def test_an_output_is_read_within_the_deadline():
    dep = deployment(TWO, {"timeout": 5, "outputs": {"value": "ConfigMap/a:{.data.k}"}})
    answer, api = through_pipeline(dep, TokenFilled())
    assert answer["value"] == "v-a"
    assert api.timeouts and all(t is not None and t <= 5 for t in api.timeouts), api.timeouts


# -- waiting until ready: what the operator is told ---------------------------------------------

JOBS = dict(KINDS, **{"batch/v1": [("Job", "jobs", True)]})
JOB = ("apiVersion: batch/v1\nkind: Job\nmetadata: {name: %s}\n"
       "spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: i}]}}}\n")
FAILED = {"startTime": "2026-01-01T00:00:00Z", "failed": 1,
          "conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded",
                          "message": "Job has reached the specified backoff limit"}]}


def warning(name: str, reason: str, stamp: str) -> dict:
    return {"apiVersion": "v1", "kind": "Event", "type": "Warning", "reason": reason,
            "message": f"{reason} of {name}", "lastTimestamp": stamp, "count": 2,
            "metadata": {"name": f"{name}.{reason}", "namespace": "default"},
            "involvedObject": {"kind": "Job", "name": name, "namespace": "default"}}


def test_a_success_says_every_object_is_ready(monkeypatch):
    lines: list = []
    events = events_of(monkeypatch)
    answer, _api = through_pipeline(deployment(TWO), lines=lines)
    assert answer["deploy_status_code"] == 0, answer
    said = [line[10:] for line in lines]
    assert said[2:] == ["validated: 2 object(s) passed server-side dry-run",
                        "applied: 2 created", "ConfigMap/default/a: ready: exists",
                        "ConfigMap/default/b: ready: exists", "all 2 object(s) ready"], said
    starts = [e for e in events if isinstance(e, StepStarted)]
    assert [(e.index, e.total) for e in starts] == [(i, len(starts)) for i in range(len(starts))]
    assert [type(e.step) for e in starts][-3:] == [steps.ApplyStage, steps.RecordInventory,
                                                   steps.WaitReady], starts
    verdicts = [(str(e.ref), e.status, e.message, e.what) for e in events
                if isinstance(e, VerdictChanged)]
    assert verdicts == [(f"ConfigMap/default/{n}", Status.READY, "exists", "ready")
                        for n in "ab"], verdicts


def test_each_failed_object_is_named_with_its_warning_events():
    api = FakeApiServer(JOBS, {"Job": FAILED})
    for name, reason, stamp in [("j1", "BackoffLimitExceeded", "2026-01-01T00:00:02Z"),
                                ("j2", "FailedCreate", "2026-01-01T00:00:01Z")]:
        api.objects[f"/api/v1/namespaces/default/events/{name}"] = warning(name, reason, stamp)
    answer, _api = through_pipeline(deployment(JOB % "j1" + "---\n" + JOB % "j2"), api)
    assert answer["deploy_status_code"] == 6, answer
    err = answer["deploy_stderr"].rstrip("\n").split("\n")
    cause = "BackoffLimitExceeded: Job has reached the specified backoff limit"
    first = "j1" if err[-1].startswith("ERROR: Job/default/j1") else "j2"
    other = {"j1": "j2", "j2": "j1"}[first]
    reason = {"j1": "BackoffLimitExceeded", "j2": "FailedCreate"}
    assert err[-4:] == [
        f"  event Job/{first}: {reason[first]}: {reason[first]} of {first} (x2)",
        f"Job/default/{other}: {cause}",
        f"  event Job/{other}: {reason[other]}: {reason[other]} of {other} (x2)",
        f"ERROR: Job/default/{first}: {cause} (+1 more failed) [phase: wait ready]"], err


def test_one_failed_object_says_no_more():
    answer, _api = through_pipeline(deployment(JOB % "j1"), FakeApiServer(JOBS, {"Job": FAILED}))
    assert answer["deploy_stderr"].rstrip("\n").rpartition("\n")[2] == (
        "ERROR: Job/default/j1: BackoffLimitExceeded: Job has reached the specified "
        "backoff limit [phase: wait ready]")


def test_a_timeout_names_every_object_not_ready_and_why():
    api = FakeApiServer(JOBS, {"Job": {}})
    answer, _api = through_pipeline(deployment(JOB % "j1" + "---\n" + JOB % "j2",
                                               {"timeout": 1}), api)
    assert answer["deploy_status_code"] == 7, answer
    last = answer["deploy_stderr"].rstrip("\n").rpartition("\n")[2]
    assert last == ("ERROR: not ready after 1s: Job/default/j1: not started; "
                    "Job/default/j2: not started [phase: wait ready]"), last


def test_the_wait_rules_option_reaches_the_wait():
    """A Widget is ready by its Synced condition (the operator's rule), not by Ready."""
    kinds = dict(KINDS, **{"example.com/v1": [("Widget", "widgets", True)]})
    status = {"conditions": [{"type": "Ready", "status": "False", "reason": "Pending"},
                             {"type": "Synced", "status": "True"}]}
    widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"
    answer, _api = through_pipeline(
        deployment(widget, {"timeout": 5, "wait_rules": {"example.com/Widget": "Synced"}}),
        FakeApiServer(kinds, {"Widget": status}))
    assert answer["deploy_status_code"] == 0, answer   # 7 without the rule (Ready is False)


class SlowDryRun(FakeApiServer):
    def request_full(self, method, path, query=None, body=None, content_type=None,
                     timeout=30.0, **kw):
        if (query or {}).get("dryRun") == "All" and "/jobs/" in path:
            time.sleep(0.6)
        return super().request_full(method, path, query, body, content_type, timeout, **kw)


def test_the_time_waited_counts_from_the_start_of_the_run():
    answer, _api = through_pipeline(deployment(JOB % "j1", {"timeout": 1}),
                                    SlowDryRun(JOBS, {"Job": {}}))
    assert answer["deploy_stderr"].rstrip("\n").rpartition("\n")[2] == (
        "ERROR: not ready after 1s: Job/default/j1: not started [phase: wait ready]")


# -- gather, dry-run and the inventory record ---------------------------------------------------

NS = ("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n"
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n")


def test_a_namespace_the_config_creates_is_dry_run_in_its_stand_in():
    api = TokenFilled()
    answer, api = through_pipeline(deployment(NS, {"timeout": 5}), api)
    assert answer["deploy_status_code"] == 0, answer
    assert answer["deploy_stdout"] == "Namespace/shop created\nConfigMap/shop/c created\n"
    ns_gets = [r for r in api.requests if r == "GET /api/v1/namespaces/shop"]
    assert ns_gets, api.requests


class NamespaceTimeouts(FakeApiServer):
    def __init__(self):
        super().__init__()
        self.timeouts: list = []

    def get(self, path, query=None, timeout=30.0, **kw):
        if path == "/api/v1/namespaces/shop":
            self.timeouts.append(timeout)
        return super().get(path, query, timeout, **kw)


def test_the_namespace_lookup_is_within_the_deadline():
    answer, api = through_pipeline(deployment(NS, {"timeout": 5}), NamespaceTimeouts())
    assert answer["deploy_status_code"] == 0, answer
    assert api.timeouts and all(t is not None and t <= 5 for t in api.timeouts), api.timeouts


def test_the_namespace_option_places_objects_without_one():
    answer, api = through_pipeline(deployment(TWO, {"namespace": "kube-system"}))
    assert answer["deploy_stdout"] == ("ConfigMap/kube-system/a created\n"
                                       "ConfigMap/kube-system/b created\n"), answer


def test_the_judges_options_and_identity_are_recorded_in_the_inventory():
    answer, api = through_pipeline(deployment(TWO, {
        "wait_rules": {"example.com/Widget": "Synced"}, "unschedulable_grace": 30}))
    [record] = [o for p, o in api.objects.items() if "/configmaps/heat-" in p]
    notes = record["metadata"]["annotations"]
    assert notes["heat-k8s-hook.dev/deployment"] == "s/1/r"
    assert json.loads(notes["heat-k8s-hook.dev/judge"]) == {
        "unschedulable_grace": 30.0, "wait_rules": {"example.com/Widget": "Synced"}}


@pytest.mark.parametrize("action,said", [
    ("SUSPEND", "nothing to suspend: no Deployment, StatefulSet, ReplicaSet or CronJob among "
                "its members"),
    ("RESUME", "not suspended: no recorded values to restore")])
def test_suspend_and_resume_read_the_members(action, said):
    _answer, api = through_pipeline(deployment(TWO))
    lines: list = []
    answer, api = through_pipeline(deployment(TWO, action=action), api, lines)
    assert answer["deploy_status_code"] == 0, answer
    assert lines[2][10:] == said, lines


def test_the_applied_line_counts_each_kind_of_change():
    _answer, api = through_pipeline(deployment(TWO))
    lines: list = []
    changed = CM % ("a", "a") + "---\n" + CM % ("b", "b2")
    answer, api = through_pipeline(deployment(changed, action="UPDATE"), api, lines)
    assert answer["deploy_status_code"] == 0, answer
    said = [line[10:] for line in lines]
    assert "applied: 1 configured, 1 unchanged" in said, lines
    # the unchanged object is not sent to the dry-run again
    assert "validated: 1 object(s) passed server-side dry-run" in said, lines
