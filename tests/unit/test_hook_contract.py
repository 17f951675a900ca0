"""The heat-config contract on inputs that never reach a cluster: one JSON object, always."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from tests_paths import HOOK


def run(stdin: str, env: dict | None = None):
    proc = subprocess.run([sys.executable, str(HOOK)], input=stdin, capture_output=True,
                          text=True, timeout=60, env=dict(os.environ, **(env or {})))
    assert proc.stdout.count("\n") == 1, proc.stdout
    return proc, json.loads(proc.stdout)


def test_invalid_json_on_stdin():
    proc, result = run("{not json")
    assert result["deploy_status_code"] == 2 == proc.returncode
    assert "stdin is not a JSON deployment" in result["deploy_stderr"]
    assert result["deploy_stdout"] == ""


def test_empty_stdin():
    _, result = run("")
    assert result["deploy_status_code"] == 2


def test_deployment_not_an_object():
    _, result = run("[1, 2]")
    assert result["deploy_status_code"] == 2 and "expected a JSON object" in result["deploy_stderr"]


def test_no_credentials_anywhere(tmp_path):
    dep = {"config": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"}
    _, result = run(json.dumps(dep), {"KUBECONFIG": str(tmp_path / "absent")})
    assert result["deploy_status_code"] == 4
    assert "does not exist" in result["deploy_stderr"]


def test_check_and_suspend_none_need_no_cluster():
    """Heat never sends CHECK (a hand-run may); SUSPEND with option suspend: none changes
    nothing: neither connects to a cluster (there is none here)."""
    for action, options in (("CHECK", None), ("SUSPEND", {"suspend": "none"}),
                            ("RESUME", {"suspend": "none"})):
        dep = {"config": "", "options": options,
               "inputs": [{"name": "deploy_action", "value": action}]}
        _, result = run(json.dumps(dep))
        assert result["deploy_status_code"] == 0, (action, result)
