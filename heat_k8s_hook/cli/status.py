"""`status --watch`: follow a deployment's members live by the one judge until every one is
ready, `--timeout` passes or Ctrl-C; a redrawn table on a terminal, changed lines otherwise."""
from __future__ import annotations

import json
import sys
import time
from typing import Callable


def watch(args, identity: str, rows_of: Callable[[], list],
          code_of: Callable[[list], int]) -> int:
    start = time.monotonic()
    end = start + args.timeout if args.timeout else None
    tty = sys.stdout.isatty() and args.output == "text" and not args.plain
    rows: list = []
    try:
        if tty:
            from heat_k8s_hook.cli.view import LiveView
            with LiveView(f"status {identity}", sys.stdout, mask=args.mask) as view:
                view.step = f"judged every {args.interval:g}s; Ctrl-C to stop"
                rows = _follow(args, rows_of, end, lambda rs: _show(view, rs))
        else:
            seen: dict = {}
            rows = _follow(args, rows_of, end, lambda rs: _lines(args, rs, seen, start))
    except KeyboardInterrupt:
        pass
    return code_of(rows) if rows else 1


def _follow(args, rows_of, end, show) -> list:
    while True:
        rows = rows_of()
        show(rows)
        if all(r.status == "ready" for r in rows) or (end and time.monotonic() >= end):
            return rows
        time.sleep(args.interval)


def _show(view, rows) -> None:
    for row in rows:
        view.set(row.ref, row.status, row.message, row.status == "ready")
    view.live.refresh()


def _lines(args, rows, seen: dict, start: float) -> None:
    for row in rows:
        key = str(row.ref)
        if seen.get(key) == (row.status, row.message):
            continue
        seen[key] = (row.status, row.message)
        if args.output == "json":
            print(args.mask(json.dumps(dict(row.as_dict(),
                                            elapsed=round(time.monotonic() - start, 2)))),
                  flush=True)
        else:
            print(args.mask(f"[{time.monotonic() - start:6.2f}s] {row.line()}"), flush=True)
