"""Binding manifests to REST resources: discovery, namespaces, the membership label. I/O.

`bind` turns each rendered manifest into an `Item` (its identity, the body we apply with our
ApplySet label, its REST resource); a custom resource whose CRD is in the same config is
bound later (`bind_deferred`), once that CRD is Established. The lookup of a kind is passed
in (`kube.cluster.Cluster.resource`), so a test binds against a table.
"""
from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Callable, Optional

from heat_k8s_hook.engine import plan
from heat_k8s_hook.engine.plan import CRD_KIND
from heat_k8s_hook.errors import ApplyRejected, InvalidInput
from heat_k8s_hook.input.render import Manifest
from heat_k8s_hook.kube.cluster import Cluster, Resource, UnknownKind
from heat_k8s_hook.objects import ObjectRef


@dataclass
class Item:
    """A manifest bound to its REST resource (None until its CRD in the same config exists)."""

    manifest: Manifest
    ref: ObjectRef
    body: dict
    resource: Optional[Resource] = None

    def where(self) -> str:
        return self.manifest.where()


def crd_kinds(manifests: Iterable[Manifest]) -> dict:
    """(group, kind) -> {versions, namespaced} for each CRD in the config."""
    kinds = {}
    for m in manifests:
        if m.kind != CRD_KIND:
            continue
        spec = m.obj.get("spec")
        spec = spec if isinstance(spec, Mapping) else {}
        names = spec.get("names") if isinstance(spec.get("names"), Mapping) else {}
        listed = spec.get("versions") if isinstance(spec.get("versions"), list) else []
        versions = {v["name"] for v in listed if isinstance(v, Mapping) and isinstance(v.get("name"), str)}
        if not isinstance(spec.get("group"), str) or not isinstance(names.get("kind"), str):
            continue  # not a usable CRD: the API server's dry-run says why
        kinds[(spec["group"], names["kind"])] = {
            "versions": versions, "namespaced": spec.get("scope", "Namespaced") == "Namespaced",
            "plural": names.get("plural")}
    return kinds


def bind(manifests: list, default_namespace: str | None, applyset_id: str,
         resource_of: Callable[[str, str], Resource]) -> list:
    """Each manifest as an Item: its resource (from `resource_of(apiVersion, kind)`, after
    discovery), its namespace defaulted (or refused on a cluster-scoped kind), our label."""
    crds = crd_kinds(manifests)
    items = []
    for m in manifests:
        resource = None
        if (m.group, m.kind) in crds:
            crd = crds[(m.group, m.kind)]
            version = m.api_version.rpartition("/")[2]
            if version not in crd["versions"]:
                raise InvalidInput(f"{m.where()}: version {version} is not one of the versions "
                                   f"of its CustomResourceDefinition in this config")
            namespaced = crd["namespaced"]
        else:
            try:
                resource = resource_of(m.api_version, m.kind)
            except UnknownKind as exc:
                raise InvalidInput(f"{m.where()}: {exc}") from None
            namespaced = resource.namespaced
        namespace = ""
        if namespaced:
            namespace = m.namespace or default_namespace or "default"
        elif m.namespace:
            raise InvalidInput(f"{m.where()}: {m.kind} is cluster-scoped; remove "
                               "metadata.namespace")
        body = plan.with_membership(m.obj, applyset_id)
        if namespace:
            body["metadata"]["namespace"] = namespace
        ref = ObjectRef(m.group, m.kind, namespace, m.name, m.api_version.rpartition("/")[2])
        items.append(Item(m, ref, body, resource))
    return items


def versions_to_discover(manifests: list) -> list:
    """The apiVersions discovery is asked about (not those of the config's own CRDs)."""
    crds = crd_kinds(manifests)
    return sorted({m.api_version for m in manifests if (m.group, m.kind) not in crds})


def bind_deferred(cluster: Cluster, items: list, deadline: float,
                  clock: Callable[[], float] = time.monotonic,
                  sleep: Callable[[float], None] = time.sleep) -> None:
    """After CRDs are Established: refresh discovery and bind their custom resources.

    Discovery lags the Established condition by a moment (the aggregated discovery
    cache), so an unknown kind is asked again, briefly, until `deadline`, before it is an
    error.
    """
    delay = 0.05
    for api_version in {it.ref.api_version for it in items if it.resource is None}:
        cluster.forget(api_version)
    for it in items:
        while it.resource is None:
            try:
                it.resource = cluster.resource(it.ref.api_version, it.ref.kind)
            except UnknownKind as exc:
                if clock() + delay > deadline:
                    raise ApplyRejected(f"{it.where()}: {exc} (its CRD is Established)") \
                        from None
                sleep(delay)
                delay = min(delay * 2, 1.0)
                cluster.forget(it.ref.api_version)
