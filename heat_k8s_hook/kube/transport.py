"""One transport interface, and the implementation on urllib3's pool the full path uses (I/O).

A transport sends one HTTP request to the API server of an `Endpoint` (kubeconfig.py) and
returns its answer, whatever the status: saying what a 4xx/5xx means is the client's job
(cluster.py), retrying is retry.py's. It raises only `ClusterUnreachable` (a
`retry.ConnectionFault` when another try may succeed) for what never got an answer.

    request(method, path, body, headers, timeout) -> Response(status, headers, body)
    stream(method, path, headers, timeout) -> Stream (status, headers, lines(), read(), close())

`path` is the API path with its query; the transport adds the server's own path prefix.
Two implementations: `PoolTransport` here (urllib3's connection pool, thread-safe, the full
path's default) and `tinykube.SocketTransport` (the standard library only, the fast path's).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator, Mapping, Optional
from urllib.parse import urlsplit

from heat_k8s_hook.errors import ApplyRejected, HookError
from heat_k8s_hook.kube import retry
from heat_k8s_hook.kube.kubeconfig import Endpoint


class ApiError(HookError):
    """An error answer of the API server (a Status; `status` is the HTTP code): a fact about
    one request, not a verdict on the deployment. The engine says what it means where it knows
    (engine/apply.py: an object the server refused is ApplyRejected, NotFound is often
    expected), and engine/pipeline.explained turns one nobody explained into ApplyRejected, the
    documented code of an API refusal (`code` below gives it to the CLI's own reporting too).
    Not an ApplyRejected: `except ApplyRejected` does not catch a raw HTTP failure."""

    code = ApplyRejected.code

    def __init__(self, status: int, reason: str, message: str, details: Mapping | None = None):
        super().__init__(message or reason or f"HTTP {status}")
        self.status = status
        self.reason = reason
        self.details = details or {}


class NotFound(ApiError):
    """404: the object, or the resource type itself (a CRD deleted), is not there."""


@dataclass
class Response:
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)   # names in lower case
    body: bytes = b""


class Stream:
    """An answer read as it arrives (a watch): `lines()` yields its non-empty lines."""

    status: int = 0
    headers: Mapping[str, str] = {}

    def lines(self) -> Iterator[bytes]:
        raise NotImplementedError

    def read(self) -> bytes:
        """The whole body (an error answer)."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class Transport:
    """The interface (see the module's doc)."""

    endpoint: Endpoint

    def request(self, method: str, path: str, body: Optional[bytes], headers: Mapping[str, str],
                timeout: float) -> Response:
        raise NotImplementedError

    def stream(self, method: str, path: str, headers: Mapping[str, str],
               timeout: float) -> Stream:
        raise NotImplementedError

    def close(self) -> None:
        """Close idle connections (the transport stays usable)."""


def split_lines(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """The non-empty newline-terminated lines of a byte stream (a watch's JSON events)."""
    buf = b""
    for chunk in chunks:
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            if line.strip():
                yield line
    if buf.strip():
        yield buf


class PoolTransport(Transport):
    """urllib3's pool: thread-safe, `size` kept-alive connections shared by the applier's
    threads and the watches. One https server gets its own HTTPSConnectionPool (a PoolManager
    parses every URL and looks its pool up under a lock, for nothing with one server)."""

    def __init__(self, endpoint: Endpoint, size: int = 32):
        import urllib3
        self.endpoint, self._u3 = endpoint, urllib3
        url = urlsplit(endpoint.server)
        tls = endpoint.tls() if url.scheme == "https" else None
        tls_args: dict = {} if tls is None else {
            "ssl_context": tls, "server_hostname": endpoint.server_name,
            "assert_hostname": False if endpoint.insecure else None}
        if endpoint.proxy:
            self._pool: Any = urllib3.ProxyManager(endpoint.proxy, maxsize=size, **tls_args)
            self._base = endpoint.server
        elif tls is not None:
            self._pool = urllib3.HTTPSConnectionPool(url.hostname, endpoint.port, maxsize=size,
                                                     **tls_args)
            self._base = endpoint.prefix
        else:
            self._pool = urllib3.HTTPConnectionPool(url.hostname, endpoint.port, maxsize=size)
            self._base = endpoint.prefix

    def _open(self, method: str, path: str, body: Optional[bytes], headers: Mapping[str, str],
              timeout: float, stream: bool) -> Any:
        try:
            return self._pool.request(
                method, self._base + path, body=body, headers=dict(headers),
                preload_content=not stream, retries=False,
                timeout=self._u3.Timeout(connect=min(5.0, timeout), read=timeout))
        except self._u3.exceptions.HTTPError as exc:
            raise retry.connection_error(exc, self.endpoint.server) from None

    def request(self, method: str, path: str, body: Optional[bytes], headers: Mapping[str, str],
                timeout: float) -> Response:
        resp = self._open(method, path, body, headers, timeout, False)
        return Response(resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.data)

    def stream(self, method: str, path: str, headers: Mapping[str, str],
               timeout: float) -> Stream:
        return _PoolStream(self, self._open(method, path, None, headers, timeout, True))

    def close(self) -> None:
        self._pool.clear() if hasattr(self._pool, "clear") else self._pool.close()


class _PoolStream(Stream):
    def __init__(self, transport: PoolTransport, resp: Any):
        self._u3, self._resp = transport._u3, resp
        self.status = resp.status
        self.headers = {k.lower(): v for k, v in resp.headers.items()}

    def lines(self) -> Iterator[bytes]:
        try:
            yield from split_lines(self._resp.stream(65536, decode_content=True))
        except self._u3.exceptions.HTTPError as exc:
            raise retry.ConnectionFault(retry.describe(exc), True) from None

    def read(self) -> bytes:
        return self._resp.read()

    def close(self) -> None:
        self._resp.release_conn()
