"""Dry-run, server-side apply, prune and delete: the I/O that changes the cluster.

Every object of a stage is sent in parallel on one connection pool; discovery is asked once
per apiVersion; a LIST per (kind, namespace) shows which objects already match, so a
re-delivery sends no PATCH at all unless something drifted.
"""
from __future__ import annotations

import json
import logging
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Optional

from heat_k8s_hook.engine import drift, plan
from heat_k8s_hook.engine.plan import CRD_KIND
from heat_k8s_hook.errors import ApplyRejected, HookError, InvalidInput
from heat_k8s_hook.input.render import Manifest
from heat_k8s_hook.kube.cluster import APPLY_PATCH, ApiError, Cluster, NotFound, Resource, UnknownKind
from heat_k8s_hook.objects import Action, ObjectRef

log = logging.getLogger("heat_k8s_hook")


@dataclass
class Item:
    """A manifest bound to its REST resource (None until its CRD in the same config exists)."""

    manifest: Manifest
    ref: ObjectRef
    body: dict
    resource: Optional[Resource] = None

    def where(self) -> str:
        return self.manifest.where()


@dataclass(frozen=True)
class Change:
    """One line of the change set: what happened to one object."""

    ref: ObjectRef
    action: Action
    obj: Optional[Mapping] = None


def _crd_kinds(manifests: Iterable[Manifest]) -> dict:
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


class Applier:
    def __init__(self, cluster: Cluster, field_manager: str, force_conflicts: bool,
                 applyset_id: str, mask: Callable[[str], str] = lambda s: s, workers: int = 16,
                 timeout: Callable[[], float] = lambda: 30.0):
        self.cluster = cluster
        self.field_manager = field_manager
        self.force = force_conflicts
        self.applyset_id = applyset_id
        self.mask = mask
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="apply")
        self.timeout = timeout
        self.live: dict = {}   # our members as last observed, by ref.key
        self.dry: dict = {}    # the server's dry-run answer per ref.key (in its own namespace)

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)

    def _map(self, fn: Callable, items: Iterable) -> list:
        """Run fn over items in parallel; results in order; the first error (in order) raised."""
        futures = [self.pool.submit(fn, it) for it in items]
        results, first_error = [], None
        for f in futures:
            try:
                results.append(f.result())
            except HookError as exc:
                first_error = first_error or exc
                results.append(None)
        if first_error is not None:
            failed = sum(1 for r in results if r is None)
            if failed > 1 and isinstance(first_error, ApplyRejected) and not \
                    isinstance(first_error, ApiError):
                raise type(first_error)(f"{first_error} (and {failed - 1} more)")
            raise first_error
        return results

    # -- binding manifests to resources -------------------------------------------------------

    def resolve(self, manifests: list, default_namespace: str | None) -> list:
        """Bind each manifest to its resource via discovery; default namespaces; label."""
        crds = _crd_kinds(manifests)
        versions = sorted({m.api_version for m in manifests
                           if (m.group, m.kind) not in crds})
        self._map(lambda v: self._discover(v), versions)
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
                    resource = self.cluster.resource(m.api_version, m.kind)
                except UnknownKind as exc:
                    raise InvalidInput(f"{m.where()}: {exc}") from None
                namespaced = resource.namespaced
            namespace = ""
            if namespaced:
                namespace = m.namespace or default_namespace or "default"
            elif m.namespace:
                raise InvalidInput(f"{m.where()}: {m.kind} is cluster-scoped; remove "
                                   "metadata.namespace")
            body = plan.with_membership(m.obj, self.applyset_id)
            if namespace:
                body["metadata"]["namespace"] = namespace
            ref = ObjectRef(m.group, m.kind, namespace, m.name, m.api_version.rpartition("/")[2])
            items.append(Item(m, ref, body, resource))
        return items

    def _discover(self, api_version: str) -> None:
        try:
            self.cluster.discover(api_version)
        except ApiError as exc:
            raise ApplyRejected(f"discovery of {api_version} failed: {self.mask(exc.message)}") \
                from None

    def bind_deferred(self, items: list, patience: float = 10.0) -> None:
        """After CRDs are Established: refresh discovery and bind their custom resources.

        Discovery lags the Established condition by a moment (the aggregated discovery
        cache), so an unknown kind is asked again, briefly, before it is an error.
        """
        deadline = time.monotonic() + min(patience, self.timeout())
        delay = 0.05
        for api_version in {it.ref.api_version for it in items if it.resource is None}:
            self.cluster.forget(api_version)
        for it in items:
            while it.resource is None:
                try:
                    it.resource = self.cluster.resource(it.ref.api_version, it.ref.kind)
                except UnknownKind as exc:
                    if time.monotonic() + delay > deadline:
                        raise ApplyRejected(f"{it.where()}: {exc} (its CRD is Established)") \
                            from None
                    time.sleep(delay)
                    delay = min(delay * 2, 1.0)
                    self.cluster.forget(it.ref.api_version)

    # -- what is there already ------------------------------------------------------------------

    def observe(self, items: list) -> dict:
        """Live members, keyed by ref.key, from one labelled LIST per (resource, namespace)."""
        scopes = sorted({(it.resource, it.ref.namespace) for it in items if it.resource},
                        key=lambda s: (s[0].group_kind, s[1]))
        listed = self._map(lambda s: self._list(*s), scopes)
        live = {}
        for (resource, _ns), objs in zip(scopes, listed):
            for obj in objs:
                meta = obj.get("metadata", {})
                live[(resource.group, resource.kind, meta.get("namespace") or "",
                      meta["name"])] = obj
        self.live.update(live)
        return live

    def _list(self, resource: Resource, namespace: str) -> list:
        try:
            answer = self.cluster.get(resource.path(namespace),
                                      {"labelSelector": f"{plan.PART_OF}={self.applyset_id}"},
                                      timeout=self.timeout())
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

    # -- validation, apply, delete ---------------------------------------------------------------

    def _patch(self, item: Item, dry_run: bool, stand_in: str | None = None,
               answer: bool = True) -> tuple:
        """Server-side apply; a dry run may stand the object in for one in another namespace.
        `answer=False`: the server's answer to a success is not decoded (None)."""
        body, namespace, force = item.body, item.ref.namespace, self.force
        if stand_in:
            body = dict(body, metadata=dict(body["metadata"], namespace=stand_in))
            namespace, force = stand_in, True
        query = {"fieldManager": self.field_manager,
                 "force": "true" if force else None,
                 "dryRun": "All" if dry_run else None}
        path = item.resource.path(namespace, item.ref.name)
        data = json.dumps(body).encode()
        try:
            return self.cluster.request_full("PATCH", path, query, data, APPLY_PATCH,
                                             timeout=self.timeout(), answer=answer)
        except ApiError as exc:
            editors = self._hand_editors(item, exc) if not force else None
            if not editors:
                raise ApplyRejected(f"{item.where()}: {self._explain(exc)}") from None
        # Drift: someone edited fields of our own object by hand (kubectl edit/patch/scale).
        # Heat's config is the truth for its objects, so those fields are taken back.
        if not dry_run:
            log.warning("%s: taking back fields edited by hand (%s)", item.ref, ", ".join(editors))
        query["force"] = "true"
        try:
            return self.cluster.request_full("PATCH", path, query, data, APPLY_PATCH,
                                             timeout=self.timeout(), answer=answer)
        except ApiError as exc:
            raise ApplyRejected(f"{item.where()}: {self._explain(exc)}") from None

    def _hand_editors(self, item: Item, exc: ApiError) -> list:
        """The managers of a conflict when all are imperative edits of one of our members.

        A conflict with another *applier* (operation Apply) is a real ownership conflict and
        fails unless force_conflicts; imperative Update edits of an object this deployment
        created are drift to correct.
        """
        current = self.live.get(item.ref.key)
        if exc.status != 409 or current is None:
            return []
        managers = set(re.findall(r'conflicts? with "([^"]+)"', exc.message))
        operations = {(m.get("manager"), m.get("operation"))
                      for m in (current.get("metadata") or {}).get("managedFields") or []}
        if managers and all((m, "Update") in operations and (m, "Apply") not in operations
                            for m in managers):
            return sorted(managers)
        return []

    def _explain(self, exc: ApiError) -> str:
        message = self.mask(exc.message)
        if exc.status == 409 and "conflict" in message.lower():
            message += " (another field manager owns these fields; set option " \
                       "force_conflicts: true to take them over)"
        elif exc.status == 403:
            message = f"forbidden: {message}"
        return message

    def dry_run(self, items: list, skip: Callable[[Item], bool], missing: set = frozenset(),
                stand_in: str | None = None) -> int:
        """Server-side dry-run of every item not skipped; raises on the first rejected one.

        Objects whose namespace the same config creates are checked in `stand_in` (an existing
        namespace), so the API server validates them before anything is applied.
        """
        todo = [it for it in items if it.resource is not None and not skip(it)]
        # An answer from the stand-in namespace is never compared with a live object: not
        # decoded (half of a create's responses).
        answers = self._map(lambda it: self._patch(
            it, True, *((stand_in, False) if it.ref.namespace in missing else (None, True))),
            todo)
        for it, (_status, obj) in zip(todo, answers):
            if it.ref.namespace not in missing:
                self.dry[it.ref.key] = obj
        return len(todo)

    def dry_run_one(self, item: Item, stand_in: str | None = None) -> dict:
        """The server's answer to a dry-run apply of one item: the object as it would be."""
        return self._patch(item, True, stand_in)[1]

    def apply(self, items: list, live: Mapping) -> list:
        """Server-side apply of one stage in parallel; unchanged objects are not sent."""
        def one(item: Item) -> Change:
            current = live.get(item.ref.key)
            if drift.unchanged(item.body, current) or \
                    drift.same_object(self.dry.get(item.ref.key), current):
                return Change(item.ref, Action.UNCHANGED, current)  # nothing to send
            status, obj = self._patch(item, False)
            if status == 201 or current is None and _is_new(obj):
                action = Action.CREATED
            elif current is not None and obj.get("metadata", {}).get("resourceVersion") == \
                    current.get("metadata", {}).get("resourceVersion"):
                action = Action.UNCHANGED
            else:
                action = Action.CONFIGURED
            return Change(item.ref, action, obj)
        return self._map(one, items)

    def delete(self, refs: list, action: Action) -> list:
        """Delete refs (foreground for workloads, see plan.propagation); those already gone
        are reported as such."""
        def one(ref: ObjectRef) -> Change:
            try:
                resource = self.cluster.resource(ref.api_version, ref.kind)
            except UnknownKind:
                return Change(ref, Action.GONE)  # its CRD went away: so did it
            path = resource.path(ref.namespace, ref.name)
            try:
                live = self.cluster.get(path, timeout=self.timeout())
            except NotFound:
                return Change(ref, Action.GONE)
            except ApiError as exc:
                raise ApplyRejected(f"{ref}: {self._explain(exc)}") from None
            labels = live.get("metadata", {}).get("labels") or {}
            if labels.get(plan.PART_OF) != self.applyset_id:
                log.warning("%s: no longer labelled as part of this deployment; left alone", ref)
                return Change(ref, Action.SKIPPED, live)
            body = {"kind": "DeleteOptions", "apiVersion": "v1",
                    "propagationPolicy": plan.propagation(ref.kind),
                    "preconditions": {"uid": live["metadata"]["uid"]}}
            try:
                self.cluster.request("DELETE", path, body=body, timeout=self.timeout())
            except NotFound:
                return Change(ref, Action.GONE)
            except ApiError as exc:
                if exc.status == 409:  # the uid precondition: it went and came back
                    return Change(ref, Action.GONE)
                raise ApplyRejected(f"{ref}: {self._explain(exc)}") from None
            return Change(ref, action, live)
        return self._map(one, refs)


def _is_new(obj: Any) -> bool:
    fields = (obj or {}).get("metadata", {}).get("managedFields") or []
    return len(fields) == 1 and fields[0].get("operation") == "Apply"
