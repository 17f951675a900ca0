"""The CLI's live progress view: one row per object with its change, readiness, elapsed time
and the cause of a failure, redrawn in place on a terminal (`rich`); plain lines otherwise.

A view is an event renderer (`events.py`), so what it shows is exactly what the runner did.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Optional

from heat_k8s_hook.engine import steps
from heat_k8s_hook.result.events import (
    Detail,
    Event,
    ObjectChanged,
    Progress,
    StepStarted,
    VerdictChanged,
)


def escape(text: str) -> str:
    """Text shown as is inside rich markup (a message may hold `[...]`)."""
    from rich.markup import escape as rich_escape
    return rich_escape(text)


STYLES = {"ready": "green", "failed": "bold red", "in_progress": "yellow", "missing": "red",
          "unknown": "magenta", "gone": "green"}


@dataclass
class ObjectRow:
    name: str
    action: str = ""
    status: str = "pending"
    message: str = ""
    started: float = 0.0
    finished: Optional[float] = None


class LiveView:
    """A table redrawn in place on a terminal; use as a context manager around the run."""

    def __init__(self, title: str, stream, clock: Callable[[], float] = time.monotonic,
                 mask: Callable[[str], str] = lambda s: s):
        from rich.console import Console
        from rich.live import Live
        self.console = Console(file=stream, force_terminal=True, highlight=False)
        self.title, self.clock, self.mask = title, clock, mask
        self.start = clock()
        self.rows: dict = {}
        self.step = ""
        self.live = Live(self._table(), console=self.console, refresh_per_second=8,
                         auto_refresh=True, get_renderable=self._table)

    def __enter__(self) -> "LiveView":
        self.live.start()
        return self

    def __exit__(self, *exc) -> None:
        self.step = f"ended after {self.clock() - self.start:.1f}s"
        self.live.update(self._table(), refresh=True)
        self.live.stop()

    def row(self, ref) -> ObjectRow:
        key = str(ref)
        if key not in self.rows:
            self.rows[key] = ObjectRow(key, started=self.clock())
        return self.rows[key]

    def set(self, ref, status: str, message: str, final: bool) -> None:
        row = self.row(ref)
        row.status, row.message = status, self.mask(message)
        row.finished = self.clock() if final else None

    def __call__(self, event: Event) -> None:
        if isinstance(event, StepStarted):
            self.step = f"step {event.index + 1}/{event.total}: {steps.describe(event.step)}"
        elif isinstance(event, ObjectChanged):
            self.row(event.ref).action = event.action.value
        elif isinstance(event, VerdictChanged):
            status = event.status.value
            if event.what == "gone":
                status = "gone" if status == "ready" else "deleting"
            self.set(event.ref, status, event.message, status in ("ready", "failed", "gone"))
        elif isinstance(event, Progress):
            self.console.print(f"[dim]{self.clock() - self.start:6.2f}s[/dim] "
                               f"{escape(self.mask(event.text))}", markup=True, highlight=False)
        elif isinstance(event, Detail):   # e.g. the Warning events under a failure
            self.console.print(self.mask(event.text), markup=False, highlight=False)
        self.live.refresh()

    def _table(self):
        from rich.table import Table
        from rich.text import Text
        table = Table(title=self.title, caption=self.step or None, expand=False)
        for column in ("object", "change", "readiness", "elapsed", "cause / detail"):
            table.add_column(column, overflow="fold")
        now = self.clock()
        for row in list(self.rows.values()):
            elapsed = (row.finished or now) - self.start
            table.add_row(Text(row.name), row.action,    # Text: no markup in messages
                          Text(row.status, STYLES.get(row.status, "")), f"{elapsed:5.1f}s",
                          Text(row.message))
        return table
