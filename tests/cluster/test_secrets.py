"""Canary secrets through every path of the real hook and CLI: they must appear nowhere.

Three canaries go in as inputs a template marks secret (option `secret_inputs`) and as Secret
values: a single-line password, a multi-line PEM-like key and a long value whose base64 wraps at
64 and 76 columns. Each path (success, YAML error, dry-run rejection, API error, timeout,
failure diagnostics, outputs, CLI render/diff/status/apply) runs the real hook (or CLI) as a
subprocess against the local cluster, and every byte of its stdout and stderr is searched for
each canary, its lines, its JSON-escaped form and its base64 (flat and wrapped).

Checked red (11:10 UTC): with the masking wiring removed (report.Masker.__call__ returning the
text unchanged) 7 of the hook's cases failed, each naming the canary form that leaked: success
(outputs), the three dry-run rejections, the missing namespace (API 404), the image-pull
diagnostics and the timeout quoting a condition message; the CLI case failed when the CLI's
masker was not taught the deployment's secrets (cli._learn_secrets returning at once). The other
cases pass without masking because nothing there quotes a value (the YAML errors are generic,
the output refusal never reads the value): they guard those paths against regressions. Restored,
all green.
"""
from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import textwrap
import time
import uuid

import pytest
import yaml
from hookrun import ROOT, deployment, run_hook

PW = "canarypw-" + secrets.token_hex(8)            # lower case: also valid in image names
PEM = ("-----BEGIN CANARY PRIVATE KEY-----\n"
       + "\n".join(base64.b64encode(secrets.token_bytes(48)).decode() for _ in range(3))
       + "\n-----END CANARY PRIVATE KEY-----\n")
LONG = "CanaryLong-" + secrets.token_urlsafe(60)  # base64 of it is > 76 characters
CANARIES = (PW, PEM, LONG)
SECRET_INPUTS = [{"name": "db_password", "value": PW}, {"name": "tls_key", "value": PEM},
                 {"name": "blob", "value": LONG}]
OPTIONS = {"secret_inputs": ["db_password", "tls_key", "blob"]}


def forms(canary: str) -> set:
    """What must never be printed: the canary, its lines, JSON-escaped, base64 flat/wrapped."""
    b64 = base64.b64encode(canary.encode()).decode()
    found = {canary, " ".join(canary.split()), json.dumps(canary)[1:-1], b64}
    found.update(line for line in canary.splitlines() if len(line) >= 16)
    for width in (64, 76):
        found.update(line for line in textwrap.wrap(b64, width) if len(line) >= 16)
    found.discard("-----BEGIN CANARY PRIVATE KEY-----")  # no secret in those two lines
    found.discard("-----END CANARY PRIVATE KEY-----")
    return found


FORMS = set().union(*(forms(c) for c in CANARIES))


def assert_no_canary(*texts: str) -> None:
    text = "\n".join(texts)
    leaked = sorted(f for f in FORMS if f in text)
    assert not leaked, f"canary leaked ({len(leaked)} form(s)), first: {leaked[0][:40]!r}...\n{text}"


def hook(config, hook_env, *, options=None, inputs=(), **kw):
    kw.setdefault("stack", f"s{uuid.uuid4().hex[:6]}")  # tests must not prune each other's
    run = run_hook(deployment(config, inputs=list(inputs) + SECRET_INPUTS,
                              options=dict(OPTIONS, **(options or {})), **kw), hook_env)
    assert_no_canary(run.raw, run.stderr)
    return run


def gi(name: str) -> dict:
    return {"get_input": name}


def namespace(ns: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}


def carrier(ns: str) -> list:
    """A Secret and a ConfigMap holding the canaries, as a template would write them."""
    return [namespace(ns),
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": ns},
             "stringData": {"password": gi("db_password"), "tls.key": gi("tls_key"),
                            "blob": gi("blob")}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": ns},
             "data": {"pw": gi("db_password"), "key": gi("tls_key")}}]


def pod_deployment(ns: str, image: str, **container) -> dict:
    env = [{"name": "PASSWORD", "value": PW}, {"name": "KEY", "value": PEM}]
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": ns, "annotations": {"note": LONG}},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"metadata": {"labels": {"app": "web"}},
                                  "spec": {"containers": [dict(
                                      {"name": "c", "image": image, "env": env}, **container)]}}}}


def cli(hook_env, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, **hook_env, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-m", "heat_k8s_hook.cli.main", *args], input=stdin,
                          capture_output=True, text=True, timeout=300, env=env, cwd=str(ROOT))
    assert_no_canary(proc.stdout, proc.stderr)
    return proc


def test_success_and_outputs(hook_env, kubectl, ns):
    stack = f"s{uuid.uuid4().hex[:6]}"
    outputs = {"pw": f"ConfigMap/{ns}/cfg:{{.data.pw}}", "key": f"ConfigMap/{ns}/cfg:{{.data}}"}
    run = hook(carrier(ns), hook_env, options={"outputs": outputs}, stack=stack)
    assert run.code == 0, run.err
    assert run.result["pw"] == "******" and run.result["key"] == {"pw": "******", "key": "******"}
    assert kubectl.get("configmap", "cfg", "-n", ns)["data"]["pw"] == PW  # it was applied


def test_cli_render_diff_status_apply_delete(hook_env, ns, tmp_path):
    stack = f"s{uuid.uuid4().hex[:6]}"
    outputs = {"pw": f"ConfigMap/{ns}/cfg:{{.data.pw}}", "key": f"ConfigMap/{ns}/cfg:{{.data}}"}
    assert hook(carrier(ns), hook_env, stack=stack).code == 0
    dep = deployment(carrier(ns), inputs=SECRET_INPUTS, options=dict(OPTIONS, outputs=outputs),
                     stack=stack, action="UPDATE")
    path = tmp_path / "dep.json"
    path.write_text(json.dumps(dep))
    render = cli(hook_env, "render", str(path))
    assert render.returncode == 0 and "kind: Secret" in render.stdout, render.stderr
    assert cli(hook_env, "render", "-", stdin=json.dumps(dep)).returncode == 0
    diff = cli(hook_env, "diff", str(path))
    assert diff.returncode == 0 and f"ConfigMap/{ns}/cfg unchanged" in diff.stdout, diff.stderr
    status = cli(hook_env, "status", str(path))
    assert status.returncode == 0 and "ready" in status.stdout, status.stderr
    for extra in ((), ("--json",)):
        applied = cli(hook_env, "apply", str(path), *extra)
        assert applied.returncode == 0, applied.stderr
        assert "output pw" in applied.stdout or '"pw": "******"' in applied.stdout
    assert cli(hook_env, "delete", str(path)).returncode == 0
    bad = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": ns},
           "spec": {"type": gi("db_password"), "ports": [{"port": 80}]}}
    rejected = deployment(carrier(ns) + [bad], inputs=SECRET_INPUTS, options=OPTIONS, stack=stack)
    assert cli(hook_env, "apply", "-", stdin=json.dumps(rejected)).returncode == 5
    # diff is a real server-side dry-run (issue 16): it lists the rejection, masked, with code 5
    rejected_diff = cli(hook_env, "diff", "-", stdin=json.dumps(rejected))
    assert rejected_diff.returncode == 5 and f"Service/{ns}/s rejected: " in rejected_diff.stdout


def test_yaml_error_quoting_the_config(hook_env, ns):
    """A config built with str_replace from the password: the scanner error must not echo it."""
    config = (f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c, namespace: {ns}}}\n"
              f"data:\n  pw: {PW}: {LONG}\n  key: [{json.dumps(PEM)}\n")
    run = hook(config, hook_env)
    assert run.code == 2, run.err
    run = hook(f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c}}\ndata: {{pw: !!binary {PW}}}",
               hook_env)
    assert run.code == 2, run.err


@pytest.mark.parametrize("case", ["service-type", "label-pem", "label-long"])
def test_dry_run_rejection_echoing_the_value(hook_env, ns, case):
    """The API server quotes invalid values in its message (`Unsupported value: "..."`)."""
    if case == "service-type":
        bad = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": ns},
               "spec": {"type": gi("db_password"), "ports": [{"port": 80}]}}
    else:
        value = gi("tls_key") if case == "label-pem" else gi("blob")
        bad = {"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "l", "namespace": ns, "labels": {"a": value}}}
    run = hook(carrier(ns) + [bad], hook_env)
    assert run.code == 5, run.err
    assert "******" in run.err, run.err


@pytest.mark.parametrize("case", ["missing-namespace", "invalid-name", "bad-base64"])
def test_api_errors(hook_env, ns, case):
    """Errors other than field validation: a namespace that does not exist, named after the
    password (404, echoed), a name the hook or server refuses, Secret data that is not base64."""
    if case == "missing-namespace":
        config = [{"apiVersion": "v1", "kind": "ConfigMap",
                   "metadata": {"name": "c", "namespace": gi("db_password")}}]
    elif case == "invalid-name":
        config = [namespace(ns), {"apiVersion": "v1", "kind": "ConfigMap",
                                  "metadata": {"name": PW.upper() + "_X", "namespace": ns}}]
    else:
        config = [namespace(ns), {"apiVersion": "v1", "kind": "Secret",
                                  "metadata": {"name": "b", "namespace": ns},
                                  "data": {"k": gi("blob"), "pem": gi("tls_key")}}]
    run = hook(config, hook_env, inputs=[{"name": "upper", "value": PW.upper()}],
               options={"secret_inputs": OPTIONS["secret_inputs"] + ["upper"]})
    assert run.code in (2, 5), run.err


def test_failure_diagnostics_image_pull(hook_env, ns):
    """KWOK convention: tag `missing` -> ErrImagePull/ImagePullBackOff, events quote the image."""
    run = hook(carrier(ns) + [pod_deployment(ns, f"reg.example/{PW}:missing")], hook_env,
               options={"timeout": 60})
    assert run.code == 6, run.err
    assert "ImagePull" in run.err and "******" in run.err, run.err


def test_timeout_unschedulable(hook_env, ns):
    """Requests above every node: Pending/Unschedulable until the deadline (grace set longer)."""
    run = hook(carrier(ns) + [pod_deployment(ns, f"reg.example/{PW}:1",
                                             resources={"requests": {"cpu": "64"}})],
               hook_env, options={"timeout": 8, "unschedulable_grace": 120})
    assert run.code == 7, run.err


def test_timeout_quoting_a_condition_message(hook_env, kubectl, ns):
    """A custom resource whose Ready condition message quotes the secrets (a CRD without a
    status subresource, so the applied status stays): the timeout message lists it."""
    group = f"c{uuid.uuid4().hex[:8]}.example.com"
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": f"widgets.{group}"},
           "spec": {"group": group, "scope": "Namespaced",
                    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                    "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                        "openAPIV3Schema": {"type": "object",
                                            "x-kubernetes-preserve-unknown-fields": True}}}]}}
    widget = {"apiVersion": f"{group}/v1", "kind": "Widget",
              "metadata": {"name": "w", "namespace": ns},
              "status": {"conditions": [{"type": "Ready", "status": "False", "reason": "Wait",
                                         "message": f"password {PW} key {PEM} blob {LONG}"}]}}
    try:
        run = hook(carrier(ns) + [crd, widget], hook_env, options={"timeout": 10})
        assert run.code == 7 and "Widget" in run.err and "******" in run.err, run.err
    finally:
        kubectl("delete", "crd", f"widgets.{group}", "--wait=false", check=False)


def test_outputs_never_return_cluster_filled_secret_data(hook_env, kubectl, ns):
    """A service-account-token Secret's data.token is filled by the cluster: no JSONPath
    spelling may return it, though the masker has never seen it."""
    stack = f"s{uuid.uuid4().hex[:6]}"
    token_secret = {"apiVersion": "v1", "kind": "Secret", "type":
                    "kubernetes.io/service-account-token",
                    "metadata": {"name": "tok", "namespace": ns,
                                 "annotations": {"kubernetes.io/service-account.name": "robot"}}}
    config = [namespace(ns), {"apiVersion": "v1", "kind": "ServiceAccount",
                              "metadata": {"name": "robot", "namespace": ns}}, token_secret]
    created = hook(config, hook_env, stack=stack)
    assert created.code == 0, created.err
    token = ""
    for _ in range(120):
        token = ((kubectl.get("secret", "tok", "-n", ns) or {}).get("data") or {}).get("token", "")
        if token:
            break
        time.sleep(0.5)
    assert token, "the cluster did not fill data.token"
    plain = base64.b64decode(token).decode()
    for path in ("{..token}", "{$}", "{.*}", "{['data']}", "{data.token}", "{$..*}"):
        run = hook(config, hook_env, stack=stack, action="UPDATE",
                   options={"outputs": {"t": f"Secret/{ns}/tok:{path}"}})
        assert run.code == 2 and "output t: refused" in run.err, (path, run.err)
        assert token not in run.raw + run.stderr and plain not in run.raw + run.stderr, path
    dep = deployment(config, inputs=SECRET_INPUTS, stack=stack, action="UPDATE",
                     options=dict(OPTIONS, outputs={"t": f"Secret/{ns}/tok:{{..token}}"}))
    applied = cli(hook_env, "apply", "-", stdin=json.dumps(dep))
    assert applied.returncode == 2, applied.stdout + applied.stderr
    assert plain not in applied.stdout + applied.stderr
    assert yaml.safe_load(kubectl("get", "secret", "tok", "-n", ns, "-o", "yaml"))["data"]
