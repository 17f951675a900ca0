"""One cancellable deadline per run, passed to everything that waits or talks to the API."""
from __future__ import annotations

import threading
import time
from typing import Callable

from heat_k8s_hook.errors import TimedOut


class Deadline:
    """The run's end: `remaining()` raises TimedOut once it passed or was cancelled.

    The applier's pool, the watch threads and the hook's watchdog all read this one object
    (cli-utils and Flux pass one context the same way) instead of each carrying the time.
    """

    def __init__(self, at: float, timeout: float, clock: Callable[[], float] = time.monotonic):
        self.at, self.timeout, self.clock = at, timeout, clock
        self.cancelled = threading.Event()

    def remaining(self) -> float:
        if self.cancelled.is_set():
            raise TimedOut(f"deadline of {self.timeout:g}s: the run was cancelled")
        left = self.at - self.clock()
        if left <= 0:
            raise TimedOut(f"deadline of {self.timeout:g}s passed")
        return left

    def cap(self, seconds: float) -> float:
        """A per-request timeout: `seconds`, never past the deadline."""
        return min(seconds, self.remaining())

    def cancel(self) -> None:
        self.cancelled.set()
