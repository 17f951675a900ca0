"""Token validation against the real Keystone (I/O), with keystoneauth1.

The webhook holds a service credential; with it, GET /v3/auth/tokens (X-Subject-Token) asks
Keystone whether a subject token is valid and what it carries, and GET
/v3/users/{id}/groups lists the subject user's groups (the two calls k8s-keystone-auth makes).
Tokens travel only in request headers and are never logged.

Speed (issue 27): one keystoneauth session for the process (its service token is reused until
it nears expiry; its connections are kept alive, in a pool as large as the server's concurrency,
so a burst of reviews does not open a TCP/TLS connection per call), and the group names of a
user are kept for `cache_ttl` like an accepted token, so a new token of a user seen in the last
`cache_ttl` seconds costs one Keystone call, not two. A group change thus reaches new tokens
within `cache_ttl`, the bound a cached token already had.
"""
from __future__ import annotations

import logging
import time
from typing import Callable
from urllib.parse import quote

from ..timestamps import unix_time
from .cache import TokenCache
from .config import Config
from .mapping import User, user_from_token

LOG = logging.getLogger("heat_k8s_hook.tokenreview")
IDENTITY = {"service_type": "identity", "version": (3, 0)}
POOL_SIZE = 64   # Keystone connections kept alive (requests' default, 10, drops the rest)


class Rejected(Exception):
    """The token is not valid (unknown, expired, revoked) or not usable (no project scope)."""


class Unavailable(Exception):
    """Keystone did not answer usefully (down, 5xx, our service credential refused)."""


def _expires_at(token: dict) -> float | None:
    """The token's expiry as a Unix time, None if Keystone gave none."""
    text = token.get("expires_at")
    if not text:
        return None
    when = unix_time(text)
    if when is None:
        raise ValueError("expires_at is not an RFC 3339 time")
    return when


def make_session(config: Config):
    """A keystoneauth1 session authenticated with the configured service credential."""
    from keystoneauth1 import loading, session

    options = dict(config.keystone)
    loader = loading.get_plugin_loader(options.pop("auth_type"))
    auth = loader.load_from_options(**options)
    verify = config.keystone_cafile or True
    return session.Session(auth=auth, verify=verify, timeout=config.keystone_timeout,
                           app_name=config.user_agent, session=_pooled())


def _pooled():
    """A requests session whose pool keeps POOL_SIZE connections per Keystone host."""
    import requests
    from keystoneauth1.session import TCPKeepAliveAdapter

    http = requests.Session()
    for scheme in ("https://", "http://"):
        http.mount(scheme, TCPKeepAliveAdapter(pool_connections=4, pool_maxsize=POOL_SIZE))
    return http


class Validator:
    """Token -> User, through the cache, else one Keystone call (validate) and one more when
    the user's groups are not cached (`groups`: user id -> names, same TTL as `cache`)."""

    def __init__(self, config: Config, session, cache: TokenCache,
                 wall: Callable[[], float] = time.time, groups: TokenCache | None = None):
        self.config, self.session, self.cache, self.wall = config, session, cache, wall
        self.groups = groups if groups is not None else TokenCache(cache.ttl, cache.size,
                                                                   cache.now)
        self.stack_domain_id = config.stack_user_domain_id

    def _get(self, path: str, headers: dict | None = None, stats: dict | None = None):
        from keystoneauth1 import exceptions as ks_exc

        started = time.monotonic()
        try:
            # connect_retries: one more try (after 0.5 s) when Keystone did not answer in time
            resp = self.session.get(path, headers=headers or {}, raise_exc=False,
                                    connect_retries=1,
                                    endpoint_filter=dict(IDENTITY,
                                                         interface=self.config.keystone_interface))
        except ks_exc.ClientException as exc:
            raise Unavailable(f"Keystone: {type(exc).__name__}") from None
        finally:
            if stats is not None:
                stats["keystone_calls"] = stats.get("keystone_calls", 0) + 1
                stats["keystone_s"] = stats.get("keystone_s", 0.0) + time.monotonic() - started
        return resp

    def resolve_stack_domain(self) -> None:
        """Look the stack-user domain up by name once (when only its name is configured)."""
        name = self.config.stack_user_domain_name
        if self.stack_domain_id or not name:
            return
        resp = self._get(f"/domains?name={quote(name)}")
        if resp.status_code != 200:
            raise Unavailable(f"Keystone answered {resp.status_code} to the domain lookup "
                              "(stack_user_domain_name)")
        domains = resp.json().get("domains") or []
        if len(domains) != 1:
            raise Unavailable("stack_user_domain_name: no such domain in Keystone")
        self.stack_domain_id = domains[0]["id"]

    def validate(self, token: str, stats: dict | None = None) -> tuple:
        """(User, cached?) for a valid token; Rejected or Unavailable otherwise. `stats`, when
        given, gets the number of Keystone calls made ("keystone_calls") and the seconds spent
        waiting for them ("keystone_s")."""
        user = self.cache.get(token)
        if user is not None:
            return user, True
        body = self._token_body(token, stats)
        user_id = (body.get("user") or {}).get("id")
        if not user_id:
            raise Rejected("the token names no user")
        groups = self.groups.get(user_id)
        if groups is None:
            groups = self._group_names(user_id, stats)
            self.groups.put(user_id, groups)
        try:
            user = user_from_token(body, groups, self.stack_domain_id)
        except ValueError as exc:
            raise Rejected(str(exc)) from None
        expires = _expires_at(body)
        if expires is not None and expires <= self.wall():
            raise Rejected("the token has expired")
        remaining = None if expires is None else expires - self.wall()
        self.cache.put(token, user, None if remaining is None else self.cache.now() + remaining)
        return user, False

    def _token_body(self, token: str, stats: dict | None = None) -> dict:
        resp = self._get("/auth/tokens?nocatalog", headers={"X-Subject-Token": token},
                         stats=stats)
        if resp.status_code == 200:
            return resp.json().get("token") or {}
        if resp.status_code == 404:
            raise Rejected("Keystone does not know the token (invalid, expired or revoked)")
        if resp.status_code in (401, 403):
            raise Unavailable(f"Keystone refused the webhook's service credential "
                              f"({resp.status_code}) when validating a token")
        raise Unavailable(f"Keystone answered {resp.status_code} when validating a token")

    def _group_names(self, user_id: str, stats: dict | None = None) -> tuple:
        resp = self._get(f"/users/{quote(user_id, safe='')}/groups", stats=stats)
        if resp.status_code != 200:
            raise Unavailable(f"Keystone answered {resp.status_code} when listing the user's "
                              "groups")
        return tuple(g.get("name", "") for g in resp.json().get("groups") or [])


def describe(user: User) -> str:
    """A log line's view of a user: name, id and groups (never a token)."""
    return f"user {user.username!r} ({user.uid}) groups {list(user.groups)}"
