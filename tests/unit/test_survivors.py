"""Tests for the mutants issue 26 found alive: each pins a decision through the real entry
points (`pipeline.execute`, `hook.main`) against the in-memory API server (fakeapi.py), or
the pure function where that is the decision. Each was seen red with its mutant applied."""
from __future__ import annotations

import time

import pytest
from fakeapi import KINDS, FakeApiServer
from wiring import deployment, through_hook, through_pipeline

from heat_k8s_hook import errors
from heat_k8s_hook.engine import pipeline
from heat_k8s_hook.errors import InvalidInput
from heat_k8s_hook.ha import policy
from heat_k8s_hook.input.limits import Limits
from heat_k8s_hook.input.render import render
from heat_k8s_hook.kube.cluster import ApiError
from heat_k8s_hook.result.report import MASK

LONG = "tok-" + "q7W" * 20          # a secret long enough to be cut in the middle
CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {k: v}\n"
JOBS = dict(KINDS, **{"batch/v1": [("Job", "jobs", True)]})
JOB = ("apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\n  annotations: {%s}\n"
       "spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: i}]}}}\n")


class Echoing(FakeApiServer):
    """An API server whose validation error quotes the request, as real ones do."""

    def _apply(self, path, body, dry):
        if "/namespaces/default/" not in path:   # the records namespace, the inventory
            return super()._apply(path, body, dry)
        raise ApiError(422, "Invalid", f"invalid object {body}")


# -- exit codes: each error class keeps its documented code --------------------------------

@pytest.mark.parametrize("cls,code", [
    (errors.InvalidInput, 2), (errors.ClusterUnreachable, 3), (errors.CredentialsRejected, 4),
    (errors.ApplyRejected, 5), (errors.NotReady, 6), (errors.TimedOut, 7), (errors.Busy, 8),
    (errors.Misconfigured, 9), (errors.KeystoneRefused, 10), (errors.KeystoneUnreachable, 11),
    (errors.TokenExpired, 12), (errors.HookError, 70)])
def test_each_error_has_its_documented_exit_code(cls, code):
    assert cls.code == code and code in errors.EXIT_CODES


# -- masking: before every cut, in every place a secret can reach ----------------------------

def test_deploy_auth_token_is_masked_in_the_answer():
    dep = deployment(CM.replace("{k: v}", "{k: {get_input: v}}") % "c",
                     inputs=[{"name": "deploy_auth_token", "value": LONG},
                             {"name": "v", "value": LONG}])
    answer, _api = through_pipeline(dep, Echoing())
    assert answer["deploy_status_code"] == 5 and "invalid object" in answer["deploy_stderr"]
    assert LONG not in str(answer) and MASK in answer["deploy_stderr"]


def test_the_hooks_progress_lines_and_answer_are_masked(monkeypatch):
    dep = deployment(CM.replace("{k: v}", "{k: {get_input: pw}}") % "c",
                     {"secret_inputs": ["pw"]}, inputs=[{"name": "pw", "value": LONG}])
    answer, code, err, _api = through_hook(monkeypatch, dep, Echoing())
    assert code == 5 and "invalid object" in err
    assert LONG not in err and LONG not in str(answer)


def test_the_internal_error_cause_is_masked(monkeypatch):
    def broken(*_a, **_k):   # the secret across the cause's cut at 300 characters
        raise RuntimeError(f"bug while holding {'x' * 270}{LONG}")
    monkeypatch.setattr(pipeline, "execute", broken)
    dep = deployment(CM % "c", inputs=[{"name": "deploy_password", "value": LONG}])
    answer, code, err, _api = through_hook(monkeypatch, dep)
    assert code == 70 and "RuntimeError: bug while holding" in answer["deploy_stderr"]
    assert LONG[:8] not in answer["deploy_stderr"] and LONG[:8] not in err


# -- options reach the run ------------------------------------------------------------------

def test_the_operators_max_timeout_applies_in_the_hook(monkeypatch, tmp_path):
    answer, code, _err, api = through_hook(monkeypatch, deployment(CM % "c", {"timeout": 60}),
                                           settings_yaml="max_timeout: 30\n", tmp_path=tmp_path)
    assert code == 2 and "option timeout: above the maximum of 30s" in answer["deploy_stderr"]
    assert api.writes == []


@pytest.mark.parametrize("allow", [False, True])
def test_allow_empty_reaches_the_run(allow):
    _answer, api = through_pipeline(deployment(CM % "a"))
    answer, api = through_pipeline(deployment("", {"allow_empty": allow}, "UPDATE"), api)
    path = "/api/v1/namespaces/default/configmaps/a"
    if allow:
        assert answer["deploy_status_code"] == 0 and path not in api.objects
    else:
        assert answer["deploy_status_code"] == 2 and "allow_empty" in answer["deploy_stderr"]
        assert path in api.objects


@pytest.mark.parametrize("prune", [False, True])
def test_prune_reaches_the_run(prune):
    _answer, api = through_pipeline(deployment(CM % "a"))
    answer, api = through_pipeline(deployment(CM % "b", {"prune": prune}, "UPDATE"), api)
    assert answer["deploy_status_code"] == 0
    assert ("/api/v1/namespaces/default/configmaps/a" in api.objects) is not prune
    assert ("ConfigMap/default/a pruned" in answer["deploy_stdout"]) is prune


# -- readiness: a failed object fails fast; per-object wait and timeout ---------------------

def test_a_failed_object_is_code_6_at_once_not_a_timeout():
    api = FakeApiServer(JOBS, {"Job": {"startTime": "2026-01-01T00:00:00Z", "failed": 1,
                                       "conditions": [{"type": "Failed", "status": "True",
                                                       "reason": "BackoffLimitExceeded"}]}})
    started = time.monotonic()
    answer, _api = through_pipeline(deployment(JOB % "", {"timeout": 20}), api)
    assert answer["deploy_status_code"] == 6, answer
    assert "BackoffLimitExceeded" in answer["deploy_stderr"]
    assert time.monotonic() - started < 10


def test_wait_false_annotation_reaches_the_run():
    api = FakeApiServer(JOBS, {"Job": {}})   # never started: never ready
    answer, _api = through_pipeline(
        deployment(JOB % '"heat-k8s-hook.dev/wait": "false"', {"timeout": 3}), api)
    assert answer["deploy_status_code"] == 0, answer


def test_a_per_object_timeout_never_runs_past_the_deployments_deadline():
    api = FakeApiServer(JOBS, {"Job": {}})
    started = time.monotonic()
    answer, _api = through_pipeline(
        deployment(JOB % '"heat-k8s-hook.dev/timeout": "20"', {"timeout": 3}), api)
    assert answer["deploy_status_code"] == 7, answer
    assert time.monotonic() - started < 8


def test_a_short_per_object_timeout_reaches_the_run():
    api = FakeApiServer(JOBS, {"Job": {}})
    started = time.monotonic()
    answer, _api = through_pipeline(
        deployment(JOB % '"heat-k8s-hook.dev/timeout": "1"', {"timeout": 30}), api)
    assert answer["deploy_status_code"] == 7, answer
    assert time.monotonic() - started < 15


# -- render's limits ------------------------------------------------------------------------

def test_a_list_of_1001_items_is_refused():
    items = "".join(f"- {{apiVersion: v1, kind: ConfigMap, metadata: {{name: c{i}}}}}\n"
                    for i in range(1001))
    with pytest.raises(InvalidInput, match="max_documents"):
        render("apiVersion: v1\nkind: List\nitems:\n" + items, {}, Limits())
    assert len(render("apiVersion: v1\nkind: List\nitems:\n" + items.split("\n", 1)[1],
                      {}, Limits())) == 1000


def test_nesting_added_through_a_json_input_is_refused():
    deep: dict = {}
    for _ in range(150):
        deep = {"a": deep}
    config = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: {get_input: j}}\n"
    with pytest.raises(InvalidInput) as caught:
        render(config, {"j": deep}, Limits())
    assert caught.value.message == ("document 1 (ConfigMap c): nesting depth: refused, more "
                                    "than 100 (limit max_depth)")
    with pytest.raises(InvalidInput) as caught:
        render(config, {"j": float("nan")}, Limits())
    assert caught.value.message == ("document 1 (ConfigMap c): a number that is not finite "
                                    "(NaN, Infinity)")


def test_the_rendered_size_limit_is_applied():
    config = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: {get_input: v}}\n"
    with pytest.raises(InvalidInput, match="max_rendered_bytes"):
        render(config, {"v": "x" * 5000}, Limits(max_rendered_bytes=4096))
    assert render(config, {"v": "x" * 1000}, Limits(max_rendered_bytes=4096))


def test_the_rendered_size_is_summed_over_the_documents():
    """Two objects of 3,087 bytes of JSON each: 6,174 in all is allowed, 6,173 is not (the
    text check, earlier, counts less)."""
    one = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\ndata: {k: {get_input: v}}\n"
    config = one % "c" + "---\n" + one % "d"
    assert len(render(config, {"v": "x" * 3000}, Limits(max_rendered_bytes=6174))) == 2
    with pytest.raises(InvalidInput) as caught:
        render(config, {"v": "x" * 3000}, Limits(max_rendered_bytes=6173))
    assert caught.value.message == ("config: rendered objects, in bytes: refused, more than "
                                    "6173 (limit max_rendered_bytes)")


# -- the Lease: expiry from renewTime, and a renewal moves it --------------------------------

def test_a_lease_expires_from_its_renewal_not_its_acquisition():
    now = 1_800_000_000.0
    lease = {"spec": {"holderIdentity": "a", "leaseDurationSeconds": 15,
                      "acquireTime": policy.micro_time(now - 100), "renewTime": policy.micro_time(now - 5)}}
    assert policy.expires_at(lease) == pytest.approx(now + 10, abs=0.01)


def test_renew_body_moves_renew_time_and_keeps_acquire_time():
    now = 1_800_000_000.0
    lease = {"metadata": {"resourceVersion": "7"},
             "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15,
                      "acquireTime": policy.micro_time(now - 100), "renewTime": policy.micro_time(now - 20)}}
    renewed = policy.renew_body(lease, now)
    assert renewed["spec"]["renewTime"] == policy.micro_time(now)
    assert renewed["spec"]["acquireTime"] == lease["spec"]["acquireTime"]
    assert policy.expires_at(renewed) == pytest.approx(now + 15, abs=0.01)
    assert policy.expires_at(lease) < now   # the unrenewed claim has lapsed


# -- pods of an older revision, and the Unschedulable grace through the run ------------------

def _rs_pod(owner_rs: str, template_hash: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"{owner_rs}-a", "namespace": "default",
                         "labels": {"app": "web", "pod-template-hash": template_hash},
                         "ownerReferences": [{"kind": "ReplicaSet", "name": owner_rs,
                                              "controller": True}]},
            "status": {"phase": "Running", "containerStatuses": [{
                "name": "web", "restartCount": 5, "lastState": {"terminated": {"exitCode": 1}},
                "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off"}}}]}}


def test_a_pod_owned_by_an_older_replicaset_says_nothing_of_the_new_revision():
    """The owner check decides, even when the pod's hash label looks current."""
    from datetime import datetime, timezone

    from heat_k8s_hook.readiness.rules import workload_failure
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment",
                  "metadata": {"name": "web", "namespace": "default", "generation": 2},
                  "spec": {"selector": {"matchLabels": {"app": "web"}}},
                  "status": {"observedGeneration": 2, "conditions": [{
                      "type": "Progressing", "status": "True",
                      "message": 'ReplicaSet "web-new" is progressing.'}]}}
    now = datetime(2024, 1, 1, tzinfo=timezone.utc)
    assert workload_failure(deployment, [_rs_pod("web-old", "new")], now) is None
    assert workload_failure(deployment, [_rs_pod("web-new", "old")], now) is not None


@pytest.mark.parametrize("grace,code", [(1, 6), (None, 7)])
def test_unschedulable_grace_reaches_the_run(grace, code):
    from datetime import datetime, timedelta, timezone
    since = (datetime.now(timezone.utc) - timedelta(seconds=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    kinds = dict(KINDS, v1=KINDS["v1"] + [("Pod", "pods", True)])
    api = FakeApiServer(kinds, {"Pod": {"phase": "Pending", "conditions": [{
        "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": "0/1 nodes are available", "lastTransitionTime": since}]}})
    pod = ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n"
           "spec: {containers: [{name: c, image: i}]}\n")
    options = {"timeout": 3, **({"unschedulable_grace": grace} if grace else {})}
    answer, _api = through_pipeline(deployment(pod, options), api)
    assert answer["deploy_status_code"] == code, answer
    if code == 6:
        assert "Unschedulable" in answer["deploy_stderr"]


@pytest.mark.parametrize("meta,message", [
    ("{name: ''}", "document 1 (ConfigMap): missing metadata.name"),
    ("{name: 5}", "document 1 (ConfigMap): missing metadata.name"),
    ("{generateName: web-}", "document 1 (ConfigMap): metadata.generateName is not supported; "
                             "give the object a metadata.name so it can be re-applied"),
])
def test_a_missing_or_generated_name_is_refused_with_its_reason(meta, message):
    with pytest.raises(InvalidInput) as caught:
        render(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {meta}\n", {}, Limits())
    assert caught.value.message == message


@pytest.mark.parametrize("api,kind,name,rule", [
    ("v1", "Namespace", "Bad_Name", "a DNS-1123 label"),
    ("v1", "Service", "Bad_Name", "a DNS-1035 label"),
    ("v1", "ConfigMap", "Bad_Name", "a DNS-1123 subdomain"),
    ("x.example.com/v1", "Widget", "a/b", "a path segment"),
])
def test_an_invalid_name_says_which_rule_it_breaks(api, kind, name, rule):
    with pytest.raises(InvalidInput) as caught:
        render(f"apiVersion: {api}\nkind: {kind}\nmetadata: {{name: '{name}'}}\n", {}, Limits())
    assert caught.value.message == (f"document 1 ({kind}): metadata.name is not a valid name "
                                    f"({rule}: lowercase letters, digits and '-')")


@pytest.mark.parametrize("config,message", [
    ("just text\n", "document 1: expected a Kubernetes object (a map), got str"),
    ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: %s}\n" % ("a" * 64),
     "document 1 (ConfigMap c): metadata.namespace is not a valid namespace name"),
    ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: 5}\n",
     "document 1 (ConfigMap c): metadata.namespace is not a valid namespace name"),
])
def test_a_document_that_is_not_an_object_or_a_bad_namespace(config, message):
    with pytest.raises(InvalidInput) as caught:
        render(config, {}, Limits())
    assert caught.value.message == message
    ok = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: %s}\n" % ("a" * 63)
    assert len(render(ok, {}, Limits())) == 1


@pytest.mark.parametrize("kind,name,valid", [
    ("Namespace", "a" * 63, True), ("Namespace", "a" * 64, False),
    ("Service", "a" * 63, True), ("Service", "a" * 64, False),
    ("ConfigMap", "a" * 253, True), ("ConfigMap", "a" * 254, False), ("ConfigMap", "a.b", True),
])
def test_name_lengths_at_their_limits(kind, name, valid):
    config = f"apiVersion: v1\nkind: {kind}\nmetadata: {{name: '{name}'}}\n"
    if valid:
        assert len(render(config, {}, Limits())) == 1
    else:
        with pytest.raises(InvalidInput, match="metadata.name is not a valid name"):
            render(config, {}, Limits())
