"""A Kubernetes object's identity (`ObjectRef`) and what a run did to it (`Action`). Pure.

The vocabulary every layer shares: the plan, the applier, the watches, the events, the
result and the Lease's record all name objects this way, so it sits below all of them and
imports only the standard library.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Mapping


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
