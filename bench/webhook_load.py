#!/usr/bin/env python3
"""The TokenReview webhook under load, on loopback, against the real Keystone (issue 27).

    bench/webhook_load.py                          10,000 reviews, 50 clients
    bench/webhook_load.py --reviews 2000 --json
    bench/webhook_load.py --upstream ...           the same load on k8s-keystone-auth
    bench/webhook_load.py --rate 500               open loop: 500 reviews/s from the 50 clients

Needs tools/local-heat up and `tools/local-cluster webhook up` (for its TLS material and
service credential, tools/cluster/tokenreview.sh). Starts a private webhook process on a free
port (the cluster's own webhook is left alone), makes a Keystone project with a few members
(deleted at the end), and sends a fixed mix of reviews from --clients concurrent HTTPS
keep-alive connections (spread over --procs processes, so the load generator's own GIL is
not the bottleneck):

- cached: a valid token the webhook has seen (warmed before the clock starts);
- new: a valid token never seen (issued before the load with Keystone's token method from a
  member's password token, so bcrypt is not on the clock), of a member the webhook has seen;
- invalid: a random fernet-looking string; revoked: a valid token revoked before the load
  (Keystone answers an expired token the same way, 404); malformed: not JSON, wrong kind, no
  token (HTTP 400, no Keystone call).

Every answer is checked (authenticated or not, the uid and the project group of a valid token,
HTTP 400 for a malformed body): an error is a transport failure or an unexpected status, a
wrong answer is a 200 that says the wrong thing. Meanwhile --slow connections each send a
review one byte a second (they must not hold anyone up), and a control thread times Keystone's
own validation (GET /v3/auth/tokens with the service credential, for tokens the load does not
use), the anchor for the uncached figure. Reports throughput, p50/p99 per kind, the webhook's
RSS (VmRSS, VmHWM), its log's count of Keystone calls, errors and wrong answers.

By default the loop is closed: every client sends its next review when the last is answered,
so latency is the queue in front of a saturated server (Little's law: clients / throughput)
as much as the server's own time. `--rate R` opens it: reviews are due at R per second in
all, each client on a fixed schedule, and a review's latency counts from when it was due (a
late send counts its wait), the latency at a given load.

--upstream loads the upstream webhook k8s-keystone-auth instead (built by
tools/cluster/keystone-auth.sh, started here on a free port with the same TLS material and the
same Keystone, v1beta1 reviews on /webhook); it caches nothing, so every review of a valid token
is two Keystone calls: keep such runs short.

Mind the shared Keystone: the default mix (10% new, 5% bad of 10,000) is about 1,300
validations from up to 50 clients at once, which saturated tools/local-heat's 4-worker Keystone
(17 s per call) for everyone using it; `--new 0.01 --bad 0.01` is about 160 (docs/benchmarks.md,
"Keystone mode").
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import pathlib
import random
import re
import shutil
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

ROOT = pathlib.Path(__file__).resolve().parents[1]
STATE = pathlib.Path(os.environ.get("XDG_STATE_HOME", pathlib.Path.home() / ".local" / "state"))

sys.path.insert(0, str(ROOT / "bench"))
from projectvenv import require  # noqa: E402

require("keystoneauth1", "yaml")  # else: again under tools/venv
import yaml  # noqa: E402

sys.path.insert(0, str(ROOT / "tests" / "e2e"))
from keystoneadmin import KeystoneAdmin  # noqa: E402

KINDS = ("cached", "new", "invalid", "revoked", "malformed")
_COST = re.compile(r"\[(\d+) Keystone calls?(?: [0-9.]+ ms)?, ([0-9.]+) ms\]$")


def log(msg: str) -> None:
    print(f"[webhook-load {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def env_file(path: str) -> dict:
    out = {}
    for line in pathlib.Path(path).read_text().splitlines():
        m = re.match(r"^export (\w+)=(.*)$", line)
        if m:
            out[m[1]] = m[2].strip('"')
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def review_body(token: str) -> bytes:
    return json.dumps({"apiVersion": f"authentication.k8s.io/{VERSION}", "kind": "TokenReview",
                       "spec": {"token": token}}).encode()


def malformed() -> tuple:
    """Not JSON, the wrong kind, no token (in the TokenReview version sent)."""
    api = f"authentication.k8s.io/{VERSION}"
    return (b"not json", json.dumps({"apiVersion": api, "kind": "Pod",
                                     "spec": {"token": "x"}}).encode(),
            json.dumps({"apiVersion": api, "kind": "TokenReview", "spec": {}}).encode())


# --- the load (in worker processes) -----------------------------------------------------------

def tls_context(env: dict) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=env["TOKENREVIEW_CA"])
    ctx.load_cert_chain(env["TOKENREVIEW_CLIENT_CERT"], env["TOKENREVIEW_CLIENT_KEY"])
    return ctx


def check(job: tuple, status: int, data: bytes) -> str:
    """'' when the answer is right, else what is wrong (never the token)."""
    kind, _, expect = job
    if kind == "malformed":
        return "" if status == 400 else f"malformed: HTTP {status}"
    # a "no" is 200 with authenticated false (ours), or 401 with the same body (k8s-keystone-auth;
    # kube-apiserver refuses the token either way)
    if status != 200 and not (status == 401 and kind in ("invalid", "revoked")):
        return f"{kind}: HTTP {status}"
    st = json.loads(data).get("status", {})
    if kind in ("cached", "new"):
        user = st.get("user") or {}
        if not st.get("authenticated"):
            return f"{kind}: not authenticated ({st.get('error', '')})"
        if user.get("uid") != expect["uid"] or expect["project"] not in user.get("groups", []):
            return f"{kind}: wrong user or groups"
        return ""
    return "" if st.get("authenticated") is False else f"{kind}: authenticated"


PATH = "/"        # where reviews are POSTed (--path)
VERSION = "v1"    # the TokenReview version sent (--api-version)


def client_thread(port: int, env: dict, jobs: list, out: list,
                  schedule: tuple | None = None) -> None:
    """One keep-alive client. `schedule` (first, interval): open loop, the k-th review is due
    at first + k * interval and its latency counts from then, so a late send counts the wait
    (no coordinated omission); None: closed loop, each review right after the last answer."""
    ctx = tls_context(env)
    conn = None
    for k, job in enumerate(jobs):
        body = job[1] if job[0] == "malformed" else review_body(job[1])
        t = time.monotonic()
        if schedule is not None:
            due = schedule[0] + k * schedule[1]
            if due > t:
                time.sleep(due - t)
            t = due
        try:
            if conn is None:
                conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=60)
            conn.request("POST", PATH, body=body, headers={"Content-Type": "application/json"})
            resp = conn.getresponse()
            data = resp.read()
            wrong = check(job, resp.status, data)
            out.append((job[0], time.monotonic() - t, "wrong" if wrong else "ok", wrong))
            if resp.will_close:
                conn.close()
                conn = None
        except (OSError, http.client.HTTPException, ValueError) as exc:
            out.append((job[0], time.monotonic() - t, "error", type(exc).__name__))
            if conn is not None:
                conn.close()
            conn = None
    if conn is not None:
        conn.close()


def worker(port: int, env: dict, chunks: list, queue, schedules: list | None = None) -> None:
    results: list = []
    threads = [threading.Thread(target=client_thread,
                                args=(port, env, c, results, schedules[i] if schedules else None))
               for i, c in enumerate(chunks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    queue.put(results)


def slow_client(port: int, env: dict, token: str, stop: threading.Event, out: list) -> None:
    """One review sent a byte a second until `stop`; the connection is then closed."""
    body = review_body(token)
    head = (f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    try:
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        sock = tls_context(env).wrap_socket(raw, server_hostname="127.0.0.1")
        sent = 0
        while not stop.is_set() and sent < len(head):
            sock.send(head[sent:sent + 1])
            sent += 1
            stop.wait(1.0)
        out.append(sent)
        sock.close()
    except OSError as exc:
        out.append(type(exc).__name__)


# --- the private webhook ----------------------------------------------------------------------

def memory_of(pid: int) -> dict:
    out = {}
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "Threads"):
            out[key] = int(value.split()[0])
    return out


class Started:
    """A webhook process started here (`proc`, its `log` file): alive while it runs, stopped
    at the end."""

    proc: subprocess.Popen

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class Webhook(Started):
    def __init__(self, env: dict, tmp: pathlib.Path, cache_ttl: float):
        config = yaml.safe_load(pathlib.Path(env["TOKENREVIEW_CONFIG"]).read_text())
        self.agent = f"tokenreview-load-{uuid.uuid4().hex[:8]}"
        self.port = free_port()
        config.update(listen=f"127.0.0.1:{self.port}", user_agent=self.agent, cache_ttl=cache_ttl)
        path = tmp / "config.yaml"
        path.touch(mode=0o600)
        path.write_text(yaml.safe_dump(config))
        self.log_path = tmp / "webhook.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "heat_k8s_hook.tokenreview",
                                      "--config", str(path)], stdout=self.log,
                                     stderr=subprocess.STDOUT, cwd=str(ROOT))
        ctx = tls_context(env)
        end = time.monotonic() + 60
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise SystemExit(f"the webhook exited: {self.log_path.read_text()[-2000:]}")
            try:
                conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("the webhook did not answer within 60 s")

    def memory(self) -> dict:
        return memory_of(self.proc.pid)

    def keystone_calls(self) -> int:
        return sum(int(m[1]) for line in self.log_path.read_text().splitlines()
                   for m in [_COST.search(line)] if m)


class External:
    """Another webhook already listening on 127.0.0.1:PORT with the local wiring's TLS material
    (the upstream k8s-keystone-auth, for one): no log to count Keystone calls in; `pid` for its
    memory."""

    def __init__(self, port: int, pid: int | None):
        self.port, self.pid = port, pid

    def memory(self) -> dict:
        return memory_of(self.pid) if self.pid else {}

    def keystone_calls(self) -> int:
        return 0

    def alive(self) -> bool:
        return not self.pid or os.path.exists(f"/proc/{self.pid}")

    def stop(self) -> None:
        pass


class Upstream(Started, External):
    """k8s-keystone-auth (tools/cluster/keystone-auth.sh builds it; the pinned version) started
    here on a free port with the local wiring's server certificate and the local Keystone, as
    tests/e2e/test_upstream_keystone_auth.py starts it; stopped by its pid at the end."""

    def __init__(self, env: dict, tmp: pathlib.Path, auth_url: str):
        build = subprocess.run([str(ROOT / "tools" / "cluster" / "keystone-auth.sh"), "build"],
                               text=True, stdout=subprocess.PIPE)
        if build.returncode != 0:
            raise SystemExit("k8s-keystone-auth is not built (tools/cluster/keystone-auth.sh)")
        binary = build.stdout.strip().splitlines()[-1]
        tr_dir = pathlib.Path(env["TOKENREVIEW_CA"]).parent
        port = free_port()
        self.log_path = tmp / "k8s-keystone-auth.log"
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [binary, "--listen", f"127.0.0.1:{port}", "--tls-cert-file", str(tr_dir / "server.crt"),
             "--tls-private-key-file", str(tr_dir / "server.key"), "--keystone-url", auth_url],
            stdout=self.log, stderr=subprocess.STDOUT)
        super().__init__(port, self.proc.pid)
        ctx = tls_context(env)
        end = time.monotonic() + 60
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise SystemExit(f"k8s-keystone-auth exited: {self.log_path.read_text()[-2000:]}")
            try:
                conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=2)
                conn.request("GET", "/healthz")   # no such handler: 404 once it listens
                conn.getresponse().read()
                return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("k8s-keystone-auth did not answer within 60 s")

# --- Keystone ---------------------------------------------------------------------------------

def rescoped(admin: KeystoneAdmin, base: str, project_id: str) -> str:
    """A new token from an existing one (Keystone's token method: no password hashing)."""
    body = {"auth": {"identity": {"methods": ["token"], "token": {"id": base}},
                     "scope": {"project": {"id": project_id}}}}
    resp = admin.call("POST", "/auth/tokens?nocatalog", json=body, authenticated=False)
    return resp.headers["X-Subject-Token"]


def keystone_validation(admin_session, auth_url: str, tokens: list, stop: threading.Event,
                        out: list) -> None:
    """Keystone's own validation time, one token after another, until `stop`."""
    i = 0
    while not stop.is_set() and tokens:
        t = time.monotonic()
        resp = admin_session.get(auth_url + "/auth/tokens?nocatalog", raise_exc=False,
                                 headers={"X-Subject-Token": tokens[i % len(tokens)]})
        if resp.status_code == 200:
            out.append(time.monotonic() - t)
        i += 1
        stop.wait(0.2)


def pct(values: list, q: float):
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reviews", type=int, default=10000)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--procs", type=int, default=5, help="load processes the clients share")
    ap.add_argument("--new", type=float, default=0.10, help="share of valid reviews with a "
                    "token the webhook has not seen")
    ap.add_argument("--bad", type=float, default=0.05, help="share of invalid, revoked and "
                    "malformed reviews (2:1:2)")
    ap.add_argument("--users", type=int, default=5)
    ap.add_argument("--slow", type=int, default=5, help="connections sending a byte a second")
    ap.add_argument("--cache-ttl", type=float, default=300, help="the private webhook's "
                    "cache_ttl (long enough that no cached token expires mid-run)")
    ap.add_argument("--port", type=int, help="load a webhook already listening on this "
                    "loopback port (TLS from tools/cluster/tokenreview.sh's CA) instead of a "
                    "private one of ours")
    ap.add_argument("--pid", type=int, help="with --port: its process, for the RSS figures")
    ap.add_argument("--path", default="/", help="with --port: where it takes reviews "
                    "(k8s-keystone-auth: /webhook)")
    ap.add_argument("--api-version", default="v1", choices=("v1", "v1beta1"),
                    help="TokenReview version sent (k8s-keystone-auth answers v1beta1 only)")
    ap.add_argument("--upstream", action="store_true", help="load the upstream k8s-keystone-auth "
                    "(tools/cluster/keystone-auth.sh, started here on a free port against the "
                    "same Keystone; implies --path /webhook --api-version v1beta1) instead of "
                    "our webhook")
    ap.add_argument("--rate", type=float, default=0, help="open loop: reviews per second "
                    "in all, each client on its own schedule, latency counted from when a "
                    "review was due (0: closed loop, every client as fast as it is answered)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    global PATH, VERSION
    PATH, VERSION = args.path, args.api_version
    if args.upstream:
        PATH, VERSION = "/webhook", "v1beta1"

    tr_env = env_file(subprocess.run([str(ROOT / "tools" / "local-cluster"), "webhook", "env"],
                                     check=True, text=True, stdout=subprocess.PIPE).stdout.strip())
    heat_env = env_file(str(STATE / "heat-k8s-hook" / "heat" / "env"))
    auth_url = heat_env["OS_AUTH_URL"].rstrip("/")
    admin = KeystoneAdmin(auth_url, heat_env["LOCAL_HEAT_ADMIN_PASSWORD"])
    tmp = pathlib.Path(tempfile.mkdtemp(prefix="webhook-load-"))
    rng = random.Random(27)
    hook = None
    stop = threading.Event()   # set at the end, or when the run is interrupted
    try:
        tag = uuid.uuid4().hex[:6]
        project = admin.project(f"wl-{tag}")
        members = []
        for _ in range(args.users):
            user, password = admin.person(project["id"], prefix="wl")
            members.append((user, admin.token(user["id"], password, project["id"])))
        n_bad = int(args.reviews * args.bad)
        n_valid = args.reviews - n_bad
        n_new = int(n_valid * args.new)
        n_invalid, n_revoked = (n_bad * 2) // 5, n_bad // 5
        n_malformed = n_bad - n_invalid - n_revoked
        log(f"issuing {n_new} new tokens and {n_revoked and 10} revoked ones "
            f"(Keystone's token method, {args.users} members)")
        t = time.monotonic()

        def issue(i):
            user, base = members[i % len(members)]
            return user, rescoped(admin, base, project["id"])
        with ThreadPoolExecutor(4) as pool:
            new = list(pool.map(issue, range(n_new)))
            revoked = list(pool.map(issue, range(min(10, n_revoked) if n_revoked else 0)))
            control = [tok for _, tok in pool.map(issue, range(20))]
        for _, tok in revoked:
            admin.revoke(tok)
        log(f"issued in {time.monotonic() - t:.1f}s")
        cached = members   # their password tokens, warmed below

        hook = (Upstream(tr_env, tmp, auth_url) if args.upstream else
                External(args.port, args.pid) if args.port else
                Webhook(tr_env, tmp, args.cache_ttl))
        ctx = tls_context(tr_env)
        for _user, tok in cached:   # warm: the cached set and every member's groups
            conn = http.client.HTTPSConnection("127.0.0.1", hook.port, context=ctx, timeout=60)
            conn.request("POST", PATH, body=review_body(tok))
            assert json.loads(conn.getresponse().read())["status"]["authenticated"]
            conn.close()
        calls_before = hook.keystone_calls()
        mem_before = hook.memory()

        def expect(user):
            return {"uid": user["id"], "project": project["id"]}
        jobs = ([("cached", tok, expect(u)) for u, tok in
                 (cached[i % len(cached)] for i in range(n_valid - n_new))] +
                [("new", tok, expect(u)) for u, tok in new] +
                [("invalid", "gAAAAA" + uuid.uuid4().hex * 3, None) for _ in range(n_invalid)] +
                [("revoked", revoked[i % len(revoked)][1], None) for i in range(n_revoked)] +
                [("malformed", malformed()[i % 3], None) for i in range(n_malformed)])
        rng.shuffle(jobs)
        per_client = [jobs[i::args.clients] for i in range(args.clients)]
        per_proc = [per_client[i::args.procs] for i in range(args.procs)]

        slow_out: list = []
        slow = [threading.Thread(target=slow_client, args=(hook.port, tr_env, cached[0][1],
                                                           stop, slow_out), daemon=True)
                for _ in range(args.slow)]
        ks_times: list = []
        ks_thread = threading.Thread(target=keystone_validation,
                                     args=(admin.session, auth_url, control, stop, ks_times),
                                     daemon=True)
        for s in slow:
            s.start()
        time.sleep(1.0)   # the slow connections are open and mid-request
        ks_thread.start()
        mp = multiprocessing.get_context("fork")
        queue = mp.Queue()
        log(f"{len(jobs)} reviews from {args.clients} clients in {args.procs} processes, "
            f"{args.slow} slow connections")
        t0 = time.monotonic()
        schedules = None
        if args.rate > 0:   # client c starts c/rate after the first, then every clients/rate
            interval, first = args.clients / args.rate, t0 + 0.5
            by_client = [(first + c / args.rate, interval) for c in range(args.clients)]
            schedules = [by_client[i::args.procs] for i in range(args.procs)]
            log(f"open loop: {args.rate:g} reviews/s, one every {interval * 1000:.0f} ms "
                f"per client")
        procs = [mp.Process(target=worker, args=(hook.port, tr_env, chunks, queue,
                                                 schedules[i] if schedules else None))
                 for i, chunks in enumerate(per_proc)]
        for p in procs:
            p.start()
        results = [r for _ in procs for r in queue.get()]
        elapsed = time.monotonic() - t0
        for p in procs:
            p.join()
        mem_after = hook.memory()
        stop.set()
        for s in slow:
            s.join(5)
        ks_thread.join(5)
        time.sleep(0.5)
        calls = hook.keystone_calls() - calls_before
        alive = hook.alive()
    finally:
        stop.set()
        if hook is not None:
            hook.stop()
        admin.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)   # its config holds the service password
    by_kind = {}
    for kind in KINDS:
        lat = [r[1] * 1000 for r in results if r[0] == kind]
        by_kind[kind] = {"n": len(lat), "p50_ms": pct(lat, 0.5), "p99_ms": pct(lat, 0.99),
                         "max_ms": max(lat) if lat else None,
                         "errors": sum(1 for r in results if r[0] == kind and r[2] == "error"),
                         "wrong": sum(1 for r in results if r[0] == kind and r[2] == "wrong")}
    errors = [r[3] for r in results if r[2] == "error"]
    wrong = [r[3] for r in results if r[2] == "wrong"]
    ks_ms = [x * 1000 for x in ks_times]
    report = {
        "webhook": "k8s-keystone-auth" if args.upstream else
        f"port {args.port}" if args.port else "heat_k8s_hook.tokenreview",
        "reviews": len(results), "clients": args.clients, "procs": args.procs,
        "rate_asked_per_s": args.rate or None,
        "seconds": round(elapsed, 2), "throughput_per_s": round(len(results) / elapsed, 1),
        "kinds": by_kind, "errors": len(errors), "error_kinds": sorted(set(errors))[:5],
        "wrong_answers": len(wrong), "wrong_kinds": sorted(set(wrong))[:5],
        "keystone_calls": calls if isinstance(hook, Webhook) else None,   # from our log only
        "keystone_validation_ms": {"n": len(ks_ms), "p50": pct(ks_ms, 0.5),
                                   "p99": pct(ks_ms, 0.99),
                                   "mean": statistics.mean(ks_ms) if ks_ms else None},
        "new_minus_keystone_p50_ms": (by_kind["new"]["p50_ms"] - pct(ks_ms, 0.5)
                                      if ks_ms and by_kind["new"]["n"] else None),
        "webhook_kb": {"before": mem_before, "after": mem_after}, "webhook_alive": alive,
        "slow_clients_bytes_sent": slow_out,
        "load": open("/proc/loadavg").read().split()[:3],
    }
    print(json.dumps(report, indent=None if args.json else 1))
    return 0 if not errors and not wrong else 1


if __name__ == "__main__":
    sys.exit(main())
