"""The inventory parent's member list: compact at 10,000 members, old parents still read.

Breaking it on purpose: with `members_json` back to one object per member the size test fails
(1.25 MB > 1 MiB); with `_refs` reading only "names" the old-parent test fails (members_of
returns [] for a parent written by an earlier version, so prune and DELETE would lose them).
"""
import json

from heat_k8s_hook.engine.inventory import members_of, parent_body
from heat_k8s_hook.objects import ObjectRef

CONFIGMAP_LIMIT = 1024 * 1024  # the API server refuses a ConfigMap whose data exceeds 1 MiB


def _scale(n: int) -> list:
    """n members with realistic names: mostly ConfigMaps, Secrets and Services, some workloads."""
    kinds = [("", "ConfigMap", "v1"), ("", "Secret", "v1"), ("", "Service", "v1"),
             ("apps", "Deployment", "v1")]
    return [ObjectRef(g, k, "my-application-production", f"my-application-component-{i}", v)
            for i in range(n) for g, k, v in [kinds[i % len(kinds)]]]


def test_10000_members_fit_far_under_the_configmap_limit():
    refs = _scale(10_000) + [ObjectRef("", "Namespace", "", "my-application-production", "v1")]
    body = parent_body("heat-x", "stack/1/res", refs)
    size = len(json.dumps(body["data"]).encode())
    assert size < CONFIGMAP_LIMIT // 3, size
    assert sorted(members_of(body)) == sorted(refs)


def test_members_are_grouped_by_api_version_kind_and_namespace():
    refs = [ObjectRef("apps", "Deployment", "prod", "web", "v1"),
            ObjectRef("", "ConfigMap", "prod", "b", "v1"),
            ObjectRef("", "ConfigMap", "prod", "a", "v1"),
            ObjectRef("", "Namespace", "", "prod", "v1")]
    groups = json.loads(parent_body("x", "s/1/r", refs)["data"]["members"])
    assert groups == [
        {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "prod", "names": ["web"]},
        {"apiVersion": "v1", "kind": "ConfigMap", "namespace": "prod", "names": ["a", "b"]},
        {"apiVersion": "v1", "kind": "Namespace", "namespace": "", "names": ["prod"]},
    ]


def test_a_parent_written_by_an_earlier_version_is_still_read():
    old = {"data": {"members": json.dumps([
        {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "prod", "name": "web"},
        {"apiVersion": "v1", "kind": "Namespace", "namespace": "", "name": "prod"}])}}
    assert sorted(members_of(old)) == sorted([ObjectRef("apps", "Deployment", "prod", "web", "v1"),
                                              ObjectRef("", "Namespace", "", "prod", "v1")])


def test_an_unreadable_member_list_is_empty():
    assert members_of({"data": {"members": "not json"}}) == []
    assert members_of({"data": {"members": json.dumps(["a string"])}}) == []
    assert members_of({"data": {}}) == []
