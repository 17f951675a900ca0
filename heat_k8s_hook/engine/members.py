"""What is there already: our members as live objects, one labelled LIST per scope. I/O.

A LIST per (resource, namespace), selected by our ApplySet label, shows which objects already
match what we apply, so a re-delivery sends no PATCH at all unless something drifted. A scope
that cannot be listed (not served yet, or forbidden) lists as empty: its objects are simply
applied again.
"""
from __future__ import annotations

from heat_k8s_hook.engine import plan
from heat_k8s_hook.kube.cluster import ApiError, Cluster, NotFound, Resource


def scopes_of(items: list) -> list:
    """The (resource, namespace) pairs of the bound items, in a stable order."""
    return sorted({(it.resource, it.ref.namespace) for it in items if it.resource},
                  key=lambda s: (s[0].group_kind, s[1]))


def by_key(scopes: list, listed: list) -> dict:
    """The listed objects keyed like `ObjectRef.key`: (group, kind, namespace, name)."""
    live = {}
    for (resource, _ns), objs in zip(scopes, listed):
        for obj in objs:
            meta = obj.get("metadata", {})
            live[(resource.group, resource.kind, meta.get("namespace") or "",
                  meta["name"])] = obj
    return live


def list_members(cluster: Cluster, resource: Resource, namespace: str, applyset_id: str,
                 timeout: float) -> list:
    """Our members of one scope, each with its kind and apiVersion (LIST items lack them)."""
    try:
        answer = cluster.get(resource.path(namespace),
                             {"labelSelector": f"{plan.PART_OF}={applyset_id}"},
                             timeout=timeout)
    except NotFound:
        return []  # not served (yet): every object of this scope is simply re-applied
    except ApiError as exc:
        if exc.status == 403:
            return []  # cannot list: every object of this scope is simply re-applied
        raise
    objs = answer.get("items", [])
    for obj in objs:  # LIST items carry neither
        obj.setdefault("kind", resource.kind)
        obj.setdefault("apiVersion", resource.api_version)
    return objs
