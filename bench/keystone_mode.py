#!/usr/bin/env python3
"""Keystone mode against kubeconfig mode: the same deployment, the same cluster, interleaved.

    bench/keystone_mode.py                    the web example (4 objects), 5 runs per mode
    bench/keystone_mode.py --size 500         bench/run's mix of 500 objects
    bench/keystone_mode.py --runs 1 --json

Needs tools/local-cluster up, tools/local-heat up and `tools/local-cluster webhook up` (the
cluster's TokenReview webhook). Makes one Keystone project with one member (deleted at the
end) and, per run, a namespace bound to the project's group (examples/keystone/rbac.yaml's
ClusterRole, plus get/patch of that one namespace so the example's Namespace object applies).
Each run is the hook as 55-heat-config runs it (a new process), through bench/keystone_probe.py,
which times the token issue and the first API request inside the hook. Per run:

- wall: the hook process, start to exit;
- token_issue: the hook's POST /v3/auth/tokens (keystoneauth), as timed in the hook;
- token_wait: the part of it the run waited for (the hook starts it in a thread when the run
  starts; before issue 27 the whole issue was waited);
- first_request: the hook's first API request (GET /version), which in Keystone mode waits for
  the API server's TokenReview (kube-apiserver -> webhook -> Keystone);
- rest: wall - token_wait - first_request;
- reviews / keystone_calls / review_ms: from the webhook's own log (its line per review names
  the user, the Keystone calls it made and how long it took), for this run's user only;
- keystone_log: the Keystone access-log lines written during the run, by user agent (the
  hook's "heat-k8s-hook", the webhook's "heat-k8s-hook-tokenreview"); cluster-wide, so other
  clients of the shared Keystone land there too; the minimum over runs is the honest figure.

The modes alternate (which one goes first alternates too); the report gives medians and the
Keystone/kubeconfig ratio of each run's pair. --user fresh (default) gives each Keystone-mode
run a new user (a new stack's first deployment); --user same reuses one (re-deliveries).
"""
from __future__ import annotations

import argparse
import importlib.machinery
import importlib.util
import json
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

ROOT = pathlib.Path(__file__).resolve().parents[1]
STATE = pathlib.Path(os.environ.get("XDG_STATE_HOME", pathlib.Path.home() / ".local" / "state"))

sys.path.insert(0, str(ROOT / "bench"))
from projectvenv import require  # noqa: E402

require("keystoneauth1", "yaml")  # else: again under tools/venv

import yaml  # noqa: E402

sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from keystoneadmin import KeystoneAdmin  # noqa: E402

PROBE = ROOT / "bench" / "keystone_probe.py"
_AGENT = re.compile(r'"(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[0-9.]+" (?P<status>\d+) .*"(?P<ua>[^"]*)"$')
_REVIEW = re.compile(r"authenticated user '(?P<user>[^']*)'.*?(?P<cached>\(cached\))?"
                     r"(?: \[(?P<calls>\d+) Keystone calls?(?: (?P<ks_ms>[0-9.]+) ms)?, "
                     r"(?P<ms>[0-9.]+) ms\])?$")


def log(msg: str) -> None:
    print(f"[keystone-bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def sh(*argv: str) -> str:
    return subprocess.run(argv, check=True, text=True, stdout=subprocess.PIPE).stdout.strip()


def env_file(path: str) -> dict:
    out = {}
    for line in pathlib.Path(path).read_text().splitlines():
        m = re.match(r"^export (\w+)=(.*)$", line)
        if m:
            out[m[1]] = m[2].strip('"')
    return out


def bench_run_module():
    loader = importlib.machinery.SourceFileLoader("bench_run", str(ROOT / "bench" / "run"))
    spec = importlib.util.spec_from_loader("bench_run", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def web_example(ns: str) -> tuple:
    """The web example (examples/deployment.json, 4 objects) in namespace `ns`: (config, inputs)."""
    dep = json.loads((ROOT / "examples" / "deployment.json").read_text())
    config = dep["config"].replace("namespace: demo", f"namespace: {ns}").replace(
        "name: demo", f"name: {ns}")
    inputs = [i for i in dep["inputs"] if i["name"] in ("replicas", "greeting")]
    return config, inputs


def big_config(size: int, ns: str) -> tuple:
    objs = bench_run_module().objects(size, ns)
    return yaml.safe_dump_all(objs, sort_keys=False), []


def deployment(config: str, inputs: list, ns: str, tag: str, mode: str, run: int,
               tenant: dict | None, auth_url: str) -> dict:
    derived = {"deploy_action": "CREATE", "deploy_stack_id": f"kb-{tag}/{uuid.uuid4()}",
               "deploy_resource_name": f"{mode}-{run}", "deploy_server_id": "server-1",
               "deploy_signal_transport": "NO_SIGNAL"}
    if tenant is not None:
        derived.update(deploy_signal_transport="HEAT_SIGNAL", deploy_auth_url=auth_url,
                       deploy_user_id=tenant["user"]["id"], deploy_password=tenant["password"],
                       deploy_project_id=tenant["project"]["id"])
    return {"id": str(uuid.uuid4()), "name": f"kb-{mode}-{run}", "group": "kubectl",
            "options": {"namespace": ns, "timeout": 600}, "config": config, "outputs": [],
            "inputs": inputs + [{"name": k, "type": "String", "value": v}
                                for k, v in derived.items()]}


def rbac(ns: str, project_id: str) -> str:
    docs = list(yaml.safe_load_all((ROOT / "examples" / "keystone" / "rbac.yaml").read_text()))
    role = next(d for d in docs if d["kind"] == "ClusterRole")
    role["metadata"]["name"] = "bench-keystone-tenant"
    return yaml.safe_dump_all([
        role,
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": "bench-keystone-tenant", "namespace": ns},
         "subjects": [{"kind": "Group", "name": project_id,
                       "apiGroup": "rbac.authorization.k8s.io"}],
         "roleRef": {"kind": "ClusterRole", "name": "bench-keystone-tenant",
                     "apiGroup": "rbac.authorization.k8s.io"}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": f"bench-keystone-{ns}"},
         "rules": [{"apiGroups": [""], "resources": ["namespaces"], "resourceNames": [ns],
                    "verbs": ["get", "patch"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": f"bench-keystone-{ns}"},
         "subjects": [{"kind": "Group", "name": project_id,
                       "apiGroup": "rbac.authorization.k8s.io"}],
         "roleRef": {"kind": "ClusterRole", "name": f"bench-keystone-{ns}",
                     "apiGroup": "rbac.authorization.k8s.io"}},
    ])


class Tail:
    """The lines a log file gets from now on."""

    def __init__(self, path: str):
        self.path = path
        self.pos = os.path.getsize(path) if os.path.exists(path) else 0

    def lines(self) -> list:
        if not os.path.exists(self.path):
            return []
        with open(self.path, "rb") as f:
            f.seek(self.pos)
            data = f.read()
        return data.decode("utf-8", "replace").splitlines()


def keystone_agents(lines: list) -> dict:
    out: dict = {}
    for line in lines:
        m = _AGENT.search(line)
        if not m:
            continue
        ua = m["ua"]
        who = ("webhook" if ua.startswith("heat-k8s-hook-tokenreview") else
               "hook" if ua.startswith("heat-k8s-hook ") or ua.startswith("kubectl ") or
               ua.startswith("keystone_probe.py ") else "other")
        key = f"{who} {m['method']} {re.sub(r'/[0-9a-f]{32}', '/ID', m['path'].split('?')[0])}"
        out[key] = out.get(key, 0) + 1
    return out


def reviews(lines: list, username: str) -> dict:
    n = cached = calls = 0
    ms: list = []
    ks_ms: list = []
    for line in lines:
        m = _REVIEW.search(line)
        if not m or m["user"] != username:
            continue
        n += 1
        cached += bool(m["cached"])
        if m["calls"] is not None:
            calls += int(m["calls"])
            if not m["cached"]:
                ms.append(float(m["ms"]))
                if m["ks_ms"] is not None:
                    ks_ms.append(float(m["ks_ms"]))
    return {"reviews": n, "cached": cached, "keystone_calls": calls if n else 0,
            "review_ms": ms, "review_keystone_ms": ks_ms}


def run_one(mode: str, dep: dict, env: dict, tmp: pathlib.Path, tr_log: str, ks_log: str,
            username: str | None) -> dict:
    out = tmp / f"probe-{uuid.uuid4().hex}.json"
    tr, ks = Tail(tr_log), Tail(ks_log)
    t0 = time.monotonic()
    proc = subprocess.run([sys.executable, str(PROBE)], input=json.dumps(dep), text=True,
                          capture_output=True, env=dict(env, BENCH_PROBE_OUT=str(out)),
                          timeout=900)
    wall = time.monotonic() - t0
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        raise SystemExit(f"{mode}: the hook printed no JSON: {proc.stderr[-2000:]}") from None
    if result.get("deploy_status_code") != 0:
        raise SystemExit(f"{mode}: the hook failed: {result.get('deploy_stderr', '')[-2000:]}")
    time.sleep(0.3)   # the webhook's and Keystone's log lines of the run's last requests
    probe = json.loads(out.read_text())
    rec = {"mode": mode, "wall": wall, "token_issue": sum(probe["token_issue"]),
           "token_wait": probe.get("token_wait") or 0.0,
           "token_fetches": len(probe["token_issue"]), "token_calls": probe["token_calls"],
           "first_request": probe["first_request"], "requests": probe["requests"],
           "token_at": probe.get("token_at"), "first_request_at": probe.get("first_request_at"),
           "keystone_log": keystone_agents(ks.lines())}
    rec["rest"] = wall - rec["token_wait"] - rec["first_request"]
    if username:
        rec.update(reviews(tr.lines(), username))
    return rec


def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def report(records: list) -> dict:
    out: dict = {}
    for mode in ("kubeconfig", "keystone"):
        rs = [r for r in records if r["mode"] == mode]
        out[mode] = {k: med([r[k] for r in rs]) for k in
                     ("wall", "token_issue", "token_wait", "first_request", "rest",
                      "requests")}
        out[mode]["runs"] = len(rs)
        if mode == "keystone":
            for k in ("reviews", "cached", "keystone_calls", "token_fetches"):
                out[mode][k] = med([r.get(k) for r in rs])
            ms = [m for r in rs for m in r.get("review_ms", [])]
            out[mode]["review_ms_median"] = med(ms)
            ks_ms = [m for r in rs for m in r.get("review_keystone_ms", [])]
            out[mode]["review_keystone_ms_median"] = med(ks_ms)
            hook_posts = [sum(v for k, v in r["keystone_log"].items() if k.startswith("hook "))
                          for r in rs]
            out[mode]["keystone_log_hook_min"] = min(hook_posts) if hook_posts else None
    pairs = list(zip([r for r in records if r["mode"] == "kubeconfig"],
                     [r for r in records if r["mode"] == "keystone"]))
    out["added_s"] = [round(b["wall"] - a["wall"], 3) for a, b in pairs]
    out["ratio"] = [round(b["wall"] / a["wall"], 2) for a, b in pairs]
    out["added_median_s"] = med(out["added_s"])
    out["ratio_median"] = med(out["ratio"])
    # what Keystone mode adds beyond Keystone's own time (the token the run waited for, the
    # webhook's Keystone calls as it timed them): the part that is ours (and kube-apiserver's)
    ours = [b["wall"] - a["wall"] - b["token_wait"] - sum(b.get("review_keystone_ms", [])) / 1000
            for a, b in pairs if b.get("review_keystone_ms")]
    out["added_beyond_keystone_s"] = [round(x, 3) for x in ours]
    out["added_beyond_keystone_median_s"] = med(ours)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--size", type=int, default=0, help="bench/run's mix of N objects "
                    "(default: the web example, 4 objects)")
    ap.add_argument("--user", choices=("fresh", "same"), default="fresh",
                    help="fresh: a new Keystone user per Keystone-mode run (a new stack's first "
                    "deployment: the webhook has never seen it); same: one user for all runs "
                    "(re-deliveries of one deployment)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    kubeconfig = sh(str(ROOT / "tools" / "local-cluster"), "kubeconfig")
    kubectl = os.path.join(sh(str(ROOT / "tools" / "local-cluster"), "bin"), "kubectl")
    tr_env = env_file(sh(str(ROOT / "tools" / "local-cluster"), "webhook", "env"))
    heat_env = env_file(str(STATE / "heat-k8s-hook" / "heat" / "env"))
    ks_log = str(pathlib.Path(heat_env["LOCAL_HEAT_STATE"]) / "logs" / "keystone.log")
    auth_url = heat_env["OS_AUTH_URL"]
    if subprocess.run([str(ROOT / "tools" / "local-cluster"), "webhook", "status"],
                      stdout=subprocess.DEVNULL).returncode != 0:
        raise SystemExit("the webhook is not running: tools/local-cluster webhook up")

    admin = KeystoneAdmin(auth_url, heat_env["LOCAL_HEAT_ADMIN_PASSWORD"])
    tag = uuid.uuid4().hex[:6]
    project = admin.project(f"kb-{tag}")
    user, password = admin.person(project["id"], prefix="kb")
    tenant = {"project": project, "user": user, "password": password}
    namespaces: list = []

    def kubectl_run(*argv, stdin=None, check=True):
        return subprocess.run([kubectl, "--kubeconfig", kubeconfig, *argv], input=stdin,
                              text=True, capture_output=True, check=check, timeout=120)

    tmp = pathlib.Path(tempfile.mkdtemp(prefix="kb-"))
    ks_settings = tmp / "hook-keystone.yaml"
    ks_settings.write_text(yaml.safe_dump({"keystone": {
        "server": tr_env["KUBE_SERVER"], "certificate_authority": tr_env["KUBE_CA"],
        "identity": "heat_signal", "auth_url": auth_url}}))
    ks_settings.chmod(0o600)
    base = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    envs = {"kubeconfig": dict(base, KUBECONFIG=kubeconfig,
                               HEAT_K8S_HOOK_CONFIG=str(tmp / "none.yaml")),
            "keystone": dict(base, HEAT_K8S_HOOK_CONFIG=str(ks_settings))}
    records: list = []
    try:
        for run in range(args.runs):
            order = ("kubeconfig", "keystone") if run % 2 == 0 else ("keystone", "kubeconfig")
            for mode in order:
                ns = f"kb-{tag}-{mode[:2]}{run}"
                namespaces.append(ns)
                kubectl_run("apply", "-f", "-", stdin=rbac(ns, project["id"]))
                config, inputs = (big_config(args.size, ns) if args.size else web_example(ns))
                if mode == "keystone" and args.user == "fresh" and run:
                    user, password = admin.person(project["id"], prefix="kb")
                    tenant = {"project": project, "user": user, "password": password}
                dep = deployment(config, inputs, ns, tag, mode, run,
                                 tenant if mode == "keystone" else None, auth_url)
                rec = run_one(mode, dep, envs[mode], tmp, tr_env["TOKENREVIEW_LOG"], ks_log,
                              user["name"] if mode == "keystone" else None)
                rec["run"] = run
                records.append(rec)
                log(f"run {run} {mode}: wall {rec['wall']:.2f}s token {rec['token_issue']:.3f}s "
                    f"(waited {rec['token_wait']:.3f}s) "
                    f"first request {rec['first_request']:.3f}s rest {rec['rest']:.2f}s"
                    + (f" reviews {rec['reviews']} (cached {rec['cached']}) keystone calls "
                       f"{rec['keystone_calls']} {rec['review_keystone_ms']} of {rec['review_ms']} ms"
                       if mode == "keystone"
                       else "") + f" keystone log {rec['keystone_log']}")
                if args.size:  # a KWOK node holds ~110 pods: N=500 runs must not pile up
                    kubectl_run("delete", "namespace", ns, "--wait=true", "--timeout=110s",
                                check=False)
    finally:
        for ns in namespaces:
            kubectl_run("delete", "namespace", ns, "--wait=false", check=False)
            kubectl_run("delete", "clusterrole,clusterrolebinding", f"bench-keystone-{ns}",
                        check=False)
        admin.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)
    summary = report(records)
    if args.json:
        print(json.dumps({"records": records, "summary": summary}, indent=1))
    else:
        print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
