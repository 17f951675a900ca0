"""retry.py: which API faults are sent again, and never past the deadline."""
from __future__ import annotations

import threading
import time

import pytest
import urllib3.exceptions as u3

from heat_k8s_hook.errors import ClusterUnreachable
from heat_k8s_hook.kube import retry
from heat_k8s_hook.kube.cluster import ApiError, NotFound

REFUSED = retry.ConnectionFault("connection refused", sent=False)
RESET = retry.ConnectionFault("connection reset", sent=True)
ETCD = ApiError(500, "InternalError", "etcdserver: request timed out")


@pytest.mark.parametrize("method, exc, again", [
    ("PATCH", REFUSED, True),            # the API server restarting: nothing was sent
    ("POST", REFUSED, True),             # never sent: safe for any method
    ("PATCH", RESET, True),              # a server-side apply twice is the same apply
    ("GET", RESET, True),
    ("DELETE", RESET, True),
    ("POST", RESET, False),              # a create that may have happened is not repeated
    ("GET", ClusterUnreachable("TLS handshake failed"), False),   # no retry heals trust
    ("PATCH", ApiError(429, "TooManyRequests", "slow down"), True),
    ("POST", ApiError(429, "TooManyRequests", "slow down"), True),
    ("PATCH", ApiError(503, "ServiceUnavailable", "unable to handle the request"), True),
    ("GET", ApiError(504, "Timeout", "the server was unable to return a response"), True),
    ("POST", ApiError(503, "ServiceUnavailable", "unable to handle the request"), False),
    ("PATCH", ETCD, True),               # etcd unavailable or slow
    ("PATCH", ApiError(500, "InternalError", "failed calling webhook"), False),
    ("PATCH", ApiError(422, "Invalid", "spec.replicas: Invalid value"), False),
    ("PATCH", ApiError(409, "Conflict", "conflict with kubectl"), False),
    ("GET", NotFound(404, "NotFound", "not found"), False),
    ("PATCH", ApiError(403, "Forbidden", "cannot patch"), False),
])
def test_what_is_sent_again(method, exc, again):
    assert retry.is_transient(method, exc) is again


@pytest.mark.parametrize("error, kind, sent", [
    (u3.NewConnectionError(None, "Failed to establish a new connection: [Errno 111] "
                                 "Connection refused"), retry.ConnectionFault, False),
    (u3.ProtocolError("Connection aborted.", ConnectionResetError(104, "Connection reset by "
                                                                   "peer")),
     retry.ConnectionFault, True),
    (u3.ReadTimeoutError(None, "/api", "Read timed out."), retry.ConnectionFault, True),
    (u3.SSLError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"),
     ClusterUnreachable, None),
])
def test_urllib3_errors_become_ours(error, kind, sent):
    exc = retry.connection_error(error, "https://127.0.0.1:6443")
    assert type(exc) is kind
    assert getattr(exc, "sent", None) is sent
    assert exc.message.startswith(("cannot reach the Kubernetes API server at https://127.0.0.1",
                                   "TLS handshake with the API server"))


def test_describe_says_it_in_a_few_words():
    reset = u3.ProtocolError("Connection aborted.", ConnectionResetError(104, "reset by peer"))
    assert retry.describe(reset) == "connection reset"
    assert retry.describe(u3.NewConnectionError(None, "[Errno 111] Connection refused")) == \
        "connection refused"


def test_retries_until_it_succeeds():
    answers = [REFUSED, REFUSED, RESET, "ok"]
    seen: list = []

    def fn():
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer
    assert retry.call(fn, "PATCH", time.monotonic() + 10,
                      on_retry=lambda n, e, w: seen.append(n)) == "ok"
    assert seen == [1, 2, 3]


def test_never_past_the_end():
    """A fault that lasts: the last error comes back once the next try would pass `end`."""
    calls = []

    def fn():
        calls.append(time.monotonic())
        raise REFUSED
    start = time.monotonic()
    with pytest.raises(retry.ConnectionFault):
        retry.call(fn, "GET", start + 1.5)
    assert time.monotonic() - start < 1.5 + 0.1
    assert len(calls) >= 3


def test_not_transient_is_raised_at_once():
    calls = []

    def fn():
        calls.append(1)
        raise ApiError(422, "Invalid", "bad")
    with pytest.raises(ApiError):
        retry.call(fn, "PATCH", time.monotonic() + 10)
    assert calls == [1]


def test_a_cancelled_run_stops_retrying():
    cancelled = threading.Event()

    def fn():
        cancelled.set()  # the watchdog fired during the first try
        raise REFUSED
    start = time.monotonic()
    with pytest.raises(retry.ConnectionFault):
        retry.call(fn, "GET", start + 30, cancelled)
    assert time.monotonic() - start < 0.5
