"""SUSPEND and RESUME as data: which members change, to what, and the record that brings them
back. Pure: members, live objects and the parent's record in; values, patches and JSON out.

SUSPEND scales every Deployment, StatefulSet and ReplicaSet (apps) among the application's
recorded members to 0 replicas and sets `spec.suspend: true` on every CronJob (batch); the
values found before are kept in the parent ConfigMap (data key `suspended`, `inventory.SUSPENDED`)
so that RESUME restores exactly them, and a second SUSPEND keeps them rather than recording
zeros. How the field is changed is chosen for server-side apply's field ownership (measured on
the real API server, `tests/cluster/test_hook_suspend.py`): replicas through the `/scale`
subresource, which leaves no owner of `spec.replicas` behind, so the hook's next apply takes the
field back whatever its value (no 409); a CronJob's `spec.suspend` by a JSON merge patch under
`patch_manager` (an Update-only manager, which the applier treats as a hand edit it may take
back), never under the hook's own name (that one would conflict with its own apply).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable, Mapping, Optional, Union

from heat_k8s_hook.objects import ObjectRef
from heat_k8s_hook.readiness.rules import Status, Verdict

SCALED = frozenset({("apps", "Deployment"), ("apps", "StatefulSet"), ("apps", "ReplicaSet")})
CRONJOB = ("batch", "CronJob")
REPLICAS, SUSPEND = "replicas", "suspend"


@dataclass(frozen=True)
class Held:
    """One member's field: its value before SUSPEND (recorded), or its value now (live)."""

    ref: ObjectRef
    value: Union[int, bool]

    @property
    def field(self) -> str:
        return SUSPEND if (self.ref.group, self.ref.kind) == CRONJOB else REPLICAS

    @property
    def suspended(self) -> Union[int, bool]:
        """The value while suspended: 0 replicas, or suspend: true."""
        return True if self.field == SUSPEND else 0

    def __str__(self) -> str:
        return f"{self.ref} {self.field}={json.dumps(self.value)}"


def changes(ref: ObjectRef) -> bool:
    """Is this member scaled (apps Deployment, StatefulSet, ReplicaSet) or suspended (a
    batch CronJob) by SUSPEND?"""
    return (ref.group, ref.kind) in SCALED or (ref.group, ref.kind) == CRONJOB


def scaled(ref: ObjectRef) -> bool:
    """A member whose pods SUSPEND waits to see gone."""
    return (ref.group, ref.kind) in SCALED


def current(ref: ObjectRef, live: Optional[Mapping]) -> Optional[Held]:
    """The member's value now (None when it is not there): spec.replicas (1 when unset, as
    the API server defaults it) or a CronJob's spec.suspend (false when unset)."""
    if live is None:
        return None
    spec = live.get("spec") or {}
    if (ref.group, ref.kind) == CRONJOB:
        return Held(ref, bool(spec.get("suspend", False)))
    replicas = spec.get("replicas", 1)
    return Held(ref, replicas if isinstance(replicas, int) and replicas >= 0 else 1)


def to_record(recorded: Optional[tuple], live: Iterable[Held]) -> tuple:
    """What the record holds after this SUSPEND: a value already recorded wins (a second
    SUSPEND must not record the zeros of the first); a member not yet recorded adds its value
    now. Sorted, so an unchanged record compares (and serialises) equal."""
    held = {h.ref.key: h for h in recorded or ()}
    for h in live:
        held.setdefault(h.ref.key, h)
    return tuple(sorted(held.values(), key=lambda h: h.ref.key))


def to_suspend(live: Iterable[Held]) -> tuple:
    """The live members not yet at their suspended value, with that value (what to write)."""
    return tuple(Held(h.ref, h.suspended) for h in live if h.value != h.suspended)


def to_restore(recorded: Iterable[Held], live: Iterable[Held]) -> tuple:
    """The recorded values that differ from the live ones (members gone since are skipped:
    RESUME brings back values, it does not recreate objects)."""
    now = {h.ref.key: h.value for h in live}
    return tuple(h for h in recorded if h.ref.key in now and now[h.ref.key] != h.value)


def settled(action: str, recorded: Optional[tuple], live: Iterable[Held]) -> bool:
    """Nothing to write: SUSPEND with a record and every member at its suspended value;
    RESUME with no record left."""
    if action == "SUSPEND":
        return recorded is not None and not to_suspend(live)
    return recorded is None


# -- the record -------------------------------------------------------------------------------

def record_json(held: Iterable[Held]) -> str:
    """The parent's `suspended` value: compact JSON, one entry per member, stable order."""
    entries = [dict(h.ref.to_dict(), **{h.field: h.value})
               for h in sorted(held, key=lambda h: h.ref.key)]
    return json.dumps(entries, sort_keys=True, separators=(",", ":"))


def parse_record(text: Optional[str]) -> Optional[tuple]:
    """The recorded values (None when there is no record; a record that cannot be read is
    an error, never silently empty: RESUME would then restore nothing)."""
    if text is None:
        return None
    try:
        entries = json.loads(text)
        if not isinstance(entries, list):
            raise ValueError("not a list")
        held = []
        for e in entries:
            ref = ObjectRef.from_dict(e)
            cron = (ref.group, ref.kind) == CRONJOB
            value = e[SUSPEND] if cron else e[REPLICAS]
            if not (isinstance(value, bool) if cron else
                    isinstance(value, int) and not isinstance(value, bool) and value >= 0):
                raise ValueError(f"{ref}: value {value!r}")
            held.append(Held(ref, value))
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise ValueError(f"the record of suspended values cannot be read: {exc}") from None
    return tuple(sorted(held, key=lambda h: h.ref.key))


# -- the writes -------------------------------------------------------------------------------

def patch_for(held: Held) -> tuple:
    """(subresource, JSON merge patch) that sets the value: `/scale` for replicas, the object
    itself for a CronJob's suspend."""
    if held.field == SUSPEND:
        return "", {"spec": {"suspend": held.value}}
    return "/scale", {"spec": {"replicas": held.value}}


def patch_manager(field_manager: str) -> str:
    """The manager of SUSPEND/RESUME's merge patches: not the hook's own name (an Update entry
    under it would conflict with its own next apply), at most 128 characters."""
    return field_manager[:128 - len("-suspend")] + "-suspend"


# -- waiting until no pods are left -----------------------------------------------------------

def drained(obj: Optional[Mapping], listed: bool, pods: int) -> Verdict:
    """Is a scaled-down workload without pods? `listed`: its namespace's pods were listed
    (before that, no pod seen proves nothing); `pods`: how many it still owns."""
    if obj is None:
        return Verdict(Status.READY, "gone: no pods left")
    meta, spec, status = obj.get("metadata") or {}, obj.get("spec") or {}, \
        obj.get("status") or {}
    if spec.get("replicas", 1) != 0:
        return Verdict(Status.IN_PROGRESS, f"spec.replicas is {spec.get('replicas', 1)}, "
                                           "not 0 (scaled up again?)")
    if (status.get("observedGeneration") or 0) < (meta.get("generation") or 0):
        return Verdict(Status.IN_PROGRESS, "scale-down not yet observed by its controller")
    if not listed:
        return Verdict(Status.IN_PROGRESS, "listing its pods")
    left = max(pods, status.get("replicas") or 0)
    if left:
        return Verdict(Status.IN_PROGRESS, f"{left} pod(s) left")
    return Verdict(Status.READY, "scaled to 0: no pods left")
