"""engine/patch.py, pinned exactly (survivors of its mutation run): the query of each
server-side apply PATCH (fieldManager, force only when the conflict policy says, dryRun=All only
on a dry run), the stand-in namespace of a dry run, the retry with force that takes back fields
edited by hand, and the pure `explain`, `is_new` and `action_of` with exact results.

The unit suite's fake API server ignores query parameters; here a recording cluster keeps every
request's method, path, query, body, content type, timeout and `answer` as sent."""
from __future__ import annotations

import json
import logging

import pytest

from heat_k8s_hook.engine import patch
from heat_k8s_hook.engine.bind import Item
from heat_k8s_hook.errors import ApplyRejected
from heat_k8s_hook.input.render import Manifest
from heat_k8s_hook.kube.cluster import APPLY_PATCH, ApiError, Resource
from heat_k8s_hook.objects import Action, ObjectRef

CM = Resource("", "v1", "ConfigMap", "configmaps", True)
CONFLICT = 'Apply failed with 1 conflict: conflict with "kubectl-edit": .data.k'
HAND_EDITED = {"metadata": {"managedFields": [
    {"manager": "kubectl-edit", "operation": "Update"},
    {"manager": "heat-k8s-hook", "operation": "Apply"}]}}
NO_HAND_EDIT = {"metadata": {"managedFields": [
    {"manager": "heat-k8s-hook", "operation": "Apply"}]}}


class Recording:
    """A Cluster's request_full that records each call and answers from a script: an
    ApiError is raised, anything else returned."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = []

    def request_full(self, method, path, query, data, content_type, timeout, answer):
        self.calls.append({"method": method, "path": path, "query": dict(query),
                           "body": json.loads(data), "content_type": content_type,
                           "timeout": timeout, "answer": answer})
        reply = self.answers.pop(0)
        if isinstance(reply, ApiError):
            raise reply
        return reply


def _item():
    body = {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cfg", "namespace": "team-a", "labels": {"x": "y"}},
            "data": {"k": "v"}}
    return Item(Manifest(3, body), ObjectRef("", "ConfigMap", "team-a", "cfg", "v1"),
                body, CM)


def _patcher(cluster, force=False, manager="my-manager"):
    return patch.Patcher(cluster, manager, force, lambda s: s.replace("sekret", "***"),
                         lambda: 7.5)


def _call(dry_run, force=None, query_force=None):
    return {"method": "PATCH", "path": "/api/v1/namespaces/team-a/configmaps/cfg",
            "query": {"fieldManager": "my-manager", "force": query_force,
                      "dryRun": "All" if dry_run else None},
            "body": _item().body, "content_type": APPLY_PATCH, "timeout": 7.5,
            "answer": True}


@pytest.mark.parametrize("dry_run", [False, True])
@pytest.mark.parametrize("force", [False, True])
def test_one_patch_carries_field_manager_force_and_dry_run(dry_run, force):
    cluster = Recording((200, {"ok": 1}))
    item = _item()
    assert _patcher(cluster, force).patch(item, dry_run, None) == (200, {"ok": 1})
    assert cluster.calls == [_call(dry_run, query_force="true" if force else None)]
    assert item.body["metadata"]["namespace"] == "team-a"


def test_answer_false_is_passed_on():
    cluster = Recording((200, None))
    assert _patcher(cluster).patch(_item(), False, None, answer=False) == (200, None)
    assert cluster.calls[0]["answer"] is False
    cluster = Recording((200, None))
    _patcher(cluster).patch(_item(), False, None)
    assert cluster.calls[0]["answer"] is True


@pytest.mark.parametrize("dry_run", [False, True])
def test_stand_in_namespace_replaces_body_namespace_and_forces(dry_run):
    cluster = Recording((201, {"ok": 2}))
    item = _item()
    assert _patcher(cluster).patch(item, dry_run, None, stand_in="stand-in-ns") == \
        (201, {"ok": 2})
    body = _item().body
    body["metadata"] = {"name": "cfg", "namespace": "stand-in-ns", "labels": {"x": "y"}}
    assert cluster.calls == [{
        "method": "PATCH", "path": "/api/v1/namespaces/stand-in-ns/configmaps/cfg",
        "query": {"fieldManager": "my-manager", "force": "true",
                  "dryRun": "All" if dry_run else None},
        "body": body, "content_type": APPLY_PATCH, "timeout": 7.5, "answer": True}]
    # the item's own body is not changed
    assert item.body == _item().body


@pytest.mark.parametrize("dry_run", [False, True])
def test_hand_edits_are_taken_back_with_force(dry_run, caplog):
    cluster = Recording(ApiError(409, "Conflict", CONFLICT), (200, {"ok": 3}))
    with caplog.at_level(logging.WARNING, logger="heat_k8s_hook"):
        assert _patcher(cluster).patch(_item(), dry_run, HAND_EDITED, answer=False) == \
            (200, {"ok": 3})
    first, second = _call(dry_run), _call(dry_run, query_force="true")
    first["answer"] = second["answer"] = False
    assert cluster.calls == [first, second]
    warnings = [r.getMessage() for r in caplog.records if r.name == "heat_k8s_hook"]
    if dry_run:
        assert warnings == []
    else:
        assert warnings == [f"{_item().ref}: taking back fields edited by hand (kubectl-edit)"]


def test_two_hand_editors_are_named_in_the_warning(caplog):
    current = {"metadata": {"managedFields": [
        {"manager": "kubectl-edit", "operation": "Update"},
        {"manager": "kubectl-scale", "operation": "Update"}]}}
    message = 'Apply failed with 2 conflicts: conflict with "kubectl-scale": .spec.replicas\n' \
              'conflict with "kubectl-edit": .data.k'
    cluster = Recording(ApiError(409, "Conflict", message), (200, {}))
    with caplog.at_level(logging.WARNING, logger="heat_k8s_hook"):
        _patcher(cluster).patch(_item(), False, current)
    assert [r.getMessage() for r in caplog.records if r.name == "heat_k8s_hook"] == [
        f"{_item().ref}: taking back fields edited by hand (kubectl-edit, kubectl-scale)"]


def test_retry_refused_is_explained():
    cluster = Recording(ApiError(409, "Conflict", CONFLICT),
                        ApiError(403, "Forbidden", "no sekret"))
    with pytest.raises(ApplyRejected) as err:
        _patcher(cluster).patch(_item(), False, HAND_EDITED)
    assert str(err.value) == "document 3 (ConfigMap cfg): forbidden: no ***"
    assert len(cluster.calls) == 2


def test_conflict_with_an_applier_is_refused_with_the_way_out():
    cluster = Recording(ApiError(409, "Conflict", CONFLICT))
    with pytest.raises(ApplyRejected) as err:
        _patcher(cluster).patch(_item(), False, NO_HAND_EDIT)
    assert str(err.value) == "document 3 (ConfigMap cfg): " + CONFLICT + \
        " (another field manager owns these fields; set option force_conflicts: true to " \
        "take them over)"
    assert len(cluster.calls) == 1


def test_forced_patch_is_not_retried_even_for_hand_edits():
    cluster = Recording(ApiError(409, "Conflict", CONFLICT))
    with pytest.raises(ApplyRejected) as err:
        _patcher(cluster, force=True).patch(_item(), False, HAND_EDITED)
    assert str(err.value).startswith("document 3 (ConfigMap cfg): " + CONFLICT)
    assert len(cluster.calls) == 1


def test_other_refusal_is_not_retried():
    cluster = Recording(ApiError(403, "Forbidden", "sekret denied"))
    with pytest.raises(ApplyRejected) as err:
        _patcher(cluster).patch(_item(), True, HAND_EDITED)
    assert str(err.value) == "document 3 (ConfigMap cfg): forbidden: *** denied"
    assert len(cluster.calls) == 1


def test_patcher_explain_uses_the_status():
    p = _patcher(Recording())
    assert p.explain(ApiError(403, "Forbidden", "sekret")) == "forbidden: ***"
    assert p.explain(ApiError(422, "Invalid", "bad sekret")) == "bad ***"


def test_explain_exact():
    def mask(s):
        return s.replace("sekret", "***")
    tail = " (another field manager owns these fields; set option force_conflicts: " \
           "true to take them over)"
    assert patch.explain(409, "Conflict with sekret", mask) == "Conflict with ***" + tail
    assert patch.explain(409, "already exists", mask) == "already exists"
    assert patch.explain(422, "conflict of sekret", mask) == "conflict of ***"
    assert patch.explain(403, "conflict", mask) == "forbidden: conflict"
    assert patch.explain(500, "boom", mask) == "boom"


def test_is_new_exact():
    assert patch.is_new({"metadata": {"managedFields": [{"operation": "Apply"}]}}) is True
    assert patch.is_new({"metadata": {"managedFields": [{"operation": "Update"}]}}) is False
    assert patch.is_new({"metadata": {"managedFields": [
        {"operation": "Update"}, {"operation": "Apply"}]}}) is False
    assert patch.is_new({"metadata": {"managedFields": [
        {"operation": "Apply"}, {"operation": "Apply"}]}}) is False
    assert patch.is_new({"metadata": {}}) is False
    assert patch.is_new({"kind": "ConfigMap"}) is False
    assert patch.is_new(None) is False
    assert patch.is_new({}) is False


def test_action_of_exact():
    created = {"metadata": {"managedFields": [{"operation": "Apply"}],
                            "resourceVersion": "5"}}
    assert patch.action_of(201, {"metadata": {}}, {"metadata": {}}) is Action.CREATED
    assert patch.action_of(200, created, None) is Action.CREATED
    assert patch.action_of(200, {"metadata": {}}, None) is Action.CONFIGURED
    assert patch.action_of(200, created, {"metadata": {"resourceVersion": "5"}}) is \
        Action.UNCHANGED
    assert patch.action_of(200, created, {"metadata": {"resourceVersion": "4"}}) is \
        Action.CONFIGURED
    # an answer or a live object without metadata (none here: both have no resourceVersion)
    assert patch.action_of(200, {}, {"metadata": {"resourceVersion": "4"}}) is \
        Action.CONFIGURED
    assert patch.action_of(200, {"metadata": {"resourceVersion": "4"}}, {}) is \
        Action.CONFIGURED
    assert patch.action_of(200, {}, {}) is Action.UNCHANGED
