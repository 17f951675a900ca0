"""fastpath.try_answer end to end: the full path (hook.main) records the outcome in the
in-memory API server, then a re-delivery is answered from it with GETs only, and every check
that sends it back to the full path (switch, key, members' digest, kubeconfig mode, parent
status) is pinned by a case where only that check differs (issue 26: try_answer was never
called by a unit test)."""
from __future__ import annotations

import json
import re
import time
from urllib.parse import parse_qsl

import pytest
from wiring import deployment, through_hook

from heat_k8s_hook.engine import inventory
from heat_k8s_hook.entry import fastpath
from heat_k8s_hook.kube import tinykube
from heat_k8s_hook.kube.cluster import NotFound

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {k: v}\n"


class FakeClient:
    """tinykube.Client over the in-memory API server: (status, body bytes) per GET."""

    api = None
    seen: list = []

    def __init__(self, path, context, timeout=3.0):
        self.closed = False
        FakeClient.seen.append(("client", path, context))

    def get(self, path, accept="application/json"):
        FakeClient.seen.append(("GET", path, accept))
        path, _, query = path.partition("?")
        try:
            return 200, json.dumps(self.api.get(path, dict(parse_qsl(query)))).encode()
        except NotFound:
            return 404, b'{"kind": "Status", "code": 404}'

    def close(self):
        self.closed = True


@pytest.fixture
def recorded(monkeypatch, tmp_path, request):
    """(deployment bytes, environ, the full path's answer, api) after one full CREATE."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("fake: true\n")
    kubeconfig.chmod(getattr(request, "param", 0o600))
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    dep = deployment(CM, {"outputs": {"o": "ConfigMap/web:{.data.k}"}, "context": "ctx-a"},
                     inputs=[{"name": "deploy_password", "value": "pw-1234567"}])
    answer, code, _err, api = through_hook(monkeypatch, dep)
    assert code == 0 and answer["o"] == "v"
    monkeypatch.setattr(FakeClient, "api", api)
    monkeypatch.setattr(tinykube, "Client", FakeClient)
    monkeypatch.setattr(FakeClient, "seen", [])
    monkeypatch.delenv("KUBECONFIG")   # try_answer reads the environ it is given
    environ = {"KUBECONFIG": str(kubeconfig), "HEAT_K8S_HOOK_CONFIG": "/nonexistent/hook.yaml"}
    return json.dumps(dep).encode(), environ, answer, api


def test_a_redelivery_is_answered_from_the_record_with_gets_only(recorded):
    data, environ, full, api = recorded
    before = len(api.requests)
    fast = fastpath.try_answer(data, environ, started=time.monotonic() - 2.0)
    assert fast is not None and fast["deploy_status_code"] == 0
    assert full["deploy_stdout"] == "ConfigMap/default/web created\n"
    assert fast["deploy_stdout"] == "ConfigMap/default/web unchanged\n" and fast["o"] == "v"
    assert re.fullmatch(
        r"\[  2\.\d\ds\] CREATE s/1/r: re-delivery of the recorded apply: 1 object\(s\) "
        r"unchanged, none changed since it was ready \(resourceVersions checked by 1 LIST\(s\)\); "
        r"nothing sent\n", fast["deploy_stderr"]), fast["deploy_stderr"]
    assert all(r.startswith("GET ") for r in api.requests[before:])
    assert FakeClient.seen[0] == ("client", environ["KUBECONFIG"], "ctx-a")
    lists = [s for s in FakeClient.seen if s[0] == "GET" and "labelSelector" in s[1]]
    assert lists and all(accept == inventory.METADATA_LIST for _g, _p, accept in lists)
    again = fastpath.try_answer(data, environ)
    assert again["deploy_stderr"].startswith("[  0.0")


def test_what_is_not_a_deployment_is_left_to_the_full_path(recorded):
    _data, environ, _full, _api = recorded
    for data in (b"not json", b"[1, 2]", b'{"config": NaN}'):
        assert fastpath.try_answer(data, environ) is None


def test_another_kubeconfig_content_is_not_answered(recorded):
    data, environ, _full, _api = recorded
    with open(environ["KUBECONFIG"], "a") as f:
        f.write("# edited\n")
    assert fastpath.try_answer(data, environ) is None


@pytest.mark.parametrize("recorded", [0o604], indirect=True)
def test_a_kubeconfig_readable_by_others_is_left_to_the_full_path(recorded):
    """Even with a record made under that mode (the full path would refuse it: code 9)."""
    data, environ, _full, _api = recorded
    assert fastpath.try_answer(data, environ) is None


def test_the_switch_sends_every_delivery_to_the_full_path(recorded):
    data, environ, _full, _api = recorded
    assert fastpath.try_answer(data, dict(environ, HEAT_K8S_HOOK_FAST_PATH="0")) is None


def test_another_key_is_not_answered(recorded):
    data, environ, _full, _api = recorded
    dep = json.loads(data)
    dep["inputs"][-1]["value"] = "pw-other-999"   # the key is keyed with the password
    assert fastpath.try_answer(json.dumps(dep).encode(), environ) is None


def test_a_member_changed_since_is_not_answered(recorded):
    data, environ, _full, api = recorded
    path = "/api/v1/namespaces/default/configmaps/web"
    api.request("PATCH", path, {"fieldManager": "kubectl-edit"},
                json.dumps({"metadata": {"name": "web"}, "data": {"k": "edited"}}).encode())
    assert fastpath.try_answer(data, environ) is None


def test_a_kubeconfig_open_to_others_is_left_to_the_full_path(recorded):
    data, environ, _full, _api = recorded
    import os
    os.chmod(environ["KUBECONFIG"], 0o640)
    assert fastpath.try_answer(data, environ) is None


def test_no_parent_is_not_answered(recorded):
    data, environ, _full, api = recorded
    parent = fastpath.parent_path(json.loads(data))
    assert parent in api.objects
    api.request("DELETE", parent)
    assert fastpath.try_answer(data, environ) is None


@pytest.mark.parametrize("extra", [
    {"name": "", "id": "only-an-id"}, {"name": "Only A Name"}, {"name": "", "id": ""},
    {"stack": "", "name": "n"}, {"resource": ""},
    {"stack": "s-" + "x" * 60 + "/1", "resource": "r"},
    {"stack": "abc/1", "resource": "-" * 30 + "y" * 20},
    {"stack": "s" * 37 + "---/1", "resource": "---r"},
])
def test_naming_is_the_full_paths_identity_and_parent(extra):
    from heat_k8s_hook.input.deployment import load_deployment
    from heat_k8s_hook.names import parent_name
    inputs = [{"name": "deploy_action", "value": "UPDATE"}]
    if extra.get("stack", "s/1"):
        inputs.append({"name": "deploy_stack_id", "value": extra.get("stack", "s/1")})
    if extra.get("resource", "r"):
        inputs.append({"name": "deploy_resource_name", "value": extra.get("resource", "r")})
    payload = {"config": "", "inputs": inputs, "name": extra.get("name", "cfg"),
               "id": extra.get("id", "id-1")}
    dep = load_deployment(json.dumps(payload).encode())
    assert fastpath.naming(payload) == (
        dep.identity, f"/api/v1/namespaces/heat-k8s-hook/configmaps/{parent_name(dep.slug)}")


def test_a_heat_named_config_is_answered_too(monkeypatch, tmp_path):
    """Heat names a config `<stack>-<resource>-<short id>`; the full path strips the short id
    (names.logical_name). The fast path once kept its own copy of the naming without it,
    looked for a record that did not exist, and never fired for a name Heat made (issue 25)."""
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("fake: true\n")
    kubeconfig.chmod(0o600)
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    dep = dict(deployment(CM), name="web-deployment-q3hxbb2zk6ld")
    _answer, code, _err, api = through_hook(monkeypatch, dep)
    assert code == 0
    monkeypatch.setattr(FakeClient, "api", api)
    monkeypatch.setattr(tinykube, "Client", FakeClient)
    monkeypatch.delenv("KUBECONFIG")
    environ = {"KUBECONFIG": str(kubeconfig), "HEAT_K8S_HOOK_CONFIG": "/nonexistent/hook.yaml"}
    fast = fastpath.try_answer(json.dumps(dep).encode(), environ)
    assert fast is not None and fast["deploy_status_code"] == 0, "the fast path did not fire"
