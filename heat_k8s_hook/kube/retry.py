"""Transient API faults are tried again, with backoff, within the run's deadline: one place.

Transient: a connection refused or dropped (an API server restarting), 429 Too Many Requests,
502/503/504, and a 500 from the storage layer (etcd unavailable or slow). A request that never
reached the server (refused connection, 429) is safe to send again whatever its method; one
that may have reached it is sent again only when sending it twice changes nothing more than
once: GET, PUT, DELETE and PATCH (a server-side apply of the same body yields the same object;
our DELETEs carry a uid precondition). A POST that may have arrived is never sent twice.

`is_transient` is pure (a table-tested rule); `call` runs tenacity's loop until the request
succeeds, fails for good, or the next try would start past `end` (the run's deadline).
"""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, Optional

from heat_k8s_hook.errors import ClusterUnreachable, HookError

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH"})
RETRY_STATUS = frozenset({502, 503, 504})
# A 500 whose message names the storage layer: etcd down, restarting or too slow to answer.
STORAGE_HINTS = ("etcdserver", "etcd cluster is unavailable", "etcd client",
                 "storage is (re)initializing", "too many requests")
FIRST_WAIT, MAX_WAIT, JITTER = 0.2, 2.0, 0.2


class ConnectionFault(ClusterUnreachable):
    """A connection refused, reset or timed out: an API server restarting or overloaded.

    `sent`: the request may have reached the server (only an idempotent one is sent again).
    """

    transient = True

    def __init__(self, message: str, sent: bool):
        super().__init__(message)
        self.sent = sent


def connection_error(exc: BaseException, host: str) -> ClusterUnreachable:
    """urllib3's error as ours: a ConnectionFault when another try may succeed."""
    import urllib3.exceptions as u3
    if isinstance(exc, u3.SSLError):
        return ClusterUnreachable(f"TLS handshake with the API server at {host} failed: "
                                  f"{describe(exc)}")
    text = f"cannot reach the Kubernetes API server at {host}: {describe(exc)}"
    if isinstance(exc, getattr(u3, "NameResolutionError", ())):
        return ClusterUnreachable(text)   # a wrong name does not heal
    if isinstance(exc, (u3.NewConnectionError, u3.ConnectTimeoutError)):
        return ConnectionFault(text, sent=False)
    if isinstance(exc, (u3.ProtocolError, u3.ReadTimeoutError)):
        return ConnectionFault(text, sent=True)
    return ClusterUnreachable(text)


def describe(exc: BaseException) -> str:
    """A connection error in a few words (urllib3's own text is a nested repr)."""
    text = str(getattr(exc, "reason", None) or exc)
    for needle, words in (("Connection refused", "connection refused"),
                          ("reset by peer", "connection reset"),
                          ("Remote end closed", "connection closed by the server"),
                          ("aborted", "connection closed by the server"),
                          ("ended prematurely", "connection closed by the server"),
                          ("timed out", "connection timed out"),
                          ("Name or service not known", "host name not found"),
                          ("nodename nor servname", "host name not found"),
                          ("CERTIFICATE_VERIFY_FAILED",
                           "the server's certificate is not trusted by the kubeconfig's CA")):
        if needle.lower() in text.lower():
            return words
    return text.split(":")[-1].strip()[:200] or type(exc).__name__


def is_transient(method: str, exc: BaseException) -> bool:
    """Worth sending `method` again after `exc`: a passing fault, and safe to repeat."""
    if isinstance(exc, ClusterUnreachable):
        if not getattr(exc, "transient", False):
            return False              # TLS trust, unknown host name: no retry fixes those
        return not getattr(exc, "sent", True) or method in IDEMPOTENT
    status = getattr(exc, "status", None)
    if status == 429:
        return True                   # refused before any work: safe for any method
    if status in RETRY_STATUS or status == 500 and storage_fault(str(exc)):
        return method in IDEMPOTENT
    return False


def storage_fault(message: str) -> bool:
    text = message.lower()
    return any(hint in text for hint in STORAGE_HINTS)


def call(fn: Callable[[], Any], method: str, end: float,
         cancelled: Optional[threading.Event] = None,
         on_retry: Callable[[int, BaseException, float], None] = lambda n, e, w: None,
         clock: Callable[[], float] = time.monotonic) -> Any:
    """fn() until it succeeds, raises something not transient, or the next try is past `end`.

    Backoff is exponential with jitter (0.2 s doubling to 2 s), so an API server that is back
    after a few seconds is found within about a second. The last error is raised, unchanged.
    """
    import tenacity  # lazily: the hook starts once per deployment, most runs never retry

    def stop(state: tenacity.RetryCallState) -> bool:
        if cancelled is not None and cancelled.is_set():
            return True
        return clock() + (state.upcoming_sleep or 0.0) >= end

    def before_sleep(state: tenacity.RetryCallState) -> None:
        on_retry(state.attempt_number, state.outcome.exception(), state.upcoming_sleep)

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(lambda exc: is_transient(method, exc)),
        wait=(tenacity.wait_exponential(multiplier=FIRST_WAIT, max=MAX_WAIT)
              + tenacity.wait_random(0, JITTER)),
        stop=stop, before_sleep=before_sleep, reraise=True,
        sleep=cancelled.wait if cancelled is not None else time.sleep)
    return retrying(fn)


def gave_up(exc: HookError, attempts: int, seconds: float) -> str:
    """The cause, and that it was not a first try: `... (7 tries in 12.3 s)`."""
    return f"{exc.message} ({attempts} tries in {seconds:.1f} s)" if attempts > 1 else exc.message
