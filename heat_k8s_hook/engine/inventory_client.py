"""The inventory on the cluster: read, record and forget a deployment's ApplySet parent (I/O).

The bodies come from the pure `inventory` module; this client only sends them.
"""
from __future__ import annotations

import json
from typing import Callable, Optional

from heat_k8s_hook.engine import inventory
from heat_k8s_hook.errors import ApplyRejected
from heat_k8s_hook.kube.cluster import APPLY_PATCH, ApiError, Cluster, NotFound


class InventoryClient:
    """Parents live in `namespace`, the records namespace: every record of a deployment
    (inventory parent, and anything else the hook keeps about it) goes there."""

    def __init__(self, cluster: Cluster, field_manager: str,
                 timeout: Callable[[], float] = lambda: 30.0,
                 namespace: str = inventory.NAMESPACE):
        self.cluster, self.field_manager, self.timeout = cluster, field_manager, timeout
        self.namespace = namespace
        self.seen: dict = {}             # parent name -> the parent as last read or written
        self.namespace_exists = False    # known once a parent was read from it

    @property
    def parents(self) -> str:
        return f"/api/v1/namespaces/{self.namespace}/configmaps"

    def get(self, name: str) -> Optional[dict]:
        """The parent ConfigMap, or None when this deployment has none."""
        try:
            parent = self.cluster.get(f"{self.parents}/{name}", timeout=self.timeout())
        except NotFound:
            return None
        self.seen[name] = parent
        self.namespace_exists = True
        return parent

    def ensure_namespace(self) -> None:
        """The records namespace holding inventories (and the dry-run stand-in), applied only
        when it is missing: a re-delivery writes nothing."""
        path = f"/api/v1/namespaces/{self.namespace}"
        if not self.namespace_exists:
            try:
                self.cluster.get(path, timeout=self.timeout())
            except NotFound:
                self._apply(path, inventory.namespace_body(self.namespace),
                            f"namespace {self.namespace}")
            self.namespace_exists = True

    def record(self, name: str, identity: str, members, judge=None,
               outcome: Optional[str] = None) -> bool:
        """Apply the parent unless the live one already says the same; True when written.

        Without `outcome` a parent that must change loses its recorded outcome (the fast
        re-delivery's proof, `fastpath.py`); with the same members it keeps it."""
        body = inventory.parent_body(name, identity, members, judge, self.namespace)
        current = self.seen.get(name)
        held = inventory.suspended_of(current)   # SUSPEND's record stays until RESUME
        if held is not None:
            body["data"][inventory.SUSPENDED] = held
        kept = ((current or {}).get("data") or {}).get(inventory.RECORD_KEY)
        if outcome is None and kept is not None:
            same = dict(body, data=dict(body["data"], **{inventory.RECORD_KEY: kept}))
            if _holds(current, same):
                return False
        elif outcome is not None:
            body["data"][inventory.RECORD_KEY] = outcome
        if _holds(current, body):
            return False
        self.seen[name] = self._apply(f"{self.parents}/{name}", body,
                                      f"inventory ConfigMap {self.namespace}/{name}")
        return True

    def record_suspended(self, name: str, text: Optional[str]) -> bool:
        """Set (or remove, None) the parent's record of suspended values, keeping every other
        key; written only when it changes. True when written."""
        current = self.seen.get(name) or self.get(name)
        if current is None:
            raise ApplyRejected(f"inventory ConfigMap {self.namespace}/{name}: not found")
        if inventory.suspended_of(current) == text:
            return False
        self.seen[name] = self._apply(f"{self.parents}/{name}",
                                      inventory.with_suspended(current, text),
                                      f"inventory ConfigMap {self.namespace}/{name}")
        return True

    def forget(self, name: str) -> None:
        try:
            self.cluster.request("DELETE", f"{self.parents}/{name}", timeout=self.timeout())
        except NotFound:
            pass

    def all(self) -> list:
        """Every deployment's parent on this cluster (ApplySet parents of this tool), in every
        namespace (Keystone mode keeps them in the tenants' namespaces); only the records
        namespace when the caller may not list configmaps cluster-wide."""
        query = {"labelSelector": inventory.APPLYSET_ID}
        try:
            listing = self.cluster.get("/api/v1/configmaps", query, timeout=self.timeout())
        except NotFound:
            return []
        except ApiError as exc:
            if exc.status != 403:
                raise
            try:
                listing = self.cluster.get(self.parents, query, timeout=self.timeout())
            except NotFound:
                return []
        return [p for p in listing.get("items", [])
                if inventory.IDENTITY in (p["metadata"].get("annotations") or {})]

    def _apply(self, path: str, body: dict, what: str) -> dict:
        query = {"fieldManager": self.field_manager, "force": "true"}
        try:
            return self.cluster.request("PATCH", path, query, json.dumps(body).encode(),
                                        APPLY_PATCH, timeout=self.timeout())
        except ApiError as exc:
            raise ApplyRejected(f"{what}: {exc.message}") from None


def _holds(live: Optional[dict], body: dict) -> bool:
    """Does the live parent already carry exactly the labels, annotations and data of body?"""
    if not live:
        return False
    meta, want = live.get("metadata") or {}, body["metadata"]
    ours = {k: v for k, v in (meta.get("annotations") or {}).items()
            if k.startswith(("applyset.kubernetes.io/", "heat-k8s-hook.dev/"))}
    return (live.get("data") or {}) == body["data"] and ours == want["annotations"] and all(
        (meta.get("labels") or {}).get(k) == v for k, v in want["labels"].items())
