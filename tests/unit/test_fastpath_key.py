"""What the fast path's key and kubeconfig choice depend on, case by case (issue 26: mutants
of delivery_key, kubeconfig_path and naming survived test_fastpath.py)."""
from __future__ import annotations

import copy
import json

import pytest
from test_fastpath import env, payload  # noqa: F401 (env is a fixture)

from heat_k8s_hook.entry import fastpath


@pytest.mark.parametrize("change", ["group", "outputs", "context"])
def test_key_changes_with_group_outputs_and_context(env, change):  # noqa: F811
    key = fastpath.delivery_key(payload(), env)
    p = payload()
    if change == "group":
        p["group"] = "script"
    elif change == "outputs":
        p["outputs"] = [{"name": "addr"}]
    else:
        p["options"]["context"] = "other"
    assert key and fastpath.delivery_key(p, env) != key


def test_key_ignores_the_order_of_an_inputs_fields(env):  # noqa: F811
    p = payload()
    reordered = copy.deepcopy(p)
    reordered["inputs"] = [dict(reversed(list(i.items()))) for i in p["inputs"]]
    assert json.dumps(reordered["inputs"]) != json.dumps(p["inputs"])
    assert fastpath.delivery_key(reordered, env) == fastpath.delivery_key(p, env)


def settings(tmp_path, text: str) -> dict:
    path = tmp_path / "hook.yaml"
    path.write_text(text)
    return {"HEAT_K8S_HOOK_CONFIG": str(path), "KUBECONFIG": "/env/kc"}


@pytest.mark.parametrize("text,expected", [
    ("max_timeout: 30\ndefault_kubeconfig: /other/kc\n", "/env/kc"),   # $KUBECONFIG first
    ("max_timeout: 30\nkeystone:\n  auth_url: http://k\n", None),
    ("default_kubeconfig: /etc/heat-k8s-hook/kubeconfig\n", "/env/kc"),
    ("max_timeout: 30\n", "/env/kc"),
    ("default_kubeconfig: '/other/kc'\n", None),            # quoted: YAML decides
    ("default_kubeconfig: /a\ndefault_kubeconfig: /b\n", None),
    ("default_kubeconfig: /other/kc  # the operator's\n", None),
    ("x:\n  default_kubeconfig: /other/kc\n", None),
])
def test_the_settings_file_decides_whether_the_fast_path_can_tell(tmp_path, text, expected):
    assert fastpath.kubeconfig_path({}, settings(tmp_path, text)) == expected


def test_without_kubeconfig_the_operators_default_kubeconfig_is_the_full_paths(tmp_path):
    """Every controller tools/bootstrap-controller makes names its own default_kubeconfig:
    the fast path once gave up on any such file, so it never fired on them (seen in the e2e
    of a rebuilt controller, tests/e2e/test_redelivery.py)."""
    kc = tmp_path / "kc"
    kc.write_text("apiVersion: v1\n")
    environ = settings(tmp_path, f"max_timeout: 30\ndefault_kubeconfig: {kc}\n")
    del environ["KUBECONFIG"]
    assert fastpath.kubeconfig_path({}, environ) == str(kc)
    from heat_k8s_hook.config.settings import load_settings
    assert load_settings(environ).default_kubeconfig == str(kc)   # the full path reads the same
    kc.unlink()
    assert fastpath.kubeconfig_path({}, environ) is None


def test_the_kubeconfig_option_then_the_environment_then_the_default(tmp_path, monkeypatch):
    environ = settings(tmp_path, "")
    assert fastpath.kubeconfig_path({"options": {"kubeconfig": "/opt/kc"}}, environ) == "/opt/kc"
    assert fastpath.kubeconfig_path({"options": {"kubeconfig": ""}}, environ) == "/env/kc"
    bare = {"HEAT_K8S_HOOK_CONFIG": environ["HEAT_K8S_HOOK_CONFIG"]}
    monkeypatch.setattr(fastpath.os.path, "exists", lambda p: p == fastpath.DEFAULT_KUBECONFIG)
    assert fastpath.kubeconfig_path({}, bare) == fastpath.DEFAULT_KUBECONFIG
    monkeypatch.setattr(fastpath.os.path, "exists", lambda p: False)
    assert fastpath.kubeconfig_path({}, bare) is None


@pytest.mark.parametrize("inputs,name,ident", [
    ([], "", "only-an-id"),
    ([{"name": "deploy_resource_name", "value": "-" * 45 + "abc"}], "", "i"),
    ([{"name": "deploy_stack_id", "value": "s/1"}], "", "i"),
])
def test_naming_without_a_stack_or_a_resource_is_the_full_paths(inputs, name, ident):
    from heat_k8s_hook.input.deployment import load_deployment
    from heat_k8s_hook.names import parent_name
    p = {"config": "", "name": name, "id": ident,
         "inputs": [{"name": "deploy_action", "value": "UPDATE"}] + inputs}
    dep = load_deployment(json.dumps(p).encode())
    assert fastpath.naming(p) == (
        dep.identity, f"/api/v1/namespaces/heat-k8s-hook/configmaps/{parent_name(dep.slug)}")
