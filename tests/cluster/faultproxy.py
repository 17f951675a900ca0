"""A TCP proxy in front of the real API server that a test can cut and restore.

The hook talks TLS through it unchanged (the server's certificate names 127.0.0.1, whatever
the port). `cut()` closes every open connection and the listening socket, so the hook sees
its streams drop and new connections refused, as when the API server goes away; `restore()`
listens on the same port again.
"""
from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlparse

import yaml
from hookrun import write_kubeconfig


class FaultProxy:
    def __init__(self, kubeconfig: str, delay: float = 0.0):
        self.delay = delay   # seconds added to every request (client -> server chunk)
        self.cfg = yaml.safe_load(open(kubeconfig))
        server = urlparse(self.cfg["clusters"][0]["cluster"]["server"])
        self.upstream = (server.hostname, server.port)
        self.port = 0
        self.conns: list = []
        self.lock = threading.Lock()
        self.accepted = 0
        self.refusing = False
        self._listen()

    def kubeconfig(self, path) -> str:
        """A kubeconfig like the real one, through this proxy (mode 0600)."""
        cfg = dict(self.cfg)
        cfg["clusters"] = [dict(c, cluster=dict(c["cluster"], server=f"https://127.0.0.1:"
                                                                    f"{self.port}"))
                           for c in self.cfg["clusters"]]
        return write_kubeconfig(path, cfg)

    def _listen(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(128)
        self.port = server.getsockname()[1]
        self.server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return  # cut
            if server is not self.server or self.refusing:
                # accepted by an accept() that was blocked when cut() closed the socket (close
                # does not wake it on Linux): one such connection let a cut run carry on
                client.close()
                return
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self.lock:
                self.accepted += 1
                self.conns += [client, upstream]
            for a, b, delay in ((client, upstream, self.delay), (upstream, client, 0.0)):
                threading.Thread(target=_pump, args=(a, b, delay), daemon=True).start()

    def cut(self) -> None:
        """Drop every connection and refuse new ones."""
        self.refusing = True
        try:
            self.server.shutdown(socket.SHUT_RDWR)   # wakes the accept() blocked on it
        except OSError:
            pass
        self.server.close()
        with self.lock:
            conns, self.conns = self.conns, []
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def restore(self) -> None:
        self.refusing = False
        self._listen()

    def close(self) -> None:
        self.cut()


def _pump(src: socket.socket, dst: socket.socket, delay: float = 0.0) -> None:
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if delay:
                time.sleep(delay)
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
