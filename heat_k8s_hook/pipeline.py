"""One deployment, start to end: parse -> render -> plan -> apply -> wait -> report.

The hook and the operator CLI both call `run`. Errors travel up as HookError subclasses and
are turned into the result (and its exit code) in one place, `run`'s caller `execute`.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

from heat_k8s_hook import inventory, plan
from heat_k8s_hook.apply import Applier
from heat_k8s_hook.cluster import APPLY_PATCH, ApiError, Cluster, resolve_credentials
from heat_k8s_hook.deployment import Deployment
from heat_k8s_hook.errors import ApplyRejected, HookError, InvalidInput, NotReady, TimedOut
from heat_k8s_hook.readiness.watch import Target, Waiter, applied_at, deadline_for, pods_named_in
from heat_k8s_hook.render import render
from heat_k8s_hook.report import Masker, Result, read_output, secret_values, shorten
from heat_k8s_hook.settings import Settings

log = logging.getLogger("heat_k8s_hook")

NOOP_ACTIONS = frozenset({"SUSPEND", "RESUME", "CHECK"})


@dataclass
class Context:
    """What a run needs from outside: how to connect, the clock, and where lines go."""

    connect: Callable  # (Options) -> Cluster
    clock: Callable[[], float] = time.monotonic
    progress: Callable[[str], None] = lambda line: log.info("%s", line)
    started: Optional[float] = None
    mask: Masker = field(default_factory=Masker)
    settings: Settings = field(default_factory=Settings)  # the operator's (settings.py)


def connect_default(options, settings: Optional[Settings] = None):
    """The cluster from the options' kubeconfig (already checked by settings.check_options),
    $KUBECONFIG, the operator's default_kubeconfig, or in-cluster credentials."""
    default = (settings or Settings()).default_kubeconfig
    return Cluster(resolve_credentials(options.kubeconfig, options.context,
                                       default_kubeconfig=default))


class Run:
    def __init__(self, dep: Deployment, ctx: Context, result: Result):
        self.dep, self.ctx, self.result = dep, ctx, result
        self.start = ctx.started if ctx.started is not None else ctx.clock()
        self.deadline = self.start + dep.options.timeout

    def remaining(self) -> float:
        left = self.deadline - self.ctx.clock()
        if left <= 0:
            raise TimedOut(f"deadline of {self.dep.options.timeout:g}s passed")
        return left

    def say(self, text: str) -> None:
        line = f"[{self.ctx.clock() - self.start:6.2f}s] {self.ctx.mask(text)}"
        self.result.stderr.append(line)
        self.ctx.progress(line)

    # -----------------------------------------------------------------------------------------

    def execute(self) -> None:
        dep = self.dep
        if dep.action in NOOP_ACTIONS:
            self.say(f"{dep.action}: nothing to do for Kubernetes objects")
            return
        limits = self.ctx.settings.limits
        manifests = [] if dep.action == "DELETE" else render(dep.config, dep.inputs, limits)
        for m in manifests:
            self.ctx.mask.add(secret_values(m.obj))
        cluster = self.ctx.connect(dep.options)
        version = cluster.ping(timeout=min(10.0, self.remaining()))
        self.say(f"{dep.action} {dep.identity}: {len(manifests)} object(s), cluster {version}")
        name = inventory.parent_name(dep.slug)
        set_id = inventory.applyset_id(name)
        applier = Applier(cluster, dep.options.field_manager, dep.options.force_conflicts, set_id,
                          mask=self.ctx.mask, timeout=lambda: min(30.0, self.remaining()))
        try:
            parent = self._get_parent(cluster, name)
            previous = inventory.members_of(parent)
            if dep.action == "DELETE":
                self._delete(cluster, applier, name, parent, previous, set_id)
            else:
                self._apply(cluster, applier, manifests, name, previous, set_id)
        finally:
            applier.close()

    def _get_parent(self, cluster, name: str):
        try:
            return cluster.get(f"/api/v1/namespaces/{inventory.NAMESPACE}/configmaps/{name}",
                               timeout=min(30.0, self.remaining()))
        except ApiError as exc:
            if exc.status == 404:
                return None
            raise

    def _ensure_namespace(self, cluster) -> None:
        """The `heat-k8s-hook` namespace holding inventories (and, later, locks)."""
        query = {"fieldManager": self.dep.options.field_manager, "force": "true"}
        try:
            cluster.request("PATCH", f"/api/v1/namespaces/{inventory.NAMESPACE}",
                            query, json.dumps(inventory.namespace_body()).encode(), APPLY_PATCH,
                            timeout=min(30.0, self.remaining()))
        except ApiError as exc:
            raise ApplyRejected(f"namespace {inventory.NAMESPACE}: {exc.message}") from None

    def _write_parent(self, cluster, name: str, members) -> None:
        query = {"fieldManager": self.dep.options.field_manager, "force": "true"}
        self._ensure_namespace(cluster)
        try:
            cluster.request("PATCH", f"/api/v1/namespaces/{inventory.NAMESPACE}/configmaps/{name}",
                            query, json.dumps(inventory.parent_body(
                                name, self.dep.identity, members)).encode(), APPLY_PATCH,
                            timeout=min(30.0, self.remaining()))
        except ApiError as exc:
            raise ApplyRejected(f"inventory ConfigMap {inventory.NAMESPACE}/{name}: "
                                f"{exc.message}") from None

    def _apply(self, cluster, applier, manifests, name, previous, set_id) -> None:
        opts = self.dep.options
        refused = plan.wipe_out(manifests, previous, opts.allow_empty)
        if refused:
            raise InvalidInput(refused)
        items = applier.resolve(manifests, opts.namespace)
        self._output_sources(items)  # a wrong output is code 2 before anything is written
        live = applier.observe(items)
        missing_ns = self._namespaces_to_create(cluster, manifests)
        if missing_ns:  # our own namespace stands in for those to be created
            self._ensure_namespace(cluster)
        checked = applier.dry_run(
            items, skip=lambda it: plan.unchanged(it.body, live.get(it.ref.key)),
            missing=missing_ns, stand_in=inventory.NAMESPACE)
        self.say(f"validated: {checked} object(s) passed server-side dry-run")
        desired = [it.ref for it in items]
        # Nothing that runs changed so far. The parent first lists old and new members, so an
        # interrupted run can still prune what it created.
        self._write_parent(cluster, name, list(previous) + desired)
        changes = []
        for stage in plan.stages(items):
            if any(it.resource is None for it in stage):
                applier.bind_deferred(stage)
                live.update(applier.observe([it for it in stage]))
            applied = applier.apply(stage, live)
            changes += applied
            crds = [c for c in applied if c.ref.kind == "CustomResourceDefinition"]
            if crds and any(it.resource is None for it in items):
                self._wait(cluster, set_id, crds, items, "established")
        for change in changes:
            self.result.stdout.append(f"{change.ref} {change.action}")
        self.say("applied: " + ", ".join(
            f"{n} {a}" for a, n in _counts(c.action for c in changes)))
        pruned = []
        if opts.prune:
            refs = plan.to_prune(previous, desired)
            if refs:
                pruned = applier.delete(refs, "pruned")
                for change in pruned:
                    self.result.stdout.append(f"{change.ref} {change.action}")
        self._write_parent(cluster, name, desired)
        if opts.wait:
            self._wait(cluster, set_id, changes, items, "ready")
        if pruned:
            self._wait_gone(cluster, set_id, [c for c in pruned if c.action == "pruned"])
        self._outputs(cluster, items)

    def _namespaces_to_create(self, cluster, manifests) -> set:
        missing = set()
        for m in manifests:
            if m.kind == "Namespace" and not m.group:
                try:
                    cluster.get(f"/api/v1/namespaces/{m.name}", timeout=min(10.0, self.remaining()))
                except ApiError as exc:
                    if exc.status != 404:
                        raise
                    missing.add(m.name)
        return missing

    def _wait(self, cluster, set_id, changes, items, what: str) -> None:
        resources = {it.ref.key: it.resource for it in items}
        targets = []
        for change in changes:
            obj = change.obj or {}
            annotations = (obj.get("metadata") or {}).get("annotations") or {}
            if annotations.get(plan.WAIT_ANNOTATION, "").lower() == "false":
                continue
            since = None if change.action == "unchanged" else \
                applied_at(obj, self.dep.options.field_manager)
            targets.append(Target(change.ref, resources[change.ref.key], obj,
                                  deadline_for(obj, self.ctx.clock(), self.deadline,
                                               plan.TIMEOUT_ANNOTATION), since))
        waiter = Waiter(cluster, set_id, wait_rules=self.dep.options.wait_rules,
                        unschedulable_grace=self.dep.options.unschedulable_grace,
                        clock=self.ctx.clock, started=self.start)

        def changed(t) -> None:
            if t.verdict.status.value in ("ready", "failed"):
                self.say(f"{t.ref}: {t.verdict.status.value}: {t.verdict.message}")
        outcome = waiter.wait(targets, self.deadline, on_change=changed)
        if outcome.failed:
            lines = []
            for ref, message in outcome.failed:
                lines.append(f"{ref}: {message}")
                events = waiter.warning_events(ref.namespace, [ref.name] + pods_named_in(message))
                lines += [f"  event {e}" for e in events]
            for line in lines[1:]:
                self.result.stderr.append(self.ctx.mask(line))
            raise NotReady(lines[0] + (f" (+{len(outcome.failed) - 1} more failed)"
                                       if len(outcome.failed) > 1 else ""))
        if outcome.pending:
            waiting = "; ".join(f"{ref}: {msg}" for ref, msg in outcome.pending)
            raise TimedOut(f"not {what} after {outcome.elapsed:.0f}s: {waiting}")
        self.say(f"all {len(targets)} object(s) {what}")

    def _wait_gone(self, cluster, set_id, changes) -> None:
        targets = []
        for change in changes:
            try:
                resource = cluster.resource(change.ref.api_version, change.ref.kind)
            except HookError:
                continue
            targets.append(Target(change.ref, resource, change.obj, self.deadline))
        waiter = Waiter(cluster, set_id, clock=self.ctx.clock, started=self.start)
        outcome = waiter.wait(targets, self.deadline, gone=True)
        if outcome.pending:
            waiting = "; ".join(str(ref) for ref, _ in outcome.pending)
            raise TimedOut(f"not deleted after {outcome.elapsed:.0f}s: {waiting}")
        if targets:
            self.say(f"all {len(targets)} deleted object(s) gone")

    def _delete(self, cluster, applier, name, parent, previous, set_id) -> None:
        if parent is None:
            self.say("nothing to delete: this deployment owns no objects")
            return
        changes = applier.delete(plan.delete_order(previous), "deleted")
        for change in changes:
            self.result.stdout.append(f"{change.ref} {change.action}")
        self._wait_gone(cluster, set_id, [c for c in changes if c.action == "deleted"])
        try:
            cluster.request("DELETE", f"/api/v1/namespaces/{inventory.NAMESPACE}/configmaps/{name}",
                            timeout=min(30.0, self.remaining()))
        except ApiError as exc:
            if exc.status != 404:
                raise
        self.say(f"deleted: {len(changes)} object(s)")

    def _output_sources(self, items) -> list:
        """(name, ref, item) per output; the path is tried on what is applied (Secret data?)."""
        sources = []
        for out_name, ref in self.dep.options.outputs.items():
            kind = ref.kind.rpartition("/")[2]
            candidates = [it for it in items if it.ref.kind == kind and it.ref.name == ref.name
                          and (ref.namespace is None or it.ref.namespace == ref.namespace)]
            if not candidates:
                raise InvalidInput(f"output {out_name}: {ref.kind}/{ref.name} is not an object "
                                   f"of this config")
            read_output(out_name, ref.jsonpath, dict(candidates[0].body, kind=kind))
            sources.append((out_name, ref, candidates[0]))
        return sources

    def _outputs(self, cluster, items) -> None:
        for out_name, ref, item in self._output_sources(items):
            obj = cluster.get(item.resource.path(item.ref.namespace, item.ref.name),
                              timeout=min(30.0, self.remaining()))
            obj.setdefault("kind", item.ref.kind)
            self.result.outputs[out_name] = read_output(out_name, ref.jsonpath, obj)


def _counts(actions) -> list:
    counts: dict = {}
    for a in actions:
        counts[a] = counts.get(a, 0) + 1
    return sorted(counts.items())


def execute(dep: Deployment, ctx: Context, result: Optional[Result] = None) -> Result:
    """Run one deployment; every error becomes the result's status code and last line."""
    result = result if result is not None else Result()
    ctx.mask.add(dep.secret_values())
    run = Run(dep, ctx, result)
    try:
        unknown = sorted(set(dep.options.secret_inputs) - set(dep.inputs))
        if unknown:  # a misspelt name would leave a secret unmasked
            raise InvalidInput(f"option secret_inputs: no input named {', '.join(unknown)}")
        run.execute()
    except HookError as exc:
        result.status_code = exc.code
        line = shorten(ctx.mask(exc.message))  # masked first, then cut
        result.stderr.append(f"ERROR: {line}")
        ctx.progress(f"ERROR: {line}")
    return result
