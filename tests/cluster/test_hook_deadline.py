"""The hook always answers within its deadline, even when the API server never finishes.

These tests need no cluster: the hook is pointed at a fake server on 127.0.0.1 through
$KUBECONFIG (operator-controlled, mode 0600), as the template option `kubeconfig` is limited to
the operator's directory.
"""
from __future__ import annotations

import os
import socket
import threading

import yaml
from hookrun import deployment, run_hook

TIMEOUT = 4          # the deployment's `timeout` option, seconds
LIMIT = TIMEOUT + 5  # the answer must come within timeout + 5 s


def serve(drip: bool) -> tuple:
    """A TCP server on loopback. drip=False: accept and never send a byte. drip=True: answer
    every request with the headers of an endless response, then one body byte per second, so
    no socket read timeout can ever fire."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    stop = threading.Event()

    def handle(conn: socket.socket) -> None:
        try:
            conn.recv(65536)  # the request
            if drip:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: 100000000\r\n\r\n")
            while not stop.wait(1.0):
                if drip:
                    conn.sendall(b" ")
        except OSError:
            pass
        finally:
            conn.close()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()
    threading.Thread(target=accept, daemon=True).start()
    return server, stop


def kubeconfig_for(server: socket.socket, tmp_path, scheme: str) -> dict:
    port = server.getsockname()[1]
    cluster = {"server": f"{scheme}://127.0.0.1:{port}"}
    if scheme == "https":
        cluster["insecure-skip-tls-verify"] = True
    cfg = {"apiVersion": "v1", "kind": "Config", "current-context": "x",
           "clusters": [{"name": "x", "cluster": cluster}],
           "contexts": [{"name": "x", "context": {"cluster": "x", "user": "x"}}],
           "users": [{"name": "x", "user": {"token": "t0ken-value"}}]}
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(cfg))
    os.chmod(path, 0o600)
    return {"KUBECONFIG": str(path)}


CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}


def test_dripping_api_server_is_answered_by_the_watchdog(tmp_path):
    """Only the watchdog can end this run: a byte every second keeps every socket read alive.

    Checked red: with the watchdog thread not started (hook.py, `threading.Thread(target=
    watchdog ...).start()` removed) the hook hung until this test's 60 s subprocess timeout.
    """
    server, stop = serve(drip=True)
    try:
        run = run_hook(deployment([CM], options={"timeout": TIMEOUT}),
                       kubeconfig_for(server, tmp_path, "http"), timeout=60)
    finally:
        stop.set()
        server.close()
    assert run.code == 7 == run.returncode, run.err
    assert "watchdog answered" in run.err
    assert run.elapsed < LIMIT, f"answered after {run.elapsed:.1f}s (limit {LIMIT}s)"
    assert run.elapsed >= TIMEOUT
    assert "t0ken-value" not in run.raw + run.stderr


def test_silent_api_server_cannot_hang_the_hook(tmp_path):
    """A server that never sends a byte: a socket timeout or the watchdog answers in time."""
    server, stop = serve(drip=False)
    try:
        run = run_hook(deployment([CM], options={"timeout": TIMEOUT}),
                       kubeconfig_for(server, tmp_path, "https"), timeout=60)
    finally:
        stop.set()
        server.close()
    assert run.code in (3, 7), run.err
    assert run.elapsed < LIMIT, f"answered after {run.elapsed:.1f}s"
    assert "t0ken-value" not in run.raw + run.stderr
