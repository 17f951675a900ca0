"""What to apply in which order, and what to prune: pure rules over plain data.

Stages follow Flux's staged apply with Helm's install order coarsened into three steps:
cluster definitions (Namespaces, CRDs; waited for before their dependents), then what workloads
consume (RBAC, config, storage, Services), then workloads and everything else. Objects of one
stage are applied in parallel.
"""
from __future__ import annotations

import base64
import enum
import hashlib
import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping

CRD_KIND = "CustomResourceDefinition"
# Helm's InstallOrder (pkg/release/util/kind_sorter.go), by kind.
HELM_INSTALL_ORDER = (
    "PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange",
    "PodSecurityPolicy", "PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList",
    "ConfigMap", "StorageClass", "PersistentVolume", "PersistentVolumeClaim",
    "CustomResourceDefinition", "ClusterRole", "ClusterRoleList", "ClusterRoleBinding",
    "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding", "RoleBindingList", "Service",
    "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
    "HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress",
    "APIService", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
)
# ServiceAccounts too: the token controller deletes a service-account-token Secret that it
# sees before its ServiceAccount (Helm orders them for the same reason); CI saw it happen.
DEFINITIONS = frozenset({"Namespace", CRD_KIND, "ServiceAccount"})
FIRST_WORKLOAD = HELM_INSTALL_ORDER.index("DaemonSet")
STAGE_NAMES = ("definitions", "dependencies", "workloads")

PART_OF = "applyset.kubernetes.io/part-of"
ANNOTATION_PREFIX = "heat-k8s-hook.dev/"
CONFIG_HASH = ANNOTATION_PREFIX + "config-hash"
WAIT_ANNOTATION = ANNOTATION_PREFIX + "wait"           # "false" opts an object out of waiting
TIMEOUT_ANNOTATION = ANNOTATION_PREFIX + "timeout"     # seconds, its own readiness deadline


class Action(str, enum.Enum):
    """What a run did to one object: one line of the change set (`deploy_stdout`)."""

    CREATED = "created"
    CONFIGURED = "configured"
    UNCHANGED = "unchanged"
    PRUNED = "pruned"
    DELETED = "deleted"
    GONE = "gone"           # already gone when it was to be deleted (or its CRD went)
    SKIPPED = "skipped"     # no longer labelled as ours: left alone

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, order=True)
class ObjectRef:
    """A live object's identity; `group` is "" for the core API group."""

    group: str
    kind: str
    namespace: str
    name: str
    version: str = ""

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def __str__(self) -> str:
        return f"{self.kind}/{self.namespace}/{self.name}" if self.namespace \
            else f"{self.kind}/{self.name}"

    def to_dict(self) -> dict:
        return {"apiVersion": self.api_version, "kind": self.kind,
                "namespace": self.namespace, "name": self.name}

    @classmethod
    def from_dict(cls, d: Mapping) -> "ObjectRef":
        group, _, version = str(d["apiVersion"]).rpartition("/")
        return cls(group, d["kind"], d.get("namespace") or "", d["name"], version)

    @property
    def key(self) -> tuple:
        """Identity without the version (a version change is the same object)."""
        return (self.group, self.kind, self.namespace, self.name)


def stage_of(kind: str) -> int:
    """0: definitions, 1: what workloads depend on, 2: workloads and unknown kinds."""
    if kind in DEFINITIONS:
        return 0
    try:
        position = HELM_INSTALL_ORDER.index(kind)
    except ValueError:
        return 2  # custom resources and kinds Helm does not list go last
    return 1 if position < FIRST_WORKLOAD else 2


def propagation(kind: str) -> str:
    """How DELETE removes an object: Foreground for workloads and unknown kinds (gone means
    their pods and other dependents are gone too); Background for definitions and what
    workloads depend on, which own nothing to wait for: a Foreground ConfigMap waits for the
    garbage collector's turn (483 of them took 60 s on a loaded 2-core machine, 21 s after)."""
    return "Foreground" if stage_of(kind) == 2 else "Background"


def install_rank(kind: str) -> int:
    try:
        return HELM_INSTALL_ORDER.index(kind)
    except ValueError:
        return len(HELM_INSTALL_ORDER)


def stages(items: Iterable[Any], kind_of=lambda item: item.ref.kind) -> list:
    """Items grouped by stage (empty stages dropped), each in Helm order then document order."""
    buckets: dict = {}
    for item in items:
        buckets.setdefault(stage_of(kind_of(item)), []).append(item)
    return [sorted(buckets[s], key=lambda it: install_rank(kind_of(it)))
            for s in sorted(buckets)]


def delete_order(refs: Iterable[ObjectRef]) -> list:
    """Reverse of install order: workloads first, Namespaces and CRDs last."""
    return sorted(refs, key=lambda r: (-stage_of(r.kind), -install_rank(r.kind), r))


def with_membership(obj: Mapping, applyset_id: str) -> dict:
    """The object as applied: our ApplySet label and the hash of what we apply."""
    body = json.loads(json.dumps(obj))
    meta = body.setdefault("metadata", {})
    meta.setdefault("labels", {})[PART_OF] = applyset_id
    meta.setdefault("annotations", {})
    meta["annotations"].pop(CONFIG_HASH, None)
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]
    meta["annotations"][CONFIG_HASH] = digest
    return body


def to_prune(previous: Iterable[ObjectRef], desired: Iterable[ObjectRef]) -> list:
    """Members of the last applied set that the new config no longer has."""
    keep = {r.key for r in desired}
    return delete_order(r for r in previous if r.key not in keep)


def wipe_out(desired: Iterable[Any], previous: Iterable[ObjectRef],
             allow_empty: bool) -> str | None:
    """Why an apply must be refused: it renders no object while the deployment owns some.

    An empty `config`, or a parameter that emptied a `str_replace`, would otherwise prune every
    object the deployment owns. As Argo CD's `allowEmpty`, only an explicit option allows it;
    DELETE stays the way to remove everything.
    """
    owned = len(list(previous))
    if allow_empty or not owned or any(True for _ in desired):
        return None
    return (f"config renders no objects, and this deployment owns {owned}: nothing was changed "
            "(set option allow_empty: true to remove them all, or delete the deployment)")


# Fields holding resource.Quantity values: the server stores them canonical (1000m -> 1,
# 1024Mi -> 1Gi, 0.5 -> 500m), so they compare by value, not by spelling.
QUANTITY_MAPS = frozenset({"limits", "requests", "hard", "capacity", "default",
                           "defaultRequest", "max", "min", "maxLimitRequestRatio", "overhead"})
QUANTITY_FIELDS = frozenset({"sizeLimit"})
_QUANTITY = re.compile(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
                       r"(|[eE][+-]?[0-9]+|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|n|u)$")
_SUFFIX = {"": 1, "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
           "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12, "P": 10 ** 15, "E": 10 ** 18,
           "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50,
           "Ei": 2 ** 60}


def quantity(value: Any) -> Decimal | None:
    """A resource.Quantity's value (None when it is not one): `1000m` == `1` == 1."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    match = _QUANTITY.match(str(value).strip())
    if not match:
        return None
    number, suffix = match.groups()
    try:
        if suffix[:1] in ("e", "E"):
            return Decimal(number + suffix)
        return Decimal(number) * _SUFFIX[suffix]
    except InvalidOperation:
        return None


def _matches(desired: Any, live: Any, quantities: bool = False) -> bool:
    """Does the live value hold the desired one as the server stores it? Fields the server
    defaulted are extra in live (ignored); empty maps and lists are dropped by it."""
    if isinstance(desired, Mapping):
        if not desired and live is None:
            return True
        return isinstance(live, Mapping) and all(
            _matches(v, live.get(k), quantities or k in QUANTITY_MAPS or k in QUANTITY_FIELDS)
            for k, v in desired.items() if v is not None)
    if isinstance(desired, list):
        if not desired and live is None:
            return True
        return isinstance(live, list) and len(desired) == len(live) and all(
            _matches(d, lv) for d, lv in zip(desired, live))
    if live is None and (desired is False or desired == 0 or desired == ""):
        return True   # a zero value the server does not store (omitempty): minReadySeconds: 0
    if quantities and not isinstance(desired, bool):
        want, have = quantity(desired), quantity(live)
        if want is not None and have is not None:
            return want == have
    if isinstance(desired, bool) or isinstance(live, bool):
        return desired is live
    if isinstance(desired, (int, float)) and isinstance(live, (int, float)):
        return desired == live
    return desired == live or (isinstance(desired, (int, float)) and str(desired) == live)


def unchanged(body: Mapping, live: Mapping | None) -> bool:
    """True when the live object already is what we would apply: same hash, no drift.

    The hash annotation says the config did not change since it was applied; the field by
    field comparison says nobody changed one of our fields behind our back. A False answer
    only costs a PATCH that the server may find to be a no-op.
    """
    if not live:
        return False
    live_meta = live.get("metadata", {})
    if (live_meta.get("annotations") or {}).get(CONFIG_HASH) != \
            body["metadata"]["annotations"][CONFIG_HASH]:
        return False
    desired = {k: v for k, v in body.items() if k not in ("status", "stringData")}
    if body.get("stringData"):
        # stringData is write-only: the server stores it base64-encoded in data.
        desired["data"] = dict(desired.get("data") or {}, **{
            k: base64.b64encode(str(v).encode()).decode()
            for k, v in body["stringData"].items()})
    return _matches(desired, live)


def _comparable(obj: Mapping) -> dict:
    meta = dict(obj.get("metadata") or {})
    meta.pop("resourceVersion", None)
    meta["managedFields"] = [{k: v for k, v in entry.items() if k != "time"}
                             for entry in meta.get("managedFields") or []]
    return dict(obj, metadata=meta)


def same_object(answer: Mapping | None, live: Mapping | None) -> bool:
    """True when the server's dry-run answer is the live object itself: applying would change
    nothing (not a field, not an owner), so no PATCH is sent. Asked when the field-by-field
    check is in doubt (a spelling the server normalises, a default it fills)."""
    if not answer or not live:
        return False
    return _comparable(answer) == _comparable(live)
