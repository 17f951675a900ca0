"""The hook runs from a plain `pip install .` into a fresh virtualenv (no checkout on path)."""
import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_plain_pip_install_runs_the_hook(tmp_path, kubeconfig):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    pip = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
                          str(ROOT)], capture_output=True, text=True, timeout=600)
    assert pip.returncode == 0, pip.stderr[-2000:]
    dep = {"config": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: installed-check}\n"
                     "data: {k: v}\n",
           "inputs": [{"name": "deploy_stack_id", "value": "install/1"},
                      {"name": "deploy_resource_name", "value": "check"}]}
    for action in ("CREATE", "DELETE"):
        dep["inputs"] = dep["inputs"][:2] + [{"name": "deploy_action", "value": action}]
        proc = subprocess.run([str(venv / "bin" / "heat-k8s-hook-kubectl")],
                              input=json.dumps(dep), capture_output=True, text=True,
                              timeout=120, cwd=str(tmp_path),
                              env=dict(os.environ, KUBECONFIG=kubeconfig))
        result = json.loads(proc.stdout)
        assert result["deploy_status_code"] == 0, result["deploy_stderr"]
    assert "ConfigMap/default/installed-check deleted" in result["deploy_stdout"]
    hook = venv / "share" / "heat-k8s-hook" / "hooks" / "kubectl"
    assert hook.exists()
