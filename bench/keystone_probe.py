"""Run hooks/kubectl with timers around its Keystone token issue and its first API request.

bench/keystone_mode.py runs this instead of hooks/kubectl (same interpreter, same stdin and
environment, same process): it wraps `KeystoneCredentials.token` and `Cluster.request_full`,
runs the hook as `__main__`, and keeps one JSON object in $BENCH_PROBE_OUT:

    {"token_issue": [seconds of each token() call that got a new token from Keystone],
     "token_wait": seconds the run's own first token() call waited (the issue runs in a
                   thread from the start of the run: only what is left of it is waited),
     "token_calls": n,                 every token() call (most are answered from memory)
     "first_request": seconds,         the first API request, start to answer (in Keystone
                                       mode: the API server's TokenReview round trip included)
     "requests": n,
     "token_at": s, "first_request_at": s}  when they started, from this process's start

The full run happens in a forked worker (supervise.py) that leaves with os._exit, so the file
is rewritten after every event rather than at exit. Nothing of the token is recorded. The
wrappers add well under a millisecond per request.
"""
from __future__ import annotations

import json
import os
import pathlib
import runpy
import sys
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from heat_k8s_hook.kube import cluster, keystone_auth  # noqa: E402

_LOCK = threading.Lock()
T0 = time.monotonic()
FIGURES: dict = {"token_issue": [], "token_calls": 0, "first_request": None, "requests": 0,
                 "token_at": None, "first_request_at": None, "token_wait": None}


_SEEN: set = set()   # ids of the auth_refs (Keystone's answers) already counted


def _wrap_token(orig):
    def token(self):
        import threading as _t
        t = time.monotonic()
        if FIGURES["token_at"] is None:
            FIGURES["token_at"] = t - T0
        try:
            return orig(self)
        finally:
            took = time.monotonic() - t
            FIGURES["token_calls"] += 1
            ref = self._auth.auth_ref if self._auth is not None else None
            if ref is not None and id(ref) not in _SEEN:   # this call got it from Keystone
                _SEEN.add(id(ref))
                FIGURES["token_issue"].append(took)
            if FIGURES["token_wait"] is None and _t.current_thread().name != "keystone-token":
                FIGURES["token_wait"] = took   # what the run itself waited, first time
            _write()
    return token


def _wrap_request(orig):
    def request_full(self, *args, **kwargs):
        t = time.monotonic()
        try:
            return orig(self, *args, **kwargs)
        finally:
            FIGURES["requests"] += 1
            if FIGURES["first_request"] is None:
                FIGURES["first_request"] = time.monotonic() - t
                FIGURES["first_request_at"] = t - T0
            _write()
    return request_full


def _write() -> None:
    out = os.environ.get("BENCH_PROBE_OUT")
    if out:
        with _LOCK:
            tmp = f"{out}.{os.getpid()}"
            pathlib.Path(tmp).write_text(json.dumps(FIGURES))
            os.replace(tmp, out)


keystone_auth.KeystoneCredentials.token = _wrap_token(keystone_auth.KeystoneCredentials.token)
cluster.Cluster.request_full = _wrap_request(cluster.Cluster.request_full)
sys.argv = [str(ROOT / "hooks" / "kubectl")]
runpy.run_path(str(ROOT / "hooks" / "kubectl"), run_name="__main__")
