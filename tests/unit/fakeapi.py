"""An API server in memory that answers like kube-apiserver where the hook can tell.

404 is `cluster.NotFound` (as `Cluster._decode` raises it), POST creates (409 AlreadyExists if
the name is taken), PUT replaces only at the body's resourceVersion (409 Conflict otherwise),
server-side apply (PATCH) creates or merges and honours `dryRun=All`, DELETE removes, LIST
filters by label and field selectors; an object in a Namespace that does not exist is a 404, as
on a real server. Leases (coordination.k8s.io/v1) are served, so a run gets past
`[phase: coordinate]`. `writes` records every non-dry-run write, `requests` every request.
Used by the fuzz harness (tests/unit/fuzzing.py) and the wiring tests (test_wiring.py).
"""
from __future__ import annotations

import copy
import json
import threading
import time
from typing import Any, Optional
from urllib.parse import parse_qsl, urlencode

from heat_k8s_hook.kube.cluster import ApiError, Credentials, NotFound, Resource, UnknownKind

KINDS = {
    "v1": [("ConfigMap", "configmaps", True), ("Secret", "secrets", True),
           ("ServiceAccount", "serviceaccounts", True), ("Service", "services", True),
           ("Namespace", "namespaces", False)],
    "coordination.k8s.io/v1": [("Lease", "leases", True)],
}
WRITES = frozenset({"PATCH", "POST", "PUT", "DELETE"})


def _split(path: str) -> tuple:
    """(namespace or None, plural, name or None) of a resource path."""
    parts = path.strip("/").split("/")
    rest = parts[2:] if parts[0] == "api" else parts[3:]
    namespace = None
    if rest[:1] == ["namespaces"] and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    return namespace, rest[0], (rest[1] if len(rest) > 1 else None)


def _selected(obj: dict, query: dict) -> bool:
    labels = obj["metadata"].get("labels") or {}
    for term in filter(None, (query.get("labelSelector") or "").split(",")):
        key, eq, value = term.partition("=")
        if (labels.get(key) != value) if eq else (key not in labels):
            return False
    field = query.get("fieldSelector") or ""
    return not field.startswith("metadata.name=") or \
        obj["metadata"].get("name") == field.partition("=")[2]


class FakeApiServer:
    """The cluster boundary (the `Cluster` methods the hook calls) over objects in memory."""

    credentials = Credentials()

    def __init__(self, kinds: Optional[dict] = None, statuses: Optional[dict] = None) -> None:
        self.kinds = kinds or KINDS
        self.statuses = statuses or {}   # kind -> the status the "controller" writes
        self.objects: dict = {}
        self.writes: list = []
        self.requests: list = []
        self.lock = threading.RLock()
        self.version = 1
        self.log: list = []   # (resourceVersion, ADDED|MODIFIED|DELETED, path, object)
        for ns in ("default", "kube-system"):
            self.objects[f"/api/v1/namespaces/{ns}"] = {
                "apiVersion": "v1", "kind": "Namespace", "status": {"phase": "Active"},
                "metadata": {"name": ns, "uid": f"uid-ns-{ns}", "resourceVersion": "1"}}

    def ping(self, timeout: float = 10.0) -> str:
        return "v1.37.2-fake"

    def discover(self, api_version: str) -> dict:
        group, _, version = api_version.rpartition("/")
        return {kind: Resource(group, version, kind, plural, namespaced)
                for kind, plural, namespaced in self.kinds.get(api_version, [])}

    def resource(self, api_version: str, kind: str) -> Resource:
        kinds = self.discover(api_version)
        if kind not in kinds:
            raise UnknownKind(f"kind {kind} is not served by the cluster in {api_version}")
        return kinds[kind]

    def forget(self, api_version: str) -> None:
        pass

    def get(self, path: str, query: Optional[dict] = None, timeout: float = 30.0, **_kw) -> Any:
        return self.request("GET", path, query, timeout=timeout)

    def request(self, method, path, query=None, body=None, content_type=None, timeout=30.0,
                **_kw):
        return self.request_full(method, path, query, body, content_type, timeout)[1]

    def request_full(self, method, path, query=None, body=None, content_type=None,
                     timeout=30.0, **_kw):
        path, _, inline = path.partition("?")   # a LIST may carry its query in the path
        query = dict(parse_qsl(inline), **{k: v for k, v in (query or {}).items() if v is not None})
        dry = query.get("dryRun") == "All"
        with self.lock:
            self.requests.append(f"{method} {path}")
            if method in WRITES and not dry:
                self.writes.append(f"{method} {path}?{urlencode(query)}")
            if method == "GET":
                return 200, copy.deepcopy(self._get(path, query))
            if body is not None and not isinstance(body, (dict, list)):
                body = json.loads(body)
            handler = {"PATCH": self._apply, "POST": self._create, "PUT": self._replace,
                       "DELETE": self._delete}.get(method)
            if handler is None:
                raise ApiError(405, "MethodNotAllowed", f"{method} is not served")
            status, obj = handler(path, body, dry)
            return status, copy.deepcopy(obj)

    # -- reads -------------------------------------------------------------------------------

    def _get(self, path: str, query: dict) -> Any:
        if path in ("/version", "/api"):
            return {"gitVersion": "v1.37.2-fake"}
        if path in self.objects:
            return self.objects[path]
        namespace, plural, name = _split(path)
        if name is None:
            items = [o for p, o in self.objects.items()
                     if self._in_collection(p, path, namespace, plural) and _selected(o, query)]
            return {"metadata": {"resourceVersion": str(self.version)}, "items": items}
        raise NotFound(404, "NotFound", f"{plural} \"{name}\" not found")

    @staticmethod
    def _in_collection(path: str, collection: str, namespace: Optional[str], plural: str) -> bool:
        if namespace:
            return path.startswith(collection + "/") and "/" not in path[len(collection) + 1:]
        group = collection.rpartition("/")[0]   # all namespaces: /api/v1/configmaps
        return path.startswith(group + "/") and _split(path)[1] == plural

    def watch(self, path: str, query: dict, timeout: float):
        """The changes since the query's resourceVersion, then the stream ends (the caller
        watches again from the last one), as a watch that times out at once."""
        namespace, plural, _name = _split(path)
        since = int(query.get("resourceVersion") or 0)
        with self.lock:
            events = [{"type": kind, "object": copy.deepcopy(obj)}
                      for version, kind, at, obj in self.log if version > since
                      and self._in_collection(at, path, namespace, plural) and _selected(obj, query)]
        time.sleep(0.02)
        return iter(events)

    # -- writes ------------------------------------------------------------------------------

    def _stamp(self, obj: dict, created: bool) -> dict:
        self.version += 1
        meta = obj.setdefault("metadata", {})
        meta["resourceVersion"] = str(self.version)
        if created:
            meta["uid"] = f"uid-{self.version}"
            meta["generation"] = 1
        if obj.get("kind") == "Namespace":
            obj["status"] = {"phase": "Active"}
        if obj.get("kind") in self.statuses:
            obj["status"] = copy.deepcopy(self.statuses[obj["kind"]])
        return obj

    def _namespace_exists(self, path: str, dry: bool) -> None:
        namespace = _split(path)[0]
        if namespace and f"/api/v1/namespaces/{namespace}" not in self.objects:
            raise NotFound(404, "NotFound", f"namespaces \"{namespace}\" not found")

    def _apply(self, path: str, body: Any, dry: bool) -> tuple:
        if path.endswith(("/scale", "/status")):
            raise ApiError(405, "MethodNotAllowed", "subresources are not served by the fake")
        live = self.objects.get(path)
        if live is None:
            self._namespace_exists(path, dry)
        obj = copy.deepcopy(live) if live else {}
        for key, value in body.items():
            if key == "metadata" and live:
                obj["metadata"] = dict(live["metadata"], **value)
            else:
                obj[key] = value
        obj.setdefault("metadata", {})["managedFields"] = [{"manager": "hook", "operation": "Apply"}]
        if live:
            obj["metadata"].update(uid=live["metadata"]["uid"])
        if dry:
            return (200 if live else 201), obj
        self._store(path, self._stamp(obj, live is None), live is None)
        return (200 if live else 201), self.objects[path]

    def _create(self, path: str, body: Any, dry: bool) -> tuple:
        name = (body.get("metadata") or {}).get("name")
        target = f"{path}/{name}"
        if target in self.objects:
            raise ApiError(409, "AlreadyExists", f"\"{name}\" already exists")
        self._namespace_exists(target, dry)
        obj = self._stamp(copy.deepcopy(body), True)
        if not dry:
            self._store(target, obj, True)
        return 201, obj

    def _replace(self, path: str, body: Any, dry: bool) -> tuple:
        live = self.objects.get(path)
        if live is None:
            raise NotFound(404, "NotFound", "not found")
        if (body.get("metadata") or {}).get("resourceVersion") != live["metadata"]["resourceVersion"]:
            raise ApiError(409, "Conflict", "the object has been modified")
        obj = self._stamp(copy.deepcopy(body), False)
        obj["metadata"]["uid"] = live["metadata"]["uid"]
        if not dry:
            self._store(path, obj, False)
        return 200, obj

    def _delete(self, path: str, body: Any, dry: bool) -> tuple:
        if path not in self.objects:
            raise NotFound(404, "NotFound", "not found")
        if dry:
            return 200, self.objects[path]
        obj = self.objects.pop(path)
        self.version += 1
        gone = dict(obj, metadata=dict(obj["metadata"], resourceVersion=str(self.version)))
        self.log.append((self.version, "DELETED", path, gone))
        return 200, gone

    def _store(self, path: str, obj: dict, created: bool) -> None:
        self.objects[path] = obj
        self.log.append((self.version, "ADDED" if created else "MODIFIED", path, copy.deepcopy(obj)))
