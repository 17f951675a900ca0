"""Delete by absence, run by the agent before 55-heat-config on every metadata change (I/O).

`heat-k8s-hook-absent` (the element's os-refresh-config script 50-heat-config-kubectl, and
tools/bootstrap-controller's agent) reads the heat-config file and 55-heat-config's deployed
markers, asks `absence.plan` what left, and runs the hook's DELETE for each application whose
deployments all left. It returns at once: the work goes on in a detached process, one at a
time (a lock), so the next deployment never waits for it; each DELETE is bounded by the hook's
own deadline. Never prints a credential: it logs identities, codes and the hook's last line
(masked by the hook).
"""
from __future__ import annotations

import argparse
import fcntl
import json
import logging
import os
import subprocess
import sys
from typing import Optional

from heat_k8s_hook.engine import absence

CONF_FILE = "/var/run/heat-config/heat-config"
DEPLOYED_DIR = "/var/lib/heat-config/deployed"
STATE_DIR = "/var/lib/heat-config/heat-config-kubectl"
HOOK_DIRS = ("/usr/libexec/heat-config/hooks", "/var/lib/heat-config/hooks")
GRACE = 30.0   # beyond the deployment's own timeout: the hook always answers by then

log = logging.getLogger("heat-k8s-hook-absent")


def _paths() -> dict:
    env = os.environ
    return {"conf": env.get("HEAT_SHELL_CONFIG", CONF_FILE),
            "deployed": env.get("HEAT_CONFIG_DEPLOYED", DEPLOYED_DIR),
            "state": env.get("HEAT_K8S_HOOK_ABSENT_STATE", STATE_DIR)}


def hook_command() -> list:
    """The hook 55-heat-config runs (same search order), else this package's."""
    for d in (os.environ.get("HEAT_CONFIG_HOOKS"),) + HOOK_DIRS:
        if d and os.access(os.path.join(d, "kubectl"), os.X_OK):
            return [os.path.join(d, "kubectl")]
    return [sys.executable, "-m", "heat_k8s_hook.entry.hook"]


def _load(path: str, default):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return default


def markers(deployed: str, settled: frozenset = frozenset()) -> list:
    """The deployed markers not settled yet (55-heat-config never removes one: a settled
    marker is not even read again)."""
    found = []
    for name in sorted(os.listdir(deployed)) if os.path.isdir(deployed) else ():
        if not name.endswith(".json") or name.endswith(".notify.json") or \
                name[:-len(".json")] in settled:
            continue
        path = os.path.join(deployed, name)
        notify = _load(path[:-len(".json")] + ".notify.json", {})
        code = notify.get("deploy_status_code") if isinstance(notify, dict) else None
        m = absence.marker(_load(path, {}), os.stat(path).st_mtime,
                           code if isinstance(code, int) else None)
        if m is not None:
            found.append(m)
    return found


def _save(path: str, state: dict) -> None:
    tmp = f"{path}.tmp"
    with os.fdopen(os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600), "w") as f:
        json.dump(state, f, sort_keys=True)
    os.replace(tmp, path)


def run_delete(m: absence.Marker) -> tuple:
    """The hook's DELETE of one marker's deployment: (code, the last line it wrote)."""
    options = m.payload.get("options") if isinstance(m.payload.get("options"), dict) else {}
    timeout = options.get("timeout", 600)
    timeout = float(timeout) if isinstance(timeout, (int, float)) else 600.0
    try:
        proc = subprocess.run(hook_command(), input=json.dumps(absence.as_delete(m.payload)),
                              capture_output=True, text=True, timeout=timeout + GRACE)
        result = json.loads(proc.stdout)
        lines = str(result.get("deploy_stderr") or "").strip().splitlines()
        return int(result.get("deploy_status_code", 70)), lines[-1] if lines else ""
    except (subprocess.TimeoutExpired, ValueError, TypeError, AttributeError) as exc:
        return 70, f"the hook gave no answer ({type(exc).__name__})"


def once(paths: dict) -> absence.Plan:
    """One pass: plan, run the DELETEs, record what is settled (under the caller's lock)."""
    state_file = os.path.join(paths["state"], "state.json")
    state = _load(state_file, {})
    settled, attempts = set(state.get("settled") or []), dict(state.get("attempts") or {})
    current = _load(paths["conf"], [])
    decided = absence.plan(current if isinstance(current, list) else [],
                           markers(paths["deployed"], frozenset(settled)), settled)
    for identity, why in decided.kept:
        log.info("kept %s: %s", identity, why)
    settled |= set(decided.settled)
    for m in decided.delete:
        code, last = run_delete(m)
        log.info("deployment %s of %s left this server: DELETE answered %d: %s",
                 m.id, m.identity, code, last)
        attempts[m.id] = attempts.get(m.id, 0) + 1
        if code == 0 or attempts[m.id] >= absence.MAX_ATTEMPTS:
            if code:
                log.warning("gave up on %s after %d attempts", m.identity, attempts[m.id])
            settled.add(m.id)
            attempts.pop(m.id, None)
        _save(state_file, {"settled": sorted(settled), "attempts": attempts})
    _save(state_file, {"settled": sorted(settled), "attempts": attempts})
    return decided


def work(paths: dict) -> None:
    os.makedirs(paths["state"], mode=0o700, exist_ok=True)
    with open(os.path.join(paths["state"], "lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)   # one pass at a time; a later one waits its turn
        once(paths)


def _detach(paths: dict) -> bool:
    """Fork a session of its own that outlives the agent's run; True in the child."""
    child = os.fork()
    if child:
        os.waitpid(child, 0)   # it forks again and exits at once
        return False
    os.setsid()
    if os.fork():
        os._exit(0)
    os.makedirs(paths["state"], mode=0o700, exist_ok=True)
    fd = os.open(os.path.join(paths["state"], "absent.log"),
                 os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    return True


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(prog="heat-k8s-hook-absent", description=__doc__.split(
        "\n\n")[0])
    parser.add_argument("--foreground", action="store_true",
                        help="do the work before returning (tests, an operator by hand)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="[%(asctime)s] (heat-k8s-hook-absent) %(message)s")
    paths = _paths()
    if args.foreground:
        work(paths)
        return 0
    if not _detach(paths):
        return 0
    try:
        work(paths)
    except Exception:   # a bug here must never fail the agent's run: logged, and next time
        log.exception("delete by absence failed")
    finally:
        logging.shutdown()
        os._exit(0)

if __name__ == "__main__":
    sys.exit(main())
