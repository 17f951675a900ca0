"""Deleting one member: only if it is still ours, foreground for workloads, by uid. I/O.

An object that no longer carries our ApplySet label is left alone (someone took it over);
the DELETE names the uid just read as a precondition, so an object deleted and created again
meanwhile is not deleted by mistake; one already gone is reported as gone.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Callable

from heat_k8s_hook.engine import plan
from heat_k8s_hook.engine.patch import Change, explain
from heat_k8s_hook.errors import ApplyRejected
from heat_k8s_hook.kube.cluster import ApiError, Cluster, NotFound, UnknownKind
from heat_k8s_hook.objects import Action, ObjectRef

log = logging.getLogger("heat_k8s_hook")


def delete_options(ref: ObjectRef, live: Mapping, applyset_ids: tuple) -> dict | None:
    """The DeleteOptions for a live member, or None when it is no longer labelled ours (with
    one of `applyset_ids`)."""
    labels = live.get("metadata", {}).get("labels") or {}
    if labels.get(plan.PART_OF) not in applyset_ids:
        return None
    return {"kind": "DeleteOptions", "apiVersion": "v1",
            "propagationPolicy": plan.propagation(ref.kind),
            "preconditions": {"uid": live["metadata"]["uid"]}}


def delete_one(cluster: Cluster, ref: ObjectRef, action: Action, applyset_ids: tuple,
               mask: Callable[[str], str], timeout: Callable[[], float]) -> Change:
    """Delete one member (see plan.propagation); one already gone is reported as such."""
    try:
        resource = cluster.resource(ref.api_version, ref.kind)
    except UnknownKind:
        return Change(ref, Action.GONE)  # its CRD went away: so did it
    path = resource.path(ref.namespace, ref.name)
    try:
        live = cluster.get(path, timeout=timeout())
    except NotFound:
        return Change(ref, Action.GONE)
    except ApiError as exc:
        raise ApplyRejected(f"{ref}: {explain(exc.status, exc.message, mask)}") from None
    body = delete_options(ref, live, applyset_ids)
    if body is None:
        log.warning("%s: no longer labelled as part of this deployment; left alone", ref)
        return Change(ref, Action.SKIPPED, live)
    try:
        cluster.request("DELETE", path, body=body, timeout=timeout())
    except NotFound:
        return Change(ref, Action.GONE)
    except ApiError as exc:
        if exc.status == 409:  # the uid precondition: it went and came back
            return Change(ref, Action.GONE)
        raise ApplyRejected(f"{ref}: {explain(exc.status, exc.message, mask)}") from None
    return Change(ref, action, live)
