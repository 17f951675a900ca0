"""Ordering, membership, prune sets and the unchanged test: plain data."""
from heat_k8s_hook.engine import drift, plan
from heat_k8s_hook.engine.inventory import applyset_id, members_of, parent_body
from heat_k8s_hook.objects import ObjectRef


class It:
    def __init__(self, kind, name):
        self.ref = ObjectRef("", kind, "ns", name, "v1")


def test_stages_follow_helm_order():
    items = [It(k, k.lower()) for k in
             ("Deployment", "Widget", "Service", "ConfigMap", "Namespace", "CustomResourceDefinition",
              "Job", "Secret", "ServiceAccount")]
    st = [[i.ref.kind for i in s] for s in plan.stages(items)]
    # a ServiceAccount before the Secrets that name it (the token controller deletes a token
    # Secret it sees first); seen red with ServiceAccount back among the dependencies
    assert st[0] == ["Namespace", "ServiceAccount", "CustomResourceDefinition"]
    assert st[1] == ["Secret", "ConfigMap", "Service"]
    assert st[2] == ["Deployment", "Job", "Widget"]


def test_delete_order_is_reverse():
    refs = [ObjectRef("", "Namespace", "", "n", "v1"), ObjectRef("apps", "Deployment", "n", "d", "v1"),
            ObjectRef("", "ConfigMap", "n", "c", "v1")]
    assert [r.kind for r in plan.delete_order(refs)] == ["Deployment", "ConfigMap", "Namespace"]


def test_to_prune_ignores_version_changes():
    old = [ObjectRef("apps", "Deployment", "n", "d", "v1beta1"), ObjectRef("", "ConfigMap", "n", "c", "v1")]
    new = [ObjectRef("apps", "Deployment", "n", "d", "v1")]
    assert plan.to_prune(old, new) == [old[1]]


def test_membership_label_and_hash():
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}}
    a = plan.with_membership(obj, "applyset-x-v1")
    b = plan.with_membership(dict(obj, data={"a": "2"}), "applyset-x-v1")
    assert a["metadata"]["labels"][plan.PART_OF] == "applyset-x-v1"
    assert a["metadata"]["annotations"][plan.CONFIG_HASH] != b["metadata"]["annotations"][plan.CONFIG_HASH]
    assert "labels" not in obj["metadata"]  # the manifest itself is not modified


def test_unchanged_detects_drift_and_config_change():
    body = plan.with_membership({"apiVersion": "apps/v1", "kind": "Deployment",
                                 "metadata": {"name": "d", "namespace": "n"},
                                 "spec": {"replicas": 3, "template": {"spec": {"containers": [
                                     {"name": "c", "image": "nginx", "ports": [{"containerPort": 80}]}]}}}},
                                "s")
    live = {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": dict(body["metadata"], uid="u", resourceVersion="5"),
            "spec": {"replicas": 3, "strategy": {"type": "RollingUpdate"},
                     "template": {"spec": {"containers": [
                         {"name": "c", "image": "nginx", "imagePullPolicy": "Always",
                          "ports": [{"containerPort": 80, "protocol": "TCP"}]}]}}},
            "status": {"replicas": 3}}
    assert drift.unchanged(body, live)                       # server defaults don't count
    drifted = dict(live, spec=dict(live["spec"], replicas=1))
    assert not drift.unchanged(body, drifted)                # hand edit of our field
    assert not drift.unchanged(body, None)
    other = plan.with_membership(dict(body, spec=dict(body["spec"], replicas=4)), "s")
    assert not drift.unchanged(other, live)                  # config changed


def test_zero_values_the_server_drops_are_unchanged():
    """`minReadySeconds: 0`, `hostNetwork: false`, `subdomain: ""` come back absent (the API
    server drops omitempty zero values): still unchanged, so a re-delivery (or a late member of
    a group, issue 15) sends no PATCH. Seen in the HA e2e: every late member re-applied a
    Deployment with minReadySeconds 0. Red without the zero-value rule in drift._matches."""
    spec = {"replicas": 2, "minReadySeconds": 0, "template": {"spec": {
        "hostNetwork": False, "subdomain": "", "containers": [{"name": "c", "image": "nginx"}]}}}
    body = plan.with_membership({"apiVersion": "apps/v1", "kind": "Deployment",
                                 "metadata": {"name": "d", "namespace": "n"}, "spec": spec}, "s")
    live = {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": dict(body["metadata"], uid="u", resourceVersion="5"),
            "spec": {"replicas": 2, "template": {"spec": {
                "containers": [{"name": "c", "image": "nginx"}]}}}}
    assert drift.unchanged(body, live)
    live["spec"]["minReadySeconds"] = 10                # a value that is there still counts
    assert not drift.unchanged(body, live)
    zero = dict(live, spec=dict(live["spec"], replicas=0))
    assert not drift.unchanged(body, dict(zero, spec=dict(zero["spec"], minReadySeconds=0)))


def test_applyset_parent_matches_kubectl_id_and_lists_members():
    # kubectl's ID for ConfigMap "x" in namespace "heat-k8s-hook"
    import base64
    import hashlib
    expected = "applyset-" + base64.urlsafe_b64encode(
        hashlib.sha256(b"x.heat-k8s-hook.ConfigMap.").digest()).decode().rstrip("=") + "-v1"
    assert applyset_id("x") == expected
    refs = [ObjectRef("apps", "Deployment", "prod", "web", "v1"),
            ObjectRef("", "Namespace", "", "prod", "v1")]
    body = parent_body("x", "stack/1/res", refs)
    ann = body["metadata"]["annotations"]
    assert ann["applyset.kubernetes.io/contains-group-kinds"] == "Deployment.apps,Namespace"
    assert ann["applyset.kubernetes.io/additional-namespaces"] == "prod"
    assert sorted(members_of(body)) == sorted(refs)
    assert members_of(None) == []


def test_secret_string_data_compares_with_encoded_data():
    body = plan.with_membership({"apiVersion": "v1", "kind": "Secret",
                                 "metadata": {"name": "s", "namespace": "n"},
                                 "stringData": {"pw": "hunter2"}}, "x")
    live = {"apiVersion": "v1", "kind": "Secret", "metadata": body["metadata"],
            "data": {"pw": "aHVudGVyMg=="}, "type": "Opaque"}
    assert drift.unchanged(body, live)
    assert not drift.unchanged(body, dict(live, data={"pw": "b3RoZXI="}))


def test_wipe_out_refused_unless_allowed():
    owned = [ObjectRef("", "ConfigMap", "n", "c", "v1"), ObjectRef("apps", "Deployment", "n", "d", "v1")]
    cause = plan.wipe_out([], owned, allow_empty=False)
    assert cause and "owns 2" in cause and "allow_empty" in cause
    assert plan.wipe_out([], owned, allow_empty=True) is None      # said explicitly
    assert plan.wipe_out([], [], allow_empty=False) is None        # owns nothing: nothing to lose
    assert plan.wipe_out(owned[:1], owned, allow_empty=False) is None  # a shrink is a normal prune


def test_parent_records_how_to_judge_its_members():
    """`status IDENTITY` judges custom kinds by the deployment's own wait_rules."""
    from heat_k8s_hook.engine.inventory import judge_options
    refs = [ObjectRef("", "ConfigMap", "n", "c", "v1")]
    judge = {"wait_rules": {"example.com/Widget": "Synced"}, "unschedulable_grace": 30.0}
    assert judge_options(parent_body("x", "stack/1/res", refs, judge)) == judge
    assert judge_options(parent_body("x", "stack/1/res", refs)) == {}
    assert judge_options(None) == {}


def _deployment(resources: dict) -> dict:
    return {"spec": {"template": {"spec": {"containers": [{"name": "c", "resources": resources}]}}}}


def test_quantities_compare_as_the_server_stores_them():
    """Checked red with the quantity comparison removed: `1000m` never equalled `1`."""
    desired = _deployment({"limits": {"cpu": "1000m", "memory": "1024Mi"},
                           "requests": {"cpu": 0.5, "memory": "0.5Gi"}})
    live = _deployment({"limits": {"cpu": "1", "memory": "1Gi"},
                        "requests": {"cpu": "500m", "memory": "512Mi"}})
    assert drift._matches(desired, live)
    assert not drift._matches(_deployment({"limits": {"cpu": "2"}}), live)
    # outside resource fields a quantity-looking string is just a string
    assert not drift._matches({"data": {"cpu": "1000m"}}, {"data": {"cpu": "1"}})


def test_empty_maps_and_lists_match_what_the_server_dropped():
    assert drift._matches({"metadata": {"annotations": {}}, "args": []}, {"metadata": {}})
    assert not drift._matches({"args": ["a"]}, {})


def test_same_object_ignores_only_resource_version_and_times():
    live = {"kind": "ConfigMap", "metadata": {"name": "c", "resourceVersion": "5",
                                              "managedFields": [{"manager": "m", "time": "t1"}]},
            "data": {"a": "1"}}
    answer = {"kind": "ConfigMap", "metadata": {"name": "c", "resourceVersion": "6",
                                                "managedFields": [{"manager": "m", "time": "t2"}]},
              "data": {"a": "1"}}
    assert drift.same_object(answer, live)
    assert not drift.same_object(dict(answer, data={"a": "2"}), live)
    assert not drift.same_object(None, live)
