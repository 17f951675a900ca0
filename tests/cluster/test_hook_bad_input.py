"""The YAML dialect and the bad-input contract against the real cluster and the real kubectl.

What kubectl accepts the hook applies the same way (empty labels, timestamps, base-60 look-
alikes and number keys kept as text); what the hook refuses is code 2 before any request, so a
deployment already running is left exactly as it was.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid

import pytest
from hookrun import HOOK, deployment, run_hook

DIALECT = """apiVersion: v1
kind: ConfigMap
metadata:
  name: dialect
  namespace: {ns}
  labels:
  annotations:
data:
  when: 2024-01-01T00:00:00Z
  day: 2024-01-01
  port: 22:22
  1: one
  quoted: "x"
"""


def test_dialect_matches_kubectl(kubectl, hook_env, ns):
    """Applied by the hook, the data is what `kubectl create --dry-run=client` makes of it."""
    kubectl("create", "namespace", ns)
    text = DIALECT.format(ns=ns)
    run = run_hook(deployment(text, stack=f"s{uuid.uuid4().hex[:6]}"), hook_env)
    assert run.code == 0, run.err
    by_kubectl = json.loads(kubectl("create", "--dry-run=client", "-o", "json", "-f", "-",
                                    input=text))
    live = kubectl.get("configmap", "dialect", "-n", ns)
    assert live["data"] == by_kubectl["data"] == {
        "when": "2024-01-01T00:00:00Z", "day": "2024-01-01", "port": "22:22", "1": "one",
        "quoted": "x"}


def test_duplicate_keys_are_what_the_api_server_refuses(kubectl, ns, tmp_path):
    """Why the dialect refuses duplicate keys: the API server's strict decoding (kubectl's
    default --validate=strict) refuses a duplicate field in a body it parses. kubectl's own
    YAML-to-JSON step keeps the last value silently (seen with v1.37), so a YAML file with a
    duplicate key slips through kubectl; the hook refuses it with its line instead."""
    body = tmp_path / "dup.json"
    body.write_text('{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "d"}, '
                    '"data": {"k": "a", "k": "b"}}')
    proc = subprocess.run([kubectl.binary, "--kubeconfig", kubectl.kubeconfig, "create", "--raw",
                           "/api/v1/namespaces/default/configmaps?dryRun=All&fieldValidation=Strict",
                           "-f", str(body)], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and 'duplicate field "data.k"' in proc.stderr


BAD = {
    "invalid name": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Not_Valid}\n",
    "duplicate key": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: a, k: b}\n",
    "alias bomb": "a0: &a0 [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, 12)),
    "binary tag": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: !!binary aGk=}\n",
    "List in List": "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: List\n"
                    "  items: []\n",
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_refused_before_any_change(kubectl, hook_env, ns, name):
    """Code 2 and one line, the running ConfigMap untouched. Checked red: without the name
    check in render.py, `Not_Valid` reached the API server's dry-run and came back code 5."""
    stack = f"s{uuid.uuid4().hex[:6]}"
    good = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": ns},
             "data": {"k": "v1"}}]
    assert run_hook(deployment(good, stack=stack), hook_env).code == 0
    run = run_hook(deployment(BAD[name], stack=stack, action="UPDATE",
                              options={"namespace": ns}), hook_env)
    assert run.code == 2 and len(run.err.strip().splitlines()) == 1, run.err
    assert kubectl.get("configmap", "c", "-n", ns)["data"] == {"k": "v1"}


def test_non_utf8_stdin_is_code_2(hook_env):
    dep = json.dumps(deployment("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"))
    proc = subprocess.run([sys.executable, str(HOOK)], input=dep.encode()[:-1] + b"\xff}",
                          capture_output=True, timeout=60, env=dict(os.environ, **hook_env))
    assert json.loads(proc.stdout)["deploy_status_code"] == 2 == proc.returncode
