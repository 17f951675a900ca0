"""One deployment, start to end: render -> gather -> plan of steps -> run -> result.

The hook and every CLI subcommand go through `open_run` and `plan_for`; `execute` adds the
heat-config result. Errors travel up as HookError subclasses, carrying the phase that failed,
and become the result's exit code in one place, `execute` (through `explained`: an API error
answer nobody gave a meaning is the API server refusing the deployment, code 5; a transport
failure is ClusterUnreachable, code 3, as kube/ raised it).
"""
from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, Optional

from heat_k8s_hook.config.keystone_settings import records_namespace
from heat_k8s_hook.config.settings import Settings
from heat_k8s_hook.engine import record, runner, steps
from heat_k8s_hook.engine.apply import Applier
from heat_k8s_hook.engine.inventory import NAMESPACE, applyset_id
from heat_k8s_hook.engine.inventory_client import InventoryClient
from heat_k8s_hook.errors import ApplyRejected, HookError, InvalidInput
from heat_k8s_hook.ha import coordinate
from heat_k8s_hook.input.deployment import Deployment
from heat_k8s_hook.input.render import render
from heat_k8s_hook.kube.cluster import ApiError, Cluster, resolve_credentials
from heat_k8s_hook.kube.deadline import Deadline
from heat_k8s_hook.names import parent_name
from heat_k8s_hook.readiness.rules import Status
from heat_k8s_hook.result.events import (
    Detail,
    Emit,
    Event,
    ObjectChanged,
    OutputRead,
    Progress,
    VerdictChanged,
    fan_out,
)
from heat_k8s_hook.result.report import Masker, Result, secret_values, shorten

log = logging.getLogger("heat_k8s_hook")


@dataclass
class Context:
    """What a run needs from outside: how to connect, the clock, and where lines go."""

    connect: Callable  # (Options) -> Cluster
    clock: Callable[[], float] = time.monotonic
    progress: Callable[[str], None] = lambda line: log.info("%s", line)
    started: Optional[float] = None
    mask: Masker = field(default_factory=Masker)
    emit: Optional[Emit] = None          # another renderer of the run's events (the CLI's view)
    deadline: Optional[Deadline] = None  # shared with the hook's watchdog
    settings: Settings = field(default_factory=Settings)  # the operator's (settings.py)
    delivery_key: Optional[str] = None   # fastpath.delivery_key: record a successful outcome


def connect_default(options, settings: Optional[Settings] = None):
    """The cluster from the options' kubeconfig (already checked by settings.check_options),
    $KUBECONFIG, the operator's default_kubeconfig, or in-cluster credentials."""
    default = (settings or Settings()).default_kubeconfig
    return Cluster(resolve_credentials(options.kubeconfig, options.context,
                                       default_kubeconfig=default))


def rendered(dep: Deployment, ctx: Context) -> list:
    """The manifests of a CREATE/UPDATE/SUSPEND/RESUME (none for DELETE), their Secret values
    masked."""
    manifests = [] if dep.action == "DELETE" else \
        _phase("render", render, dep.config, dep.inputs, ctx.settings.limits)
    for m in manifests:
        ctx.mask.add(secret_values(m.obj))
    return manifests


def _phase(name: str, fn, *args):
    try:
        return fn(*args)
    except HookError as exc:
        exc.phase = exc.phase or name
        raise


@contextlib.contextmanager
def open_run(dep: Deployment, ctx: Context, emit: Emit,
             manifests: list) -> Iterator[runner.RunContext]:
    """Connect, check the cluster, and hold the run context (cluster, inventory, deadline)."""
    start = ctx.started if ctx.started is not None else ctx.clock()
    deadline = ctx.deadline or Deadline(start + dep.options.timeout, dep.options.timeout,
                                        ctx.clock)
    cluster = _phase("connect", ctx.connect, dep.options)
    cluster.deadline = deadline  # transient API faults are retried until it (retry.py)
    version = _phase("connect", lambda: cluster.ping(
        timeout=deadline.cap(cluster.credentials.first_contact)))
    emit(Progress(f"{dep.action} {dep.identity}: {len(manifests)} object(s), cluster {version}"))
    opts = dep.options
    keystone = ctx.settings.keystone
    records = InventoryClient(cluster, opts.field_manager, lambda: deadline.cap(30.0),
                              records_namespace(opts.namespace, keystone, NAMESPACE))
    records.namespace_exists = keystone is not None  # a tenant's namespace: the operator's
    set_id = applyset_id(parent_name(dep.slug), records.namespace)
    applier = Applier(cluster, opts.field_manager, opts.force_conflicts, set_id, mask=ctx.mask,
                      timeout=lambda: deadline.cap(30.0))
    try:
        yield runner.RunContext(dep, cluster, records, applier, deadline, emit, ctx.clock, start)
    finally:
        applier.close()


def plan_for(run_ctx: runner.RunContext, manifests: list) -> tuple:
    """Gather the facts (read-only) and build the plan of steps: (facts, steps)."""
    facts = _phase("discovery", runner.gather, run_ctx, manifests)
    return facts, _phase("plan", steps.plan_run, facts)


class ResultRenderer:
    """Renders a run's events into the heat-config result (deploy_stdout, deploy_stderr)."""

    def __init__(self, result: Result, ctx: Context, start: float):
        self.result, self.ctx, self.start = result, ctx, start

    def say(self, text: str) -> None:
        line = f"[{self.ctx.clock() - self.start:6.2f}s] {self.ctx.mask(text)}"
        self.result.stderr.append(line)
        self.ctx.progress(line)

    def __call__(self, event: Event) -> None:
        if isinstance(event, ObjectChanged):
            self.result.stdout.append(f"{event.ref} {event.action.value}")
        elif isinstance(event, Progress):
            self.say(event.text)
        elif isinstance(event, VerdictChanged):
            if event.what != "gone" and event.status in (Status.READY, Status.FAILED):
                self.say(f"{event.ref}: {event.status.value}: {event.message}")
        elif isinstance(event, Detail):
            self.result.stderr.append(self.ctx.mask(event.text))
        elif isinstance(event, OutputRead):
            self.result.outputs[event.name] = event.value


def run_deployment(dep: Deployment, ctx: Context, emit: Emit) -> None:
    quiet = steps.without_cluster(dep.action, dep.options.suspend)
    if quiet:  # CHECK (never sent by Heat), SUSPEND/RESUME with option suspend: none
        emit(Progress(quiet))
        return
    manifests = rendered(dep, ctx)
    recorder = record.Recorder(emit) if ctx.delivery_key and \
        dep.action in steps.APPLY_ACTIONS else None
    with open_run(dep, ctx, recorder or emit, manifests) as run_ctx:
        if recorder is not None:
            recorder.run_ctx = run_ctx  # it LISTs each scope once all its members are ready
        # A late member's check gathers the facts; when it finds something to write and the
        # Lease it was decided on is then acquired unchanged, the run goes on with that plan
        # instead of reading the same inventory, discovery and LISTs again (coordinate.py).
        checked: list = []

        def check() -> bool:
            checked[:] = [plan_for(run_ctx, manifests)]
            return _settled(checked[0][0])

        def work() -> None:
            runner.run(run_ctx, (checked.pop() if checked else plan_for(run_ctx, manifests))[1])
        # one member of a group applies, the others answer with its outcome (coordinate.py)
        applied = _phase("coordinate", coordinate.run, run_ctx, ctx.mask,
                         ctx.settings.lease_duration, work, check, checked.clear)
        if recorder is not None and applied:  # the proof for a fast re-delivery (fastpath.py)
            record.save(run_ctx, recorder, ctx.delivery_key, ctx.mask)


def _settled(facts: steps.Facts) -> bool:
    """The late member's read-only check: nothing to write (coordinate.py)."""
    if facts.action in steps.SUSPEND_ACTIONS:
        return steps.settled(facts)
    return coordinate.matches(facts)


def explained(exc: HookError) -> HookError:
    """The error as the result reports it: a raw API error answer (kube/transport.ApiError,
    one the engine did not explain, e.g. a 500 on a LIST) is the API server refusing the
    deployment (ApplyRejected, code 5, its message as the server wrote it); the rest as raised."""
    if isinstance(exc, ApiError):
        mapped = ApplyRejected(exc.message)
        mapped.phase = exc.phase
        return mapped
    return exc


def execute(dep: Deployment, ctx: Context, result: Optional[Result] = None) -> Result:
    """Run one deployment; every error becomes the result's status code and last line."""
    result = result if result is not None else Result()
    ctx.mask.add(dep.secret_values())
    start = ctx.started if ctx.started is not None else ctx.clock()
    ctx.started = start
    renderer = ResultRenderer(result, ctx, start)
    try:
        unknown = sorted(set(dep.options.secret_inputs) - set(dep.inputs))
        if unknown:  # a misspelt name would leave a secret unmasked
            raise InvalidInput(f"option secret_inputs: no input named {', '.join(unknown)}")
        run_deployment(dep, ctx, fan_out(renderer, ctx.emit) if ctx.emit else renderer)
    except HookError as raised:
        exc = explained(raised)
        result.status_code = exc.code
        line = shorten(ctx.mask(exc.in_phase()))  # masked first, then cut
        result.stderr.append(f"ERROR: {line}")
        ctx.progress(f"ERROR: {line}")
    return result
