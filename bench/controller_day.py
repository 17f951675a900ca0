"""A controller's day (issue 27, part 4): N applications of 5 objects, delivered serially as
heat-agents' 55-heat-config runs the hook (a new `hooks/kubectl` process per deployment, the
deployment JSON on stdin), then all re-delivered unchanged (as after a reboot: the deployed
markers gone, the same deployment JSON delivered again).

Reports per pass: total time, per-deployment time (median, p90, max), the API writes the
API server itself counted (apiserver_request_total, non-dry-run mutating verbs, before/after,
Leases, Events and subresources left out: node heartbeats, leader election and controllers'
status updates), peak RSS of one hook process (wait4's rusage: the process and the children
it waited for), and how many re-deliveries took the fast path ("re-delivery of the recorded
apply" in the result's deploy_stderr). Cleans up what it created: the namespaces `<prefix>-NNN`, and the
hook's records (ConfigMaps, Leases) of its stack in namespace heat-k8s-hook.

    python3 bench/controller_day.py --apps 100 [--kubeconfig PATH] [--json OUT]
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from projectvenv import require  # noqa: E402

require("yaml", "tenacity")  # the hook runs under this interpreter: else again under tools/venv
import yaml  # noqa: E402

HOOK = ROOT / "hooks" / "kubectl"
FAST_LINE = "re-delivery of the recorded apply"
WRITE_VERBS = frozenset({"POST", "PUT", "PATCH", "APPLY", "DELETE", "DELETECOLLECTION"})
NOISE = frozenset({"leases", "events"})
_SAMPLE = re.compile(r'^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>[0-9.e+]+)$')
_LABEL = re.compile(r'(\w+)="([^"]*)"')


def kubectl(kubeconfig: str, *args: str, check: bool = True) -> str:
    return subprocess.run(["kubectl", "--kubeconfig", kubeconfig, *args], text=True,
                          capture_output=True, check=check).stdout


def writes(kubeconfig: str) -> dict:
    """(verb, resource) -> non-dry-run writes the API server counted so far."""
    out: dict = {}
    for line in kubectl(kubeconfig, "get", "--raw", "/metrics").splitlines():
        match = _SAMPLE.match(line)
        if not match:
            continue
        labels = dict(_LABEL.findall(match["labels"]))
        if labels.get("verb") in WRITE_VERBS and not labels.get("dry_run") \
                and labels.get("resource") not in NOISE and not labels.get("subresource"):
            key = f"{labels['verb']} {labels.get('resource')}"
            out[key] = out.get(key, 0) + int(float(match["value"]))
    return out


def ours(kubeconfig: str, prefix: str) -> dict:
    """resourceVersion of every object of this run (the applications' objects and the hook's
    records of its stack): a write by the hook would change one, another client's would not."""
    found = json.loads(kubectl(kubeconfig, "get", "namespaces,configmaps,secrets,services,"
                               "deployments,leases", "-A", "-o", "json"))["items"]
    out = {}
    for o in found:
        meta = o["metadata"]
        where = meta.get("namespace") or meta["name"]
        if where.startswith(f"{prefix}-") or (where == "heat-k8s-hook" and prefix in json.dumps(meta)):
            out[f"{o['kind']} {where}/{meta['name']}"] = meta["resourceVersion"]
    return out


def quiesce(kubeconfig: str, timeout: float = 60.0) -> int:
    """Wait (up to timeout) until no namespace is Terminating: the namespace controller's
    deletes of other clients' namespaces would land in the count. Returns those left."""
    end = time.monotonic() + timeout
    while True:
        items = json.loads(kubectl(kubeconfig, "get", "namespaces", "-o", "json"))["items"]
        left = sum(i.get("status", {}).get("phase") == "Terminating" for i in items)
        if not left or time.monotonic() > end:
            return left
        time.sleep(2)


def delta(after: dict, before: dict) -> dict:
    return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}


def short_id() -> str:
    """Heat's short_id: 12 lowercase base32 characters."""
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    return "".join(secrets.choice(alphabet) for _ in range(12))


def objects(ns: str, i: int) -> list:
    """Five objects: the namespace, a ConfigMap, a Secret, a Service, a Deployment."""
    app = {"app": f"web{i}"}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings", "namespace": ns},
         "data": {"index": str(i), "log_level": "info"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "creds", "namespace": ns},
         "stringData": {"password": f"bench-{i}"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": ns},
         "spec": {"selector": app, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": ns},
         "spec": {"replicas": 1, "selector": {"matchLabels": app},
                  "template": {"metadata": {"labels": app},
                               "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                                                        "ports": [{"containerPort": 8080}],
                                                        "resources": {"requests": {
                                                            "cpu": "10m", "memory": "16Mi"}}}]}}}},
    ]


def deployment(stack: str, stack_uuid: str, server: str, i: int, ns: str) -> dict:
    """What Heat sends for an OS::Heat::SoftwareDeployment of a `group: kubectl` config: the
    config named `<stack>-<resource>-<short id>`, the derived deploy_* inputs, NO_SIGNAL."""
    resource = f"app{i:03d}"
    derived = [
        ("deploy_server_id", server), ("deploy_action", "CREATE"),
        ("deploy_stack_id", f"{stack}/{stack_uuid}"), ("deploy_resource_name", resource),
        ("deploy_signal_transport", "NO_SIGNAL"),
    ]
    return {
        "id": str(uuid.uuid4()), "name": f"{stack}-{resource}-{short_id()}", "group": "kubectl",
        "creation_time": "2026-12-05T07:00:00Z",
        "config": yaml.safe_dump_all(objects(ns, i), sort_keys=False),
        "options": {}, "outputs": [],
        "inputs": [{"name": "replicas", "type": "Number", "value": 1, "description": ""}] +
                  [{"name": n, "type": "String", "value": v, "description": ""} for n, v in derived],
    }


def run_hook_rusage(dep: dict, env: dict) -> dict:
    """One hook process, as 55-heat-config runs it, reaped with os.wait4: its wall time and
    its own rusage (ru_maxrss, KiB: the process and the children it waited for)."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        data = json.dumps(dep).encode()
        with tempfile.TemporaryFile() as stdin:
            stdin.write(data)
            stdin.seek(0)
            pid = os.posix_spawn(sys.executable, [sys.executable, str(HOOK)], env,
                                 file_actions=[(os.POSIX_SPAWN_DUP2, stdin.fileno(), 0),
                                               (os.POSIX_SPAWN_DUP2, out.fileno(), 1),
                                               (os.POSIX_SPAWN_DUP2, err.fileno(), 2)])
            _, status, usage = os.wait4(pid, 0)
        elapsed = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read().decode(errors="replace")
    try:
        result = json.loads(stdout)
    except ValueError:
        result = {"deploy_status_code": None, "deploy_stderr": stdout.decode(errors="replace")}
    return {"elapsed": elapsed, "code": result.get("deploy_status_code"),
            "fast": FAST_LINE in str(result.get("deploy_stderr", "")) + stderr, "rss_kib": usage.ru_maxrss,
            "rc": os.waitstatus_to_exitcode(status),
            "stderr": stderr[-1500:], "deploy_stderr": str(result.get("deploy_stderr", ""))[-1500:]}


def quantile(values: list, q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def one_pass(name: str, deps: list, env: dict, kubeconfig: str, prefix: str) -> dict:
    terminating = quiesce(kubeconfig)
    rvs = ours(kubeconfig, prefix)
    before = writes(kubeconfig)
    started = time.monotonic()
    runs = []
    for i, dep in enumerate(deps):
        run = run_hook_rusage(dep, env)
        runs.append(run)
        if run["code"] != 0:
            print(f"  {name} app{i:03d}: code {run['code']}\n{run['deploy_stderr']}\n"
                  f"{run['stderr']}", file=sys.stderr)
    total = time.monotonic() - started
    counted = delta(writes(kubeconfig), before)
    rvs_after = ours(kubeconfig, prefix)
    changed = sorted(k for k in set(rvs) | set(rvs_after) if rvs.get(k) != rvs_after.get(k))
    times = [r["elapsed"] for r in runs]
    report = {
        "pass": name, "deployments": len(runs), "failed": sum(r["code"] != 0 for r in runs),
        "total_s": round(total, 2), "median_s": round(statistics.median(times), 3),
        "p90_s": round(quantile(times, 0.9), 3), "max_s": round(max(times), 3),
        "writes": sum(counted.values()), "writes_by_verb_resource": counted,
        "apply_writes": sum(v for k, v in counted.items() if k.startswith("APPLY ")),
        "terminating_namespaces_before": terminating,
        "objects_of_this_run": len(rvs_after), "changed_objects_of_this_run": len(changed),
        "changed_examples": changed[:5],
        "peak_rss_mib": round(max(r["rss_kib"] for r in runs) / 1024, 1),
        "median_rss_mib": round(statistics.median(r["rss_kib"] for r in runs) / 1024, 1),
        "fast_path": sum(r["fast"] for r in runs),
        "missed_fast_path": [i for i, r in enumerate(runs) if not r["fast"]],
    }
    print(json.dumps(report), flush=True)
    return report


def cleanup(kubeconfig: str, prefix: str, stack: str) -> None:
    names = kubectl(kubeconfig, "get", "namespaces", "-o", "name").split()
    ours = [n for n in names if n.startswith(f"namespace/{prefix}-")]
    if ours:
        kubectl(kubeconfig, "delete", "--wait=false", *ours, check=False)
    for kind in ("configmaps", "leases"):
        found = kubectl(kubeconfig, "get", kind, "-n", "heat-k8s-hook", "-o", "json", check=False)
        items = json.loads(found or '{"items": []}')["items"]
        mine = [i["metadata"]["name"] for i in items
                if stack in json.dumps(i.get("metadata", {}))]
        for start in range(0, len(mine), 50):
            kubectl(kubeconfig, "delete", kind, "-n", "heat-k8s-hook", "--wait=false",
                    *mine[start:start + 50], check=False)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--apps", type=int, default=100)
    ap.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG") or subprocess.run(
        [str(ROOT / "tools" / "local-cluster"), "kubeconfig"], text=True,
        capture_output=True).stdout.strip())
    ap.add_argument("--prefix", default=f"cday-{secrets.token_hex(3)}")
    ap.add_argument("--json", help="write the two passes' reports here")
    ap.add_argument("--keep", action="store_true", help="leave what it created")
    args = ap.parse_args()
    stack = args.prefix
    stack_uuid, server = str(uuid.uuid4()), str(uuid.uuid4())
    env = dict(os.environ, KUBECONFIG=args.kubeconfig)
    env.pop("HEAT_K8S_HOOK_FAST_PATH", None)
    deps = [deployment(stack, stack_uuid, server, i, f"{args.prefix}-{i:03d}")
            for i in range(args.apps)]
    print(f"# {args.apps} applications x 5 objects, stack {stack}, "
          f"config names like {deps[0]['name']}", flush=True)
    reports = []
    try:
        reports.append(one_pass("first delivery", deps, env, args.kubeconfig, args.prefix))
        # the deployed markers gone: 55-heat-config runs the hook again with the same JSON
        reports.append(one_pass("re-delivery", deps, env, args.kubeconfig, args.prefix))
    finally:
        if not args.keep:
            cleanup(args.kubeconfig, args.prefix, stack)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(reports, indent=1))
    return 0 if all(r["failed"] == 0 for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
