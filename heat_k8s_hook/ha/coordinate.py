"""Around a run: take the application's Lease and apply, or follow the member that holds it.

`run` loops on `ha.decide` over the Lease as last seen: acquire (create/update with the
resourceVersion read), follow (watch the Lease until the holder records its outcome or its
claim lapses), or answer from the recorded outcome (after a cheap read-only check when this
member arrived late). Every wait counts against this member's own deadline.

Every member that answers records itself on the Lease (`ha.with_member`), with the deployment
resource it came from (`Deployment.owner`). A DELETE from a resource that was replaced (a new
resource of the same name applied since) deletes nothing. A DELETE while other members are
recorded takes this member off the record and deletes nothing (a group that shrinks, option
group_delete: last); the last member's DELETE deletes the application (a stack delete).

What a late member's check read may serve its own run: `run` calls `stale` whenever it reads
the Lease again after deciding, and until then an acquire with the resourceVersion read before
the check proves that no member wrote in between (pipeline.py keeps the check's plan).
"""
from __future__ import annotations

import os
import socket
import time
from typing import Callable, Optional

from heat_k8s_hook.errors import HookError, TimedOut
from heat_k8s_hook.ha import policy
from heat_k8s_hook.ha.lease import LeaseClient, Lost, Renewer
from heat_k8s_hook.kube.cluster import NotFound
from heat_k8s_hook.names import APPLY_ACTIONS
from heat_k8s_hook.objects import Action, ObjectRef
from heat_k8s_hook.result.events import ObjectChanged, OutputRead, Progress
from heat_k8s_hook.result.report import shorten

LOCAL_RECHECK = 1.0   # seconds between looks at a holder on this host: is its process alive?


def pid_alive(pid: int) -> bool:
    """False only when no process `pid` exists on this host (a pid of another user counts)."""
    if pid <= 0:
        return True   # os.kill(0, ...) would mean this process group, not a pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


class Recorded(HookError):
    """The applier's failure, answered by a member that did not apply (its code, its words)."""

    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code = code

    def in_phase(self) -> str:
        return self.message   # the applier's line, which names its own phase


def matches(facts) -> bool:
    """The cheap check of a late member: nothing to write (every object as applied, the
    inventory lists exactly them; for DELETE, the inventory is gone)."""
    if facts.action == "DELETE":
        return not facts.has_inventory
    wanted = {p.ref.key for p in facts.objects}
    return facts.has_inventory and wanted == {r.key for r in facts.previous} and \
        all(p.unchanged and not p.deferred for p in facts.objects)


def _client(run_ctx) -> LeaseClient:
    deadline = run_ctx.deadline
    # Lease calls still go out just past the deadline: the release must record a timeout too.
    return LeaseClient(run_ctx.cluster, run_ctx.inventory.namespace, run_ctx.parent_name,
                       lambda: max(1.0, min(10.0, deadline.at + 2.0 - time.monotonic())))


def run(run_ctx, mask, seconds: float, work: Callable[[], None],
        check: Callable[[], bool], stale: Callable[[], None] = lambda: None) -> bool:
    """Apply as the holder, or answer as a follower; `work` is the whole run, `check` the late member's
    read-only check, `stale()` when the Lease is read again. True when this member ran `work`."""
    dep, emit = run_ctx.dep, run_ctx.emit
    client = _client(run_ctx)
    me = policy.Holder.me(dep.resource_name)
    lease, following, checked = client.get(), False, False
    moved = policy.moved_from(lease, dep.stack_id, dep.action)
    if moved:
        join(run_ctx, client, lease, me, present=False)   # gone from this stack for good
        emit(Progress(f"not deleted: application {dep.identity} was last applied from stack "
                      f"{moved}; left to it"))
        return False
    replaced = policy.superseded(lease, me.member, dep.owner, dep.action)
    if replaced:
        emit(Progress(f"not deleted: deployment resource {me.member} was replaced by a new "
                      f"resource of the same name, which owns application {dep.identity} now; "
                      "objects kept"))
        return False
    while True:
        decision = policy.decide(lease, dep.generation, me.member, time.time(), following, checked,
                             dead=_dead)
        if decision.move is policy.Move.CHECK and check():
            if decision.outcome.member == me.member:
                work()   # its own re-delivery, nothing to write: no Lease needed
                join(run_ctx, client, lease, me)
                return True
            join(run_ctx, client, lease, me)
            return answer(emit, decision.outcome, dep.generation)
        if decision.move is policy.Move.ANSWER:
            join(run_ctx, client, lease, me)
            return answer(emit, decision.outcome, dep.generation)
        if decision.move is policy.Move.CHECK:
            emit(Progress(f"the objects changed since member {decision.holder} applied: "
                          "applying again"))
            checked = True
            continue
        if decision.move is policy.Move.FOLLOW:
            if not following:
                emit(Progress(f"member {decision.holder} holds Lease {client.namespace}/"
                              f"{client.name}: waiting for its outcome"))
            following = True
            stale()
            lease = follow(client, lease, run_ctx.deadline, decision.holder)
            continue
        if dep.action == "DELETE" and dep.options.group_delete == "last" and \
                policy.others(lease, me.member):
            if leave(run_ctx, client, lease, me):
                return False
            run_ctx.deadline.remaining()   # TimedOut past the deadline
            lease = _again(client, stale)   # the record changed under us: decide again
            continue
        held = acquire(run_ctx, client, lease, me, seconds)
        if held is None:
            lease = _again(client, stale)
            continue
        hold(run_ctx, client, held, me, mask, work)
        return True


def _again(client: LeaseClient, stale: Callable[[], None]) -> Optional[dict]:
    """The Lease read again: what was read before it (the check's facts) is stale."""
    stale()
    return client.get()


def _dead(holder: str) -> bool:
    """A holder on this host whose process is gone (a killed worker): take over at once."""
    return policy.gone(holder, socket.gethostname(), pid_alive)


def acquire(run_ctx, client: LeaseClient, lease: Optional[dict], me: policy.Holder,
            seconds: float) -> Optional[dict]:
    """The Lease claimed by this member, or None when another member won the race."""
    dep = run_ctx.dep
    body = policy.acquire_body(lease, client.name, client.namespace, dep.identity, me,
                           dep.generation, max(1, round(seconds)), time.time())
    if dep.action in APPLY_ACTIONS:   # a member from its claim on (its release keeps it)
        body = policy.with_member(body, me.member, True, dep.owner) or body
    try:
        try:
            return client.write(body, create=lease is None)
        except Lost:
            if lease is not None or client.get() is not None:
                raise
            run_ctx.inventory.ensure_namespace()   # a fresh records namespace
            return client.write(body, create=True)
    except Lost:
        return None


def join(run_ctx, client: LeaseClient, lease: Optional[dict], me: policy.Holder,
         present: bool = True) -> None:
    """Record this member as one that answered (an update carrying the resourceVersion read;
    a 409: read again), so that its DELETE later leaves the application to the others; or
    (not present) take it off the record."""
    if present and run_ctx.dep.action not in APPLY_ACTIONS:
        return
    while lease is not None:
        if present and policy.record_full(lease, me.member):
            run_ctx.emit(Progress(f"not recorded as a member on Lease {client.namespace}/"
                                  f"{client.name}: it records {policy.MAX_MEMBERS} already"))
            return
        body = policy.with_member(lease, me.member, present, run_ctx.dep.owner if present else "")
        if body is None:
            return
        try:
            client.write(body, create=False)
            return
        except Lost:
            run_ctx.deadline.remaining()   # TimedOut past the deadline
            lease = client.get()


def leave(run_ctx, client: LeaseClient, lease: dict, me: policy.Holder) -> bool:
    """DELETE while other members are recorded: take this member off the record and delete
    nothing. False when the Lease changed since it was read (another member left or joined)."""
    rest = policy.others(lease, me.member)
    body = policy.with_member(lease, me.member, False)
    if body is not None:   # None: never recorded (it never answered), nothing to take off
        try:
            client.write(body, create=False)
        except Lost:
            return False
    run_ctx.emit(Progress(f"left application {run_ctx.dep.identity}; members "
                          f"{', '.join(rest)} remain; objects kept"))
    return True


def follow(client: LeaseClient, lease: Optional[dict], deadline, holder: str) -> Optional[dict]:
    """The Lease at its next change, or when the holder's claim lapses (watch, no polling)."""
    try:
        left = deadline.remaining()
    except TimedOut:
        late = TimedOut(f"deadline of {deadline.timeout:g}s passed while member {holder} "
                        f"applied (Lease {client.namespace}/{client.name})")
        late.phase = "wait for applier"
        raise late from None
    lapse = policy.expires_at(lease) - time.time()
    seconds = max(1.0, min(left, lapse + 0.5))
    here = policy.Holder.parse(holder)
    if here and here.host == socket.gethostname():   # look again soon: is it alive? (_dead)
        seconds = min(seconds, LOCAL_RECHECK)
    version = ((lease or {}).get("metadata") or {}).get("resourceVersion", "")
    try:
        for changed in client.changes(version, seconds):
            return changed
    except NotFound:
        return None
    except HookError:   # the watch broke: read the Lease again
        time.sleep(min(1.0, max(0.0, left - 0.1)))
    return client.get()


def hold(run_ctx, client: LeaseClient, lease: dict, me: policy.Holder, mask, work) -> None:
    """Apply while renewing the Lease; then release it with the outcome for the others."""
    dep = run_ctx.dep
    renewer = Renewer(client, lease, run_ctx.deadline).start()
    changes: list = []
    outputs: dict = {}
    inner = run_ctx.emit

    def recording(event) -> None:
        if isinstance(event, ObjectChanged):
            changes.append((event.ref.to_dict(), event.action.value))
        elif isinstance(event, OutputRead):
            outputs[event.name] = mask.value(event.value)
        inner(event)
    run_ctx.emit = recording
    inner(Progress(f"applied by this member, {me} (Lease {client.namespace}/{client.name}, "
                   f"generation {dep.generation})"))

    def outcome(code: int, error: str = "") -> policy.Answer:
        return policy.Answer(dep.generation, code, tuple(changes), outputs, error, str(me), dep.id,
                          dep.stack_id, dep.action)
    try:
        work()
    except HookError as exc:
        _release(renewer, outcome(exc.code, shorten(mask(exc.in_phase()))), inner)
        raise   # the run's own error, never the release's
    except BaseException:
        renewer.stopped.set()   # a bug: the claim lapses and another member takes over
        raise
    finally:
        run_ctx.emit = inner
    if _release(renewer, outcome(0), inner) is False:
        inner(Progress(f"Lease {client.namespace}/{client.name} was taken over before the end"))


def _release(renewer: Renewer, result: policy.Answer, emit) -> Optional[bool]:
    """Release with the outcome; when the API server cannot take it (gone past the deadline),
    the claim lapses after its duration and the next member checks and converges."""
    try:
        return renewer.release(result)
    except HookError as exc:
        emit(Progress(f"the outcome could not be recorded on the Lease ({exc.message}): "
                      "it lapses and another member will check the objects"))
        return None


def answer(emit, outcome: policy.Answer, generation: str) -> bool:
    """This member's answer: the applier's code, change set and outputs."""
    emit(Progress(f"applied by member {outcome.applier} (generation {generation}): "
                  "this member answers with its outcome and wrote nothing"))
    for ref, action in outcome.changes:
        emit(ObjectChanged(ObjectRef.from_dict(ref), Action(action)))
    for name, value in outcome.outputs.items():
        emit(OutputRead(name, value))
    if outcome.code:
        raise Recorded(outcome.code, outcome.error)
    return False
