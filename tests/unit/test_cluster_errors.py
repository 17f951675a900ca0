"""API errors are facts about a request until the pipeline maps them to a code (issue 25).

`ApiError` (and `NotFound`) is no longer an `ApplyRejected`: `except ApplyRejected` does not
catch a raw HTTP failure. The engine turns an object the server refused into ApplyRejected
(engine/apply.py), and `pipeline.explained` gives one that nobody explained its documented code:
5, with the server's own words. A connection failure stays ClusterUnreachable (code 3).

Checked by breaking it once: with `explained` returning the error unchanged and ApiError's own
code left at HookError's 70, the raw-500 case went red (code 70, "internal error").
"""
from __future__ import annotations

import pytest
from fakeapi import FakeApiServer
from wiring import deployment, through_pipeline

from heat_k8s_hook.engine import pipeline
from heat_k8s_hook.errors import ApplyRejected, ClusterUnreachable
from heat_k8s_hook.kube import retry
from heat_k8s_hook.kube.cluster import ApiError, NotFound

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {k: v}\n"


def test_api_errors_are_not_rejections():
    assert not issubclass(ApiError, ApplyRejected) and not issubclass(NotFound, ApplyRejected)
    assert not issubclass(retry.ConnectionFault, ApplyRejected)


def test_the_pipeline_explains_a_raw_api_error_as_a_refusal_keeping_its_phase():
    raw = ApiError(500, "InternalError", "etcdserver: leader changed")
    raw.phase = "discovery"
    mapped = pipeline.explained(raw)
    assert type(mapped) is ApplyRejected and mapped.code == 5
    assert mapped.in_phase() == "etcdserver: leader changed [phase: discovery]"
    fault = retry.ConnectionFault("cannot reach the Kubernetes API server at x: refused", False)
    assert pipeline.explained(fault) is fault and fault.code == ClusterUnreachable.code == 3


class ListFails(FakeApiServer):
    """A LIST of the deployment's members answers 500 (not a storage fault: never retried)."""

    def request_full(self, method, path, query=None, *args, **kw):
        if method == "GET" and path.endswith("/configmaps") and "/namespaces/default/" in path:
            raise ApiError(500, "InternalError", "admission plugin exploded")
        return super().request_full(method, path, query, *args, **kw)


class Refuses(FakeApiServer):
    def _apply(self, path, body, dry):
        if "/namespaces/default/" not in path:
            return super()._apply(path, body, dry)
        raise ApiError(422, "Invalid", "ConfigMap \"web\" is invalid: data: Too long")


@pytest.mark.parametrize("api, words", [
    (ListFails(), "admission plugin exploded"),
    (Refuses(), "ConfigMap \"web\" is invalid: data: Too long"),
])
def test_a_refusal_answers_code_5_with_the_servers_reason(api, words):
    answer, _api = through_pipeline(deployment(CM), api)
    last = answer["deploy_stderr"].strip().splitlines()[-1]
    assert answer["deploy_status_code"] == 5, last
    assert last.startswith("ERROR: ") and words in last
