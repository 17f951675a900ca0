"""A short-lived cache of validated tokens, keyed by a hash of the token (never the token).

An entry lives for `ttl` seconds and never past the token's own expiry, so a cached answer
cannot outlive what Keystone said. Only successful validations are cached: a rejected token is
asked again (Keystone may have been down, or the user just got a role).
"""
from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Callable


def token_key(token: str) -> str:
    """The cache key of a token: its SHA-256, so a memory dump of the cache holds no token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class TokenCache:
    """Thread-safe LRU of key -> value with a per-entry deadline on the clock `now`."""

    def __init__(self, ttl: float, size: int, now: Callable[[], float]):
        self.ttl, self.size, self.now = ttl, size, now
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str):
        if self.ttl <= 0:
            return None
        key = token_key(token)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            deadline, value = entry
            if self.now() >= deadline:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return value

    def put(self, token: str, value, expires_at: float | None = None) -> None:
        """Keep `value` for ttl seconds, or until `expires_at` (same clock) if that is sooner."""
        if self.ttl <= 0:
            return
        deadline = self.now() + self.ttl
        if expires_at is not None:
            deadline = min(deadline, expires_at)
        if deadline <= self.now():
            return
        key = token_key(token)
        with self._lock:
            self._entries[key] = (deadline, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)
