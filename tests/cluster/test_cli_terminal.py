"""The live progress view on a real terminal (a pty): it renders, updates in place, and ends."""
from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
import time
import uuid

from hookrun import deployment

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def run_in_pty(args, env, timeout=120.0):
    """Run args with a pty as stdin/stdout/stderr; returns (exit code, everything written)."""
    master, slave = pty.openpty()
    os.set_blocking(master, False)
    proc = subprocess.Popen(args, stdin=slave, stdout=slave, stderr=slave, close_fds=True,
                            env=dict(os.environ, TERM="xterm-256color", COLUMNS="160",
                                     LINES="40", **env))
    os.close(slave)
    chunks, end = [], time.monotonic() + timeout
    while time.monotonic() < end:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:   # EIO: the child closed the terminal
                data = b""
            if data:
                chunks.append(data)
                continue
        if proc.poll() is not None:   # exited, and nothing (or EIO) left to read
            break
    os.close(master)
    return proc.wait(timeout=5), b"".join(chunks).decode("utf-8", "replace")


def test_progress_view_renders_updates_and_ends(hook_env, ns, tmp_path):
    docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
            {"apiVersion": "apps/v1", "kind": "Deployment",
             "metadata": {"name": "web", "namespace": ns},
             "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                      "template": {"metadata": {"labels": {"app": "web"}},
                                   "spec": {"containers": [{"name": "web",
                                                            "image": "nginx:1.27"}]}}}}]
    path = tmp_path / "d.json"
    path.write_text(json.dumps(deployment(docs, stack=f"t{uuid.uuid4().hex[:6]}",
                                          options={"timeout": 120})))
    try:
        code, raw = run_in_pty([sys.executable, "-m", "heat_k8s_hook.cli.main", "apply", str(path)],
                               hook_env)
        assert code == 0, raw
        text = ANSI.sub("", raw)
        # renders: the table with its columns and one row per object
        assert "readiness" in text and "elapsed" in text
        assert f"Deployment/{ns}/web" in text and f"Namespace/{ns}" in text
        # updates in place: cursor movement between frames, and the row changes its state
        assert re.search(r"\x1b\[\d*A", raw), "no redraw (cursor up) was written"
        assert text.count("cause / detail") >= 2
        assert "in_progress" in text or "pending" in text
        # ends: the last frame shows every object ready, then the change set
        last = text[text.rindex("cause / detail"):]
        assert re.search(rf"Deployment/{ns}/web\s.*created.*ready", last), last
        assert f"Deployment/{ns}/web created" in text.splitlines()[-2] + text.splitlines()[-1] \
            or f"Deployment/{ns}/web created" in last
        # status --watch on a terminal: the same table, judged live, ends once all are ready
        code, raw = run_in_pty([sys.executable, "-m", "heat_k8s_hook.cli.main", "status", str(path),
                                "--watch", "--timeout", "20", "--interval", "1"], hook_env, 60)
        text = ANSI.sub("", raw)
        assert code == 0, text
        assert re.search(rf"Deployment/{ns}/web\s.*ready.*3 of 3", text), text
    finally:
        path_delete = tmp_path / "del.json"
        dep = json.loads(path.read_text())
        for item in dep["inputs"]:
            if item["name"] == "deploy_action":
                item["value"] = "DELETE"
        path_delete.write_text(json.dumps(dep))
        subprocess.run([sys.executable, "-m", "heat_k8s_hook.cli.main", "delete", str(path_delete)],
                       env=dict(os.environ, **hook_env), capture_output=True, timeout=120)
