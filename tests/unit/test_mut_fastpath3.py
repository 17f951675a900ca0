"""entry/fastpath.py's survivors of mutation run f (docs/testing.md): the key does not
depend on the order of the options' keys, a delivery without options has a key, and a
deployment with neither a name nor an id is named as the full path names it."""
from __future__ import annotations

import copy
import json

from test_fastpath import env, payload  # noqa: F401 (env is a fixture)

from heat_k8s_hook.entry import fastpath


def test_key_ignores_the_order_of_the_options(env):  # noqa: F811
    """Kills delivery_key 93, 96, 98 (the facts dumped without sort_keys: the options map,
    delivered as JSON, keeps the order Heat wrote it in)."""
    p = payload()
    p["options"] = dict(p["options"], application="web", prune=True)
    reordered = copy.deepcopy(p)
    reordered["options"] = dict(reversed(list(p["options"].items())))
    assert json.dumps(reordered["options"]) != json.dumps(p["options"])
    key = fastpath.delivery_key(p, env)
    assert key and fastpath.delivery_key(reordered, env) == key


def test_a_delivery_without_options_has_a_key(env):  # noqa: F811
    """Kills delivery_key 68 (`options or {}` -> `and`: None.get raised)."""
    p = payload()
    del p["options"]
    key = fastpath.delivery_key(p, env)
    assert isinstance(key, str) and len(key) == 64


def test_naming_without_a_name_or_an_id_is_the_full_paths():
    """Kills naming 37 (a missing id read as "XXXX"): load_deployment accepts a deployment
    without an id, and its identity is then ""."""
    from heat_k8s_hook.input.deployment import load_deployment
    from heat_k8s_hook.names import parent_name
    p = {"config": "", "name": "", "inputs": [{"name": "deploy_action", "value": "UPDATE"}]}
    dep = load_deployment(json.dumps(p).encode())
    assert dep.identity == ""
    assert fastpath.naming(p) == (
        dep.identity, f"/api/v1/namespaces/heat-k8s-hook/configmaps/{parent_name(dep.slug)}")


def test_a_delivery_without_a_password_is_keyed_apart_from_any_password(env):  # noqa: F811
    """Kills delivery_key 90 (a missing password keyed as "XXXX"): the password is the HMAC
    key, not a fact, so a missing one must be keyed as nothing, not as some password."""
    p = payload()
    without = copy.deepcopy(p)
    without["inputs"] = [i for i in p["inputs"] if i["name"] != "deploy_password"]
    for value in ("XXXX", "pw", ""):
        with_pw = copy.deepcopy(without)
        with_pw["inputs"].append({"name": "deploy_password", "type": "String", "value": value})
        same = fastpath.delivery_key(with_pw, env) == fastpath.delivery_key(without, env)
        assert same is (value == "")
