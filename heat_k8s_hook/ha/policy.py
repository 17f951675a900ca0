"""One applier per application: the pure rules of the Lease and the recorded outcome.

Members of an `OS::Heat::SoftwareDeploymentGroup` (one per controller) receive the same
deployment at about the same time. They share the application identity (deployment.identity)
and the *generation* (a hash of config, options, user inputs and action); one of them holds a
`coordination.k8s.io/v1` Lease named after the identity and applies, the others follow it and
answer with the outcome it records on the Lease, which also keeps the members that answered
(a member's DELETE leaves the application to the others; the last one's deletes it).
Pure: Lease bodies in, decisions out; the Lease I/O is `lease.py`, the glue around a run
`coordinate.py`.
"""
from __future__ import annotations

import datetime
import hashlib
import json
import os
import socket
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable, Mapping, Optional

from heat_k8s_hook.config.settings import DEFAULT_LEASE_SECONDS
from heat_k8s_hook.timestamps import unix_time

ANSWER_ANNOTATION = "heat-k8s-hook.dev/outcome"   # the holder's answer, JSON (masked, like the result)
GENERATION = "heat-k8s-hook.dev/generation"  # what the current holder applies
IDENTITY = "heat-k8s-hook.dev/deployment"
MEMBERS = "heat-k8s-hook.dev/members"        # the members that answered, JSON list of names
OWNERS = "heat-k8s-hook.dev/owners"          # member -> its deployment resource (Deployment.owner)
MAX_RECORD_LINES = 2000   # change-set lines kept in the record (an annotation is at most 256 KiB)
MAX_MEMBERS = 256         # names kept in MEMBERS (a group of more is not recorded past it)
MAX_MEMBER_CHARS = 128    # a longer member name is recorded cut, with a hash of the whole


# -- who holds it ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Holder:
    """A member as the Lease names it: `<member>@<host>:<pid>` (holderIdentity).

    `member` is the deployment's deploy_resource_name (the key in the group's `servers`);
    host and pid name the hook process, so an operator (or a test) finds and stops it."""

    member: str
    host: str
    pid: int

    def __str__(self) -> str:
        return f"{self.member}@{self.host}:{self.pid}"

    @classmethod
    def me(cls, member: str) -> "Holder":
        return cls(member or "-", socket.gethostname(), os.getpid())

    @classmethod
    def parse(cls, text: str) -> Optional["Holder"]:
        member, at, rest = (text or "").rpartition("@")
        host, colon, pid = rest.rpartition(":")
        if not (at and colon and pid.isdigit()):
            return None
        return cls(member, host, int(pid))


def gone(holder: str, host: str, alive: Callable[[int], bool]) -> bool:
    """A holder whose claim ended with its process: it ran on this `host` and `alive` says its
    pid is no more (a killed hook worker). Its Lease has lapsed now, not after its duration."""
    parsed = Holder.parse(holder)
    return parsed is not None and parsed.host == host and not alive(parsed.pid)


# -- time as the Lease spells it (MicroTime) --------------------------------------------------

def micro_time(now: float) -> str:
    moment = datetime.datetime.fromtimestamp(now, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: Any) -> Optional[float]:
    return unix_time(text) if isinstance(text, str) else None


def spec_of(lease: Optional[Mapping]) -> Mapping:
    return (lease or {}).get("spec") or {}


def holder_of(lease: Optional[Mapping]) -> str:
    return spec_of(lease).get("holderIdentity") or ""


def expires_at(lease: Optional[Mapping]) -> float:
    """When the holder's claim lapses (wall clock); 0 when nobody holds it."""
    spec = spec_of(lease)
    renewed = parse_time(spec.get("renewTime")) or parse_time(spec.get("acquireTime"))
    if not spec.get("holderIdentity") or renewed is None:
        return 0.0
    return renewed + float(spec.get("leaseDurationSeconds") or DEFAULT_LEASE_SECONDS)


# -- the outcome ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    """What the applier answered: the same code, change set and outputs for every member."""

    generation: str
    code: int
    changes: tuple = ()             # (ObjectRef dict, action value) pairs
    outputs: Mapping = field(default_factory=dict)
    error: str = ""                 # the ERROR line's text (masked, cut), "" on success
    applier: str = ""               # str(Holder)
    deployment_id: str = ""         # the applier's deployment `id` (per member and action)
    stack: str = ""                 # the applier's deploy_stack_id
    action: str = ""

    @property
    def member(self) -> str:
        holder = Holder.parse(self.applier)
        return holder.member if holder else ""

    def encode(self) -> str:
        changes = list(self.changes)
        if len(changes) > MAX_RECORD_LINES:
            changes = changes[:MAX_RECORD_LINES]
        return json.dumps({"generation": self.generation, "code": self.code,
                           "changes": [list(c) for c in changes], "outputs": dict(self.outputs),
                           "error": self.error, "applier": self.applier,
                           "id": self.deployment_id, "stack": self.stack,
                           "action": self.action}, sort_keys=True)

    @classmethod
    def decode(cls, text: Any) -> Optional["Answer"]:
        try:
            raw = json.loads(text)
            return cls(str(raw["generation"]), int(raw["code"]),
                       tuple((dict(r), str(a)) for r, a in raw.get("changes") or []),
                       dict(raw.get("outputs") or {}), str(raw.get("error") or ""),
                       str(raw.get("applier") or ""), str(raw.get("id") or ""),
                       str(raw.get("stack") or ""), str(raw.get("action") or ""))
        except (TypeError, ValueError, KeyError):
            return None


def answer_of(lease: Optional[Mapping]) -> Optional[Answer]:
    annotations = ((lease or {}).get("metadata") or {}).get("annotations") or {}
    return Answer.decode(annotations[ANSWER_ANNOTATION]) if ANSWER_ANNOTATION in annotations else None


# -- the decision ---------------------------------------------------------------------------

class Move(Enum):
    ACQUIRE = "acquire"     # nobody holds it (or the holder's claim lapsed): apply
    FOLLOW = "follow"       # another member holds it: watch for its outcome
    ANSWER = "answer"       # the outcome for this generation is recorded: answer with it
    CHECK = "check"         # a success is recorded: answer from it if the objects still match


@dataclass(frozen=True)
class Decision:
    move: Move
    holder: str = ""
    outcome: Optional[Answer] = None


def decide(lease: Optional[Mapping], generation_: str, member: str, now: float,
           following: bool, checked: bool = False,
           dead: Callable[[str], bool] = lambda holder: False) -> Decision:
    """What a member does next, from the Lease as last seen.

    An outcome for this generation answers a member that was following (whatever its code).
    A member that arrives after a success answers from it only once the objects still match
    (CHECK, then `checked`); when the success is this member's own (a re-delivery of the same
    deployment), a match means a run with nothing to write. Else: follow a live holder, or
    acquire (a holder `dead` says is gone, see `gone`, is not live however recent its claim).
    """
    outcome = answer_of(lease)
    if outcome and outcome.generation == generation_:
        own = outcome.member == member
        if following and not own:
            return Decision(Move.ANSWER, outcome.applier, outcome)
        if outcome.code == 0 and not checked:
            return Decision(Move.CHECK, outcome.applier, outcome)
    holder = holder_of(lease)
    if holder and expires_at(lease) > now and not dead(holder):
        return Decision(Move.FOLLOW, holder)
    return Decision(Move.ACQUIRE, holder)


def moved_from(lease: Optional[Mapping], stack_id: str, action: str) -> str:
    """The stack a DELETE must leave the application to: it was last applied from another
    stack (a plain deployment replaced by a group with the same option `application`)."""
    outcome = answer_of(lease)
    if action != "DELETE" or not outcome or not outcome.stack or not stack_id:
        return ""
    if outcome.action != "DELETE" and outcome.code == 0 and outcome.stack != stack_id:
        return outcome.stack
    return ""


def describe(lease: Optional[Mapping], now: float) -> str:
    """One line for `status`: who holds the Lease, or who applied last ("" without one)."""
    if not lease:
        return ""
    holder, outcome = holder_of(lease), answer_of(lease)
    annotations = (lease.get("metadata") or {}).get("annotations") or {}
    recorded = group_members(lease) if MEMBERS in annotations else ()   # not a legacy guess
    members = f"; members {', '.join(recorded)}" if recorded else ""
    if holder and expires_at(lease) > now:
        return f"lease: held by {holder} (applying generation {annotations.get(GENERATION)})" \
            f"{members}"
    if outcome:
        return (f"lease: free; generation {outcome.generation} ({outcome.action}) applied by "
                f"{outcome.applier}, code {outcome.code}{members}")
    return "lease: free" + (f" (claim of {holder} lapsed)" if holder else "") + members


# -- Lease bodies ---------------------------------------------------------------------------

def acquire_body(lease: Optional[Mapping], name: str, namespace: str, identity: str,
                 holder: Holder, generation_: str, seconds: int, now: float) -> dict:
    """The Lease claimed by `holder` (create when `lease` is None, else an update carrying
    its resourceVersion: optimistic concurrency, a 409 means someone else won)."""
    spec = dict(spec_of(lease))
    transitions = int(spec.get("leaseTransitions") or 0) + (1 if lease else 0)
    metadata = dict((lease or {}).get("metadata") or {"name": name, "namespace": namespace})
    metadata["annotations"] = dict(metadata.get("annotations") or {},
                                   **{GENERATION: generation_, IDENTITY: identity})
    stamp = micro_time(now)
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": metadata,
            "spec": {"holderIdentity": str(holder), "leaseDurationSeconds": int(seconds),
                     "acquireTime": stamp, "renewTime": stamp, "leaseTransitions": transitions}}


def renew_body(lease: Mapping, now: float) -> dict:
    return dict(lease, spec=dict(spec_of(lease), renewTime=micro_time(now)))


def release_body(lease: Mapping, outcome: Answer) -> dict:
    """The Lease freed, with the outcome for the members that follow or arrive later."""
    metadata = dict(lease.get("metadata") or {})
    metadata["annotations"] = dict(metadata.get("annotations") or {},
                                   **{ANSWER_ANNOTATION: outcome.encode()})
    spec = {k: v for k, v in spec_of(lease).items() if k != "holderIdentity"}
    freed = dict(lease, metadata=metadata, spec=spec)
    # the applier answered: it is a member now, or (its DELETE, the last member's) no more
    return with_member(freed, outcome.member, outcome.action != "DELETE") or freed


# -- the members that answered (a group shrinks without deleting the application) ------------

def member_key(member: str) -> str:
    """A member's name as recorded: itself, or cut with a hash of the whole when very long."""
    if len(member) <= MAX_MEMBER_CHARS:
        return member
    digest = hashlib.sha256(member.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{member[:MAX_MEMBER_CHARS - 17]}~{digest}"


def group_members(lease: Optional[Mapping]) -> tuple:
    """The recorded members, sorted; () when none are (or the record is not a list of names).
    A Lease from before members were recorded has its applier as the one member known."""
    annotations = ((lease or {}).get("metadata") or {}).get("annotations") or {}
    if MEMBERS not in annotations:
        outcome = answer_of(lease)
        known = outcome and outcome.action != "DELETE" and outcome.member
        return (member_key(outcome.member),) if known else ()
    try:
        names = json.loads(annotations[MEMBERS] or "[]")
    except ValueError:
        return ()
    if not isinstance(names, list):
        return ()
    return tuple(sorted({n for n in names if isinstance(n, str) and n}))


def others(lease: Optional[Mapping], member: str) -> tuple:
    """The recorded members but this one: while there are any, this member's DELETE leaves
    the application to them and deletes nothing; the last member's DELETE deletes it."""
    key = member_key(member)
    return tuple(n for n in group_members(lease) if n != key)


def record_full(lease: Optional[Mapping], member: str) -> bool:
    """True when `member` is not recorded and cannot be: MAX_MEMBERS are already."""
    names = group_members(lease)
    return member_key(member) not in names and len(names) >= MAX_MEMBERS


def owner_of(lease: Optional[Mapping], member: str) -> str:
    """The deployment resource that last applied as `member` ("" when none is recorded)."""
    return _owners(lease).get(member_key(member), "")


def superseded(lease: Optional[Mapping], member: str, owner: str, action: str) -> str:
    """For a DELETE: the resource that replaced this one as `member` ("" when this one still
    owns the application, or nothing is known). Heat replaces a deployment resource (after a
    failure, a new server, a rollback) by creating the new one, then deleting the old one
    under the same name: the old one's DELETE must leave the application to the new one."""
    if action != "DELETE" or not owner:
        return ""
    recorded = owner_of(lease, member)
    return recorded if recorded and recorded != owner else ""


def with_member(lease: Mapping, member: str, present: bool, owner: str = "") -> Optional[dict]:
    """The Lease with `member` added to (present, owned by deployment resource `owner` when
    given) or taken off the recorded members, keeping its resourceVersion (optimistic
    concurrency); None when that changes nothing."""
    key, names = member_key(member), set(group_members(lease))
    owners = _owners(lease)
    if present and owner and owners.get(key) != owner and (key in names or
                                                            len(names) < MAX_MEMBERS):
        owners[key] = owner
    elif not present and key in owners:
        del owners[key]
    elif (key in names) == present or (present and len(names) >= MAX_MEMBERS):
        return None
    names = names | {key} if present else names - {key}
    metadata = dict(lease.get("metadata") or {})
    metadata["annotations"] = dict(metadata.get("annotations") or {},
                                   **{MEMBERS: json.dumps(sorted(names))})
    if owners or OWNERS in metadata["annotations"]:
        metadata["annotations"][OWNERS] = json.dumps(owners, sort_keys=True)
    return dict(lease, metadata=metadata)


def _owners(lease: Optional[Mapping]) -> dict:
    annotations = ((lease or {}).get("metadata") or {}).get("annotations") or {}
    try:
        owners = json.loads(annotations.get(OWNERS) or "{}")
    except ValueError:
        return {}
    return {k: v for k, v in owners.items() if isinstance(v, str)} \
        if isinstance(owners, dict) else {}
