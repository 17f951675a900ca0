"""Helpers for running the real hook as 55-heat-config does: a subprocess, JSON on stdin."""
from __future__ import annotations

import json
import pathlib
import subprocess
import sys
import time
import uuid

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
HOOK = ROOT / "hooks" / "kubectl"


def deployment(config, *, inputs=None, options=None, action="CREATE", stack="teststack",
               resource="app", outputs=()):
    """A deployment JSON as Heat derives it, with the deploy_* inputs."""
    derived = [
        {"name": "deploy_server_id", "type": "String", "value": "server-1"},
        {"name": "deploy_action", "type": "String", "value": action},
        {"name": "deploy_stack_id", "type": "String", "value": f"{stack}/0b5c2d7e-1111"},
        {"name": "deploy_resource_name", "type": "String", "value": resource},
        {"name": "deploy_signal_transport", "type": "String", "value": "HEAT_SIGNAL"},
        {"name": "deploy_password", "type": "String", "value": "Pa55w0rd-never-printed"},
        {"name": "deploy_signal_id", "type": "String",
         "value": "http://127.0.0.1:8004/v1/signal?sig=TOPSECRETSIGNATURE"},
    ]
    user = [dict({"type": "String"}, **i) for i in (inputs or [])]
    if not isinstance(config, str) and not (isinstance(config, dict) and "manifests" in config):
        config = yaml.safe_dump_all(config, sort_keys=False)
    return {
        "id": str(uuid.uuid4()), "name": f"{stack}-{resource}", "group": "kubectl",
        "creation_time": "2026-11-25T00:00:00Z", "config": config, "options": options,
        "inputs": user + derived,
        "outputs": [{"name": n, "type": "String", "error_output": False} for n in outputs],
    }


class Run:
    def __init__(self, result: dict, stderr: str, elapsed: float, returncode: int, raw: str):
        self.result, self.stderr, self.elapsed, self.returncode, self.raw = \
            result, stderr, elapsed, returncode, raw

    @property
    def code(self) -> int:
        return self.result["deploy_status_code"]

    @property
    def lines(self) -> list:
        return self.result["deploy_stdout"].splitlines()

    @property
    def err(self) -> str:
        return self.result["deploy_stderr"]

    def actions(self) -> dict:
        return {line.rsplit(" ", 1)[0]: line.rsplit(" ", 1)[1] for line in self.lines}


def run_hook(dep: dict, env: dict | None = None, timeout: float = 300) -> Run:
    """Run hooks/kubectl; assert the heat-config contract (one JSON object on stdout)."""
    import os
    t = time.monotonic()
    proc = subprocess.run([sys.executable, str(HOOK)], input=json.dumps(dep), text=True,
                          capture_output=True, timeout=timeout,
                          env=dict(os.environ, **(env or {})))
    elapsed = time.monotonic() - t
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(f"hook stdout is not one JSON object: {proc.stdout!r}\n"
                             f"stderr: {proc.stderr}") from None
    assert proc.stdout.count("\n") == 1, "hook printed more than the result on stdout"
    for key in ("deploy_stdout", "deploy_stderr", "deploy_status_code"):
        assert key in result, key
    if result["deploy_status_code"] == 0:
        assert "error_output" not in result
    text = proc.stdout + proc.stderr
    for secret in ("Pa55w0rd-never-printed", "TOPSECRETSIGNATURE"):
        assert secret not in text, "a secret input was printed"
    return Run(result, proc.stderr, elapsed, proc.returncode, proc.stdout)


def write_kubeconfig(path: pathlib.Path, cfg) -> str:
    """A kubeconfig the hook accepts: mode 0600 (one open to group or others is refused)."""
    path.write_text(cfg if isinstance(cfg, str) else yaml.safe_dump(cfg))
    path.chmod(0o600)
    return str(path)
