"""Server-side apply of one object, with the conflict policy, and what its answer means.

The policy: a conflict with another *applier* (a manager whose operation is Apply) is a real
ownership conflict and fails unless `force_conflicts`; a conflict only with imperative edits
(`kubectl edit/patch/scale`, operation Update) of an object this deployment created is drift,
taken back by applying again with force. `hand_editors`, `explain` and `action_of` are pure
(plain data in, plain data out); `Patcher` sends the PATCH on `kube.cluster.Cluster`.
"""
from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable, Optional

from heat_k8s_hook.engine.bind import Item
from heat_k8s_hook.errors import ApplyRejected
from heat_k8s_hook.kube.cluster import APPLY_PATCH, ApiError, Cluster
from heat_k8s_hook.objects import Action, ObjectRef

log = logging.getLogger("heat_k8s_hook")


@dataclass(frozen=True)
class Change:
    """One line of the change set: what happened to one object."""

    ref: ObjectRef
    action: Action
    obj: Optional[Mapping] = None


def hand_editors(status: int, message: str, current: Mapping | None) -> list:
    """The managers of a conflict when all are imperative edits of one of our members.

    A conflict with another *applier* (operation Apply) is a real ownership conflict and
    fails unless force_conflicts; imperative Update edits of an object this deployment
    created are drift to correct.
    """
    if status != 409 or current is None:
        return []
    managers = set(re.findall(r'conflicts? with "([^"]+)"', message))
    operations = {(m.get("manager"), m.get("operation"))
                  for m in (current.get("metadata") or {}).get("managedFields") or []}
    if managers and all((m, "Update") in operations and (m, "Apply") not in operations
                        for m in managers):
        return sorted(managers)
    return []


def explain(status: int, message: str, mask: Callable[[str], str]) -> str:
    """The API server's refusal for a person: masked, with the way out of a conflict."""
    message = mask(message)
    if status == 409 and "conflict" in message.lower():
        message += " (another field manager owns these fields; set option " \
                   "force_conflicts: true to take them over)"
    elif status == 403:
        message = f"forbidden: {message}"
    return message


def is_new(obj: Any) -> bool:
    """Whether an apply's answer is a fresh object (our Apply its only manager)."""
    fields = (obj or {}).get("metadata", {}).get("managedFields") or []
    return len(fields) == 1 and fields[0].get("operation") == "Apply"


def action_of(status: int, obj: Mapping, current: Mapping | None) -> Action:
    """What an apply did, from its answer and the object as it was before."""
    if status == 201 or current is None and is_new(obj):
        return Action.CREATED
    if current is not None and obj.get("metadata", {}).get("resourceVersion") == \
            current.get("metadata", {}).get("resourceVersion"):
        return Action.UNCHANGED
    return Action.CONFIGURED


class Patcher:
    """Sends one server-side apply (or its dry run) under the conflict policy."""

    def __init__(self, cluster: Cluster, field_manager: str, force_conflicts: bool,
                 mask: Callable[[str], str], timeout: Callable[[], float]):
        self.cluster = cluster
        self.field_manager = field_manager
        self.force = force_conflicts
        self.mask = mask
        self.timeout = timeout

    def patch(self, item: Item, dry_run: bool, current: Mapping | None,
              stand_in: str | None = None, answer: bool = True) -> tuple:
        """(status, object) of a server-side apply; `current` is the live object the
        conflict policy judges. A dry run may stand the object in for one in another
        namespace. `answer=False`: the server's answer to a success is not decoded (None)."""
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
            editors = hand_editors(exc.status, exc.message, current) if not force else None
            if not editors:
                raise ApplyRejected(f"{item.where()}: {self.explain(exc)}") from None
        # Drift: someone edited fields of our own object by hand (kubectl edit/patch/scale).
        # Heat's config is the truth for its objects, so those fields are taken back.
        if not dry_run:
            log.warning("%s: taking back fields edited by hand (%s)", item.ref, ", ".join(editors))
        query["force"] = "true"
        try:
            return self.cluster.request_full("PATCH", path, query, data, APPLY_PATCH,
                                             timeout=self.timeout(), answer=answer)
        except ApiError as exc:
            raise ApplyRejected(f"{item.where()}: {self.explain(exc)}") from None

    def explain(self, exc: ApiError) -> str:
        return explain(exc.status, exc.message, self.mask)
