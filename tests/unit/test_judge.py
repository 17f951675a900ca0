"""One judge for the waiter, `status` and the offline command: same input, same verdict."""
from __future__ import annotations

import queue
from datetime import datetime, timezone

import yaml

from heat_k8s_hook.kube.cluster import Resource
from heat_k8s_hook.objects import ObjectRef
from heat_k8s_hook.readiness.judge import judge
from heat_k8s_hook.readiness.offline import verdicts
from heat_k8s_hook.readiness.rules import Status
from heat_k8s_hook.readiness.watch import Target, Waiter

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)

DEPLOYMENT = yaml.safe_load("""
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, generation: 2, uid: d-1}
spec: {replicas: 1, selector: {matchLabels: {app: web}}}
status:
  observedGeneration: 2
  replicas: 1
  updatedReplicas: 1
  conditions:
  - {type: Progressing, status: "True", message: 'ReplicaSet "web-abc" is progressing.'}
""")
POD = yaml.safe_load("""
apiVersion: v1
kind: Pod
metadata:
  name: web-abc-x1
  namespace: shop
  labels: {app: web, pod-template-hash: abc}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-abc, controller: true}]
status:
  phase: Running
  containerStatuses:
  - name: web
    restartCount: 4
    lastState: {terminated: {exitCode: 1}}
    state: {waiting: {reason: CrashLoopBackOff, message: back-off 40s}}
""")
EVENT = {"apiVersion": "v1", "kind": "Event", "type": "Warning", "reason": "BackOff",
         "message": "Back-off restarting failed container web",
         "lastTimestamp": "2026-11-25T11:59:50Z",
         "involvedObject": {"kind": "Pod", "name": "web-abc-x1", "namespace": "shop"}}
CAUSE = "pod web-abc-x1 container web: CrashLoopBackOff: back-off 40s"


def test_a_crashlooping_deployment_fails_by_its_pods():
    """Would catch `status` ignoring pods (it called such a Deployment in progress)."""
    verdict = judge(DEPLOYMENT, NOW, [POD])
    assert verdict.status is Status.FAILED and verdict.message.startswith(CAUSE)
    assert judge(DEPLOYMENT, NOW).status is Status.IN_PROGRESS


def test_the_last_warning_event_is_the_cause_of_what_is_not_ready():
    pending = dict(DEPLOYMENT, status=dict(DEPLOYMENT["status"], conditions=[]))
    verdict = judge(pending, NOW, [dict(POD, status={"phase": "Pending"})], [EVENT])
    assert verdict.status is Status.IN_PROGRESS
    assert verdict.message.endswith("last event: BackOff: Back-off restarting failed "
                                    "container web")


def test_offline_and_waiter_agree_with_the_judge():
    expected = judge(DEPLOYMENT, NOW, [POD], [EVENT])
    offline = [v for v in verdicts([DEPLOYMENT, POD, EVENT], NOW) if v.kind == "Deployment"]
    assert (offline[0].status, offline[0].message) == (expected.status.value, expected.message)
    waiter = Waiter(cluster=None, applyset_id="x", now=lambda: NOW)
    waiter.events = queue.Queue()
    waiter.store.store_pod("shop", POD, deleted=False)
    resource = Resource("apps", "v1", "Deployment", "deployments", True)
    target = Target(ObjectRef("apps", "Deployment", "shop", "web", "v1"), resource, DEPLOYMENT,
                    deadline=0.0)
    live = waiter._verdict(target, NOW, gone=False)
    assert live.status is Status.FAILED and live.message.startswith(CAUSE)


def test_not_found_and_junk():
    assert judge(None, NOW).status is Status.IN_PROGRESS
    assert judge("junk", NOW).status is Status.UNKNOWN
