"""readiness/judge.py's survivors of mutation run f (docs/testing.md): the pods a verdict
names survive the Warning event added to its message; a terminating pod is named only
once the object is otherwise ready."""
from __future__ import annotations

import copy

from test_judge import DEPLOYMENT, EVENT, NOW, POD

from heat_k8s_hook.readiness.judge import judge
from heat_k8s_hook.readiness.rules import Status


def _unready_pod() -> dict:
    pod = copy.deepcopy(POD)
    pod["status"] = {"phase": "Running", "conditions": [{"type": "Ready", "status": "False"}],
                     "containerStatuses": [{"name": "web", "ready": False, "restartCount": 0,
                                            "state": {"running": {}}}]}
    return pod


def test_the_unready_pod_is_still_named_after_the_warning_is_added():
    """Kills judge 80/83 (the Verdict rebuilt with the warning dropping its pods)."""
    pod = _unready_pod()
    verdict = judge(DEPLOYMENT, NOW, [pod], [EVENT])
    assert verdict.status is Status.IN_PROGRESS
    assert "last event: BackOff" in verdict.message
    assert verdict.pods == ("web-abc-x1",)


def test_a_terminating_pod_is_not_the_story_of_an_object_still_in_progress():
    """Kills judge 16 (`READY and Mapping` -> `or`: an in-progress Deployment answered by
    its terminating pod, its unready pod and Warning event never looked at)."""
    pod = _unready_pod()
    pod["metadata"]["deletionTimestamp"] = "2026-11-25T11:59:00Z"
    verdict = judge(DEPLOYMENT, NOW, [pod], [EVENT])
    assert verdict.status is Status.IN_PROGRESS
    assert "still terminating" not in verdict.message
    assert "last event: BackOff" in verdict.message
