"""runner.py's survivors of the mutation run (docs/testing.md): DELETE and its wait until
gone, outputs read from the live object, each step's phase in an error, the applied counts.
Through `pipeline.execute` against the in-memory API server where the step needs a cluster."""
from __future__ import annotations

import pytest
from fakeapi import FakeApiServer
from wiring import deployment, through_pipeline

from heat_k8s_hook import pipeline, runner, steps
from heat_k8s_hook.events import VerdictChanged
from heat_k8s_hook.plan import ObjectRef
from heat_k8s_hook.readiness.rules import Status

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


def test_delete_times_out_naming_the_member_still_there():
    _answer, api = through_pipeline(deployment(TWO), Finalized())
    lines: list = []
    answer, api = through_pipeline(deployment(TWO, {"timeout": 1}, action="DELETE"), api, lines)
    assert answer["deploy_status_code"] == 7, answer
    last = answer["deploy_stderr"].rstrip("\n").rpartition("\n")[2]
    assert last == "ERROR: not deleted after 1s: ConfigMap/default/a [phase: wait gone]"
    assert not any("ConfigMap/default/a" in line for line in lines[:-1]), lines


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
