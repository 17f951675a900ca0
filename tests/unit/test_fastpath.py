"""The fast re-delivery's pure parts: its key, its parent name, its kubeconfig subset."""
from __future__ import annotations

import copy
import json

import pytest

from heat_k8s_hook import fastpath, tinykube
from heat_k8s_hook.deployment import load_deployment
from heat_k8s_hook.inventory import parent_name


def payload(action="UPDATE", **extra) -> dict:
    inputs = [{"name": "replicas", "type": "Number", "value": 2},
              {"name": "deploy_action", "type": "String", "value": action},
              {"name": "deploy_stack_id", "type": "String", "value": "shop/0b5c2d7e-1111"},
              {"name": "deploy_resource_name", "type": "String", "value": "web_deployment"},
              {"name": "deploy_signal_id", "type": "String", "value": "http://x/?sig=1"},
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
                                   {"name": ""}, {"name": "A Name/With Stuff"}])
def test_parent_path_is_the_full_paths_parent(extra):
    p = payload(**extra)
    dep = load_deployment(json.dumps(p))
    assert fastpath.naming(p) == (
        dep.identity, f"/api/v1/namespaces/heat-k8s-hook/configmaps/{parent_name(dep.slug)}")


def test_key_ignores_what_changes_per_action(env):
    key = fastpath.delivery_key(payload(), env)
    other = payload(action="CREATE", id="other", creation_time="later")
    other["inputs"][4]["value"] = "http://x/?sig=2"
    assert key and fastpath.delivery_key(other, env) == key


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
    digests = {fastpath.digest([("s", x)]) for x in (listing, changed, added, {"items": []})}
    assert len(digests) == 4
