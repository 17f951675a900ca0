"""The Kubernetes API as the hook uses it: credentials, requests, discovery, watch streams.

Credentials yield one `kubeconfig.Endpoint` (a plain kubeconfig read by kubeconfig.py, else
the `kubernetes` package's loader: exec plugins, auth providers, in-cluster; every call into
that package is in this module), and requests go through one `transport.Transport` (urllib3's
pool by default) as raw JSON: no per-object model (de)serialization, no per-object discovery.
An error answer is raised as `ApiError` (transport.py), a fact about a request that the engine
and the pipeline give a meaning and an exit code.
"""
from __future__ import annotations

import json
import logging
import os
import stat
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Optional
from urllib.parse import quote, urlencode

from heat_k8s_hook.errors import (
    ClusterUnreachable,
    CredentialsRejected,
    HookError,
    InvalidInput,
    Misconfigured,
)
from heat_k8s_hook.kube import kubeconfig, retry
from heat_k8s_hook.kube.kubeconfig import Endpoint
from heat_k8s_hook.kube.transport import ApiError, NotFound, PoolTransport, Transport
from heat_k8s_hook.names import DEFAULT_KUBECONFIG

log = logging.getLogger("heat_k8s_hook")

APPLY_PATCH = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"
__all__ = ["APPLY_PATCH", "ApiError", "Cluster", "Credentials", "NotFound", "Resource",
           "UnknownKind", "resolve_credentials"]


# --- credentials (pluggable: a source only has to produce an Endpoint) -------------------------

class Credentials:
    """Where the API server's address and the hook's credentials come from."""

    description = "credentials"
    # seconds the first request may take: an unreachable server fails the run early
    first_contact = 10.0

    def configuration(self) -> Endpoint:
        """The API server and the credentials for it (kubeconfig.Endpoint)."""
        raise NotImplementedError

    def renew(self) -> bool:
        """The API server answered 401: True when fresh credentials may be tried (a Keystone
        token revoked or expired mid-run, keystone_auth.py); the request is sent once more."""
        return False


@dataclass
class KubeconfigCredentials(Credentials):
    path: str
    context: Optional[str] = None

    @property
    def description(self) -> str:
        return f"kubeconfig {self.path}" + (f" (context {self.context})" if self.context else "")

    def configuration(self) -> Endpoint:
        check_private(self.path)
        try:  # a plain kubeconfig (certificate or token): no need to import `kubernetes`
            return kubeconfig.read(self.path, self.context)
        except Exception:  # anything else: the client reads it (and words its errors)
            pass
        from kubernetes import client, config
        cfg = client.Configuration()
        try:
            config.load_kube_config(config_file=self.path, context=self.context,
                                    client_configuration=cfg, persist_config=False)
        except config.ConfigException as exc:
            raise CredentialsRejected(f"{self.description}: {_first_line(exc)}") from None
        except Exception as exc:  # malformed files raise yaml/KeyError/TypeError/...
            raise CredentialsRejected(
                f"{self.description} cannot be loaded ({type(exc).__name__})") from None
        return kubeconfig.from_client_configuration(cfg)


class InClusterCredentials(Credentials):
    description = "in-cluster service account"

    def configuration(self) -> Endpoint:
        from kubernetes import client, config
        cfg = client.Configuration()
        try:
            config.load_incluster_config(client_configuration=cfg)
        except config.ConfigException as exc:
            raise CredentialsRejected(f"in-cluster credentials: {_first_line(exc)}") from None
        return kubeconfig.from_client_configuration(cfg)


def check_private(path: str) -> None:
    """A kubeconfig holds the controller's cluster credentials: only its owner may read it."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise CredentialsRejected(f"kubeconfig {path} does not exist") from None
    except OSError as exc:
        raise CredentialsRejected(f"kubeconfig {path} cannot be read ({exc.strerror})") from None
    if not stat.S_ISREG(st.st_mode):
        raise CredentialsRejected(f"kubeconfig {path} is not a regular file")
    if st.st_mode & 0o077:
        raise Misconfigured(f"kubeconfig {path} is open to group or others (mode "
                            f"{stat.S_IMODE(st.st_mode):04o}); chmod 600 it")


def resolve_credentials(kubeconfig: str | None, context: str | None,
                        environ: Mapping[str, str] = os.environ,
                        default_kubeconfig: str = DEFAULT_KUBECONFIG) -> Credentials:
    """Option `kubeconfig`, then $KUBECONFIG, then the operator's default_kubeconfig (settings),
    then in-cluster."""
    if kubeconfig:
        return KubeconfigCredentials(kubeconfig, context)
    env = environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    if env:
        return KubeconfigCredentials(env, context)
    if os.path.exists(default_kubeconfig):
        return KubeconfigCredentials(default_kubeconfig, context)
    if environ.get("KUBERNETES_SERVICE_HOST"):
        return InClusterCredentials()
    raise CredentialsRejected(
        f"no cluster credentials: set $KUBECONFIG or default_kubeconfig (operator settings), "
        f"or put a kubeconfig at {default_kubeconfig}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# --- discovery -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Resource:
    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_kind(self) -> str:
        return f"{self.group}/{self.kind}" if self.group else self.kind

    def path(self, namespace: str | None = None, name: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{quote(namespace, safe='')}"
        base += f"/{self.plural}"
        return base + (f"/{quote(name, safe='')}" if name else "")


class UnknownKind(InvalidInput):
    """The cluster does not serve this apiVersion/kind."""


# --- the client --------------------------------------------------------------------------------

# Before the API server has answered once, a refused connection more likely means a wrong
# address than a restart: requests are retried this long, not until the deadline.
FIRST_CONTACT = 8.0
NO_DEADLINE = 30.0   # the retry window of a client used without a run's deadline


def default_transport(endpoint: Endpoint, size: int) -> Transport:
    """The standard library's sockets (tinykube.SocketTransport: about half urllib3's CPU per
    request, tests/unit/test_transport.py); urllib3's pool for what they do not do (a proxy,
    a plain-http server). The whole cluster suite passed on each."""
    from heat_k8s_hook.kube import tinykube
    try:
        return tinykube.SocketTransport(endpoint, size)
    except tinykube.Unsupported:
        return PoolTransport(endpoint, size)


class Cluster:
    """A connection to one API server; thread-safe, one transport shared by all threads.

    Transient faults are retried within the run's deadline (`deadline`; retry.py).
    `transport`: how requests travel ((Endpoint, pool_size) -> Transport; `default_transport`:
    the standard library's sockets, urllib3's pool behind a proxy or for plain http).
    """

    def __init__(self, credentials: Credentials, pool_size: int = 32,
                 transport: Optional[Callable[[Endpoint, int], Transport]] = None):
        self.credentials = credentials
        self.endpoint = credentials.configuration()
        self.host = self.endpoint.server
        self.transport = (transport or default_transport)(self.endpoint, pool_size)
        self._discovery: dict = {}
        self._lock = threading.Lock()
        self.deadline: Any = None      # the run's Deadline (set by open_run): retries stop there
        self.answered = False          # the API server has answered once
        self.retried = 0               # requests sent again after a transient fault

    # requests --------------------------------------------------------------------------------

    def _headers(self, content_type: str | None = None,
                 accept: str | None = None) -> dict:
        headers = {"Accept": accept or "application/json", "User-Agent": "heat-k8s-hook"}
        if content_type:
            headers["Content-Type"] = content_type
        # asked on every request: a renewed Keystone token, an exec plugin's refreshed one
        auth = self.endpoint.authorization()
        if auth:
            headers["Authorization"] = auth
        return headers

    def _url(self, path: str, query: Mapping | None) -> str:
        q = {k: v for k, v in (query or {}).items() if v is not None}
        return path + ("?" + urlencode(q) if q else "")

    def _send(self, method: str, url: str, body: bytes | None, headers: dict,
              timeout: float, stream: bool = False) -> Any:
        """One try, no retry here (retry.py decides); a 401 is sent once more with fresh
        credentials when the credentials can renew. A Response, or a Stream if `stream`."""
        if stream:
            resp = self.transport.stream(method, url, headers, timeout)
        else:
            resp = self.transport.request(method, url, body, headers, timeout)
        if resp.status == 401 and self.credentials.renew():
            if stream:
                resp.close()
            return self._send(method, url, body, self._headers(headers.get("Content-Type"),
                                                               headers.get("Accept")),
                              timeout, stream)
        return resp

    def request(self, method: str, path: str, query: Mapping | None = None,
                body: Any = None, content_type: str | None = None, timeout: float = 30.0) -> Any:
        """One API call; returns the decoded JSON answer or raises ApiError/ClusterUnreachable."""
        return self.request_full(method, path, query, body, content_type, timeout)[1]

    def request_full(self, method: str, path: str, query: Mapping | None = None,
                     body: Any = None, content_type: str | None = None,
                     timeout: float = 30.0, accept: str | None = None, answer: bool = True) -> tuple:
        """Like request, but returns (HTTP status, decoded answer): 201 tells a create apart.
        `accept`: another Accept header (inventory.METADATA_LIST); `answer=False`: the body of a
        success is not decoded (None), for a caller that never reads it."""
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            content_type = content_type or "application/json"
        url, clock = self._url(path, query), self._clock()
        started, tries = clock(), [0]
        end = self._patience_end(started)

        def attempt() -> tuple:
            tries[0] += 1
            left = timeout if tries[0] == 1 else min(timeout, end - clock())
            resp = self._send(method, url, data, self._headers(content_type, accept),
                              max(0.5, left))
            self.answered = True
            return resp.status, self._decode(resp.status, resp.body, method, path, answer)
        try:
            return retry.call(attempt, method, end, self._cancelled(), self._retrying, clock)
        except HookError as exc:
            if tries[0] == 1:
                raise
            raise _again(exc, retry.gave_up(exc, tries[0], clock() - started)) from None

    def _clock(self):
        return self.deadline.clock if self.deadline is not None else time.monotonic

    def _cancelled(self):
        return self.deadline.cancelled if self.deadline is not None else None

    def _patience_end(self, started: float) -> float:
        """Retries stop at the deadline; before any answer, after FIRST_CONTACT seconds."""
        end = self.deadline.at if self.deadline is not None else started + NO_DEADLINE
        return end if self.answered else min(end, started + FIRST_CONTACT)

    def _retrying(self, attempt: int, exc: BaseException, wait: float) -> None:
        with self._lock:
            self.retried += 1
            first = self.retried == 1
        (log.warning if first else log.debug)(
            "API server: %s; trying again in %.1fs (transient faults are retried until the "
            "deadline)", exc, wait)

    def _decode(self, status: int, data: bytes, method: str, path: str, answer: bool = True) -> Any:
        payload: Any = None
        if data and (answer or not 200 <= status < 300):   # answer=False: not read if fine
            try:
                payload = json.loads(data)
            except ValueError:
                payload = None
        if 200 <= status < 300:
            return payload
        if status == 401:
            raise CredentialsRejected(
                f"the API server at {self.host} rejected the credentials from "
                f"{self.credentials.description} (401 Unauthorized: expired or revoked?)")
        error = NotFound if status == 404 else ApiError
        if isinstance(payload, Mapping) and payload.get("kind") == "Status":
            raise error(status, payload.get("reason", ""), payload.get("message", ""),
                           payload.get("details"))
        text = (data or b"").decode("utf-8", "replace").strip().splitlines()
        # Not cut here: the message is cut only after masking (a cut secret escapes the masker).
        raise error(status, "", f"{method} {path}: HTTP {status} {text[0] if text else ''}")

    def get(self, path: str, query: Mapping | None = None, timeout: float = 30.0,
            accept: str | None = None) -> Any:
        return self.request_full("GET", path, query, timeout=timeout, accept=accept)[1]

    def ping(self, timeout: float = 10.0) -> str:
        """Check reachability and credentials once; returns the server's gitVersion."""
        version = self.request("GET", "/version", timeout=timeout) or {}
        # /version is readable anonymously; an authenticated call proves the credentials.
        self.request("GET", "/api", timeout=timeout)
        return version.get("gitVersion", "unknown")

    def watch(self, path: str, query: Mapping, timeout: float) -> Iterator[dict]:
        """Yield watch events ({type, object}) until the server ends the stream or `timeout`."""
        q = dict(query, watch="1", allowWatchBookmarks="true",
                 timeoutSeconds=str(max(1, int(timeout))))
        resp = self._send("GET", self._url(path, q), None, self._headers(), timeout + 5,
                          stream=True)
        try:
            if resp.status != 200:
                self._decode(resp.status, resp.read(), "WATCH", path)
            for line in resp.lines():
                yield json.loads(line)
        except retry.ConnectionFault as exc:
            raise retry.ConnectionFault(f"watch on {path} broke: {exc}", True) from None
        finally:
            resp.close()

    # discovery ---------------------------------------------------------------------------------

    def discover(self, api_version: str) -> dict:
        """Kind -> Resource for one apiVersion (one request, then cached; {} if not served)."""
        with self._lock:
            if api_version in self._discovery:
                return self._discovery[api_version]
        path = f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"
        try:
            listing = self.get(path)
        except NotFound:
            listing = None
        kinds = {}
        group, _, version = api_version.rpartition("/")
        for r in (listing or {}).get("resources", []):
            if "/" in r["name"]:
                continue  # subresource
            kinds[r["kind"]] = Resource(group, version, r["kind"], r["name"], r["namespaced"])
        with self._lock:
            self._discovery[api_version] = kinds
        return kinds

    def resource(self, api_version: str, kind: str) -> Resource:
        """The REST resource for apiVersion/kind, from (cached) discovery."""
        kinds = self.discover(api_version)
        if kind not in kinds:
            if not kinds:
                raise UnknownKind(f"apiVersion {api_version} is not served by the cluster")
            raise UnknownKind(f"kind {kind} is not served by the cluster in {api_version}")
        return kinds[kind]

    def forget(self, api_version: str) -> None:
        """Drop cached discovery (after a CRD in the same config became Established)."""
        with self._lock:
            self._discovery.pop(api_version, None)


def _again(exc: HookError, message: str) -> HookError:
    """The same error, its message saying it was retried."""
    if isinstance(exc, ApiError):
        return type(exc)(exc.status, exc.reason, message, exc.details)
    return ClusterUnreachable(message)
