"""The operator's settings (hook.yaml) against the real cluster: what a template may not reach.

Each refusal runs as an UPDATE of a running deployment and asserts the live objects are
untouched. Checked by breaking each rule once: `settings.inside` returning True turned the
outside-the-directory and symlink tests red (the update was applied); the mode check in
`cluster.check_private` removed turned the group-readable test red (code 0); the max_timeout
comparison removed turned the timeout test red; `limits` ignored by `settings.parse_settings`
turned the raised-limit test red (code 2).
"""
from __future__ import annotations

import shutil
import uuid

import pytest
import yaml
from hookrun import deployment, run_hook, write_kubeconfig

from heat_k8s_hook.input.limits import Limits


def cm(ns, name="c", **data):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": ns},
            "data": data or {"k": "v"}}


def last_line(run) -> str:
    return run.err.strip().splitlines()[-1]


def write_settings(path, settings: dict, mode: int = 0o600) -> str:
    path.write_text(yaml.safe_dump(settings))
    path.chmod(mode)
    return str(path)


@pytest.fixture
def existing(kubectl, hook_env, ns):
    """A running deployment that a refused update must leave untouched."""
    stack = f"s{uuid.uuid4().hex[:6]}"
    docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, cm(ns, k="v1")]
    run = run_hook(deployment(docs, stack=stack), hook_env)
    assert run.code == 0, run.err
    return stack, docs


def update(stack, ns, **options):
    docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, cm(ns, k="v2")]
    return deployment(docs, stack=stack, action="UPDATE", options=options or None)


def unchanged(kubectl, ns) -> bool:
    return kubectl.get("configmap", "c", "-n", ns)["data"] == {"k": "v1"}


@pytest.fixture
def allowed(tmp_path, kubeconfig):
    """A settings file allowing tmp/allowed/, a valid kubeconfig there and one outside it."""
    (tmp_path / "allowed").mkdir()
    (tmp_path / "outside").mkdir()
    inside = write_kubeconfig(tmp_path / "allowed" / "kc", open(kubeconfig).read())
    outside = write_kubeconfig(tmp_path / "outside" / "kc", open(kubeconfig).read())
    settings = write_settings(tmp_path / "hook.yaml",
                              {"kubeconfig_dirs": [f"{tmp_path}/allowed/"], "max_timeout": 900})
    return {"HEAT_K8S_HOOK_CONFIG": settings}, inside, outside


def test_kubeconfig_option_outside_the_default_directory(kubectl, hook_env, existing, ns, kubeconfig):
    stack, _ = existing
    # A real, working kubeconfig (the cluster's own), but not in /etc/heat-k8s-hook/.
    run = run_hook(update(stack, ns, kubeconfig=kubeconfig), hook_env)
    assert run.code == 2, run.err
    assert last_line(run).startswith("ERROR: option kubeconfig: outside the directories the "
                                     "operator allows (/etc/heat-k8s-hook/; kubeconfig_dirs in ")
    assert kubeconfig not in run.err
    assert unchanged(kubectl, ns)


def test_kubeconfig_option_inside_an_allowed_directory_works(kubectl, hook_env, existing, ns,
                                                            allowed):
    env, inside, _ = allowed
    stack, _ = existing
    run = run_hook(update(stack, ns, kubeconfig=inside), dict(hook_env, **env))
    assert run.code == 0, run.err
    assert kubectl.get("configmap", "c", "-n", ns)["data"] == {"k": "v2"}


@pytest.mark.parametrize("escape", ["symlink", "dotdot"])
def test_kubeconfig_option_escaping_the_directory(kubectl, hook_env, existing, ns, allowed,
                                                  tmp_path, escape):
    env, _, outside = allowed
    stack, _ = existing
    if escape == "symlink":
        path = tmp_path / "allowed" / "innocent"
        path.symlink_to(outside)
        path = str(path)
    else:
        path = f"{tmp_path}/allowed/../outside/kc"
    run = run_hook(update(stack, ns, kubeconfig=path), dict(hook_env, **env))
    assert run.code == 2, run.err
    assert "ERROR: option kubeconfig: outside the directories the operator allows" in last_line(run)
    assert "outside/kc" not in run.err and "innocent" not in run.err
    assert unchanged(kubectl, ns)


def test_group_readable_kubeconfig_is_refused(kubectl, hook_env, existing, ns, tmp_path,
                                              kubeconfig):
    stack, _ = existing
    path = tmp_path / "kc"
    shutil.copy(kubeconfig, path)
    path.chmod(0o640)
    run = run_hook(update(stack, ns), dict(hook_env, KUBECONFIG=str(path)))
    assert run.code == 9, run.err
    assert last_line(run) == f"ERROR: kubeconfig {path} is open to group or others (mode 0640); " \
                             f"chmod 600 it [phase: connect]"   # the phase: issue 16
    assert unchanged(kubectl, ns)


def test_timeout_above_max_timeout(kubectl, hook_env, existing, ns, allowed):
    env, _, _ = allowed
    stack, _ = existing
    run = run_hook(update(stack, ns, timeout=901), dict(hook_env, **env))
    assert run.code == 2, run.err
    assert last_line(run) == f"ERROR: option timeout: above the maximum of 900s (max_timeout in " \
                             f"{env['HEAT_K8S_HOOK_CONFIG']})"
    assert unchanged(kubectl, ns)
    default = run_hook(update(stack, ns, timeout=3601), hook_env)   # 3600 s without a file
    assert default.code == 2 and "above the maximum of 3600s" in last_line(default), default.err


def test_settings_file_writable_by_others_is_refused(kubectl, hook_env, existing, ns, tmp_path):
    stack, _ = existing
    path = write_settings(tmp_path / "hook.yaml", {"max_timeout": 60}, 0o666)
    run = run_hook(update(stack, ns), dict(hook_env, HEAT_K8S_HOOK_CONFIG=path))
    assert run.code == 9, run.err
    assert last_line(run) == f"ERROR: settings {path}: writable by group or others (mode 0666); " \
                             f"chmod 600 it"
    assert unchanged(kubectl, ns)


def test_settings_file_raising_a_limit(kubectl, hook_env, ns, tmp_path):
    """One alias more than the default max_aliases: refused by default, applied once the
    operator raises the limit."""
    uses = Limits().max_aliases + 1
    keys = "\n".join(f"  k{i}: *v" for i in range(uses))
    config = (f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n---\n"
              f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: many, namespace: {ns}}}\n"
              f"data:\n  k: &v value\n{keys}\n")
    stack = f"s{uuid.uuid4().hex[:6]}"
    refused = run_hook(deployment(config, stack=stack), hook_env)
    assert refused.code == 2, refused.err
    assert "max_aliases" in last_line(refused)
    assert kubectl.get("namespace", ns) is None
    settings = write_settings(tmp_path / "hook.yaml", {"limits": {"max_aliases": uses}})
    run = run_hook(deployment(config, stack=stack), dict(hook_env, HEAT_K8S_HOOK_CONFIG=settings))
    assert run.code == 0, run.err
    assert len(kubectl.get("configmap", "many", "-n", ns)["data"]) == uses + 1
