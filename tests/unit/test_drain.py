"""SUSPEND's wait (engine/suspend_client.Drain) through the Waiter's own event path.

The Drain judges by `suspend.drained`: a workload scaled to 0 is drained only once its
namespace's pods were listed and none is left. It learns "listed" from the pod LIST event, so
the Waiter must hand every event to its `_apply_event`; when the Waiter was split (issue 25)
events went straight to the store, the Drain never saw a LIST, and every SUSPEND timed out
(code 7, tests/e2e/test_lifecycle.py::test_suspend_and_resume). Seen red that way.
"""
from __future__ import annotations

import threading

from heat_k8s_hook.engine.suspend_client import Drain
from heat_k8s_hook.objects import ObjectRef
from heat_k8s_hook.readiness.rules import Status
from heat_k8s_hook.readiness.store import Target


class _Resource:
    group, kind, api_version, group_kind = "apps", "Deployment", "apps/v1", "apps/Deployment"


def _scaled_to_zero() -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop", "generation": 2},
            "spec": {"replicas": 0}, "status": {"observedGeneration": 2}}


def _drain_with(target: Target) -> Drain:
    drain = Drain(cluster=None, applyset_id="x", cancel=threading.Event())
    drain.store.targets = {target.ref.key: target}
    return drain


def test_a_pod_list_with_no_pod_left_drains_the_workload():
    ref = ObjectRef("apps", "Deployment", "shop", "web", "v1")
    target = Target(ref, _Resource(), _scaled_to_zero(), deadline=1e12)
    drain = _drain_with(target)
    from datetime import datetime, timezone
    now = datetime.now(timezone.utc)
    assert drain._verdict(target, now, False).status is Status.IN_PROGRESS   # not listed yet
    drain.events.put((("pod", "shop"), "LIST", []))
    dirty = drain._next_events(0.1)
    assert ref.key in dirty
    assert drain._verdict(target, now, False).status is Status.READY


def test_a_pod_left_keeps_it_waiting():
    ref = ObjectRef("apps", "Deployment", "shop", "web", "v1")
    target = Target(ref, _Resource(), _scaled_to_zero(), deadline=1e12)
    drain = _drain_with(target)
    pod = {"metadata": {"name": "web-1", "namespace": "shop", "uid": "p1",
                        "creationTimestamp": "2026-12-05T00:00:00Z",
                        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                             "name": "web-abc", "uid": "rs1",
                                             "controller": True}],
                        "labels": {"app": "web", "pod-template-hash": "abc"}},
           "status": {"phase": "Running"}}
    drain.events.put((("pod", "shop"), "LIST", [pod]))
    drain._next_events(0.1)
    from datetime import datetime, timezone
    verdict = drain._verdict(target, datetime.now(timezone.utc), False)
    assert verdict.status is Status.IN_PROGRESS, verdict
