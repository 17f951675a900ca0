"""The runner and the result renderer with plain fakes: phases in errors, one deadline,
events rendered into the heat-config result."""
from __future__ import annotations

import json

import pytest

from heat_k8s_hook.engine import runner, steps
from heat_k8s_hook.engine.pipeline import Context, ResultRenderer
from heat_k8s_hook.errors import ApplyRejected, TimedOut
from heat_k8s_hook.input.deployment import load_deployment
from heat_k8s_hook.kube.deadline import Deadline
from heat_k8s_hook.objects import Action, ObjectRef
from heat_k8s_hook.readiness.rules import Status
from heat_k8s_hook.result.events import Detail, ObjectChanged, Progress, StepStarted, VerdictChanged
from heat_k8s_hook.result.report import Masker, Result

REF = ObjectRef("apps", "Deployment", "shop", "web", "v1")


class RejectingApplier:
    def dry_run(self, *args, **kw):
        raise ApplyRejected("document 2 (Deployment web): spec.replicas: expected numeric")


class Inventory:
    namespace = "heat-k8s-hook"

    def __init__(self):
        self.calls = []

    def ensure_namespace(self):
        self.calls.append("ensure")


def context(applier=None, deadline=None, events=None):
    dep = load_deployment(json.dumps({"config": "", "options": {"timeout": 60}}))
    return runner.RunContext(dep, None, Inventory(), applier, deadline or Deadline(1e12, 60),
                             (events if events is not None else []).append, lambda: 0.0, 0.0)


def test_an_error_names_the_phase_that_failed():
    """Would catch exit codes that do not say which phase failed."""
    with pytest.raises(ApplyRejected) as caught:
        ctx = context(RejectingApplier())
        ctx.items[REF.key] = object()
        runner.run(ctx, [steps.DryRun((REF,))])
    assert caught.value.code == 5
    assert caught.value.in_phase() == ("document 2 (Deployment web): spec.replicas: expected "
                                       "numeric [phase: dry-run]")


def test_a_cancelled_deadline_stops_before_the_next_step():
    """One deadline for the run: once cancelled (the watchdog), no further step starts."""
    deadline = Deadline(1e12, 60)
    events: list = []
    ctx = context(deadline=deadline, events=events)
    deadline.cancel()
    with pytest.raises(TimedOut) as caught:
        runner.run(ctx, [steps.EnsureInventoryNamespace(), steps.EnsureInventoryNamespace()])
    assert ctx.inventory.calls == []
    assert caught.value.phase == "inventory"
    assert [type(e) for e in events] == [StepStarted]


def test_events_render_into_the_result():
    result = Result()
    ctx = Context(connect=None, clock=lambda: 1.5, progress=lambda line: None,
                  mask=Masker(["s3cret-value"]))
    render = ResultRenderer(result, ctx, 0.0)
    render(ObjectChanged(REF, Action.CREATED))
    render(VerdictChanged(REF, Status.IN_PROGRESS, "1 of 2 available"))
    render(VerdictChanged(REF, Status.READY, "2 of 2 available"))
    render(VerdictChanged(REF, Status.READY, "deleted", what="gone"))
    render(Progress("validated: 1 object(s)"))
    render(Detail("  event Pod/web-1: BackOff: s3cret-value"))
    assert result.stdout == ["Deployment/shop/web created"]
    assert result.stderr == ["[  1.50s] Deployment/shop/web: ready: 2 of 2 available",
                             "[  1.50s] validated: 1 object(s)",
                             "  event Pod/web-1: BackOff: ******"]
