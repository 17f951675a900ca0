"""Issue 28: what the real kubelet on `real-node-0` reported, as plain data, and the verdicts.

Each status below was read from the local cluster (Kubernetes v1.37.2, containerd v2.4.2) during
the cases of tests/cluster/test_real_node.py; names are shortened.
"""
from __future__ import annotations

from datetime import datetime, timezone

from heat_k8s_hook.readiness.judge import judge
from heat_k8s_hook.readiness.rules import (
    Status,
    Verdict,
    object_status,
    pod_failure,
    unready_pods,
    workload_failure,
)

NOW = datetime(2026, 12, 5, 7, 40, 0, tzinfo=timezone.utc)
RS = "web-dd5d776c7"


def deployment(status: dict, replicas: int = 1) -> dict:
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "t", "generation": 2, "uid": "d-1"},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}}},
            "status": dict({"observedGeneration": 2, "conditions": [
                {"type": "Progressing", "status": "True", "reason": "ReplicaSetUpdated",
                 "message": f'ReplicaSet "{RS}" is progressing.'}]}, **status)}


def pod(name: str, container_status: dict, conditions=(), phase="Running") -> dict:
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "t",
                         "labels": {"app": "web", "pod-template-hash": RS.rsplit("-", 1)[1]},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                              "name": RS, "uid": "rs-1", "controller": True}]},
            "status": {"phase": phase, "conditions": list(conditions),
                       "containerStatuses": [dict({"name": "main", "image": "local/busybox"},
                                                  **container_status)]}}


# -- 1. OOM kill: the kubelet's reason, not only the exit code -----------------------------------

OOM_STATUS = {
    "restartCount": 1, "ready": False, "started": False,
    "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled",
                                 "startedAt": "2026-12-05T07:20:01Z",
                                 "finishedAt": "2026-12-05T07:20:02Z"}},
    "state": {"waiting": {"reason": "CrashLoopBackOff",
                          "message": "back-off 10s restarting failed container=main "
                                     "pod=hog-5c7b-x2x_t(0b1c)"}},
}


def test_oom_kill_names_the_kubelets_reason():
    cause = pod_failure(pod("hog-5c7b-x2x", OOM_STATUS), NOW)
    assert cause == ("pod hog-5c7b-x2x container main: CrashLoopBackOff: back-off 10s restarting "
                     "failed container=main pod=hog-5c7b-x2x_t(0b1c) "
                     "(last exit code 137: OOMKilled, 1 restart)")


def test_oom_kill_reason_from_the_current_termination():
    # Between the kill and the back-off the kubelet reports it under state, not lastState.
    status = {"restartCount": 0, "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled"}},
              "lastState": {}}
    status["state"]["waiting"] = {"reason": "CrashLoopBackOff", "message": "back-off 10s"}
    cause = pod_failure(pod("hog-5c7b-x2x", status), NOW)
    assert cause.endswith("(last exit code 137: OOMKilled)"), cause


def test_a_deployment_fails_with_the_oom_kill_named():
    verdict = workload_failure(deployment({"replicas": 1, "updatedReplicas": 1}),
                               [pod("web-dd5d776c7-a1", OOM_STATUS)], NOW)
    assert verdict.status is Status.FAILED and "last exit code 137: OOMKilled" in verdict.message
    assert verdict.pods == ("web-dd5d776c7-a1",)   # whose events the runner then lists


# The kubelet's first back-off: after the second exit the status stays `terminated` (restart
# count 1) for 10 s before it says `waiting: CrashLoopBackOff` (measured: exit at 2.4 s,
# restarted at once, second exit at 4.5 s, CrashLoopBackOff only later).
BACKING_OFF = {
    "restartCount": 1, "ready": False, "started": False,
    "lastState": {"terminated": {"exitCode": 1, "reason": "Error"}},
    "state": {"terminated": {"exitCode": 1, "reason": "Error",
                             "startedAt": "2026-12-05T07:30:03Z",
                             "finishedAt": "2026-12-05T07:30:04Z"}},
}


def test_the_first_back_off_is_a_crash_loop_already():
    cause = pod_failure(pod("web-dd5d776c7-a1", BACKING_OFF), NOW)
    assert cause == ("pod web-dd5d776c7-a1 container main: CrashLoopBackOff: exited again after "
                     "a restart, restarting after a back-off (last exit code 1: Error, 1 restart)")
    verdict = workload_failure(deployment({"replicas": 1, "updatedReplicas": 1}),
                               [pod("web-dd5d776c7-a1", BACKING_OFF)], NOW)
    assert verdict.status is Status.FAILED and "last exit code 1: Error" in verdict.message


def test_a_first_exit_a_clean_exit_or_restart_policy_never_is_not_a_back_off():
    first = dict(BACKING_OFF, restartCount=0)   # restarted at once: it may still come up
    clean = dict(BACKING_OFF, state={"terminated": {"exitCode": 0, "reason": "Completed"}})
    running = dict(BACKING_OFF, state={"running": {"startedAt": "2026-12-05T07:30:05Z"}})
    for status in (first, clean, running):
        assert pod_failure(pod("web-dd5d776c7-a1", status), NOW) is None, status
    never = pod("job-a1", BACKING_OFF, phase="Failed")
    never["spec"] = {"restartPolicy": "Never"}   # a Job's: its own rules count the failures
    assert "restarting after a back-off" not in (pod_failure(never, NOW) or "")


# -- 2. A readiness probe that never passes: the timeout names the pod --------------------------

NOT_READY = {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
             "message": "containers with unready status: [main]"}
PROBING = {"restartCount": 0, "ready": False, "started": True,
           "state": {"running": {"startedAt": "2026-12-05T07:21:00Z"}}}
UNAVAILABLE = {"replicas": 1, "updatedReplicas": 1, "unavailableReplicas": 1}


def test_an_unready_pod_is_named_with_the_kubelets_reason():
    verdict = judge(deployment(UNAVAILABLE), NOW, [pod("web-dd5d776c7-a1", PROBING, [NOT_READY])])
    assert verdict == Verdict(Status.IN_PROGRESS, (
        "0 of 1 replicas available; pod web-dd5d776c7-a1 not ready: ContainersNotReady: "
        "containers with unready status: [main]"))
    # The runner looks up that pod's Warning events (the probe's Unhealthy) by this name.
    assert verdict.pods == ("web-dd5d776c7-a1",)


def test_the_probe_message_from_the_events_follows():
    unhealthy = {"type": "Warning", "reason": "Unhealthy",
                 "message": "Readiness probe failed: backend-unreachable\n",
                 "lastTimestamp": "2026-12-05T07:21:09Z",
                 "involvedObject": {"kind": "Pod", "name": "web-dd5d776c7-a1", "namespace": "t"}}
    verdict = judge(deployment(UNAVAILABLE), NOW,
                    [pod("web-dd5d776c7-a1", PROBING, [NOT_READY])], [unhealthy])
    assert verdict.message.endswith("; pod web-dd5d776c7-a1 not ready: ContainersNotReady: "
                                    "containers with unready status: [main]; last event: "
                                    "Unhealthy: Readiness probe failed: backend-unreachable")


def test_unready_pods_counts_the_others_and_skips_ready_old_and_terminating_pods():
    ready = dict(NOT_READY, status="True")
    old = pod("web-7c9d4d648b-o1", PROBING, [NOT_READY])
    old["metadata"]["ownerReferences"][0]["name"] = "web-7c9d4d648b"
    old["metadata"]["labels"]["pod-template-hash"] = "7c9d4d648b"
    going = pod("web-dd5d776c7-z9", PROBING, [NOT_READY])
    going["metadata"]["deletionTimestamp"] = "2026-12-05T07:21:00Z"
    pods = [pod("web-dd5d776c7-b2", PROBING, [NOT_READY]), old, going,
            pod("web-dd5d776c7-a1", PROBING, [ready]),
            pod("web-dd5d776c7-c3", {}, [], phase="Pending")]
    assert unready_pods(deployment(UNAVAILABLE, replicas=3), pods) == (
        "pod web-dd5d776c7-b2 not ready: ContainersNotReady: containers with unready status: "
        "[main] (and 1 more pod not ready)")
    assert unready_pods(deployment(UNAVAILABLE), [pods[3]]) is None
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "web", "namespace": "t"}}
    assert unready_pods(job, pods) is None


# -- 3. A rolling update: not ready while the old pods terminate ---------------------------------

# The Deployment's status while the old pod waited out its grace period (seen on the real node):
# the controller counts it in status.terminatingReplicas (Kubernetes >= 1.35), nowhere else.
ROLLED = {"replicas": 1, "updatedReplicas": 1, "readyReplicas": 1, "availableReplicas": 1,
          "conditions": [{"type": "Available", "status": "True",
                          "reason": "MinimumReplicasAvailable"},
                         {"type": "Progressing", "status": "True",
                          "reason": "NewReplicaSetAvailable",
                          "message": f'ReplicaSet "{RS}" has successfully progressed.'}]}


def test_not_ready_while_old_pods_terminate():
    assert object_status(deployment(dict(ROLLED, terminatingReplicas=1)), NOW) == Verdict(
        Status.IN_PROGRESS, "1 of 1 replicas available, 1 replica still terminating")


def test_ready_once_they_are_gone():
    assert object_status(deployment(dict(ROLLED, terminatingReplicas=0)), NOW) == Verdict(
        Status.READY, "1 of 1 replicas available")
    # Clusters before 1.35 have no such field: the rollout's status alone decides there.
    assert object_status(deployment(ROLLED), NOW).status is Status.READY


def old_pod_going(phase="Failed") -> dict:
    # After the kubelet stopped its container: terminal phase, still in the API until the
    # kubelet's final delete; terminatingReplicas already 0 (seen on the real node).
    p = pod("web-7c9d4d648b-m84g4", {"state": {"terminated": {"exitCode": 137,
                                                               "reason": "Error"}}},
            phase=phase)
    p["metadata"]["ownerReferences"][0]["name"] = "web-7c9d4d648b"
    p["metadata"]["labels"]["pod-template-hash"] = "7c9d4d648b"
    p["metadata"]["deletionTimestamp"] = "2026-12-05T07:37:03Z"
    return p


def test_not_ready_until_the_old_pod_object_is_gone():
    ready = dict(NOT_READY, status="True", reason=None, message=None)
    new = pod("web-dd5d776c7-9mpkz", {"ready": True, "state": {"running": {}}}, [ready])
    rolled = deployment(dict(ROLLED, terminatingReplicas=0))
    going = judge(rolled, NOW, [new, old_pod_going()])
    assert going == Verdict(
        Status.IN_PROGRESS, "1 of 1 replicas available; pod web-7c9d4d648b-m84g4 still terminating")
    assert going.pods == ("web-7c9d4d648b-m84g4",)
    assert judge(rolled, NOW, [new]) == Verdict(Status.READY, "1 of 1 replicas available")


def test_the_waiter_judges_old_pods_that_are_going():
    from heat_k8s_hook.readiness.watch import Target, Waiter

    class Ref:
        namespace, name = "t", "web"

    class Resource:
        group_kind = "apps/Deployment"

    waiter = Waiter(None, "applyset-1")
    since = datetime(2026, 12, 5, 7, 37, 0, tzinfo=timezone.utc)
    old_running = pod("web-7c9d4d648b-aaaaa", {"state": {"running": {}}})
    old_running["metadata"]["creationTimestamp"] = "2026-12-05T07:30:00Z"
    going = old_pod_going()
    going["metadata"]["creationTimestamp"] = "2026-12-05T07:30:00Z"
    for p in (old_running, going):
        p["metadata"]["ownerReferences"][0]["name"] = "web-7c9d4d648b"
        p["metadata"]["labels"]["pod-template-hash"] = "7c9d4d648b"
        waiter.store.store_pod("t", p, deleted=False)
    target = Target(Ref(), Resource(), deployment(ROLLED), 0.0, pods_since=since)
    # Old pods do not count for failures (pods_since), but one being deleted holds the wait.
    assert [p["metadata"]["name"] for p in waiter.store.pods_of(target, NOW)] == [
        "web-7c9d4d648b-m84g4"]
