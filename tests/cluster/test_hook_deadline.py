"""The hook always answers within its deadline, even when the API server never does."""
from __future__ import annotations

import socket
import threading

import yaml
from hookrun import deployment, run_hook


def blackhole() -> tuple:
    """A TCP server on loopback that accepts connections and never answers a byte."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held = []

    def accept():
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            held.append(conn)
    threading.Thread(target=accept, daemon=True).start()
    return server, held


def test_silent_api_server_cannot_hang_the_hook(tmp_path):
    server, _held = blackhole()
    port = server.getsockname()[1]
    cfg = {"apiVersion": "v1", "kind": "Config", "current-context": "x",
           "clusters": [{"name": "x", "cluster": {"server": f"https://127.0.0.1:{port}",
                                                  "insecure-skip-tls-verify": True}}],
           "contexts": [{"name": "x", "context": {"cluster": "x", "user": "x"}}],
           "users": [{"name": "x", "user": {"token": "t0ken-value"}}]}
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(cfg))
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}
    run = run_hook(deployment([cm], options={"kubeconfig": str(path), "timeout": 4}), {},
                   timeout=60)
    server.close()
    assert run.code in (3, 7), run.err
    assert run.elapsed < 4 + 2, f"answered after {run.elapsed:.1f}s"
    assert "t0ken-value" not in run.raw + run.stderr
