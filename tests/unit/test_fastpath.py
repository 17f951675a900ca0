"""The fast re-delivery's pure parts: its key, its parent name, its kubeconfig subset."""
from __future__ import annotations

import copy
import json
import threading
import types

import pytest

from heat_k8s_hook.engine import inventory
from heat_k8s_hook.entry import fastpath
from heat_k8s_hook.input.deployment import load_deployment
from heat_k8s_hook.kube import tinykube
from heat_k8s_hook.names import parent_name

# As Heat signs a CFN_SIGNAL URL: the resource's ARN path and EC2 access key, a new timestamp
# and signature per action (heat/engine/resources/signal_responder.py _get_ec2_signed_url).
CFN_URL = ("http://127.0.0.1:8000/v1/signal/arn%%3Aopenstack%%3Aheat%%3A%%3At%%3Astacks/shop/1/"
           "resources/web_deployment?SignatureMethod=HmacSHA256&SignatureVersion=2&"
           "AWSAccessKeyId=%s&Timestamp=%s&Signature=sig")


def payload(action="UPDATE", **extra) -> dict:
    inputs = [{"name": "replicas", "type": "Number", "value": 2},
              {"name": "deploy_action", "type": "String", "value": action},
              {"name": "deploy_stack_id", "type": "String", "value": "shop/0b5c2d7e-1111"},
              {"name": "deploy_resource_name", "type": "String", "value": "web_deployment"},
              {"name": "deploy_signal_id", "type": "String", "value": CFN_URL % ("AK1", "t1")},
              {"name": "deploy_password", "type": "String", "value": "pw"}]
    base = {"id": "5d1c", "name": "shop-web", "group": "kubectl", "creation_time": "t",
            "config": "kind: ConfigMap\nmetadata: {name: c}\n", "options": {"namespace": "shop"},
            "inputs": inputs, "outputs": []}
    base.update(extra)
    return base


@pytest.fixture
def env(tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\n")
    kubeconfig.chmod(0o600)
    return {"KUBECONFIG": str(kubeconfig), "HEAT_K8S_HOOK_CONFIG": str(tmp_path / "none.yaml")}


@pytest.mark.parametrize("extra", [{}, {"options": {"application": "shop-web"}},
                                   {"name": ""}, {"name": "A Name/With Stuff"},
                                   # Heat's own name for a config: <stack>-<resource>-<short id>
                                   {"name": "web-deployment-q3hxbb2zk6ld"},
                                   {"name": "web-deployment-q3hxbb2zk6ld",
                                    "options": {"application": "shop-web"}}])
def test_parent_path_is_the_full_paths_parent(extra):
    p = payload(**extra)
    dep = load_deployment(json.dumps(p))
    assert fastpath.naming(p) == (
        dep.identity, f"/api/v1/namespaces/heat-k8s-hook/configmaps/{parent_name(dep.slug)}")


def test_key_ignores_what_changes_per_action(env):
    key = fastpath.delivery_key(payload(), env)
    other = payload(action="CREATE", id="other", creation_time="later")
    other["inputs"][4]["value"] = CFN_URL % ("AK1", "t2")
    assert key and fastpath.delivery_key(other, env) == key


def test_a_replacement_resource_never_takes_the_fast_path(env):
    """Its CREATE must reach the Lease, to be recorded as the application's owner: otherwise
    the replaced resource's DELETE would delete the application (issue 23)."""
    other = payload()
    other["inputs"][4]["value"] = CFN_URL % ("AK2", "t1")   # another resource's access key
    assert fastpath.delivery_key(other, env) != fastpath.delivery_key(payload(), env)


@pytest.mark.parametrize("change", ["config", "options", "input", "password", "settings",
                                    "kubeconfig"])
def test_key_changes_with_what_decides_the_result(env, change, tmp_path):
    key = fastpath.delivery_key(payload(), env)
    p = payload()
    if change == "config":
        p["config"] += "data: {a: b}\n"
    elif change == "options":
        p["options"]["timeout"] = 30
    elif change == "input":
        p["inputs"][0]["value"] = 3
    elif change == "password":
        p["inputs"][5]["value"] = "other"
    elif change == "settings":
        (tmp_path / "none.yaml").write_text("max_timeout: 60\n")
    else:
        (tmp_path / "kubeconfig").chmod(0o640)
    assert fastpath.delivery_key(p, env) != key


def test_no_key_for_delete_or_an_operator_default(env, tmp_path):
    assert fastpath.delivery_key(payload(action="DELETE"), env) is None
    (tmp_path / "none.yaml").write_text("default_kubeconfig: /elsewhere/kubeconfig\n")
    assert fastpath.delivery_key(payload(), dict(env, KUBECONFIG="")) is None
    (tmp_path / "none.yaml").write_text("keystone: {auth_url: http://k}\n")
    assert fastpath.delivery_key(payload(), env) is None


def test_load_refuses_what_the_strict_reader_refuses():
    assert fastpath.load(b'{"a": 1, "a": 2}') is None
    assert fastpath.load(b'{"a": NaN}') is None
    assert fastpath.load(b'[1]') is None
    assert fastpath.load(json.dumps(payload()).encode()) == payload()


KUBECONFIG = """\
apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: QUJD
    server: https://127.0.0.1:6443
  name: kind
contexts:
- context:
    cluster: kind
    user: admin   # a comment
  name: kind
current-context: kind
kind: Config
preferences: {}
users:
- name: admin
  user:
    token: 'abc''def'
"""


def test_kubeconfig_subset():
    config = tinykube.parse_kubeconfig(KUBECONFIG)
    assert config["clusters"][0] == {"cluster": {"certificate-authority-data": "QUJD",
                                                 "server": "https://127.0.0.1:6443"},
                                     "name": "kind"}
    assert config["contexts"][0]["context"]["user"] == "admin"
    assert config["users"][0]["user"]["token"] == "abc'def"
    assert config["preferences"] == {}


@pytest.mark.parametrize("text", [
    "users:\n- name: a\n  user:\n    exec: &x\n      command: aws\n",
    "a: |\n  text\n", "a: b\n  c\n", "a: [1, 2]\n", "- a\n", "a: \"x\\ny\"\n",
])
def test_kubeconfig_beyond_the_subset_is_unsupported(text):
    with pytest.raises(tinykube.Unsupported):
        tinykube.parse_kubeconfig(text)


def test_exec_credentials_take_the_full_path(tmp_path):
    path = tmp_path / "kc"
    path.write_text(KUBECONFIG.replace("    token: 'abc''def'\n",
                                       "    exec:\n      command: aws\n"))
    with pytest.raises(tinykube.Unsupported):
        tinykube.Client(str(path), None)


def test_digest_sees_every_resource_version():
    listing = {"items": [{"metadata": {"namespace": "n", "name": "a", "resourceVersion": "1"}}]}
    changed = copy.deepcopy(listing)
    changed["items"][0]["metadata"]["resourceVersion"] = "2"
    added = copy.deepcopy(listing)
    added["items"].append({"metadata": {"namespace": "n", "name": "b", "resourceVersion": "1"}})
    digests = {inventory.digest([("s", x)]) for x in (listing, changed, added, {"items": []})}
    assert len(digests) == 4


# -- the record of a successful apply (engine/record.py) ---------------------------------------------

def _full(ns, name, rv) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": "v" * 100},
            "metadata": {"namespace": ns, "name": name, "resourceVersion": rv, "uid": "u",
                         "labels": {"applyset.kubernetes.io/part-of": "set"},
                         "managedFields": [{"manager": "heat-k8s-hook"}]}}


def _metadata_only(listing: dict) -> dict:
    """What the API server answers to inventory.METADATA_LIST for the same objects."""
    keep = ("namespace", "name", "resourceVersion", "uid", "labels", "managedFields")
    return {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
            "items": [{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                       "metadata": {k: o["metadata"][k] for k in keep if k in o["metadata"]}}
                      for o in listing["items"]]}


def test_digest_of_metadata_only_lists_is_the_digest_of_full_lists():
    """save (engine/record.py) and the fast path both LIST as PartialObjectMetadataList; a server
    that answers with full objects (the Accept's fallback) must give the same digest."""
    full = {"items": [_full("n", f"c{i}", str(10 + i)) for i in range(5)]}
    assert inventory.digest([("s", full)]) == inventory.digest([("s", _metadata_only(full))])


class _Recording:
    """The API server boundary of record.save: answers LISTs, remembers when and how."""

    def __init__(self):
        self.calls, self.lock = [], threading.Lock()

    def get(self, path, query=None, timeout=30.0, accept=None):
        with self.lock:
            self.calls.append((path.split("?")[0].rsplit("/", 1)[-1], accept))
        return {"items": [{"metadata": {"namespace": "app", "name": path[-12:],
                                        "resourceVersion": "7"}}]}


def _run_ctx(pool):
    from heat_k8s_hook.kube.cluster import Resource
    from heat_k8s_hook.objects import ObjectRef
    kinds = {"ConfigMap": Resource("", "v1", "ConfigMap", "configmaps", True),
             "Secret": Resource("", "v1", "Secret", "secrets", True),
             "Deployment": Resource("apps", "v1", "Deployment", "deployments", True)}
    items = {}
    for kind, names in (("ConfigMap", ["a", "b"]), ("Secret", ["s"]), ("Deployment", ["web"])):
        for name in names:
            ref = ObjectRef(kinds[kind].group, kind, "app", name, "v1")
            items[ref.key] = types.SimpleNamespace(ref=ref, resource=kinds[kind])
    recorded = {}
    ctx = types.SimpleNamespace(
        items=items, cluster=_Recording(), parent_name="heat-x",
        applier=types.SimpleNamespace(pool=pool, applyset_id="set"),
        deadline=types.SimpleNamespace(cap=lambda s: s),
        dep=types.SimpleNamespace(identity="shop/web", options=types.SimpleNamespace(
            wait_rules={}, unschedulable_grace=15.0)),
        inventory=types.SimpleNamespace(record=lambda *a, **kw: recorded.update(kw)))
    return ctx, recorded


def test_save_lists_metadata_only_and_ready_scopes_while_the_wait_goes_on():
    """The record's LISTs ask for metadata only, and a scope whose members are all ready is
    LISTed during the final wait, never before (the Deployment's scope waits for its verdict).

    Seen red: with save's LISTs of full objects (no Accept; every call's accept is None),
    and with the early LISTs removed (nothing listed while the Deployment is in progress)."""
    from concurrent.futures import ThreadPoolExecutor

    from heat_k8s_hook.engine import record as record_module
    from heat_k8s_hook.engine import steps
    from heat_k8s_hook.objects import Action
    from heat_k8s_hook.readiness.rules import Status
    from heat_k8s_hook.result.events import ObjectChanged, StepStarted, VerdictChanged
    from heat_k8s_hook.result.report import Masker
    with ThreadPoolExecutor(4) as pool:
        ctx, recorded = _run_ctx(pool)
        events = []
        rec = record_module.Recorder(events.append)
        rec.run_ctx = ctx
        refs = [it.ref for it in ctx.items.values()]
        for ref in refs:
            rec(ObjectChanged(ref, Action.CREATED))
        rec(StepStarted(5, 6, steps.WaitReady(tuple(refs))))
        for ref in refs[:3]:   # ConfigMaps and the Secret: ready as soon as applied
            rec(VerdictChanged(ref, Status.READY, "exists"))
        for future in list(rec.early.values()):
            future.result()
        assert sorted(p for p, _ in ctx.cluster.calls) == ["configmaps", "secrets"]
        rec(VerdictChanged(refs[3], Status.IN_PROGRESS, "rolling out"))
        assert len(ctx.cluster.calls) == 2
        rec(VerdictChanged(refs[3], Status.READY, "available"))
        record_module.save(ctx, rec, "k", Masker())
    assert sorted(p for p, _ in ctx.cluster.calls) == ["configmaps", "deployments", "secrets"]
    assert {a for _, a in ctx.cluster.calls} == {inventory.METADATA_LIST}
    record = json.loads(recorded["outcome"])
    assert record["objects"] == 4 and len(record["scopes"]) == 3
    assert len(events) == 4 + 1 + 3 + 2   # every event passed on


def test_a_scope_with_a_pruned_object_is_listed_at_the_end():
    """A pruned object may still be terminating (and listed) during the wait: its scope is
    LISTed by save, after the pruned objects are gone (seen red with the pruned check removed:
    the ConfigMaps' scope was LISTed during the wait)."""
    from concurrent.futures import ThreadPoolExecutor

    from heat_k8s_hook.engine import record, steps
    from heat_k8s_hook.objects import Action, ObjectRef
    from heat_k8s_hook.result.events import ObjectChanged, StepStarted
    with ThreadPoolExecutor(2) as pool:
        ctx, _ = _run_ctx(pool)
        rec = record.Recorder(lambda e: None)
        rec.run_ctx = ctx
        rec(ObjectChanged(ObjectRef("", "ConfigMap", "app", "old", "v1"), Action.PRUNED))
        rec(StepStarted(5, 6, steps.WaitReady(())))   # nothing waited: all ready at once
        assert sorted(rec.early) == sorted(s for s in record.scopes(ctx)
                                           if "/configmaps?" not in s)
