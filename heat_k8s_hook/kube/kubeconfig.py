"""Where the API server is and how to prove who we are: one reader, one config type (I/O).

`Endpoint` is the one config type every transport is built from (transport.py, tinykube.py):
the server's URL, what the server's certificate is checked against (a CA, the system's, or
nothing when the kubeconfig says `insecure-skip-tls-verify`), the client certificate and key,
and the bearer token (static, or asked for on every request: Keystone, exec plugins).

`read` reads the plain kubeconfigs that kubectl, kind and kwok write with the standard library
only (no PyYAML, no `kubernetes`: the fast path imports this module). Anything beyond that
subset (exec plugins, auth providers, proxies, flow style, anchors) raises `Unsupported`; the
fast path then gives up (the full path runs) and the full path asks the `kubernetes` package's
loader (`from_client_configuration`), which yields the same `Endpoint`.
"""
from __future__ import annotations

import base64
import os
import ssl
from dataclasses import dataclass, field
from typing import Any, Callable, Optional
from urllib.parse import urlsplit


class Unsupported(Exception):
    """Not something this reader handles: take the full path (the `kubernetes` loader)."""


@dataclass(frozen=True)
class Endpoint:
    """One API server and the hook's credentials for it. `ca`, `client_cert`, `client_key`:
    PEM bytes (never written to disk); `ca` None: the system's trust store."""

    server: str                            # https://host:port[/prefix], no trailing slash
    ca: Optional[bytes] = None
    insecure: bool = False                 # the server's certificate is not verified
    tls_server_name: Optional[str] = None  # the name its certificate must carry (SNI too)
    client_cert: Optional[bytes] = None
    client_key: Optional[bytes] = None
    token: Optional[str] = None            # a static bearer token
    basic: Optional[tuple] = field(default=None, repr=False)   # (username, password)
    proxy: Optional[str] = None
    # the Authorization header value, asked on every request (Keystone, exec plugins):
    dynamic: Optional[Callable[[], Optional[str]]] = field(default=None, compare=False,
                                                           repr=False)

    @property
    def hostname(self) -> str:
        return urlsplit(self.server).hostname or ""

    @property
    def port(self) -> int:
        url = urlsplit(self.server)
        return url.port or (443 if url.scheme == "https" else 80)

    @property
    def netloc(self) -> str:
        return urlsplit(self.server).netloc

    @property
    def prefix(self) -> str:
        """The server URL's path (an API server behind a path-routing proxy), no slash."""
        return urlsplit(self.server).path.rstrip("/")

    @property
    def server_name(self) -> str:
        return self.tls_server_name or self.hostname

    def authorization(self) -> Optional[str]:
        """The Authorization header of the next request (None: none is sent)."""
        if self.dynamic is not None:
            return self.dynamic()
        if self.token:
            return f"Bearer {self.token}"
        if self.basic:
            raw = f"{self.basic[0]}:{self.basic[1]}".encode()
            return "Basic " + base64.b64encode(raw).decode()
        return None

    def tls(self) -> ssl.SSLContext:
        """The TLS context every connection to the server uses (verifies name and chain unless
        `insecure`)."""
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        if self.insecure:
            tls.check_hostname = False
            tls.verify_mode = ssl.CERT_NONE
        elif self.ca:
            tls.load_verify_locations(cadata=self.ca.decode("ascii", "replace"))
        else:
            tls.load_default_certs()
        if self.client_cert:
            fds = [_memfd(self.client_cert)] + ([_memfd(self.client_key)] if self.client_key else [])
            try:
                tls.load_cert_chain(*(f"/proc/self/fd/{fd}" for fd in fds))
            finally:
                for fd in fds:
                    os.close(fd)
        return tls


# --- the plain-kubeconfig reader (a YAML subset, standard library only) ------------------------

CLUSTER_KEYS = frozenset({"server", "certificate-authority", "certificate-authority-data",
                          "tls-server-name", "insecure-skip-tls-verify"})
USER_KEYS = frozenset({"client-certificate", "client-certificate-data", "client-key",
                       "client-key-data", "token", "tokenFile"})


def read(path: str, context: Optional[str] = None) -> Endpoint:
    """The Endpoint of `context` (else the current one) in the plain kubeconfig at `path`."""
    with open(path, encoding="utf-8") as f:
        config = parse_kubeconfig(f.read())
    return endpoint_of(config, context, os.path.dirname(path))


def endpoint_of(config: dict, context: Optional[str], base: str) -> Endpoint:
    ctx = _named(config, "contexts", context or config.get("current-context"), "context")
    cluster = _named(config, "clusters", ctx.get("cluster"), "cluster")
    user = _named(config, "users", ctx.get("user"), "user")
    if set(user) - USER_KEYS or set(cluster) - CLUSTER_KEYS:
        raise Unsupported("credentials other than a client certificate or a token")
    server = str(cluster.get("server") or "")
    url = urlsplit(server)
    if url.scheme != "https" or not url.hostname:
        raise Unsupported("not an https server")
    insecure = cluster.get("insecure-skip-tls-verify")
    if insecure not in (None, True, False):
        raise Unsupported("insecure-skip-tls-verify is not a boolean")
    token = user.get("token")
    if user.get("tokenFile"):
        token = _file(user["tokenFile"], base).decode().strip()
    return Endpoint(
        server=server.rstrip("/"), insecure=bool(insecure),
        ca=_data_or_file(cluster, "certificate-authority", base),
        tls_server_name=cluster.get("tls-server-name") or None,
        client_cert=_data_or_file(user, "client-certificate", base),
        client_key=_data_or_file(user, "client-key", base),
        token=str(token) if token else None)


def _data_or_file(section: dict, key: str, base: str) -> Optional[bytes]:
    if section.get(key + "-data"):
        return base64.b64decode(str(section[key + "-data"]))
    if section.get(key):
        return _file(str(section[key]), base)
    return None


def _file(path: str, base: str) -> bytes:
    with open(path if os.path.isabs(path) else os.path.join(base, path), "rb") as f:
        return f.read()


def _named(config: dict, section: str, name: Any, key: str) -> dict:
    for entry in config.get(section) or []:
        if isinstance(entry, dict) and entry.get("name") == name and \
                isinstance(entry.get(key), dict):
            return entry[key]
    raise Unsupported(f"no {key} {name}")


def _memfd(data: bytes) -> int:
    """A file of PEM bytes that never touch a disk (ssl loads keys from paths only)."""
    if not hasattr(os, "memfd_create"):
        raise Unsupported("client credentials without memfd")
    fd = os.memfd_create("heat-k8s-hook", getattr(os, "MFD_CLOEXEC", 0))
    os.write(fd, data)
    return fd


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


# --- what the `kubernetes` package's loader read (exec plugins, auth providers, in-cluster) ----

def from_client_configuration(cfg: Any) -> Endpoint:
    """The Endpoint of a `kubernetes.client.Configuration` that its loader filled. Its
    `auth_settings()` is asked on every request: that runs the refresh of exec/OIDC tokens."""
    def authorization() -> Optional[str]:
        for setting in cfg.auth_settings().values():
            if setting.get("in") == "header" and setting.get("key", "").lower() == \
                    "authorization" and setting.get("value"):
                return setting["value"]
        if cfg.username and cfg.password:
            return Endpoint("", basic=(cfg.username, cfg.password)).authorization()
        return None
    return Endpoint(
        server=cfg.host.rstrip("/"), insecure=not cfg.verify_ssl,
        ca=_file(cfg.ssl_ca_cert, "") if cfg.ssl_ca_cert else None,
        tls_server_name=getattr(cfg, "tls_server_name", None) or None,
        client_cert=_file(cfg.cert_file, "") if cfg.cert_file else None,
        client_key=_file(cfg.key_file, "") if cfg.key_file else None,
        proxy=cfg.proxy or None, dynamic=authorization)
