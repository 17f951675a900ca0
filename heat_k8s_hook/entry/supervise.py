"""The hook's supervising parent: a worker process runs the deployment, a killed one runs again.

55-heat-config reports a hook that dies by a signal as a failed deployment (status code -9),
which fails a whole SoftwareDeploymentGroup. So the process it starts is not the one the Lease
names: after the fast path misses, the hook forks a worker that does the full run and writes
the one result into a pipe; this parent only waits and relays it. A worker that dies without
answering (SIGKILL, the OOM killer) is run again within the original deadline; the new worker
takes over the dead one's Lease at once (`ha.gone`: a holder on this host whose pid is gone).
After RESTARTS new workers, or too close to the deadline, the parent answers with the cause.
Standard library only and no thread: the parent stays small, the worker imports the rest.
"""
from __future__ import annotations

import json
import os
import select
import signal
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, List, Optional, TextIO, Union

ENV_SWITCH = "HEAT_K8S_HOOK_SUPERVISE"   # "0": the full run in this process (tests, debugging)
RESTARTS = 2        # new workers after the first one died without answering
MIN_LEFT = 3.0      # seconds of the deadline a new worker needs at least
GRACE = 4.5         # past the deadline, the parent kills a silent worker (its watchdog: 3 s)
STOP_GRACE = 2.0    # after forwarding SIGTERM/SIGINT, before the worker is killed
STOPPED = 9         # errors.Misconfigured.code: the controller's own processes were stopped
TIMED_OUT = 7       # errors.TimedOut.code

Work = Callable[[TextIO, List[str]], int]   # (where the result goes, notes) -> status code


def enabled(environ=os.environ) -> bool:
    return environ.get(ENV_SWITCH) != "0"


# -- the decision after a worker ended (pure) ------------------------------------------------

@dataclass(frozen=True)
class Next:
    """What the parent does after a worker ended without answering: `note` for a new worker,
    or an error answer (code, message)."""

    note: str = ""
    code: int = 0
    message: str = ""


def how_it_ended(status: Optional[int]) -> str:
    """A waitpid status as words; None: the parent killed it at the deadline."""
    if status is None:
        return "killed by the hook (no answer in time)"
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        return f"killed by signal {number}"
    return f"exited with code {os.WEXITSTATUS(status)} without answering"


def after(pid: int, status: Optional[int], stopped: int, deaths: int, left: float,
          timeout: float) -> Next:
    """Run again (a note for the new worker) or answer (code, message), from how the worker
    ended, a signal that stopped the hook, the deaths so far (this one included), the seconds
    of the deadline left and the deadline's length."""
    ended = f"worker pid {pid} {how_it_ended(status)}"
    if stopped:
        name = signal.Signals(stopped).name
        return Next(code=STOPPED, message=f"the hook was stopped by {name}; {ended} (its "
                                          "Lease lapses and another member takes over)")
    if status is None:
        return Next(code=TIMED_OUT, message=f"deadline of {timeout:g}s passed: {ended}")
    if deaths > RESTARTS:
        return Next(code=STOPPED, message=f"{ended}; {deaths} workers died without answering: "
                                          "not run again (the OOM killer? see dmesg)")
    if left < MIN_LEFT:
        return Next(code=TIMED_OUT, message=f"deadline of {timeout:g}s: {ended} with "
                                            f"{max(left, 0):.1f}s left: not run again")
    return Next(note=f"{ended}; running again (takeover of its Lease)")


def answer_in(out: bytes) -> Optional[dict]:
    """The worker's result if it wrote a whole one (a worker killed mid-write did not)."""
    if not out.endswith(b"\n"):
        return None
    try:
        result = json.loads(out)
    except ValueError:
        return None
    return result if isinstance(result, dict) and "deploy_status_code" in result else None


# -- the processes ----------------------------------------------------------------------------

@dataclass
class _State:
    worker: int = 0          # the running worker's pid (0 between workers)
    stopped: int = 0         # the signal that stopped the hook (SIGTERM, SIGINT)
    stopped_at: float = 0.0
    notes: list = field(default_factory=list)   # lines for the next worker's deploy_stderr

    def on_signal(self, number: int, _frame) -> None:
        if not self.stopped:
            self.stopped, self.stopped_at = number, time.monotonic()
        if self.worker:
            try:
                os.kill(self.worker, number)
            except ProcessLookupError:
                pass


@dataclass(frozen=True)
class Ended:
    """How supervision ended: the result a worker wrote, or the parent's own error."""

    result: Optional[dict] = None
    code: int = 0
    message: str = ""
    lines: tuple = ()


def supervise(work: Work, started: float, timeout: Union[float, Callable[[], float]]) -> Ended:
    """Run `work` in a worker, again when it dies without answering, until it answers, the
    deadline (`started` + `timeout`) is too close, RESTARTS is used up or the hook is stopped.
    A callable `timeout` is called once the first worker runs (it may parse the deployment)."""
    state = _State()
    seconds: list = [] if callable(timeout) else [timeout]

    def until() -> float:
        if not seconds:
            seconds.append(timeout())
        return started + seconds[0] + GRACE
    previous = {n: signal.signal(n, state.on_signal) for n in (signal.SIGTERM, signal.SIGINT)}
    try:
        deaths = 0
        while True:
            pid, status, out = _run_one(work, state, until)
            result = answer_in(out)
            if result is not None:
                return Ended(result)
            deaths += 1
            step = after(pid, status, state.stopped, deaths,
                         started + seconds[0] - time.monotonic(), seconds[0])
            if not step.note:
                return Ended(None, step.code, step.message, tuple(state.notes))
            state.notes.append(f"[{time.monotonic() - started:6.2f}s] {step.note}")
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _worker(work: Work, notes: list, write_fd: int, read_fd: int) -> None:
    """In the forked child: run `work` with the result going into the pipe; never returns."""
    code = 70
    try:
        os.close(read_fd)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.dup2(2, 1)   # whatever the worker or its tools print never reaches the result
        with os.fdopen(write_fd, "w", encoding="utf-8") as out:
            code = work(out, list(notes))
    except BaseException as exc:  # the work answers its own errors: this is the last guard
        print(f"worker: {type(exc).__name__}", file=sys.stderr)
    finally:
        try:
            sys.stderr.flush()
        finally:
            os._exit(code)


def _run_one(work: Work, state: _State, until_of: Callable[[], float]) -> tuple:
    """Fork a worker and read what it writes until it closes the pipe, or kill it at `until`
    (sooner once the hook is stopped): (pid, waitpid status or None when killed, bytes)."""
    read_fd, write_fd = os.pipe()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        _worker(work, state.notes, write_fd, read_fd)
    os.close(write_fd)
    state.worker = pid
    chunks: list = []
    try:
        until = until_of()   # while the worker starts: the parse runs on another core
        while True:
            end = min(until, state.stopped_at + STOP_GRACE) if state.stopped else until
            left = end - time.monotonic()
            if left <= 0:
                break
            if select.select([read_fd], [], [], min(left, 0.5))[0]:
                chunk = os.read(read_fd, 1 << 16)
                if not chunk:
                    break
                chunks.append(chunk)
    finally:
        os.close(read_fd)
    # the pipe closed: the worker is exiting (a second at most); else it overran: kill it
    status = _reap(pid, time.monotonic() + (1.0 if left > 0 else 0.0))
    state.worker = 0
    return pid, status, b"".join(chunks)


def _reap(pid: int, until: float) -> Optional[int]:
    """The worker's waitpid status; None when it had to be killed, living past `until`."""
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() >= until:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None
        time.sleep(0.002)
