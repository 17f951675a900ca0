"""SUSPEND and RESUME on the cluster: the merge patches that set the values `suspend.py` chose,
and the wait until the scaled workloads have no pods left (I/O).

The runner's handlers call these with its run context; the wait is the readiness Waiter (the
same watches, pod index and deadline) judged by `suspend.drained` instead of readiness.
"""
from __future__ import annotations

from heat_k8s_hook.engine import suspend
from heat_k8s_hook.engine.apply import Change
from heat_k8s_hook.errors import ApplyRejected, TimedOut
from heat_k8s_hook.kube.cluster import MERGE_PATCH, ApiError, NotFound
from heat_k8s_hook.objects import Action
from heat_k8s_hook.readiness.watch import Target, Waiter
from heat_k8s_hook.result.events import ObjectChanged, Progress, VerdictChanged


def set_values(ctx, held: tuple, verb: str) -> None:
    """Merge patches under suspend.patch_manager, in parallel: /scale for replicas (then the
    workload is read, for the wait), the CronJob itself for suspend. A member gone since is
    left alone."""
    manager = suspend.patch_manager(ctx.dep.options.field_manager)

    def one(h: suspend.Held):
        subresource, patch = suspend.patch_for(h)
        path = ctx.cluster.resource(h.ref.api_version, h.ref.kind).path(h.ref.namespace,
                                                                         h.ref.name)
        try:
            obj = ctx.cluster.request("PATCH", path + subresource, {"fieldManager": manager},
                                      patch, MERGE_PATCH, timeout=ctx.deadline.cap(30.0))
            if subresource:  # the answer is the Scale: the wait needs the workload
                obj = ctx.cluster.get(path, timeout=ctx.deadline.cap(30.0))
        except NotFound:
            return None
        except ApiError as exc:
            raise ApplyRejected(f"{h.ref}: {ctx.applier.mask(exc.message)}") from None
        return Change(h.ref, Action.CONFIGURED, obj)
    done = [c for c in ctx.applier.pool.map(one, held) if c is not None]
    for change in done:
        ctx.changes[change.ref.key] = change
        ctx.emit(ObjectChanged(change.ref, change.action))
    gone = len(held) - len(done)
    ctx.emit(Progress(f"{verb}: " + ", ".join(str(h) for h in held[:4]) +
                      (f", +{len(held) - 4} more" if len(held) > 4 else "") +
                      (f" ({gone} gone, left alone)" if gone else "")))


class Drain(Waiter):
    """A wait judged by suspend.drained (no pods left) instead of readiness."""

    listed: frozenset = frozenset()   # namespaces whose pods were listed

    def _already_ready(self, by_key: dict, on_change) -> list:
        return []   # the objects alone cannot say that no pod is left

    def _apply_event(self, by_key: dict, tag: tuple, kind: str, payload) -> list:
        changed = super()._apply_event(by_key, tag, kind, payload)
        if tag[0] == "pod" and kind == "LIST":
            self.listed = self.listed | {tag[1]}
            changed = changed + [key for key in by_key if key[2] == tag[1]]
        return changed

    def _verdict(self, t: Target, now, gone: bool):
        return suspend.drained(t.obj, t.ref.namespace in self.listed,
                               len(self.store.pods_of(t, now)))


def wait_drained(ctx, targets: list) -> None:
    """Until no target has a pod left (watches, one deadline); TimedOut names those left."""
    waiter = Drain(ctx.cluster, ctx.applier.applyset_id,
                   wait_rules=ctx.dep.options.wait_rules, clock=ctx.clock,
                   started=ctx.started, cancel=ctx.deadline.cancelled)

    def changed(t: Target) -> None:
        ctx.emit(VerdictChanged(t.ref, t.verdict.status, t.verdict.message, "drained"))
    outcome = waiter.wait(targets, ctx.deadline.at, on_change=changed)
    if outcome.pending:
        waiting = "; ".join(f"{ref}: {msg}" for ref, msg in outcome.pending)
        raise TimedOut(f"pods still there after {outcome.elapsed:.0f}s: {waiting}")
    ctx.emit(Progress(f"all {len(targets)} scaled workload(s) have no pods left"))
