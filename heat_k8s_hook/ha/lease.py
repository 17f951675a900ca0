"""The application's Lease on the cluster (I/O): read, claim, renew, release, watch.

Bodies and decisions come from the pure `ha.policy` module. Every write is an optimistic-concurrency
create or update (the body carries the resourceVersion read): a 409 means another member won.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Iterator, Optional

from heat_k8s_hook.errors import ApplyRejected, HookError
from heat_k8s_hook.ha import policy
from heat_k8s_hook.kube.cluster import ApiError, Cluster, NotFound
from heat_k8s_hook.kube.deadline import Deadline

log = logging.getLogger("heat_k8s_hook")


class Lost(Exception):
    """Another member created or updated the Lease first (409 Conflict)."""


class LeaseClient:
    """The Lease `name` in the records namespace (next to the inventory parent)."""

    def __init__(self, cluster: Cluster, namespace: str, name: str,
                 timeout: Callable[[], float] = lambda: 30.0):
        self.cluster, self.namespace, self.name, self.timeout = cluster, namespace, name, timeout

    @property
    def collection(self) -> str:
        return f"/apis/coordination.k8s.io/v1/namespaces/{self.namespace}/leases"

    def get(self) -> Optional[dict]:
        try:
            return self.cluster.get(f"{self.collection}/{self.name}", timeout=self.timeout())
        except NotFound:
            return None

    def write(self, body: dict, create: bool) -> dict:
        """Create or update (with the body's resourceVersion); Lost on 409."""
        method, path = ("POST", self.collection) if create else \
            ("PUT", f"{self.collection}/{self.name}")
        try:
            return self.cluster.request(method, path, body=body, timeout=self.timeout())
        except NotFound:
            raise Lost() from None   # deleted under us (or its namespace is gone)
        except ApiError as exc:
            if exc.status == 409:
                raise Lost() from None
            raise ApplyRejected(f"Lease {self.namespace}/{self.name}: {exc.message}") from None

    def changes(self, resource_version: str, seconds: float) -> Iterator[Optional[dict]]:
        """The Lease as it changes (None once deleted), for at most `seconds`."""
        query = {"fieldSelector": f"metadata.name={self.name}",
                 "resourceVersion": resource_version}
        for event in self.cluster.watch(self.collection, query, seconds):
            kind, obj = event.get("type"), event.get("object") or {}
            if kind in ("ADDED", "MODIFIED"):
                yield obj
            elif kind == "DELETED":
                yield None
            elif kind == "ERROR":
                return  # 410 Gone and the like: the caller reads the Lease again


def holder_line(cluster: Cluster, parent: dict) -> str:
    """For `status`: who holds the application's Lease (named like its inventory parent, in
    the same namespace), or who applied last; "" when there is none."""
    meta = parent["metadata"]
    try:
        found = LeaseClient(cluster, meta["namespace"], meta["name"]).get()
    except HookError:   # not allowed to read Leases: status without the line
        return ""
    return policy.describe(found, time.time())


class Renewer:
    """Renews the held Lease in the background every third of its duration, until stopped,
    the run's deadline passes, or another member took it; dies with the process."""

    def __init__(self, client: LeaseClient, lease: dict, deadline: Deadline,
                 clock: Callable[[], float] = time.time):
        self.client, self.lease, self.deadline, self.clock = client, lease, deadline, clock
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.lost = False
        seconds = float(policy.spec_of(lease).get("leaseDurationSeconds") or policy.DEFAULT_LEASE_SECONDS)
        self.interval = max(0.5, seconds / 3)
        self.thread = threading.Thread(target=self._loop, name="lease-renew", daemon=True)

    def start(self) -> "Renewer":
        self.thread.start()
        return self

    def _loop(self) -> None:
        while not self.stopped.wait(self.interval):
            if self.deadline.cancelled.is_set() or self.deadline.at <= time.monotonic():
                return  # the run is over: let the claim lapse
            with self.lock:
                if self.stopped.is_set():
                    return
                try:
                    self._write(lambda held: policy.renew_body(held, self.clock()))
                except Lost:
                    self.lost = True
                    log.warning("Lease %s taken by another member", self.client.name)
                    return
                except HookError as exc:  # unreachable for a moment: try again next tick
                    log.warning("Lease %s not renewed: %s", self.client.name, exc.message)

    def release(self, outcome: policy.Answer) -> bool:
        """Stop renewing, then free the Lease with the outcome; False if it was taken."""
        with self.lock:
            self.stopped.set()
            if self.lost:
                return False
            try:
                self._write(lambda held: policy.release_body(held, outcome))
                return True
            except Lost:
                return False

    def _write(self, body_of: Callable[[dict], dict]) -> None:
        """Write body_of(the held Lease). A 409 while the Lease still names this holder is a
        member recording itself (ha.with_member): write again on the Lease as it is now."""
        mine = policy.holder_of(self.lease)
        for _ in range(8):
            try:
                self.lease = self.client.write(body_of(self.lease), False)
                return
            except Lost:
                fresh = self.client.get()
                if fresh is None or policy.holder_of(fresh) != mine:
                    raise
                self.lease = fresh
        raise Lost()
