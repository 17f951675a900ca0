"""readiness/judge.py's survivors of the mutation run (docs/testing.md): which Warning event
is the cause shown for an object not ready (its own, its pods', never another's)."""
from __future__ import annotations

import copy
from datetime import timedelta

from test_judge import DEPLOYMENT, EVENT, NOW, POD

from heat_k8s_hook.readiness.judge import judge, last_warning
from heat_k8s_hook.readiness.rules import Status, Verdict, owns


def event(kind: str, name: str, namespace, reason: str = "Failed") -> dict:
    io = {"kind": kind, "name": name}
    if namespace is not None:
        io["namespace"] = namespace
    return dict(EVENT, reason=reason, message=f"{reason} {name}", involvedObject=io)


def test_an_event_about_the_object_itself_is_its_cause():
    assert last_warning(DEPLOYMENT, [], [event("Deployment", "web", "shop")]) == \
        "Failed: Failed web"


def test_a_cluster_scoped_objects_event_has_no_namespace():
    crd = {"kind": "ClusterRole", "metadata": {"name": "reader"}}
    assert last_warning(crd, [], [event("ClusterRole", "reader", None)]) == "Failed: Failed reader"
    assert last_warning(crd, [], [event("ClusterRole", "reader", "shop")]) == ""


def test_metadata_that_is_not_a_map_is_no_name():
    assert last_warning({"metadata": "junk"}, [], [event("Pod", "x", "shop")]) == ""


def test_a_pod_of_another_workload_is_not_the_cause():
    other = copy.deepcopy(POD)
    other["metadata"].update(name="api-def-x1", labels={"pod-template-hash": "def"},
                             ownerReferences=[{"kind": "ReplicaSet", "name": "api-def",
                                              "controller": True}])
    assert last_warning(DEPLOYMENT, [other], [event("Pod", "api-def-x1", "shop")]) == ""
    assert last_warning(DEPLOYMENT, [POD], [event("Pod", "web-abc-x1", "shop")]) == \
        "Failed: Failed web-abc-x1"


def test_owned_by_name_needs_a_name_on_both_sides():
    """(The judge's own linker moved to rules.owns, the one rule.)"""
    pod = {"metadata": {"labels": {"pod-template-hash": "abc"}, "ownerReferences": [
        {"kind": "ReplicaSet", "name": "web-abc", "controller": True}]}}
    nameless = {"kind": "Deployment", "metadata": {}}
    assert owns(nameless, pod, "apps/Deployment") is False
    assert owns({"metadata": {"name": ""}}, pod, "apps/Deployment") is False
    assert owns({"metadata": {"name": "web"}}, {"metadata": {"ownerReferences": ["junk"]}},
                "apps/Deployment") is False
    assert owns({"metadata": {"name": "web"}}, pod, "apps/Deployment") is True


def test_a_pod_owned_by_uid_is_the_objects_whatever_its_owners_name():
    job = {"kind": "Job", "metadata": {"name": "migrate", "namespace": "shop", "uid": "u-1"}}
    pod = {"metadata": {"name": "p-1", "namespace": "shop",
                        "ownerReferences": [{"kind": "Job", "name": "renamed", "uid": "u-1",
                                             "controller": True}]}}
    stranger = {"metadata": {"name": "p-2", "namespace": "shop",
                             "ownerReferences": [{"kind": "Job", "name": "x", "uid": "u-2",
                                                  "controller": True}]}}
    events = [event("Pod", "p-1", "shop")]
    assert last_warning(job, ["junk", stranger, pod], events) == "Failed: Failed p-1"
    assert last_warning(job, [stranger], events) == ""


def test_the_newest_warning_about_the_object_or_its_pods_is_chosen():
    web = DEPLOYMENT
    older = dict(event("Deployment", "web", "shop", "Older"), lastTimestamp="2026-11-25T11:00:00Z")
    newer = dict(event("Pod", "web-abc-x1", "shop", "Newer"), lastTimestamp="2026-11-25T11:30:00Z")
    normal = dict(event("Deployment", "web", "shop", "Scaled"), type="Normal",
                  lastTimestamp="2026-11-25T11:59:00Z")
    elsewhere = dict(event("Deployment", "web", "other", "Elsewhere"),
                     lastTimestamp="2026-11-25T11:59:00Z")
    another = dict(event("Deployment", "api", "shop", "Another"),
                   lastTimestamp="2026-11-25T11:59:00Z")
    # events.k8s.io/v1: regarding, note, eventTime
    v1 = {"type": "Warning", "reason": "Newest", "note": "from  events.k8s.io",
          "eventTime": "2026-11-25T11:45:00.000000Z",
          "regarding": {"kind": "Deployment", "name": "web", "namespace": "shop"}}
    noise = [another, "junk", normal, elsewhere]
    assert last_warning(web, [POD], noise + [older, newer]) == "Newer: Newer web-abc-x1"
    assert last_warning(web, [POD], [newer] + noise + [older]) == "Newer: Newer web-abc-x1"
    assert last_warning(web, [POD], noise + [older, v1, newer]) == \
        "Newest: from events.k8s.io"
    assert last_warning(web, [POD], noise) == ""


def test_a_pod_of_no_owner_by_uid_is_not_the_objects():
    job = {"kind": "Job", "metadata": {"name": "migrate", "namespace": "shop", "uid": "u-1"}}
    stranger = {"metadata": {"name": "p-2", "namespace": "shop",
                             "ownerReferences": [{"kind": "Job", "name": "x", "uid": "u-2",
                                                  "controller": True}]}}
    assert last_warning(job, [stranger], [event("Pod", "p-2", "shop")]) == ""


def test_an_undated_warning_never_outranks_a_dated_one():
    dated = event("Pod", "web-abc-x1", "shop", "Dated")
    undated = {k: v for k, v in event("Deployment", "web", "shop", "Undated").items()
               if k != "lastTimestamp"}
    assert last_warning(DEPLOYMENT, [POD], [dated, undated]) == "Dated: Dated web-abc-x1"
    assert last_warning(DEPLOYMENT, [POD], [undated]) == "Undated: Undated web"


def unschedulable_pod(seconds: float) -> dict:
    since = (NOW - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "shop"},
            "status": {"phase": "Pending", "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                 "message": "0/3 nodes are available", "lastTransitionTime": since}]}}


def test_the_default_unschedulable_grace_is_15_seconds():
    assert judge(unschedulable_pod(16), NOW).status is Status.FAILED
    assert judge(unschedulable_pod(15), NOW).status is Status.IN_PROGRESS


def test_an_object_not_found_says_so():
    assert judge(None, NOW) == Verdict(Status.IN_PROGRESS, "not found")


def test_of_warnings_at_the_same_time_the_last_listed_wins_and_text_may_be_empty():
    first = event("Deployment", "web", "shop", "First")
    second = {k: v for k, v in event("Deployment", "web", "shop", "Second").items()
              if k != "message"}
    assert last_warning(DEPLOYMENT, [], [first, second]) == "Second: "


def test_the_judge_applies_the_wait_rules():
    widget = {"apiVersion": "example.com/v1", "kind": "Widget",
              "metadata": {"name": "w", "namespace": "shop", "generation": 1},
              "status": {"observedGeneration": 1, "conditions": [
                  {"type": "Ready", "status": "False", "reason": "Pending"},
                  {"type": "Synced", "status": "True"}]}}
    assert judge(widget, NOW, wait_rules={"example.com/Widget": "Synced"}).status is Status.READY
    assert judge(widget, NOW).status is not Status.READY


def test_a_warning_already_in_the_message_is_not_repeated():
    pod = unschedulable_pod(1)
    said = {"type": "Warning", "reason": "Unschedulable", "message": "0/3 nodes are available",
            "lastTimestamp": "2026-11-25T11:59:59Z",
            "involvedObject": {"kind": "Pod", "name": "p", "namespace": "shop"}}
    assert judge(pod, NOW, events=[said]).message == \
        "pending, not scheduled: Unschedulable: 0/3 nodes are available"
    other = dict(said, reason="FailedScheduling")
    assert judge(pod, NOW, events=[other]).message.endswith(
        "; last event: FailedScheduling: 0/3 nodes are available")
