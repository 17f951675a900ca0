"""A throw-away CA, server and client certificates (openssl), and a TLS HTTP/1.1 test server
that answers like an API server would for the transports' tests (test_transport.py)."""
from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def _openssl(*args: str, cwd: Path) -> None:
    assert shutil.which("openssl"), "the openssl command is needed to make test certificates"
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_pki(where: Path) -> dict:
    """{ca, ca_key, server, server_key, client, client_key, other_ca}: PEM file paths."""
    where.mkdir(parents=True, exist_ok=True)
    for ca in ("ca", "other_ca"):
        _openssl("req", "-x509", *EC, "-keyout", f"{ca}.key", "-out", f"{ca}.crt", "-days", "2",
                 "-subj", f"/CN={ca}", cwd=where)
    (where / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:api.test\n")
    for name, ext in (("server", ["-extfile", "san.ext"]), ("client", [])):
        _openssl("req", *EC, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN={name}", cwd=where)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", *ext, cwd=where)
    return {"ca": where / "ca.crt", "server": where / "server.crt",
            "server_key": where / "server.key", "client": where / "client.crt",
            "client_key": where / "client.key", "other_ca": where / "other_ca.crt"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        pass

    def _answer(self, status: int, doc, chunked: bool = False) -> None:
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in (body[:5], body[5:]):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
        else:
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802
        srv = self.server
        with srv.lock:
            srv.peers.append(self.client_address[1])
        seen = {"path": self.path, "auth": self.headers.get("Authorization"),
                "accept": self.headers.get("Accept"),
                "client": (self.connection.getpeercert() or {}).get("subject")}
        if self.path.startswith("/slow"):
            time.sleep(2)
        if self.path.startswith("/flaky"):
            with srv.lock:
                srv.flaky += 1
                first = srv.flaky == 1
            if first:
                return self._answer(503, {"kind": "Status", "code": 503,
                                          "reason": "ServiceUnavailable", "message": "busy"})
        if self.path.startswith("/missing"):
            return self._answer(404, {"kind": "Status", "code": 404, "reason": "NotFound",
                                      "message": "configmaps \"x\" not found"})
        if self.path.startswith("/watch"):
            return self._watch()
        self._answer(200, seen, chunked=self.path.startswith("/chunked"))

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self._answer(200, {"body": body.decode(), "type": self.headers.get("Content-Type")})

    def _watch(self) -> None:
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for n in range(3):
            line = json.dumps({"type": "ADDED", "object": {"n": n}}).encode() + b"\n"
            for part in (line[:7], line[7:]):   # an event split across chunks
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.flush()
            time.sleep(0.05)
        self.wfile.write(b"0\r\n\r\n")


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, pki: dict):
        super().__init__(("127.0.0.1", 0), Handler)
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(pki["server"], pki["server_key"])
        tls.load_verify_locations(cafile=pki["ca"])
        tls.verify_mode = ssl.CERT_OPTIONAL
        self.socket = tls.wrap_socket(self.socket, server_side=True)
        self.lock, self.peers, self.flaky = threading.Lock(), [], 0

    def __enter__(self):
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()
        self.server_close()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server_address[1]}"
