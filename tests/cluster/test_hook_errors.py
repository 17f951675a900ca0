"""Bad input and refusals: one-line cause, non-zero code, and what runs is left untouched."""
from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid

import pytest
import yaml
from hookrun import HOOK, deployment, run_hook, write_kubeconfig


def cm(ns, name="c", **data):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns},
            "data": data or {"k": "v"}}


def last_line(run) -> str:
    return run.err.strip().splitlines()[-1]


@pytest.fixture
def existing(kubectl, hook_env, ns):
    """A running deployment that a bad update must leave untouched."""
    stack = f"s{uuid.uuid4().hex[:6]}"
    docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, cm(ns, k="v1")]
    run = run_hook(deployment(docs, stack=stack), hook_env)
    assert run.code == 0, run.err
    return stack, docs


def unchanged_cm(kubectl, ns):
    return kubectl.get("configmap", "c", "-n", ns)["data"] == {"k": "v1"}


@pytest.mark.parametrize("name,config,inputs,options,code,needle", [
    ("invalid yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: [\n", [], None, 2,
     "invalid YAML at line"),
    ("unknown kind", "apiVersion: v1\nkind: Widgetz\nmetadata: {name: w}\n", [], None, 2,
     "document 1 (Widgetz w): kind Widgetz is not served by the cluster in v1"),
    ("unknown group", "apiVersion: nope.example.com/v1\nkind: W\nmetadata: {name: w}\n", [],
     None, 2, "apiVersion nope.example.com/v1 is not served"),
    ("missing input", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {get_input: nm}}\n",
     [], None, 2, "unknown input 'nm'"),
    ("bad option", "", [], {"timout": 5}, 2, "unknown option(s) timout"),
])
def test_invalid_deployments(kubectl, hook_env, existing, ns, name, config, inputs, options,
                             code, needle):
    stack, _ = existing
    run = run_hook(deployment(config, inputs=inputs, options=options, stack=stack,
                              action="UPDATE"), hook_env)
    assert run.code == code, run.err
    assert needle in last_line(run)
    assert unchanged_cm(kubectl, ns)


def test_invalid_field_rejected_by_dry_run_before_anything_changes(kubectl, hook_env, existing, ns):
    stack, docs = existing
    bad = [docs[0], cm(ns, k="v2"),
           {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": ns},
            "spec": {"replicas": "x", "selector": {"matchLabels": {"a": "b"}},
                     "template": {"metadata": {"labels": {"a": "b"}},
                                  "spec": {"containers": [{"name": "c", "image": "i"}]}}}}]
    run = run_hook(deployment(bad, stack=stack, action="UPDATE"), hook_env)
    assert run.code == 5, run.err
    line = last_line(run)
    assert line.startswith("ERROR: document 3 (Deployment web):") and "replicas" in line
    assert unchanged_cm(kubectl, ns)           # document 2 was valid, but nothing was applied
    assert kubectl.get("deployment", "web", "-n", ns) is None


def test_unreachable_cluster(tmp_path, existing, kubectl, ns):
    cfg = {"apiVersion": "v1", "kind": "Config", "current-context": "x",
           "clusters": [{"name": "x", "cluster": {"server": "https://127.0.0.1:1",
                                                  "insecure-skip-tls-verify": True}}],
           "contexts": [{"name": "x", "context": {"cluster": "x", "user": "x"}}],
           "users": [{"name": "x", "user": {"token": "abc"}}]}
    path = write_kubeconfig(tmp_path / "kubeconfig", cfg)
    run = run_hook(deployment([cm(ns)]), {"KUBECONFIG": path})
    assert run.code == 3
    assert "cannot reach the Kubernetes API server at https://127.0.0.1:1: connection refused" \
        in last_line(run)
    assert run.elapsed < 15


def _kubeconfig_with(kubeconfig: str, tmp_path, token: str) -> str:
    cfg = yaml.safe_load(open(kubeconfig))
    for user in cfg["users"]:
        user["user"] = {"token": token}
    return write_kubeconfig(tmp_path / "kubeconfig", cfg)


def test_rejected_credentials_never_printed(kubeconfig, tmp_path, ns):
    token = "expired-token-" + uuid.uuid4().hex
    path = _kubeconfig_with(kubeconfig, tmp_path, token)
    run = run_hook(deployment([cm(ns)]), {"KUBECONFIG": path})
    assert run.code == 4
    assert "rejected the credentials" in last_line(run) and "401" in last_line(run)
    assert token not in run.raw + run.stderr


def test_rbac_forbidden(kubectl, kubeconfig, tmp_path, existing, ns):
    sa = f"nobody-{uuid.uuid4().hex[:6]}"
    kubectl("create", "serviceaccount", sa, "-n", ns)
    kubectl("create", "role", sa, "-n", "heat-k8s-hook", "--verb=get,list,watch,patch,create",
            "--resource=configmaps")
    kubectl("create", "rolebinding", sa, "-n", "heat-k8s-hook", f"--role={sa}",
            f"--serviceaccount={ns}:{sa}")
    # the application's Lease (issue 15) lives beside its inventory: the README's RBAC row
    kubectl("create", "role", f"{sa}-lease", "-n", "heat-k8s-hook",
            "--verb=get,list,watch,patch,create,update", "--resource=leases.coordination.k8s.io")
    kubectl("create", "rolebinding", f"{sa}-lease", "-n", "heat-k8s-hook",
            f"--role={sa}-lease", f"--serviceaccount={ns}:{sa}")
    kubectl("create", "clusterrole", sa, "--verb=get,list,watch", "--resource=namespaces")
    kubectl("create", "clusterrolebinding", sa, f"--clusterrole={sa}",
            f"--serviceaccount={ns}:{sa}")
    try:
        token = kubectl("create", "token", sa, "-n", ns).strip()
        path = _kubeconfig_with(kubeconfig, tmp_path, token)
        run = run_hook(deployment([cm(ns, name="other")]), {"KUBECONFIG": path})
        assert run.code == 5, run.err
        assert "forbidden" in last_line(run) and "document 1 (ConfigMap other)" in last_line(run)
        assert token not in run.raw + run.stderr
    finally:
        kubectl("delete", "clusterrole,clusterrolebinding", sa, check=False)


def test_conflict_names_the_other_manager_and_force_takes_over(kubectl, hook_env, ns):
    kubectl("create", "namespace", ns)
    kubectl("apply", "--server-side", "--field-manager", "ops-team", "-f", "-",
            input=json.dumps(cm(ns, k="theirs")))
    stack = f"s{uuid.uuid4().hex[:6]}"
    run = run_hook(deployment([cm(ns, k="ours")], stack=stack), hook_env)
    assert run.code == 5
    assert "ops-team" in last_line(run) and "force_conflicts" in last_line(run)
    assert kubectl.get("configmap", "c", "-n", ns)["data"] == {"k": "theirs"}
    forced = run_hook(deployment([cm(ns, k="ours")], stack=stack,
                                 options={"force_conflicts": True}), hook_env)
    assert forced.code == 0, forced.err
    assert kubectl.get("configmap", "c", "-n", ns)["data"] == {"k": "ours"}


def test_secret_data_never_printed(kubectl, hook_env, ns):
    secret = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": ns},
              "stringData": {"password": "SuperSecretValue1"}}
    bad = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "t", "namespace": ns},
           "data": {"token": "NotBase64!!SuperSecretValue2"}}
    docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, secret]
    ok = run_hook(deployment(docs, stack=f"s{uuid.uuid4().hex[:6]}"), hook_env)
    assert ok.code == 0, ok.err
    failed = run_hook(deployment(docs + [bad], stack=f"s{uuid.uuid4().hex[:6]}"), hook_env)
    assert failed.code != 0
    for run in (ok, failed):
        text = run.raw + run.stderr
        for value in ("SuperSecretValue1", "SuperSecretValue2",
                      base64.b64encode(b"SuperSecretValue1").decode()):
            assert value not in text


def test_output_from_secret_data_refused(hook_env, ns):
    docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
            {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": ns},
             "stringData": {"password": "SuperSecretValue3"}}]
    run = run_hook(deployment(docs, options={"outputs": {"pw": "Secret/s:{.data.password}"}},
                              stack=f"s{uuid.uuid4().hex[:6]}"), hook_env)
    assert run.code == 2 and "never read Secret data" in last_line(run)
    assert "pw" not in run.result


def test_crash_inside_still_answers_json(tmp_path):
    # A kubeconfig that is not YAML at all makes the client library raise; still one answer.
    path = write_kubeconfig(tmp_path / "kubeconfig", "{{{{ not yaml")
    dep = deployment([cm("default")])
    proc = subprocess.run([sys.executable, str(HOOK)], input=json.dumps(dep), text=True,
                          capture_output=True, timeout=60, env=dict(os.environ, KUBECONFIG=path))
    result = json.loads(proc.stdout)
    assert result["deploy_status_code"] == 4
    assert "cannot be loaded" in result["deploy_stderr"]
