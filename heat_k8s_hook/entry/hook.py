"""The heat-config hook: deployment JSON on stdin, exactly one result JSON on stdout.

55-heat-config runs hooks with no timeout and never retries, so this entry point guarantees an
answer: a top-level guard turns any exception into a result, and a watchdog answers with a
timeout result if the run is still going shortly after the deployment's deadline. Run as the
hook (its real stdin), the full path runs in a forked worker (supervise.py): a worker killed
mid-run, say the process an HA Lease names, is run again and the deployment still answers.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import os
import sys
import threading
import time
from typing import Callable, Optional, TextIO

from heat_k8s_hook.entry import fastpath
from heat_k8s_hook.errors import HookError, InvalidInput, TimedOut

WATCHDOG_GRACE = 3.0   # seconds past the deadline before the watchdog answers (within timeout + 5 s)


class Answer:
    """Writes the one result JSON, once, whoever gets there first (run or watchdog)."""

    def __init__(self, out: TextIO):
        self.out = out
        self.lock = threading.Lock()
        self.sent: Optional[int] = None

    def send(self, result: dict) -> bool:
        with self.lock:
            if self.sent is not None:
                return False
            self.out.write(json.dumps(result) + "\n")
            self.out.flush()
            self.sent = int(result.get("deploy_status_code", 1) or 0)
            return True


def _progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def read_stdin(stdin, max_bytes: int) -> bytes:
    """stdin as bytes (decoded strictly later), at most max_bytes + 1: a flood is not read."""
    source = getattr(stdin, "buffer", None)
    if source is None:  # a text stream (tests): its text as the bytes it stands for
        return stdin.read(max_bytes + 1).encode("utf-8", "surrogatepass")
    return source.read(max_bytes + 1)


def _rest_of(stdin, data: bytes, max_bytes: int) -> bytes:
    """What was read for the fast path, cut to or completed up to the operator's limit."""
    if len(data) > max_bytes:
        return data[:max_bytes + 1]
    if len(data) > fastpath.MAX_BYTES:  # the operator allows more than was read
        return data + read_stdin(stdin, max_bytes - len(data))
    return data


def run_hook(stdin: TextIO, answer: Answer, started: float, supervise: bool = False) -> None:
    # A re-delivery that provably changes nothing is answered from its record before anything
    # heavy is imported (fastpath.py); any doubt, and the full path below runs.
    data = read_stdin(stdin, fastpath.MAX_BYTES)
    fast = fastpath.try_answer(data, started=started) if len(data) <= fastpath.MAX_BYTES else None
    if fast is not None:
        answer.send(fast)
        return
    if supervise and threading.active_count() == 1:   # fork only a process without threads
        supervised_run(stdin, data, answer, started)
        return
    full_run(stdin, data, answer, started)


def supervised_run(stdin: TextIO, data: bytes, answer: Answer, started: float) -> None:
    """The full path in a worker process, run again if it is killed (supervise.py)."""
    from heat_k8s_hook.entry import supervise
    data = _whole(stdin, data)   # every worker gets the whole deployment

    def work(out: TextIO, notes: list) -> int:
        mine = Answer(out)
        guarded(lambda: full_run(stdin, data, mine, started, notes), mine)
        return mine.sent if mine.sent is not None else HookError.code
    try:
        ended = supervise.supervise(work, started, lambda: _timeout_of(data))
    except OSError as exc:   # no process or pipe to be had: the full path in this process
        _progress(f"cannot start a worker process ({exc.strerror}): running in the hook itself")
        full_run(stdin, data, answer, started)
        return
    if ended.result is not None:
        answer.send(ended.result)
        return
    from heat_k8s_hook.result.report import error_result
    _progress(f"ERROR: {ended.message}")
    answer.send(error_result(ended.code, ended.message, ended.lines))


def _whole(stdin, data: bytes) -> bytes:
    """A deployment larger than the fast path reads, read up to the operator's limit."""
    if len(data) <= fastpath.MAX_BYTES:
        return data
    from heat_k8s_hook.config.settings import load_settings
    from heat_k8s_hook.input.limits import Limits
    try:
        limits = load_settings().limits or Limits()
    except HookError:
        return data   # the worker reports the settings file
    return _rest_of(stdin, data, limits.max_stdin_bytes)


def _timeout_of(data: bytes) -> float:
    """The deployment's `timeout` as the full path will read it (its default when absent or
    wrong: the worker then answers code 2 at once)."""
    from heat_k8s_hook.input.deployment import DEFAULT_TIMEOUT
    options = (fastpath.load(data) or {}).get("options")
    try:
        seconds = float((options if isinstance(options, dict) else {}).get("timeout"))
    except (TypeError, ValueError):
        return DEFAULT_TIMEOUT
    return seconds if 0 < seconds < float("inf") else DEFAULT_TIMEOUT


def full_run(stdin: TextIO, data: bytes, answer: Answer, started: float,
             notes: tuple = ()) -> None:
    from heat_k8s_hook.config.settings import check_options, load_settings
    from heat_k8s_hook.engine.pipeline import Context, connect_default, execute
    from heat_k8s_hook.input.deployment import load_deployment
    from heat_k8s_hook.input.limits import Limits
    from heat_k8s_hook.kube.deadline import Deadline
    from heat_k8s_hook.result.report import Masker, Result, error_result

    try:
        settings = load_settings()  # the operator's limits, before anything of the template
        limits = settings.limits or Limits()
        data = _rest_of(stdin, data, limits.max_stdin_bytes)
        dep = load_deployment(data, limits)
        dep = dataclasses.replace(dep, options=check_options(dep.options, settings))
        connect = functools.partial(connect_default, settings=settings)
        mask = Masker(dep.secret_values())
        if settings.keystone:  # the operator's choice: Keystone credentials, no kubeconfig
            from heat_k8s_hook.kube import keystone_auth
            connect = keystone_auth.connector(dep, settings.keystone, mask.add)
    except HookError as exc:
        answer.send(error_result(exc.code, exc.message))
        return
    deadline = Deadline(started + dep.options.timeout, dep.options.timeout)
    ctx = Context(connect=connect,
                  progress=lambda line: _progress(mask(line)), started=started, mask=mask,
                  settings=settings, deadline=deadline,
                  delivery_key=fastpath.delivery_key(fastpath.load(data) or {}))
    partial: dict = {"stderr": []}

    def watchdog() -> None:
        # The run's own deadline, plus a grace for it to answer by itself; then cancel it and
        # answer for it (a request stuck in the network never reads the deadline).
        while True:
            left = deadline.at + WATCHDOG_GRACE - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(left, 1.0))
        deadline.cancel()
        message = TimedOut(
            f"deadline of {dep.options.timeout:g}s passed while talking to the API server "
            "(the watchdog answered for the stuck run)").message
        if answer.send(error_result(TimedOut.code, message, list(partial["stderr"]), mask)):
            ctx.progress(f"ERROR: {message}")
            os._exit(TimedOut.code)

    threading.Thread(target=watchdog, name="watchdog", daemon=True).start()
    result = Result()
    partial["stderr"] = result.stderr
    for note in notes:   # from the supervisor: the worker before this one was killed
        result.stderr.append(note)
        _progress(note)
    try:
        execute(dep, ctx, result)
    except Exception as exc:  # a bug: still answer, with the cause, secrets masked
        result.status_code = HookError.code
        cause = mask(" ".join(str(exc).split()))[:300]  # masked before it is cut
        result.stderr.append(f"ERROR: internal error: {type(exc).__name__}: {cause}")
    answer.send(result.as_dict(mask))


def guarded(run: Callable[[], None], answer: Answer) -> None:
    """The guard: any bug still yields a result with its cause."""
    try:
        run()
    except KeyboardInterrupt:
        from heat_k8s_hook.result.report import error_result
        answer.send(error_result(HookError.code, "interrupted"))
    except InvalidInput as exc:
        from heat_k8s_hook.result.report import error_result
        answer.send(error_result(exc.code, exc.message))
    except Exception as exc:
        from heat_k8s_hook.result.report import error_result
        answer.send(error_result(HookError.code, f"internal error: {type(exc).__name__}: "
                                 f"{' '.join(str(exc).split())[:300]}"))


def main(argv: Optional[list] = None, supervise: Optional[bool] = None) -> int:
    """The hook. `supervise`: run the full path in a worker process; by default when reading
    the process's real stdin (the hook as 55-heat-config runs it, not a test calling this),
    unless HEAT_K8S_HOOK_SUPERVISE=0."""
    started = time.monotonic()
    if supervise is None:
        supervise = sys.stdin is sys.__stdin__
    from heat_k8s_hook.entry.supervise import enabled
    supervise = supervise and enabled()
    answer = Answer(sys.stdout)
    # Nothing but the result may reach stdout: anything else printed goes to stderr.
    sys.stdout = sys.stderr
    try:
        guarded(lambda: run_hook(sys.stdin, answer, started, supervise), answer)
    finally:
        sys.stdout = answer.out
    return answer.sent if answer.sent is not None else HookError.code


if __name__ == "__main__":
    sys.exit(main())
