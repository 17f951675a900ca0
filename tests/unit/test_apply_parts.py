"""The Applier's parts alone: binding, the conflict policy, what an answer means, deleting.

No cluster and no pool: the parts take their lookups as arguments (bind), or are pure (the
conflict policy, `action_of`, `delete_options`), or run against a scripted cluster (remove).
Checked red: with the policy's "and not also an applier" dropped, the `both` case failed.
"""
from __future__ import annotations

import pytest

from heat_k8s_hook.engine import bind, members, patch, remove
from heat_k8s_hook.errors import ApplyRejected, InvalidInput
from heat_k8s_hook.input.render import Manifest
from heat_k8s_hook.kube.cluster import ApiError, NotFound, Resource, UnknownKind
from heat_k8s_hook.objects import Action, ObjectRef

CM = Resource("", "v1", "ConfigMap", "configmaps", True)
ROLE = Resource("rbac.authorization.k8s.io", "rbac.authorization.k8s.io/v1", "ClusterRole",
                "clusterroles", False)
CRDS = Resource("apiextensions.k8s.io", "apiextensions.k8s.io/v1", "CustomResourceDefinition",
                 "customresourcedefinitions", False)
TABLE = {("v1", "ConfigMap"): CM, ("rbac.authorization.k8s.io/v1", "ClusterRole"): ROLE,
         ("apiextensions.k8s.io/v1", "CustomResourceDefinition"): CRDS}


def resource_of(api_version: str, kind: str) -> Resource:
    try:
        return TABLE[(api_version, kind)]
    except KeyError:
        raise UnknownKind(f"{api_version} {kind} is not served") from None


def manifest(index: int, obj: dict) -> Manifest:
    return Manifest(index, obj)


CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
       "metadata": {"name": "widgets.example.com"},
       "spec": {"group": "example.com", "scope": "Namespaced",
                "names": {"kind": "Widget", "plural": "widgets"},
                "versions": [{"name": "v1"}]}}


def test_bind_defaults_namespaces_labels_and_defers_the_configs_own_kinds():
    found = bind.bind([
        manifest(0, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}),
        manifest(1, {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                     "metadata": {"name": "r"}}),
        manifest(2, {"apiVersion": "example.com/v1", "kind": "Widget",
                     "metadata": {"name": "w"}}),
        manifest(3, CRD),
    ], "shop", "set-1", resource_of)
    cm, role, widget, _crd = found
    assert cm.ref == ObjectRef("", "ConfigMap", "shop", "a", "v1") and cm.resource is CM
    assert cm.body["metadata"]["namespace"] == "shop"
    assert cm.body["metadata"]["labels"]["applyset.kubernetes.io/part-of"] == "set-1"
    assert role.ref.namespace == "" and "namespace" not in role.body["metadata"]
    assert widget.resource is None and widget.ref.namespace == "shop"   # bound later
    assert bind.versions_to_discover([manifest(0, CRD), manifest(1, {
        "apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}})]) == \
        ["apiextensions.k8s.io/v1"]


@pytest.mark.parametrize("obj,message", [
    ({"apiVersion": "v1", "kind": "Nope", "metadata": {"name": "x"}}, "is not served"),
    ({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
      "metadata": {"name": "r", "namespace": "shop"}}, "cluster-scoped"),
    ({"apiVersion": "example.com/v2", "kind": "Widget", "metadata": {"name": "w"}},
     "not one of the versions"),
])
def test_bind_refuses_what_cannot_be_bound(obj, message):
    with pytest.raises(InvalidInput, match=message):
        bind.bind([manifest(0, CRD), manifest(1, obj)], None, "s", resource_of)


MANAGED = {"metadata": {"managedFields": [
    {"manager": "heat-k8s-hook", "operation": "Apply"},
    {"manager": "kubectl-edit", "operation": "Update"},
    {"manager": "argo", "operation": "Apply"},
    {"manager": "both", "operation": "Update"}, {"manager": "both", "operation": "Apply"}]}}


@pytest.mark.parametrize("message,current,expected", [
    ('Apply failed with 1 conflict: conflict with "kubectl-edit": .spec.replicas', MANAGED,
     ["kubectl-edit"]),
    ('Apply failed with 2 conflicts: conflicts with "argo": .data.a', MANAGED, []),
    ('conflict with "kubectl-edit" ... conflict with "argo"', MANAGED, []),
    ('conflict with "both"', MANAGED, []),        # an applier too: a real conflict
    ('conflict with "kubectl-edit"', None, []),      # not one of ours as last observed
    ("conflict with nobody named", MANAGED, []),
])
def test_the_conflict_policy_takes_back_only_hand_edits(message, current, expected):
    assert patch.hand_editors(409, message, current) == expected
    assert patch.hand_editors(422, message, current) == []


def test_explain_masks_and_says_the_way_out():
    mask = lambda s: s.replace("sekret", "***")   # noqa: E731
    assert patch.explain(409, "Apply failed: conflict with x (sekret)", mask).endswith(
        "(another field manager owns these fields; set option force_conflicts: true to take "
        "them over)")
    assert "sekret" not in patch.explain(409, "conflict sekret", mask)
    assert patch.explain(403, "no", mask) == "forbidden: no"
    assert patch.explain(422, "bad", mask) == "bad"


def test_what_an_apply_did_from_its_answer():
    before = {"metadata": {"resourceVersion": "5"}}
    assert patch.action_of(201, {"metadata": {}}, None) is Action.CREATED
    assert patch.action_of(200, {"metadata": {"managedFields": [
        {"manager": "h", "operation": "Apply"}]}}, None) is Action.CREATED
    assert patch.action_of(200, {"metadata": {"resourceVersion": "5"}}, before) is \
        Action.UNCHANGED
    assert patch.action_of(200, {"metadata": {"resourceVersion": "6"}}, before) is \
        Action.CONFIGURED


def test_members_are_keyed_like_refs():
    scopes = [(CM, "shop")]
    live = members.by_key(scopes, [[{"metadata": {"name": "a", "namespace": "shop"}}]])
    assert list(live) == [ObjectRef("", "ConfigMap", "shop", "a", "v1").key]


REF = ObjectRef("", "ConfigMap", "shop", "a", "v1")
LIVE = {"metadata": {"name": "a", "uid": "u-1",
                     "labels": {"applyset.kubernetes.io/part-of": "set-1"}}}


def test_delete_options_only_for_what_is_still_ours():
    body = remove.delete_options(REF, LIVE, ("set-1",))
    assert body["preconditions"] == {"uid": "u-1"} and body["propagationPolicy"]
    assert remove.delete_options(REF, LIVE, ("set-2",)) is None
    assert remove.delete_options(REF, LIVE, ("set-2", "set-1")) is not None   # an adopted set
    assert remove.delete_options(REF, LIVE, ("set-10", "set")) is None      # ids, not text


class Scripted:
    def __init__(self, get, delete=None):
        self.answers = {"GET": get, "DELETE": delete}
        self.deleted: list = []

    def resource(self, api_version, kind):
        return CM

    def get(self, path, query=None, timeout=30.0):
        if isinstance(self.answers["GET"], Exception):
            raise self.answers["GET"]
        return self.answers["GET"]

    def request(self, method, path, body=None, timeout=30.0):
        self.deleted.append(body)
        if isinstance(self.answers["DELETE"], Exception):
            raise self.answers["DELETE"]


@pytest.mark.parametrize("cluster,action", [
    (Scripted(LIVE), Action.PRUNED),
    (Scripted(NotFound(404, "NotFound", "gone")), Action.GONE),
    (Scripted(LIVE, NotFound(404, "NotFound", "gone")), Action.GONE),
    (Scripted(LIVE, ApiError(409, "Conflict", "uid precondition")), Action.GONE),
    (Scripted(dict(LIVE, metadata=dict(LIVE["metadata"], labels={}))), Action.SKIPPED),
])
def test_delete_one(cluster, action):
    change = remove.delete_one(cluster, REF, Action.PRUNED, ("set-1",), lambda s: s,
                               lambda: 1.0)
    assert change.action is action
    if action is Action.SKIPPED:
        assert cluster.deleted == []


def test_a_refused_delete_is_rejected_masked():
    cluster = Scripted(LIVE, ApiError(403, "Forbidden", "user sekret cannot"))
    with pytest.raises(ApplyRejected, match="forbidden: user \\*\\*\\* cannot"):
        remove.delete_one(cluster, REF, Action.PRUNED, ("set-1",),
                          lambda s: s.replace("sekret", "***"), lambda: 1.0)
