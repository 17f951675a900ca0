"""Run a deployment through the real entry points against the in-memory API server.

`through_hook` calls `hook.main` (stdin -> one JSON answer, the operator's settings and
check_options applied, the fast path tried first); `through_pipeline` calls
`pipeline.execute`. Both use `fakeapi.FakeApiServer`, so the run's options reach the steps
as they do on a cluster.
"""
from __future__ import annotations

import io
import json
import sys
from typing import Optional

from fakeapi import FakeApiServer

from heat_k8s_hook.engine import pipeline
from heat_k8s_hook.engine.pipeline import Context, execute
from heat_k8s_hook.entry import hook
from heat_k8s_hook.input.deployment import load_deployment
from heat_k8s_hook.result.report import Masker, Result

IDENTITY = [{"name": "deploy_stack_id", "value": "s/1"},
            {"name": "deploy_resource_name", "value": "r"}]


def deployment(config, options: Optional[dict] = None, action: str = "CREATE",
               inputs: Optional[list] = None) -> dict:
    return {"config": config, "options": {"timeout": 10, **(options or {})},
            "inputs": [{"name": "deploy_action", "value": action}] + IDENTITY + (inputs or [])}


def through_pipeline(dep: dict, api: Optional[FakeApiServer] = None, lines=None) -> tuple:
    """(answer dict, api) of one pipeline.execute run."""
    api = api or FakeApiServer()
    mask = Masker()
    ctx = Context(connect=lambda _options, **_kw: api,
                  progress=(lines.append if lines is not None else lambda _line: None),
                  mask=mask)
    result = execute(load_deployment(json.dumps(dep).encode()), ctx, Result())
    return result.as_dict(mask), api


def through_hook(monkeypatch, dep: dict, api: Optional[FakeApiServer] = None,
                 settings_yaml: str = "", tmp_path=None) -> tuple:
    """(answer dict, exit code, stderr text, api) of hook.main on `dep` as stdin."""
    api = api or FakeApiServer()
    monkeypatch.setattr(pipeline, "connect_default", lambda _options, **_kw: api)
    monkeypatch.setenv("HEAT_K8S_HOOK_SUPERVISE", "0")
    monkeypatch.setenv("HEAT_K8S_HOOK_FAST_PATH", "0")
    if tmp_path is not None:
        path = tmp_path / "hook.yaml"
        path.write_text(settings_yaml)
        path.chmod(0o600)
        monkeypatch.setenv("HEAT_K8S_HOOK_CONFIG", str(path))
    else:
        monkeypatch.setenv("HEAT_K8S_HOOK_CONFIG", "/nonexistent/hook.yaml")
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(dep)))
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    code = hook.main(supervise=False)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1, out.getvalue()
    return json.loads(lines[0]), code, err.getvalue(), api
