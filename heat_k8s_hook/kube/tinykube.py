"""The standard-library transport (transport.py's interface): the fast path's client (I/O).

Importing urllib3 (65 ms here), or even http.client (20 ms: it loads the email package),
costs more than the whole fast re-delivery, so this speaks HTTP/1.1 itself on kept-alive TLS
sockets: one request per connection at a time, idle connections kept for the next request
(several threads each get their own), chunked and sized bodies, streamed answers for watches,
a timeout per request. The Endpoint comes from kubeconfig.read: a kubeconfig beyond the plain
subset raises `Unsupported`, and the fast path gives up (the full path runs).
"""
from __future__ import annotations

import errno
import select
import socket
import ssl
import threading
from typing import Iterator, Mapping, Optional

from heat_k8s_hook.errors import ClusterUnreachable
from heat_k8s_hook.kube import retry
from heat_k8s_hook.kube.kubeconfig import Endpoint, Unsupported, parse_kubeconfig, read
from heat_k8s_hook.kube.transport import Response, Stream, Transport, split_lines

__all__ = ["Client", "SocketTransport", "Unsupported", "parse_kubeconfig"]


class _Closed(OSError):
    """The server closed the connection before the answer ended."""


class Connection:
    """One TLS socket and what was read from it but not consumed yet."""

    def __init__(self, endpoint: Endpoint, tls: ssl.SSLContext, timeout: float):
        raw = socket.create_connection((endpoint.hostname, endpoint.port),
                                       timeout=min(5.0, timeout))   # as urllib3's connect
        raw.settimeout(timeout)
        try:
            self.sock = tls.wrap_socket(raw, server_hostname=endpoint.server_name)
        except BaseException:
            raw.close()
            raise
        self.buf, self.reusable = b"", True

    def dropped(self) -> bool:
        """The server closed this idle connection (or sent something unasked)."""
        try:
            return bool(self.buf or self.sock.pending() or
                        select.select([self.sock], [], [], 0)[0])
        except (OSError, ValueError):
            return True

    def close(self) -> None:
        self.sock.close()

    def fill(self) -> None:
        chunk = self.sock.recv(262144)
        if not chunk:
            raise _Closed(errno.ECONNRESET, "connection closed by the server")
        self.buf += chunk

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self.fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def take(self, n: int) -> bytes:
        while len(self.buf) < n:
            self.fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def head(self) -> tuple:
        """The status and the headers (names in lower case) of the answer."""
        status = int(self.line().split(b" ", 2)[1])
        headers = {}
        for line in iter(self.line, b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("connection", "").lower() == "close":
            self.reusable = False
        return status, headers

    def chunks(self, headers: Mapping[str, str]) -> Iterator[bytes]:
        """The body as it arrives."""
        if headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int(self.line().split(b";")[0], 16)
                data = self.take(size)
                self.line()
                if size == 0:
                    return
                yield data
        elif "content-length" in headers:
            yield self.take(int(headers["content-length"]))
        else:   # until the server closes the connection
            self.reusable = False
            while True:
                try:
                    self.fill()
                except _Closed:
                    break
                data, self.buf = self.buf, b""
                yield data


class SocketTransport(Transport):
    """The standard library's transport; thread-safe (a connection per request in flight, at
    most `size` idle ones kept, as urllib3's pool keeps `maxsize`)."""

    def __init__(self, endpoint: Endpoint, size: int = 8):
        url_scheme = endpoint.server.split(":", 1)[0]
        if url_scheme != "https" or endpoint.proxy:
            raise Unsupported("not an https server reached directly")
        self.endpoint, self.size = endpoint, int(size)
        self._tls = endpoint.tls()
        self._idle: list = []
        self._lock = threading.Lock()
        self._static = f"Host: {endpoint.netloc}\r\nUser-Agent: heat-k8s-hook\r\n"

    def _connection(self, timeout: float) -> Connection:
        with self._lock:
            while self._idle:
                conn = self._idle.pop()
                if not conn.dropped():
                    conn.sock.settimeout(timeout)
                    return conn
                conn.close()
        try:
            return Connection(self.endpoint, self._tls, timeout)
        except OSError as exc:
            raise _unreachable(exc, self.endpoint.server, sent=False) from None

    def _send(self, method: str, path: str, body: Optional[bytes], headers: Mapping[str, str],
              timeout: float) -> tuple:
        conn = self._connection(timeout)
        head = f"{method} {self.endpoint.prefix}{path} HTTP/1.1\r\n{self._static}"
        head += "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        if body is not None or method not in ("GET", "HEAD", "DELETE"):
            head += f"Content-Length: {len(body or b'')}\r\n"
        try:
            conn.sock.sendall(head.encode("latin-1") + b"\r\n" + (body or b""))
            status, answer_headers = conn.head()
        except OSError as exc:
            conn.close()
            raise _unreachable(exc, self.endpoint.server, sent=True) from None
        return conn, status, answer_headers

    def request(self, method: str, path: str, body: Optional[bytes], headers: Mapping[str, str],
                timeout: float) -> Response:
        conn, status, answer_headers = self._send(method, path, body, headers, timeout)
        try:
            bodiless = method == "HEAD" or status in (204, 304) or status < 200
            data = b"" if bodiless else b"".join(conn.chunks(answer_headers))
        except OSError as exc:
            conn.close()
            raise _unreachable(exc, self.endpoint.server, sent=True) from None
        self._release(conn)
        return Response(status, answer_headers, data)

    def stream(self, method: str, path: str, headers: Mapping[str, str],
               timeout: float) -> Stream:
        conn, status, answer_headers = self._send(method, path, None, headers, timeout)
        return _SocketStream(self, conn, status, answer_headers)

    def _release(self, conn: Connection) -> None:
        if conn.reusable and not conn.buf:
            with self._lock:
                if len(self._idle) < self.size:
                    self._idle.append(conn)
                    return
        conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class _SocketStream(Stream):
    def __init__(self, transport: SocketTransport, conn: Connection, status: int,
                 headers: Mapping[str, str]):
        self._transport, self._conn, self._done = transport, conn, False
        self.status, self.headers = status, headers

    def lines(self) -> Iterator[bytes]:
        try:
            yield from split_lines(self._conn.chunks(self.headers))
            self._done = True
        except OSError as exc:
            raise retry.ConnectionFault(retry.describe(exc), True) from None

    def read(self) -> bytes:
        data = b"".join(self._conn.chunks(self.headers))
        self._done = True
        return data

    def close(self) -> None:
        if self._done:
            self._transport._release(self._conn)
        else:   # an answer not read to its end: the connection cannot carry another
            self._conn.close()


def _unreachable(exc: OSError, server: str, sent: bool) -> ClusterUnreachable:
    """A socket's error as retry.connection_error words urllib3's."""
    if isinstance(exc, ssl.SSLError) or isinstance(exc, ssl.CertificateError):
        return ClusterUnreachable(f"TLS handshake with the API server at {server} failed: "
                                  f"{retry.describe(exc)}")
    text = f"cannot reach the Kubernetes API server at {server}: {retry.describe(exc)}"
    if isinstance(exc, socket.gaierror):
        return ClusterUnreachable(text)   # a wrong name does not heal
    return retry.ConnectionFault(text, sent=sent)


class Client:
    """The fast path's read-only client: (status, body bytes) per request, one connection
    kept alive (bench/ideal.py uses it too)."""

    def __init__(self, path: str, context: Optional[str], timeout: float = 3.0):
        self.transport = SocketTransport(read(path, context), 1)
        self.timeout = timeout

    def close(self) -> None:
        self.transport.close()

    def get(self, path: str, accept: str = "application/json") -> tuple:
        """(HTTP status, body bytes) of one GET on the kept-alive connection."""
        return self.request("GET", path, accept=accept)

    def request(self, method: str, path: str, body: bytes = b"", content_type: str = "",
                accept: str = "application/json") -> tuple:
        """(HTTP status, body bytes) of one request on the kept-alive connection."""
        headers = {"Accept": accept}
        auth = self.transport.endpoint.authorization()
        if auth:
            headers["Authorization"] = auth
        if content_type:
            headers["Content-Type"] = content_type
        resp = self.transport.request(method, path, body or None, headers, self.timeout)
        return resp.status, resp.body
