"""The `config` of a deployment into Kubernetes objects, with `get_input` substituted.

Substitution is structural, as Heat does for structured configs: a value that is exactly
`{get_input: NAME}` is replaced by the typed input value, so a value can never change the
shape of the YAML around it. There is no text templating.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

import yaml

from heat_k8s_hook.errors import InvalidInput

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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


def load_yaml_documents(text: str, what: str = "config") -> list:
    """All documents of a YAML stream; errors carry the line, never the text itself."""
    try:
        return list(yaml.load_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise InvalidInput(f"{what}: invalid YAML{where}: {problem}") from None


def substitute(value: Any, inputs: Mapping[str, Any], where: str) -> Any:
    """Replace every `{get_input: NAME}` by the input's typed value (deep copy)."""
    if isinstance(value, dict):
        if len(value) == 1 and "get_input" in value:
            name = value["get_input"]
            if not isinstance(name, str) or name not in inputs:
                known = ", ".join(sorted(k for k in inputs if not k.startswith("deploy_")))
                raise InvalidInput(f"{where}: unknown input {name!r} in get_input "
                                   f"(inputs: {known or 'none'})")
            return copy.deepcopy(inputs[name])
        return {k: substitute(v, inputs, where) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, inputs, where) for v in value]
    return value


def _raw_documents(config: Any) -> list:
    if config is None or config == "":
        return []
    if isinstance(config, str):
        return load_yaml_documents(config)
    if isinstance(config, Mapping) and "manifests" in config:
        manifests = config["manifests"]
        if isinstance(manifests, str):
            return load_yaml_documents(manifests, "config.manifests")
        if not isinstance(manifests, list):
            raise InvalidInput("config.manifests: expected a list of Kubernetes objects")
        return list(manifests)
    if isinstance(config, Mapping):
        return [config]
    if isinstance(config, list):
        return list(config)
    raise InvalidInput(f"config: expected YAML text or a map with `manifests`, "
                       f"got {type(config).__name__}")


def _expand_lists(docs: list) -> Iterator[Any]:
    for doc in docs:
        if doc is None:
            continue
        if isinstance(doc, Mapping) and str(doc.get("kind", "")).endswith("List") \
                and isinstance(doc.get("items"), list):
            yield from (item for item in doc["items"] if item is not None)
        else:
            yield doc


def _check_object(index: int, doc: Any) -> None:
    where = f"document {index}"
    if not isinstance(doc, Mapping):
        raise InvalidInput(f"{where}: expected a Kubernetes object (a map), got {type(doc).__name__}")
    for key in ("apiVersion", "kind"):
        if not isinstance(doc.get(key), str) or not doc[key]:
            raise InvalidInput(f"{where}: missing {key}")
    meta = doc.get("metadata")
    if not isinstance(meta, Mapping) or not isinstance(meta.get("name"), str) or not meta["name"]:
        if isinstance(meta, Mapping) and meta.get("generateName"):
            raise InvalidInput(f"{where} ({doc['kind']}): metadata.generateName is not supported; "
                               "give the object a metadata.name so it can be re-applied")
        raise InvalidInput(f"{where} ({doc['kind']}): missing metadata.name")


def render(config: Any, inputs: Mapping[str, Any]) -> list:
    """Parse `config` and substitute inputs; returns the Manifests in document order."""
    manifests = []
    seen: dict = {}
    for index, doc in enumerate(_expand_lists(_raw_documents(config)), start=1):
        where = f"document {index}"
        if isinstance(doc, Mapping):
            kind = doc.get("kind")
            meta = doc.get("metadata")
            name = meta.get("name") if isinstance(meta, Mapping) else None
            if isinstance(kind, str) and isinstance(name, str):
                where = f"document {index} ({kind} {name})"
        obj = substitute(doc, inputs, where)
        _check_object(index, obj)
        manifest = Manifest(index, obj)
        key = (manifest.group, manifest.kind, manifest.namespace, manifest.name)
        if key in seen:
            raise InvalidInput(f"{manifest.where()}: duplicate of document {seen[key]}")
        seen[key] = index
        manifests.append(manifest)
    return manifests
