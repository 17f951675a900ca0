"""A minimal read-only API client for the fast re-delivery (`fastpath.py`): stdlib only.

Importing the `kubernetes` package, PyYAML and http.client costs more than the whole fast
path, so this reads the plain kubeconfigs that kubectl, kind and kwok write (a client
certificate or a bearer token, a CA) and speaks HTTP/1.1 with keep-alive on one TLS socket.
Anything it does not understand (exec plugins, auth providers, proxies, flow style, anchors)
raises `Unsupported`, and the hook takes the full path, where the `kubernetes` client reads it.
"""
from __future__ import annotations

import base64
import os
import socket
import ssl
from typing import Any, Optional
from urllib.parse import urlsplit


class Unsupported(Exception):
    """Not something this client handles: take the full path."""


# --- the kubeconfig subset -------------------------------------------------------------------

def _scalar(text: str) -> Any:
    text = text.strip()
    if text in ("{}", "[]"):
        return {} if text == "{}" else []
    if text[:1] == "'" and text[-1:] == "'" and len(text) > 1:
        return text[1:-1].replace("''", "'")
    if text[:1] == '"' and text[-1:] == '"' and len(text) > 1:
        inner = text[1:-1]
        if "\\" in inner:
            raise Unsupported("escapes in a double-quoted scalar")
        return inner
    if " #" in text:
        text = text.split(" #", 1)[0].rstrip()
    if not text or text[:1] in "&*!|>{[%@`\"'" or text in ("~", "null"):
        if text in ("", "~", "null"):
            return None
        raise Unsupported("YAML beyond the kubeconfig subset")
    return {"true": True, "false": False}.get(text, text)


def _lines(text: str) -> list:
    out = []
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#") or stripped == "---":
            continue
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise Unsupported("tab indentation")
        out.append([len(raw) - len(raw.lstrip(" ")), stripped])
    return out


def _block(lines: list, i: int, indent: int) -> tuple:
    """Parse the block starting at lines[i] (at `indent`): (value, next index)."""
    if lines[i][1].startswith("- ") or lines[i][1] == "-":
        items = []
        while i < len(lines) and lines[i][0] == indent and lines[i][1][:1] == "-":
            rest = lines[i][1][1:].lstrip(" ")
            if not rest:
                raise Unsupported("an empty sequence entry")
            if ":" in rest and rest[:1] not in "'\"":
                lines[i] = [indent + len(lines[i][1]) - len(rest), rest]  # `- a: b` is a map
                value, i = _block(lines, i, lines[i][0])
            else:
                value, i = _scalar(rest), i + 1
            items.append(value)
        return items, i
    out: dict = {}
    while i < len(lines) and lines[i][0] == indent:
        key, sep, rest = lines[i][1].partition(":")
        if not sep or rest[:1] not in ("", " ") or key[:1] in "-?'\"&*!{[":
            raise Unsupported("not a plain mapping key")
        i += 1
        if rest.strip():
            out[key] = _scalar(rest)
        elif i < len(lines) and (lines[i][0] > indent or
                                 lines[i][0] == indent and lines[i][1][:1] == "-"):
            out[key], i = _block(lines, i, lines[i][0])
        else:
            out[key] = None
    if i < len(lines) and lines[i][0] > indent:
        raise Unsupported("a multi-line scalar")
    return out, i


def parse_kubeconfig(text: str) -> dict:
    lines = _lines(text)
    if not lines or lines[0][0] != 0:
        raise Unsupported("an empty or indented kubeconfig")
    value, end = _block(lines, 0, 0)
    if end != len(lines) or not isinstance(value, dict):
        raise Unsupported("a kubeconfig that is not one mapping")
    return value


def _named(config: dict, section: str, name: str, key: str) -> dict:
    for entry in config.get(section) or []:
        if isinstance(entry, dict) and entry.get("name") == name and \
                isinstance(entry.get(key), dict):
            return entry[key]
    raise Unsupported(f"no {key} {name}")


# --- the connection ----------------------------------------------------------------------------

class Plain:
    """A plain kubeconfig's context: where the API server is, its TLS, the bearer token.

    Also stands in for the `kubernetes` client's Configuration in cluster.Cluster (host,
    auth_settings, username, password), so the full path does not import that package for
    a plain kubeconfig either."""

    username = password = None

    def __init__(self, path: str, context: Optional[str]):
        with open(path, encoding="utf-8") as f:
            config = parse_kubeconfig(f.read())
        ctx_name = context or config.get("current-context")
        ctx = _named(config, "contexts", ctx_name, "context")
        cluster = _named(config, "clusters", ctx.get("cluster"), "cluster")
        user = _named(config, "users", ctx.get("user"), "user")
        known = {"client-certificate", "client-certificate-data", "client-key", "client-key-data",
                 "token", "tokenFile"}
        if set(user) - known or set(cluster) - {"server", "certificate-authority",
                                                "certificate-authority-data", "tls-server-name"}:
            raise Unsupported("credentials other than a client certificate or a token")
        url = urlsplit(str(cluster.get("server") or ""))
        if url.scheme != "https" or not url.hostname:
            raise Unsupported("not an https server")
        self.host = str(cluster["server"]).rstrip("/")
        self.hostname, self.port, self.netloc = url.hostname, url.port or 443, url.netloc
        self.prefix = url.path.rstrip("/")
        self.server_name = cluster.get("tls-server-name") or url.hostname
        self.tls = _tls(cluster, user, os.path.dirname(path))
        self.token = user.get("token")
        if user.get("tokenFile"):
            with open(_rel(user["tokenFile"], os.path.dirname(path)), encoding="utf-8") as f:
                self.token = f.read().strip()

    def auth_settings(self) -> dict:
        if not self.token:
            return {}
        return {"BearerToken": {"in": "header", "key": "authorization",
                                "value": f"Bearer {self.token}"}}


class Client:
    """One keep-alive TLS connection to the API server of a plain kubeconfig."""

    def __init__(self, path: str, context: Optional[str], timeout: float = 3.0):
        plain = Plain(path, context)
        self.host, self.port, self.prefix = plain.hostname, plain.port, plain.prefix
        self.server_name, self.tls = plain.server_name, plain.tls
        self.headers = f"Host: {plain.netloc}\r\nUser-Agent: heat-k8s-hook\r\n"
        if plain.token:
            self.headers += f"Authorization: Bearer {plain.token}\r\n"
        self.timeout, self.sock, self.buf = timeout, None, b""

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def get(self, path: str, accept: str = "application/json") -> tuple:
        """(HTTP status, body bytes) of one GET on the kept-alive connection."""
        return self.request("GET", path, accept=accept)

    def request(self, method: str, path: str, body: bytes = b"", content_type: str = "",
                accept: str = "application/json") -> tuple:
        """(HTTP status, body bytes) of one request on the kept-alive connection."""
        if self.sock is None:
            raw = socket.create_connection((self.host, self.port), timeout=self.timeout)
            self.sock = self.tls.wrap_socket(raw, server_hostname=self.server_name)
            self.buf = b""
        head = f"{method} {self.prefix}{path} HTTP/1.1\r\n{self.headers}Accept: {accept}\r\n"
        if body or method != "GET":
            head += f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        self.sock.sendall(head.encode() + b"\r\n" + body)
        return self._response()

    def _read_line(self) -> bytes:
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _fill(self) -> None:
        chunk = self.sock.recv(262144)
        if not chunk:
            raise Unsupported("the connection closed")
        self.buf += chunk

    def _read(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def _response(self) -> tuple:
        status = int(self._read_line().split(b" ", 2)[1])
        headers = {}
        for line in iter(self._read_line, b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int(self._read_line().split(b";")[0], 16)
                parts.append(self._read(size))
                self._read_line()
                if size == 0:
                    break
            body = b"".join(parts)
        else:
            body = self._read(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, body


def _rel(path: str, base: str) -> str:
    return path if os.path.isabs(path) else os.path.join(base, path)


def _tls(cluster: dict, user: dict, base: str) -> ssl.SSLContext:
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if cluster.get("certificate-authority-data"):
        tls.load_verify_locations(
            cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
    elif cluster.get("certificate-authority"):
        tls.load_verify_locations(cafile=_rel(cluster["certificate-authority"], base))
    else:
        tls.load_default_certs()
    cert, key = user.get("client-certificate"), user.get("client-key")
    if user.get("client-certificate-data") or user.get("client-key-data"):
        cert = _memfile(user.get("client-certificate-data"))
        key = _memfile(user.get("client-key-data"))
    if cert:
        tls.load_cert_chain(_rel(cert, base), _rel(key, base) if key else None)
    return tls


def _memfile(data: Optional[str]) -> str:
    """A path to the decoded PEM that never touches a disk (ssl loads keys from paths only)."""
    if not data or not hasattr(os, "memfd_create"):
        raise Unsupported("inline client credentials without memfd")
    fd = os.memfd_create("heat-k8s-hook", getattr(os, "MFD_CLOEXEC", 0))
    os.write(fd, base64.b64decode(data))
    return f"/proc/self/fd/{fd}"


def one_server_pool(urllib3, cfg, size: int) -> tuple:
    """cluster.Cluster's (urllib3 pool, base of request paths) for the one API server of `cfg`
    (Plain, keystone_auth.BearerConfiguration): an https server's own connection pool, each
    request sent with the server's path prefix only (a PoolManager parses every URL and looks
    its pool up under a lock, for nothing with one server); else a PoolManager, whole URLs."""
    url = urlsplit(cfg.host)
    if url.scheme == "https" and url.hostname:
        pool = urllib3.HTTPSConnectionPool(url.hostname, url.port or 443, maxsize=size,
                                           ssl_context=cfg.tls, server_hostname=cfg.server_name)
        return pool, url.path.rstrip("/")
    return urllib3.PoolManager(num_pools=2, maxsize=size, ssl_context=cfg.tls,
                               server_hostname=cfg.server_name), cfg.host.rstrip("/")
