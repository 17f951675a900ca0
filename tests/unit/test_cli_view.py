"""The live view as an event renderer, drawn into a string (the pty test runs it for real)."""
import io
import re

from heat_k8s_hook.cli.view import LiveView
from heat_k8s_hook.engine import steps
from heat_k8s_hook.objects import Action, ObjectRef
from heat_k8s_hook.readiness.rules import Status
from heat_k8s_hook.result.events import ObjectChanged, StepStarted, VerdictChanged

REF = ObjectRef("apps", "Deployment", "shop", "web", "v1")


def test_rows_follow_the_events_and_secrets_are_masked():
    stream, now = io.StringIO(), [0.0]
    view = LiveView("CREATE x", stream, clock=lambda: now[0],
                    mask=lambda s: s.replace("hunter2", "******"))
    with view:
        view(StepStarted(5, 8, steps.ApplyStage("workloads", (REF,))))
        view(ObjectChanged(REF, Action.CREATED))
        now[0] = 1.0
        view(VerdictChanged(REF, Status.IN_PROGRESS, "0 of 2 available"))
        now[0] = 2.5
        view(VerdictChanged(REF, Status.FAILED, "pod web-1: [bold]CrashLoopBackOff hunter2"))
        now[0] = 9.0
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", stream.getvalue())
    last = text[text.rindex("CREATE x"):]
    assert "step 6/8: ApplyStage workloads" in text
    assert re.search(r"Deployment/shop/web\s+│ created\s+│ failed\s+│\s+2\.5s", last), last
    assert "******" in last and "hunter2" not in text   # the cause may wrap in its cell
    assert "ended after 9.0s" in last
    assert "[bold]" in last   # messages are text, never rich markup
