"""Keystone credentials for the cluster: a bearer token from keystoneauth1 (I/O).

The controller holds no Kubernetes credential in this mode (keystone_settings.py): the API
server's address and CA come from the operator's settings, the identity from the deployment's
HEAT_SIGNAL inputs or the operator's clouds.yaml, and the token the cluster sees is a Keystone
token its TokenReview webhook validates. Tokens live in this object only (never written,
never printed: each one is taught to the run's masker as soon as it is obtained); keystoneauth
renews one that is about to expire, and `renew` drops one the cluster refused (401) so the
next request carries a fresh one.

One token per run (issue 27): `connector` starts getting it in a thread as soon as the
deployment is read, so Keystone's token issue overlaps the run's own start-up (imports,
rendering) instead of preceding the first API request; the connect phase waits for that same
token, and a Keystone failure is raised there, as before.
"""
from __future__ import annotations

import os
import ssl
import threading
import time
from typing import Any, Callable, Iterable

from heat_k8s_hook.config.keystone_settings import (
    HEAT_SIGNAL,
    Identity,
    KeystoneSettings,
    cloud_identity,
    read_clouds_yaml,
    records_namespace,
    refuse_kubeconfig,
    signal_identity,
)
from heat_k8s_hook.errors import (
    HookError,
    KeystoneRefused,
    KeystoneUnreachable,
    Misconfigured,
    TokenExpired,
)
from heat_k8s_hook.kube.cluster import Cluster, Credentials
from heat_k8s_hook.kube.kubeconfig import Endpoint

KEYSTONE_TIMEOUT = 10.0   # seconds per Keystone request
MAX_RENEWALS = 5          # 401s from the cluster a run may answer with a fresh token
FRESH = 2.0               # a token younger than this is not dropped again (parallel 401s)


class KeystoneCredentials(Credentials):
    """The cluster at the operator's `server`, as the Keystone `identity`."""

    # the first request gets a token from Keystone, and the API server's webhook then reviews
    # it against Keystone too (up to its 30 s): 10 s turned a slow Keystone into a false
    # "cannot reach the API server" (code 3)
    first_contact = 2 * KEYSTONE_TIMEOUT + 30.0

    def __init__(self, identity: Identity, ks: KeystoneSettings,
                 mask: Callable[[Iterable[Any]], None] = lambda values: None,
                 clock: Callable[[], float] = time.monotonic):
        self.identity, self.ks, self.mask, self.clock = identity, ks, mask, clock
        self.mask([identity.secret])
        self._lock = threading.Lock()
        self._auth: Any = None
        self._session: Any = None
        self._had_token = False
        self._obtained = 0.0
        self._renewals = 0
        self._prefetching: Any = None      # the thread getting the first token, if started
        self._prefetch_error: Any = None   # what it raised, for the run's first token()

    @property
    def description(self) -> str:
        return self.identity.description

    def configuration(self) -> Endpoint:
        """The one config type (kubeconfig.Endpoint) with the operator's server and CA, and
        the current token on every request. No `kubernetes` import (issue 27: 0.3 s of a
        quiet machine's run, more on a loaded one)."""
        ca = self.ks.certificate_authority
        if not os.path.isfile(ca):
            raise Misconfigured(f"keystone.certificate_authority {ca}: not a readable file")
        self.token()   # a refusal fails the connect phase (before the CA is read, as before)
        try:
            with open(ca, "rb") as f:
                endpoint = Endpoint(self.ks.server.rstrip("/"), ca=f.read(),
                                    dynamic=lambda: f"Bearer {self.token()}")
            endpoint.tls()   # verifies the certificate and the name
        except (OSError, ssl.SSLError):
            raise Misconfigured(f"keystone.certificate_authority {ca}: not a PEM certificate "
                                f"bundle") from None
        return endpoint

    def renew(self) -> bool:
        """The cluster refused the token (401): drop it; True when a fresh one may be tried."""
        with self._lock:
            if self._renewals >= MAX_RENEWALS:
                return False
            self._renewals += 1
            if self._auth is not None and self.clock() - self._obtained >= FRESH:
                self._auth.invalidate()
            return True

    def prefetch(self) -> None:
        """Start getting the token now, in a daemon thread; the first `token()` waits for it
        and raises what it raised."""
        thread = threading.Thread(target=self._prefetch, name="keystone-token", daemon=True)
        self._prefetching = thread
        thread.start()

    def _prefetch(self) -> None:
        try:
            self.token()
        except Exception as exc:  # noqa: BLE001 the run's token() raises it, in its phase
            self._prefetch_error = exc

    def token(self) -> str:
        """The current token (keystoneauth re-authenticates when it is about to expire)."""
        pending = self._prefetching
        if pending is not None and pending is not threading.current_thread():
            pending.join()
            self._prefetching = None
            error, self._prefetch_error = self._prefetch_error, None
            if error is not None:
                raise error
        with self._lock:
            session = self._session or self._open()
            before = self._auth.auth_ref
            try:
                token = session.get_token()
            except Exception as exc:  # keystoneauth's own classes, translated in one place
                raise self._failure(exc) from None
            if self._auth.auth_ref is not before:
                self._obtained = self.clock()
            self.mask([token])
            self._had_token = True
            return token

    def _open(self) -> Any:
        from keystoneauth1 import session
        from keystoneauth1.identity import v3
        i = self.identity
        if i.app_cred_id or i.app_cred_name:
            self._auth = v3.ApplicationCredential(
                auth_url=i.auth_url, application_credential_secret=i.secret,
                application_credential_id=i.app_cred_id or None,
                application_credential_name=i.app_cred_name or None,
                user_id=i.user_id or None, username=i.username or None,
                user_domain_name=i.user_domain or None)
        else:
            self._auth = v3.Password(auth_url=i.auth_url, user_id=i.user_id, password=i.secret,
                                     project_id=i.project_id)
        # app_name: Keystone's access log tells the hook's requests apart (bench/keystone_mode.py)
        self._session = session.Session(auth=self._auth, verify=i.verify,
                                        timeout=KEYSTONE_TIMEOUT, app_name="heat-k8s-hook")
        return self._session

    def _failure(self, exc: BaseException) -> Exception:
        """keystoneauth's exception -> ours, a one-line cause with no secret in it."""
        from keystoneauth1 import exceptions as kse
        who, url = self.description, self.identity.auth_url
        if isinstance(exc, kse.Unauthorized):
            if self._had_token:
                return TokenExpired(
                    f"the Keystone token of {who} expired or was revoked mid-run, and Keystone "
                    f"at {url} refused a new one (user deleted or disabled, password changed, "
                    f"or application credential expired or deleted since the run started)")
            return KeystoneRefused(
                f"Keystone at {url} refused the credentials of {who} (401: wrong password or "
                f"secret, user disabled or deleted, or application credential expired; "
                f"Keystone does not say which)")
        if isinstance(exc, (kse.ConnectionError, kse.DiscoveryFailure)):
            return KeystoneUnreachable(f"cannot reach Keystone at {url}: {_cause(exc)}")
        status = getattr(exc, "http_status", None)
        if isinstance(status, int) and status < 500 and status != 408:
            return KeystoneRefused(f"Keystone at {url} refused to authenticate {who} "
                                   f"(HTTP {status})")
        what = f"HTTP {status}" if status else type(exc).__name__
        return KeystoneUnreachable(f"Keystone at {url} did not authenticate {who} ({what}; is "
                                   f"it up?)")


def _cause(exc: BaseException) -> str:
    from keystoneauth1 import exceptions as kse
    if isinstance(exc, kse.SSLError):
        return "TLS handshake failed (keystone_ca, or the clouds.yaml cacert?)"
    if isinstance(exc, (kse.ConnectTimeout, kse.RequestTimeout)):
        return "connection timed out"
    text = str(exc)
    if "Connection refused" in text:
        return "connection refused"
    if "Name or service not known" in text or "nodename nor servname" in text:
        return "host name not found"
    return type(exc).__name__


# --- choosing the credentials of a run -----------------------------------------------------------

def credentials_for(dep: Any, ks: KeystoneSettings,
                    mask: Callable[[Iterable[Any]], None]) -> KeystoneCredentials:
    """The run's Keystone credentials, as the operator chose (never the template)."""
    refuse_kubeconfig(dep.options)
    if ks.identity == HEAT_SIGNAL:
        identity = signal_identity(dep.inputs, ks)
    else:
        identity = cloud_identity(read_clouds_yaml(ks.clouds_yaml), ks)
    return KeystoneCredentials(identity, ks, mask)


def connector(dep: Any, ks: KeystoneSettings, mask: Callable[[Iterable[Any]], None]):
    """A `Context.connect` for this deployment: (Options) -> Cluster, as its Keystone identity.

    What the template got wrong (kubeconfig option, no namespace, no HEAT_SIGNAL inputs) is
    code 2 here, before any request."""
    refuse_kubeconfig(dep.options)
    records_namespace(dep.options.namespace, ks, "")
    if ks.identity == HEAT_SIGNAL:
        signal_identity(dep.inputs, ks)

    try:   # start the token now (see the module's doc); a bad clouds.yaml fails in connect
        early: Any = credentials_for(dep, ks, mask)
    except HookError:
        early = None
    else:
        early.prefetch()

    def connect(_options: Any) -> Cluster:
        nonlocal early
        creds, early = early or credentials_for(dep, ks, mask), None
        return Cluster(creds)
    return connect
