"""The `config` of a deployment into Kubernetes objects, with `get_input` substituted.

Substitution is structural, as Heat does for structured configs: a value that is exactly
`{get_input: NAME}` is replaced by the typed input value, so a value can never change the
shape of the YAML around it. There is no text templating. YAML is read in one dialect
(yamldialect.py) and every step counts against `Limits`, so a hostile config costs little.
"""
from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from heat_k8s_hook.errors import InvalidInput
from heat_k8s_hook.input.limits import LimitExceeded, Limits, count_nodes, depth_exceeds
from heat_k8s_hook.input.yamldialect import load_documents
from heat_k8s_hook.names import DNS_LABEL

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = DNS_LABEL
_DNS1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_SEGMENT = re.compile(r"^[^/%\x00-\x20\x7f]+$")
_API_VERSION = re.compile(r"^(?:[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
                          r"[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_KIND = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,62}$")
_BUILTIN = frozenset({
    "ConfigMap", "Secret", "ServiceAccount", "Pod", "PersistentVolume", "PersistentVolumeClaim",
    "ReplicationController", "ResourceQuota", "LimitRange", "Endpoints", "Deployment",
    "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Ingress", "IngressClass",
    "NetworkPolicy", "PodDisruptionBudget", "HorizontalPodAutoscaler", "PriorityClass",
    "StorageClass", "CustomResourceDefinition", "APIService", "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration"})


@dataclass(frozen=True)
class Manifest:
    """One object of the config, numbered from 1 as the author counts documents."""

    index: int
    obj: Mapping

    @property
    def api_version(self) -> str:
        return self.obj["apiVersion"]

    @property
    def kind(self) -> str:
        return self.obj["kind"]

    @property
    def name(self) -> str:
        return self.obj["metadata"]["name"]

    @property
    def namespace(self) -> str | None:
        return self.obj["metadata"].get("namespace")

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    def where(self) -> str:
        """How an error names this object: `document 3 (Deployment web)`."""
        return f"document {self.index} ({self.kind} {self.name})"


class _Budget:
    """Values produced by substitution, against limits.max_nodes (aliases expand here)."""

    def __init__(self, limits: Limits):
        self.limits, self.used, self.chars = limits, 0, 0

    def spend(self, nodes: int, chars: int = 0) -> None:
        self.used += nodes
        self.chars += chars
        if self.used > self.limits.max_nodes:
            raise LimitExceeded("config: values after get_input and aliases expand",
                                "max_nodes", self.limits)
        if self.chars > self.limits.max_rendered_bytes:
            raise LimitExceeded("config: text after get_input and aliases expand",
                                "max_rendered_bytes", self.limits)


def substitute(value: Any, inputs: Mapping[str, Any], where: str, budget: _Budget = None) -> Any:
    """Replace every `{get_input: NAME}` by the input's typed value (deep copy)."""
    budget = budget or _Budget(Limits())
    budget.spend(1, len(value) if isinstance(value, str) else 0)
    if isinstance(value, dict):
        if len(value) == 1 and "get_input" in value:
            name = value["get_input"]
            if not isinstance(name, str) or name not in inputs:
                known = ", ".join(sorted(k for k in inputs if not k.startswith("deploy_")))
                said = repr(name) if isinstance(name, str) and _SEGMENT.fullmatch(name) else "(a value)"
                raise InvalidInput(f"{where}: unknown input {said[:100]} in get_input "
                                   f"(inputs: {known or 'none'})")
            budget.spend(*count_nodes(inputs[name], budget.limits.max_nodes))
            return copy.deepcopy(inputs[name])
        budget.spend(0, sum(len(k) for k in value if isinstance(k, str)))
        return {k: substitute(v, inputs, where, budget) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, inputs, where, budget) for v in value]
    return value


def _raw_documents(config: Any, limits: Limits) -> list:
    if config is None or config == "":
        return []
    if isinstance(config, str):
        return load_documents(config, "config", limits)
    if isinstance(config, Mapping) and "manifests" in config:
        manifests = config["manifests"]
        if isinstance(manifests, str):
            return load_documents(manifests, "config.manifests", limits)
        if not isinstance(manifests, list):
            raise InvalidInput("config.manifests: expected a list of Kubernetes objects")
        return list(manifests)
    if isinstance(config, Mapping):
        return [config]
    if isinstance(config, list):
        return list(config)
    raise InvalidInput(f"config: expected YAML text or a map with `manifests`, "
                       f"got {type(config).__name__}")


def _is_list(doc: Any) -> bool:
    kind = doc.get("kind") if isinstance(doc, Mapping) else None
    return isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list)


def _expand_lists(docs: list, limits: Limits) -> Iterator[Any]:
    count = 0
    for doc in docs:
        if doc is None:
            continue
        items = [item for item in doc["items"] if item is not None] if _is_list(doc) else [doc]
        for item in items:
            count += 1
            if count > limits.max_documents:
                raise LimitExceeded("config: objects", "max_documents", limits)
            if _is_list(item) and item is not doc:
                raise InvalidInput(f"document {count}: a List inside a List is not supported")
            yield item


def _describe(index: int, doc: Any) -> str:
    """`document 3 (Deployment web)`, naming kind and name only when they are valid."""
    kind = doc.get("kind") if isinstance(doc, Mapping) else None
    if not isinstance(kind, str) or not _KIND.fullmatch(kind):
        return f"document {index}"
    meta = doc.get("metadata")
    name = meta.get("name") if isinstance(meta, Mapping) else None
    if isinstance(name, str) and _name_ok(kind, name):
        return f"document {index} ({kind} {name})"
    return f"document {index} ({kind})"


def _name_ok(kind: str, name: str) -> bool:
    if kind == "Namespace":
        return len(name) <= 63 and bool(_LABEL.fullmatch(name))
    if kind == "Service":
        return len(name) <= 63 and bool(_DNS1035.fullmatch(name))
    if kind in _BUILTIN:
        return len(name) <= 253 and bool(_SUBDOMAIN.fullmatch(name))
    return len(name) <= 253 and name not in (".", "..") and bool(_SEGMENT.fullmatch(name))


def _check_metadata(where: str, kind: str, meta: dict) -> None:
    name = meta.get("name")
    if not isinstance(name, str) or not name:
        if meta.get("generateName"):
            raise InvalidInput(f"{where}: metadata.generateName is not supported; "
                               "give the object a metadata.name so it can be re-applied")
        raise InvalidInput(f"{where}: missing metadata.name")
    if not _name_ok(kind, name):
        rule = {"Namespace": "a DNS-1123 label", "Service": "a DNS-1035 label"}.get(
            kind, "a DNS-1123 subdomain" if kind in _BUILTIN else "a path segment")
        raise InvalidInput(f"{where}: metadata.name is not a valid name ({rule}: lowercase "
                           "letters, digits and '-')")
    namespace = meta.get("namespace")
    if namespace is not None and (not isinstance(namespace, str) or len(namespace) > 63
                                  or not _LABEL.fullmatch(namespace)):
        raise InvalidInput(f"{where}: metadata.namespace is not a valid namespace name")
    for key in ("labels", "annotations"):
        if key in meta and meta[key] is None:
            del meta[key]  # `labels:` with nothing under it: kubectl treats it as absent
        elif key in meta and (not isinstance(meta[key], dict) or not all(
                isinstance(v, str) for v in meta[key].values())):
            raise InvalidInput(f"{where}: metadata.{key} must be a map of strings")


def _check_object(index: int, doc: Any) -> None:
    where = _describe(index, doc)
    if not isinstance(doc, dict):
        raise InvalidInput(f"{where}: expected a Kubernetes object (a map), got {type(doc).__name__}")
    for key, rule in (("apiVersion", _API_VERSION), ("kind", _KIND)):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise InvalidInput(f"{where}: missing {key}")
        if not rule.fullmatch(doc[key]):
            raise InvalidInput(f"{where}: {key} is not valid")
    meta = doc.get("metadata")
    if meta is None:
        raise InvalidInput(f"{where}: missing metadata.name")
    if not isinstance(meta, dict):
        raise InvalidInput(f"{where}: metadata must be a map")
    _check_metadata(where, doc["kind"], meta)


def _check_size(manifest: Manifest, used: int, limits: Limits) -> int:
    if depth_exceeds(manifest.obj, limits.max_depth):
        raise LimitExceeded(f"{manifest.where()}: nesting depth", "max_depth", limits)
    try:
        size = len(json.dumps(manifest.obj, allow_nan=False))
    except ValueError:
        raise InvalidInput(f"{manifest.where()}: a number that is not finite (NaN, Infinity)") \
            from None
    if used + size > limits.max_rendered_bytes:
        raise LimitExceeded("config: rendered objects, in bytes", "max_rendered_bytes", limits)
    return used + size


def render(config: Any, inputs: Mapping[str, Any], limits: Limits = Limits()) -> list:
    """Parse `config` and substitute inputs; returns the Manifests in document order."""
    manifests = []
    seen: dict = {}
    budget, used = _Budget(limits), 0
    for index, doc in enumerate(_expand_lists(_raw_documents(config, limits), limits), start=1):
        obj = substitute(doc, inputs, _describe(index, doc), budget)
        _check_object(index, obj)
        manifest = Manifest(index, obj)
        used = _check_size(manifest, used, limits)
        key = (manifest.group, manifest.kind, manifest.namespace, manifest.name)
        if key in seen:
            raise InvalidInput(f"{manifest.where()}: duplicate of document {seen[key]}")
        seen[key] = index
        manifests.append(manifest)
    return manifests
