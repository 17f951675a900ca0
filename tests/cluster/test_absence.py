"""Delete by absence through its real entry point, on 55-heat-config's own files (issue 23).

The agent's layout is made as 55-heat-config leaves it: the heat-config file (what Heat
delivers now) and the deployed markers (`<id>.json`, `<id>.notify.json`). The real hook
applied each deployment first; `python -m heat_k8s_hook.entry.absence_run` is what the element's
50-heat-config-kubectl and the bootstrapped agent run. The API server's count of PodTemplate
DELETEs says what was deleted.
"""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import time
import uuid

from hookrun import ROOT, run_hook
from test_ha_shrink import deletes
from test_replacement import dep


class Agent:
    """A controller's heat-config files in a temporary directory."""

    def __init__(self, root: pathlib.Path, hook_env: dict):
        self.root, self.deployed = root, root / "deployed"
        self.deployed.mkdir()
        self.conf = root / "heat-config"
        hooks = root / "hooks"   # the hook as installed: its shebang names the venv's python
        hooks.mkdir()
        source = (ROOT / "hooks" / "kubectl").read_text().split("\n", 1)[1]
        (hooks / "kubectl").write_text(f"#!{sys.executable}\n{source}")
        (hooks / "kubectl").chmod(0o755)
        self.env = dict(os.environ, **hook_env, HEAT_SHELL_CONFIG=str(self.conf),
                        HEAT_CONFIG_DEPLOYED=str(self.deployed),
                        HEAT_K8S_HOOK_ABSENT_STATE=str(root / "absent"),
                        HEAT_CONFIG_HOOKS=str(hooks), PYTHONPATH=str(ROOT))
        self.deliver([])

    def deliver(self, deployments: list) -> None:
        self.conf.write_text(json.dumps(deployments))

    def run(self, d: dict, hook_env: dict):
        """55-heat-config: the marker first, the hook, then the notify data."""
        (self.deployed / f"{d['id']}.json").write_text(json.dumps(d))
        result = run_hook(d, hook_env)
        (self.deployed / f"{d['id']}.notify.json").write_text(json.dumps(result.result))
        time.sleep(0.01)   # markers are ordered by mtime
        return result

    def absent(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "heat_k8s_hook.entry.absence_run", *args],
                              env=self.env, capture_output=True, text=True, timeout=120)

    def log(self) -> str:
        path = self.root / "absent" / "absent.log"
        return path.read_text() if path.exists() else ""


def test_a_deployment_that_left_is_deleted_once(kubectl, hook_env, tmp_path):
    """CREATE then UPDATE ran; the stack is deleted without the hook's DELETE (NO_SIGNAL,
    no DELETE in actions, Nova's 404): the next pass deletes the application, once.

    Seen red with absence.plan returning no deletes: the PodTemplate stayed and the server
    counted no DELETE."""
    agent = Agent(tmp_path, hook_env)
    stack, ns = f"s{uuid.uuid4().hex[:6]}", f"t-{uuid.uuid4().hex[:8]}"
    created, updated = dep(ns, stack, "user-a"), dep(ns, stack, "user-a", "UPDATE", pods="2")
    agent.deliver([created])
    assert agent.run(created, hook_env).code == 0
    agent.deliver([updated])
    assert agent.run(updated, hook_env).code == 0
    assert agent.absent("--foreground").returncode == 0
    assert kubectl.get("podtemplate", "tpl", "-n", ns) is not None, "deleted while delivered"

    before = deletes(kubectl)
    agent.deliver([])
    done = agent.absent("--foreground")
    assert done.returncode == 0, done.stderr
    assert f"of {stack}/" in done.stderr and "DELETE answered 0" in done.stderr, done.stderr
    assert kubectl.get("podtemplate", "tpl", "-n", ns) is None
    assert deletes(kubectl) == before + 1
    for secret in ("Pa55w0rd-never-printed", "TOPSECRETSIGNATURE"):
        assert secret not in done.stderr
    again = agent.absent("--foreground")
    assert again.returncode == 0 and "DELETE answered" not in again.stderr
    assert deletes(kubectl) == before + 1


def test_the_replaced_resource_leaving_keeps_the_application(kubectl, hook_env, tmp_path):
    """Resource A is replaced by B (same stack and name): A leaves the metadata while B is
    delivered. Nothing is deleted, by the absence pass or by A's own DELETE."""
    agent = Agent(tmp_path, hook_env)
    stack, ns = f"s{uuid.uuid4().hex[:6]}", f"t-{uuid.uuid4().hex[:8]}"
    a, b = dep(ns, stack, "user-a"), dep(ns, stack, "user-b", pods="2")
    agent.deliver([a])
    assert agent.run(a, hook_env).code == 0
    agent.deliver([b])
    assert agent.run(b, hook_env).code == 0
    before = deletes(kubectl)
    kept = agent.absent("--foreground")
    assert kept.returncode == 0 and "still delivered to this server" in kept.stderr, kept.stderr
    assert deletes(kubectl) == before
    agent.deliver([])   # then the stack is deleted: B's application goes
    assert agent.absent("--foreground").returncode == 0
    assert kubectl.get("podtemplate", "tpl", "-n", ns) is None
    assert deletes(kubectl) == before + 1


def test_a_replacement_leaving_first_still_deletes_the_application(kubectl, hook_env, tmp_path):
    """A stack delete during a replacement (Heat's name race in the e2e, or a user's cancel):
    Heat deletes the new resource B first, so B leaves the metadata while A, the resource it
    replaces, is still delivered; then A leaves. The application goes, once.

    Seen red in the e2e (test_lifecycle's fix after a failure: the Deployment and Service
    30 s after DELETE_COMPLETE) and here, with every gone marker of a delivered application
    settled: B's marker was settled while A was delivered, then A's DELETE answered "replaced
    by a new resource of the same name ... objects kept" and nothing was left to delete it."""
    agent = Agent(tmp_path, hook_env)
    stack, ns = f"s{uuid.uuid4().hex[:6]}", f"t-{uuid.uuid4().hex[:8]}"
    a, b = dep(ns, stack, "user-a"), dep(ns, stack, "user-b", pods="2")
    agent.deliver([a])
    assert agent.run(a, hook_env).code == 0
    agent.deliver([a, b])   # the replacement runs while A is still in the metadata
    assert agent.run(b, hook_env).code == 0
    before = deletes(kubectl)
    agent.deliver([a])      # the stack delete removed B first
    kept = agent.absent("--foreground")
    assert kept.returncode == 0 and "still delivered to this server" in kept.stderr, kept.stderr
    assert deletes(kubectl) == before
    agent.deliver([])       # then A
    gone = agent.absent("--foreground")
    assert gone.returncode == 0 and "DELETE answered 0" in gone.stderr, gone.stderr
    assert "objects kept" not in gone.stderr, gone.stderr
    assert kubectl.get("podtemplate", "tpl", "-n", ns) is None
    assert deletes(kubectl) == before + 1
    assert "DELETE answered" not in agent.absent("--foreground").stderr


def test_the_agent_never_waits_for_it(kubectl, hook_env, tmp_path):
    """Without --foreground (as the agent runs it) it returns at once; the DELETE runs in a
    process of its own, and its log says what it did."""
    agent = Agent(tmp_path, hook_env)
    stack, ns = f"s{uuid.uuid4().hex[:6]}", f"t-{uuid.uuid4().hex[:8]}"
    created = dep(ns, stack, "user-a")
    agent.deliver([created])
    assert agent.run(created, hook_env).code == 0
    agent.deliver([])
    t0 = time.monotonic()
    quick = agent.absent()
    returned = time.monotonic() - t0
    assert quick.returncode == 0 and returned < 5, (returned, quick.stderr)
    end = time.monotonic() + 60
    while kubectl.get("podtemplate", "tpl", "-n", ns) is not None:
        assert time.monotonic() < end, f"not deleted in the background:\n{agent.log()}"
        time.sleep(0.5)
    while "DELETE answered 0" not in agent.log():
        assert time.monotonic() < end, agent.log()
        time.sleep(0.2)
