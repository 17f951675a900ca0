"""The inventory on the cluster: read, record and forget a deployment's ApplySet parent (I/O).

The bodies come from the pure `inventory` module; this client only sends them.
"""
from __future__ import annotations

import json
from typing import Callable, Optional

from heat_k8s_hook import inventory
from heat_k8s_hook.cluster import APPLY_PATCH, ApiError, Cluster, NotFound
from heat_k8s_hook.errors import ApplyRejected


class InventoryClient:
    """Parents live in `namespace`, the records namespace: every record of a deployment
    (inventory parent, and anything else the hook keeps about it) goes there."""

    def __init__(self, cluster: Cluster, field_manager: str,
                 timeout: Callable[[], float] = lambda: 30.0,
                 namespace: str = inventory.NAMESPACE):
        self.cluster, self.field_manager, self.timeout = cluster, field_manager, timeout
        self.namespace = namespace

    @property
    def parents(self) -> str:
        return f"/api/v1/namespaces/{self.namespace}/configmaps"

    def get(self, name: str) -> Optional[dict]:
        """The parent ConfigMap, or None when this deployment has none."""
        try:
            return self.cluster.get(f"{self.parents}/{name}", timeout=self.timeout())
        except NotFound:
            return None

    def ensure_namespace(self) -> None:
        """The records namespace holding inventories (and the dry-run stand-in)."""
        self._apply(f"/api/v1/namespaces/{self.namespace}",
                    inventory.namespace_body(self.namespace), f"namespace {self.namespace}")

    def record(self, name: str, identity: str, members, judge=None) -> None:
        self._apply(f"{self.parents}/{name}", inventory.parent_body(name, identity, members, judge,
                                                             self.namespace),
                    f"inventory ConfigMap {self.namespace}/{name}")

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

    def _apply(self, path: str, body: dict, what: str) -> None:
        query = {"fieldManager": self.field_manager, "force": "true"}
        try:
            self.cluster.request("PATCH", path, query, json.dumps(body).encode(), APPLY_PATCH,
                                 timeout=self.timeout())
        except ApiError as exc:
            raise ApplyRejected(f"{what}: {exc.message}") from None
