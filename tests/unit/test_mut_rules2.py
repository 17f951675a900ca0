"""readiness/rules.py's survivors of mutation run c (docs/testing.md): wrong verdicts first
(a DaemonSet whose pod count is not computed yet, an OnDelete DaemonSet, a StatefulSet without
spec.replicas or with its partition at the top, a CRD whose names were refused, a pod that will
not be restarted, pods of an older or unknown revision), then the exact messages, then the pod
linking rule (`owns`, `selects`, label selectors) at the inputs the mutants moved.

The kstatus and Argo CD objects are read from the shared corpora, as they are (each file names
its source); every call into the rules happens in a test body, so the mutant under test is on.
"""
from __future__ import annotations

import copy
import pathlib
from datetime import timedelta, timezone

import pytest
import yaml
from test_mut_rules import NOW, obj, verdict
from test_owners import pod as owned_pod
from test_owners import workload

from heat_k8s_hook.readiness.rules import (
    Status,
    controller_of,
    first_terminating_pod,
    first_unready_pod,
    label_selector_matches,
    object_status,
    owns,
    pod_failure,
    pod_owners,
    selects,
    terminating_pods,
    workload_failure,
)

PEERS = pathlib.Path("/work/shared/corpora/peer-readiness")


def peer(name: str) -> dict:
    return yaml.safe_load((PEERS / name).read_text())


# ---------------------------------------------------------------------------------------------
# Verdicts of real objects (kstatus, Argo CD)


@pytest.mark.parametrize("name,expected", [
    # observed, but the controller has not yet computed how many pods it wants: not "0 of 0"
    ("kstatus-dsBadStatus.yaml", (Status.IN_PROGRESS, "desired number of pods not yet computed")),
    # OnDelete: pods are replaced only when deleted, so 0 updated of 1 is still ready
    ("argo-daemonset-ondelete.yaml", (Status.READY, "1 of 1 pods available")),
    ("kstatus-dsLessReady.yaml", (Status.IN_PROGRESS, "2 of 4 pods ready")),
    # spec.replicas defaults to 1: a StatefulSet with no pods yet is not ready
    ("kstatus-stsNoStatus.yaml", (Status.IN_PROGRESS, "0 of 1 replicas created")),
    ("kstatus-pvcBound.yaml", (Status.READY, "bound")),
    ("kstatus-pvcNoStatus.yaml", (Status.IN_PROGRESS, "no phase yet, waiting to be bound")),
    ("argo-pvc-pending.yaml", (Status.IN_PROGRESS, "Pending, waiting to be bound")),
    ("kstatus-crdInstalling.yaml", (Status.IN_PROGRESS, "not yet established")),
    ("kstatus-crdNamesNotAccepted.yaml", (Status.FAILED, "SomeReason")),
])
def test_peer_objects(name, expected):
    assert verdict(peer(name)) == expected


def test_a_rolling_daemonset_waits_for_its_updated_pods():
    ds = peer("argo-daemonset-ondelete.yaml")
    ds["spec"]["updateStrategy"] = {"type": "RollingUpdate"}
    assert verdict(ds) == (Status.IN_PROGRESS, "0 of 1 pods updated")


def test_a_statefulset_without_spec_replicas_wants_one():
    sts = obj("apps/v1", "StatefulSet", {}, {"replicas": 1, "readyReplicas": 1,
                                            "currentRevision": "db-1", "updateRevision": "db-1"})
    assert verdict(sts) == (Status.READY, "1 of 1 replicas ready")


@pytest.mark.parametrize("partition", [2, 3])
def test_a_statefulset_partition_at_or_above_its_replicas_updates_none(partition):
    sts = obj("apps/v1", "StatefulSet",
              {"replicas": 2, "updateStrategy": {"type": "RollingUpdate",
                                                 "rollingUpdate": {"partition": partition}}},
              {"replicas": 2, "readyReplicas": 2, "updatedReplicas": 0,
               "currentRevision": "db-1", "updateRevision": "db-2"})
    assert verdict(sts) == (
        Status.READY, f"2 of 2 replicas ready, 0 updated (partition {partition})")


CRD = "apiextensions.k8s.io/v1"


def test_a_crd_whose_names_were_refused_without_a_reason():
    crd = obj(CRD, "CustomResourceDefinition", {}, {"conditions": [
        {"type": "NamesAccepted", "status": "False"}]})
    assert verdict(crd) == (Status.FAILED, "names not accepted")


def test_a_crd_not_established_for_a_reason_other_than_installing_fails():
    # the API server's naming controller: Established False, NotAccepted, when names conflict
    crd = obj(CRD, "CustomResourceDefinition", {}, {"conditions": [
        {"type": "Established", "status": "False", "reason": "NotAccepted",
         "message": "not all names are accepted"}]})
    assert verdict(crd) == (Status.FAILED, "NotAccepted: not all names are accepted")


def test_a_crd_established_unknown_waits():
    crd = obj(CRD, "CustomResourceDefinition", {}, {"conditions": [
        {"type": "Established", "status": "Unknown", "reason": "NotAccepted"}]})
    assert verdict(crd) == (Status.IN_PROGRESS, "not yet established")


@pytest.mark.parametrize("reason", [{}, {"reason": ""}])
def test_a_crd_not_established_without_a_reason_waits(reason):
    """A deliberate difference from kstatus (crdConditions: Failed for any reason but
    Installing): a False with no reason gives the user no cause to act on, so the rule waits
    and the timeout names the CRD. The API server always gives one (Installing, NotAccepted)."""
    crd = obj(CRD, "CustomResourceDefinition", {}, {"conditions": [
        {"type": "Established", "status": "False", **reason}]})
    assert verdict(crd) == (Status.IN_PROGRESS, "not yet established")


@pytest.mark.parametrize("status,expected", [
    ({"phase": "Bound"}, (Status.READY, "bound")),
    ({"phase": "Lost"}, (Status.FAILED, "lost its volume")),
])
def test_a_pvc_without_a_volume_name(status, expected):
    assert verdict(obj("v1", "PersistentVolumeClaim", {}, status)) == expected


@pytest.mark.parametrize("phase,expected", [
    ("Bound", (Status.READY, "bound to volume pv-1")),
    ("Lost", (Status.FAILED, "lost its volume pv-1")),
])
def test_a_pvc_with_a_volume_name(phase, expected):
    pvc = obj("v1", "PersistentVolumeClaim", {"volumeName": "pv-1"}, {"phase": phase})
    assert verdict(pvc) == expected


@pytest.mark.parametrize("cond,message", [
    ({"type": "Synced"}, "Synced is Unknown"),
    ({"type": "Synced", "reason": "Waiting"}, "Synced is Unknown: Waiting"),
    ({"type": "Synced", "status": "False"}, "Synced is False"),
])
def test_a_wait_rule_condition_without_status_is_unknown(cond, message):
    widget = obj("example.com/v1", "Widget", {}, {"conditions": [cond]})
    v = object_status(widget, NOW, {"example.com/Widget": "Synced"})
    assert (v.status, v.message) == (Status.IN_PROGRESS, message)


# ---------------------------------------------------------------------------------------------
# Pods that will not recover by waiting


def bare_pod(statuses: list, restart_policy: str | None = None) -> dict:
    out = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "p", "namespace": "shop"},
           "spec": {"containers": [{"name": s["name"]} for s in statuses]},
           "status": {"phase": "Running", "containerStatuses": statuses}}
    if restart_policy is not None:
        out["spec"]["restartPolicy"] = restart_policy
    return out


EXITED = {"name": "job", "ready": False, "restartCount": 1,
          "state": {"terminated": {"exitCode": 1}}}
BACKING_OFF = ("pod p container job: CrashLoopBackOff: exited again after a restart, "
               "restarting after a back-off (last exit code 1, 1 restart)")


@pytest.mark.parametrize("policy,expected", [
    ("Never", None),      # the kubelet will not restart it: nothing is backing off
    ("OnFailure", BACKING_OFF),
    ("Always", BACKING_OFF),
    (None, BACKING_OFF),  # Always is the default
])
def test_an_exit_after_a_restart_is_a_back_off_unless_never_restarted(policy, expected):
    assert pod_failure(bare_pod([dict(EXITED)], policy), NOW) == expected


def test_a_never_restarted_pod_that_exited_is_still_in_progress():
    assert verdict(bare_pod([dict(EXITED)], "Never")) == (
        Status.IN_PROGRESS, "running, 0 of 1 containers ready")


@pytest.mark.parametrize("reason", ["", 5, None])
def test_an_exit_without_a_readable_reason_shows_just_its_code(reason):
    status = {"name": "c", "restartCount": 2,
              "state": {"waiting": {"reason": "CrashLoopBackOff"}},
              "lastState": {"terminated": {"exitCode": 1, "reason": reason}}}
    assert pod_failure(bare_pod([status]), NOW) == (
        "pod p container c: CrashLoopBackOff (last exit code 1, 2 restarts)")


@pytest.mark.parametrize("name", [None, 5])
def test_a_pod_without_a_name_string_is_unnamed(name):
    status = {"name": "c", "state": {"waiting": {"reason": "ErrImagePull"}}}
    pod = bare_pod([status])
    if name is None:
        del pod["metadata"]["name"]
    else:
        pod["metadata"]["name"] = name
    assert pod_failure(pod, NOW) == "pod <unnamed> container c: ErrImagePull"


UNSCHEDULABLE = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                 "message": "0/1 nodes are available: 1 Insufficient cpu."}


@pytest.mark.parametrize("seconds,expected", [
    (15, None),
    (16, "pod p: Unschedulable: 0/1 nodes are available: 1 Insufficient cpu."),
])
def test_the_default_unschedulable_grace_is_15_seconds(seconds, expected):
    since = (NOW - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"},
           "status": {"phase": "Pending",
                      "conditions": [dict(UNSCHEDULABLE, lastTransitionTime=since)]}}
    assert pod_failure(pod, NOW) == expected


# ---------------------------------------------------------------------------------------------
# workload_failure: which pods are of the current revision


def crashing(name: str, controller: tuple, labels) -> dict:
    pod = owned_pod(name, controller, {})
    pod["metadata"]["labels"] = labels
    pod["status"] = {"phase": "Running", "containerStatuses": [
        {"name": "c", "restartCount": 3,
         "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}}}]}
    return pod


def cause(name: str) -> str:
    return f"pod {name} container c: CrashLoopBackOff: back-off 40s (3 restarts)"


def failure(w: dict, pods: list):
    v = workload_failure(w, pods, NOW)
    return None if v is None else (v.status, v.message, v.pods)


def deployment(api_version: str, message: str) -> dict:
    dep = workload(api_version, "Deployment", "web", "u-web", {"app": "web"})
    dep["status"] = {"conditions": [{"type": "Progressing", "status": "True",
                                     "reason": "ReplicaSetUpdated", "message": message}]}
    return dep


@pytest.mark.parametrize("api_version", ["apps/v1", "extensions/v1beta1"])
def test_a_deployment_skips_the_pods_of_its_old_replicaset(api_version):
    dep = deployment(api_version, 'ReplicaSet "web-new" is progressing.')
    old = crashing("web-old-a", (api_version, "ReplicaSet", "web-old", "u-old"),
                   {"app": "web", "pod-template-hash": "old"})
    new = crashing("web-new-a", (api_version, "ReplicaSet", "web-new", "u-new"),
                   {"app": "web", "pod-template-hash": "new"})
    assert failure(dep, [old]) is None
    assert failure(dep, [old, new]) == (Status.FAILED, cause("web-new-a"), ("web-new-a",))


def test_a_deployment_whose_progressing_message_names_no_replicaset_counts_its_pods():
    dep = deployment("apps/v1", "Deployment does not have minimum availability.")
    pod = crashing("web-x-a", ("apps/v1", "ReplicaSet", "web-x", "u-x"),
                   {"app": "web", "pod-template-hash": "x"})
    assert failure(dep, [pod]) == (Status.FAILED, cause("web-x-a"), ("web-x-a",))


def statefulset() -> dict:
    sts = workload("apps/v1", "StatefulSet", "db", "u-db", {"app": "db"})
    sts["status"] = {"updateRevision": "db-2", "currentRevision": "db-1"}
    return sts


STS_REF = ("apps/v1", "StatefulSet", "db", "u-db")


@pytest.mark.parametrize("labels", [
    {"app": "db"},                       # no controller-revision-hash: not known to be old
    {"app": "db", "controller-revision-hash": "db-2"},
    "junk", ["app"],                     # unreadable labels: read as none
])
def test_a_statefulset_counts_pods_not_known_to_be_old(labels):
    pod = crashing("db-0", STS_REF, labels)
    assert failure(statefulset(), [pod]) == (Status.FAILED, cause("db-0"), ("db-0",))


def test_a_statefulset_skips_pods_of_an_older_revision():
    pod = crashing("db-0", STS_REF, {"app": "db", "controller-revision-hash": "db-1"})
    assert failure(statefulset(), [pod]) is None


def daemonset(api_version: str, generation) -> dict:
    ds = workload(api_version, "DaemonSet", "agent", "u-agent", {"app": "agent"})
    if generation is not None:
        ds["metadata"]["annotations"] = {"deprecated.daemonset.template.generation": generation}
    return ds


@pytest.mark.parametrize("api_version", ["apps/v1", "extensions/v1beta1"])
def test_a_daemonset_skips_pods_of_an_older_template_generation(api_version):
    ref = (api_version, "DaemonSet", "agent", "u-agent")
    old = crashing("agent-a", ref, {"app": "agent", "pod-template-generation": "1"})
    new = crashing("agent-b", ref, {"app": "agent", "pod-template-generation": "2"})
    assert failure(daemonset(api_version, "2"), [old]) is None
    assert failure(daemonset(api_version, "2"), [old, new]) == (
        Status.FAILED, cause("agent-b"), ("agent-b",))


@pytest.mark.parametrize("generation,labels", [
    ("2", {"app": "agent"}),                                  # the pod carries no generation
    (None, {"app": "agent", "pod-template-generation": "1"}),  # the DaemonSet names none
])
def test_a_daemonset_counts_pods_of_an_unknown_generation(generation, labels):
    pod = crashing("agent-a", ("apps/v1", "DaemonSet", "agent", "u-agent"), labels)
    assert failure(daemonset("apps/v1", generation), [pod]) == (
        Status.FAILED, cause("agent-a"), ("agent-a",))


# ---------------------------------------------------------------------------------------------
# terminating_pods


def test_terminating_pods_names_the_first_and_counts_the_others():
    dep = deployment("apps/v1", 'ReplicaSet "web-new" is progressing.')
    pods = []
    for name in ("web-old-b", "web-old-a", "web-new-a"):
        p = owned_pod(name, ("apps/v1", "ReplicaSet", name[:7], f"u-{name[:7]}"),
                      {"app": "web", "pod-template-hash": name[4:7]})
        if "old" in name:
            p["metadata"]["deletionTimestamp"] = "2026-11-25T11:59:00Z"
        pods.append(p)
    assert terminating_pods(dep, pods) == "pod web-old-a still terminating (and 1 more pod)"
    assert terminating_pods(dep, pods[1:]) == "pod web-old-a still terminating"
    assert terminating_pods(dep, pods[2:]) is None
    assert terminating_pods(statefulset(), pods) is None


# ---------------------------------------------------------------------------------------------
# The pod linking rule


def test_owns_refuses_what_is_not_an_object():
    takes_all = workload("apps/v1", "Deployment", "web", "u-web", {})   # an empty selector
    assert owns(takes_all, {"metadata": {"name": "p"}}, "apps/Deployment") is True
    assert owns(takes_all, "junk", "apps/Deployment") is False
    assert owns(takes_all, None, "apps/Deployment") is False
    assert owns(None, {"metadata": {"name": "p"}}, "apps/Deployment") is False
    assert owns("junk", {"metadata": {"name": "p"}}, "Pod") is False


def pod_meta(name: str, uid: str | None) -> dict:
    meta = {"name": name, "namespace": "shop"}
    if uid is not None:
        meta["uid"] = uid
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta}


@pytest.mark.parametrize("mine,other,owned", [
    (("p", "u1"), ("p", "u1"), True),
    (("p", "u1"), ("p", "u2"), False),    # the same name, created again: another pod
    (("p", "u1"), ("q", "u1"), True),     # the uid decides
    (("p", None), ("p", "u2"), True),     # a manifest has no uid yet: the name decides
    (("p", "u1"), ("p", None), True),
    (("p", None), ("q", "u2"), False),
    (("", None), ("", None), False),
])
def test_a_pod_owns_itself_by_uid_else_by_name(mine, other, owned):
    assert owns(pod_meta(*mine), pod_meta(*other), "Pod") is owned


def test_a_core_group_controller_owns_its_pods():
    rc = {"apiVersion": "v1", "kind": "ReplicationController",
          "metadata": {"name": "rc", "namespace": "shop", "uid": "u-rc"},
          "spec": {"selector": {"app": "rc"}}}
    pod = owned_pod("rc-a", ("v1", "ReplicationController", "rc", "u-rc"), {"app": "rc"})
    assert owns(rc, pod, "ReplicationController") is True
    assert selects(rc, pod) is True
    stranger = owned_pod("rc-b", ("v1", "ReplicationController", "rc", "u-other"), {})
    assert owns(rc, stranger, "ReplicationController") is False


@pytest.mark.parametrize("ref,owners", [
    ({"name": "x", "kind": ""}, []),
    ({"name": "x"}, []),
    ({"kind": "ReplicaSet"}, []),
    ({"name": "", "kind": "ReplicaSet"}, []),
    ({"name": "x", "kind": "ReplicaSet"}, [("ReplicaSet", "x")]),
])
def test_pod_owners_needs_a_controller_name_and_kind(ref, owners):
    pod = {"kind": "Pod", "metadata": {"name": "p", "ownerReferences": [
        dict(ref, controller=True)]}}
    assert pod_owners(pod) == owners


def test_selects_only_pods():
    dep = workload("apps/v1", "Deployment", "web", "u-web", {"app": "web"})
    rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
          "metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web"}}}
    assert selects(dep, rs) is False
    no_kind = copy.deepcopy(rs)
    del no_kind["kind"]
    assert selects(dep, no_kind) is True     # a list item carries no kind
    assert selects(dep, dict(rs, kind="Pod")) is True


def test_selects_of_an_unreadable_workload_is_false():
    pod = owned_pod("p", None, {"app": "web"})
    assert selects({"kind": "Deployment", "metadata": "junk"}, pod) is False
    assert selects(workload("apps/v1", "Deployment", "web", "u", {}), pod) is True


@pytest.mark.parametrize("wns,pns,same", [
    (None, "default", True),    # a workload without a namespace is in "default"
    ("", "default", True),
    (None, None, True),
    ("", "shop", False),
    (5, "default", True),
])
def test_selects_reads_a_missing_namespace_as_default(wns, pns, same):
    dep = workload("apps/v1", "Deployment", "web", "u", {"app": "web"})
    pod = owned_pod("p", None, {"app": "web"})
    for o, ns in ((dep, wns), (pod, pns)):
        if ns is None:
            del o["metadata"]["namespace"]
        else:
            o["metadata"]["namespace"] = ns
    assert selects(dep, pod) is same


@pytest.mark.parametrize("labels", ["junk", ["app"], 5])
def test_an_unclaimed_pod_with_unreadable_labels_is_not_adopted(labels):
    dep = workload("apps/v1", "Deployment", "web", "u", {"app": "web"})
    pod = owned_pod("p", None, {})
    pod["metadata"]["labels"] = labels
    assert selects(dep, pod) is False


def test_a_job_with_a_selector_adopts_by_it_not_by_job_name():
    job = workload("batch/v1", "Job", "migrate", "u-job", {"controller-uid": "u-job"})
    assert selects(job, owned_pod("a", None, {"controller-uid": "u-job"})) is True
    assert selects(job, owned_pod("b", None, {"job-name": "migrate"})) is False


def test_only_a_job_adopts_by_job_name():
    dep = workload("apps/v1", "Deployment", "migrate", "u", None)
    assert selects(dep, owned_pod("a", None, {"job-name": "migrate"})) is False
    job = workload("batch/v1", "Job", "migrate", "u-job", None)
    assert selects(job, owned_pod("a", None, {"job-name": "migrate"})) is True


@pytest.mark.parametrize("selector", [
    "junk", None, ["app"],
    {"matchLabels": "abc"}, {"matchLabels": ["app"]},
    {"matchLabels": {}, "matchExpressions": "x"},
])
def test_an_unreadable_selector_matches_nothing(selector):
    assert label_selector_matches(selector, {"app": "web"}) is False


@pytest.mark.parametrize("expr", [
    {"key": "app", "operator": "Exists", "values": "web"},     # values not a list
    {"key": "app", "operator": "In", "values": "web-frontend"},
    {"key": 5, "operator": "DoesNotExist", "values": []},      # key not a string
    {"key": None, "operator": "DoesNotExist"},
    {"key": "app", "operator": "Bogus"},
])
def test_an_unreadable_expression_matches_nothing(expr):
    assert label_selector_matches({"matchExpressions": [expr]}, {"app": "web"}) is False


# ---------------------------------------------------------------------------------------------
# Run c, later survivors


def test_a_failing_container_after_a_healthy_one_is_found():
    ok = {"name": "a", "ready": True, "state": {"running": {}}}
    bad = {"name": "b", "state": {"waiting": {"reason": "ErrImagePull"}}}
    init_done = {"name": "init", "state": {"terminated": {"exitCode": 0}}}
    pod = bare_pod([ok, bad])
    pod["status"]["initContainerStatuses"] = [init_done]
    assert pod_failure(pod, NOW) == "pod p container b: ErrImagePull"


def test_a_failing_container_without_a_name_is_a_question_mark():
    pod = bare_pod([{"name": "", "state": {"waiting": {"reason": "ErrImagePull"}}}])
    assert pod_failure(pod, NOW) == "pod p container ?: ErrImagePull"
    del pod["status"]["containerStatuses"][0]["name"]
    assert pod_failure(pod, NOW) == "pod p container ?: ErrImagePull"


def test_a_deployment_with_fewer_ready_than_available_replicas_says_so():
    dep = obj("apps/v1", "Deployment", {"replicas": 2},
              {"replicas": 2, "updatedReplicas": 2, "availableReplicas": 2, "readyReplicas": 1})
    assert verdict(dep) == (Status.IN_PROGRESS, "1 of 2 replicas ready")


@pytest.mark.parametrize("status,expected", [
    ({"startTime": "2026-11-25T11:59:00Z", "active": 2},
     (Status.IN_PROGRESS, "running: 2 active, 0 succeeded, 0 failed")),
    ({"startTime": "2026-11-25T11:59:00Z", "succeeded": 2,
      "conditions": [{"type": "Complete", "status": "True"}]},
     (Status.READY, "complete, 2 succeeded")),
])
def test_a_job_without_completions_counts_just_its_successes(status, expected):
    # a work queue: spec.completions unset, any one success completes it
    assert verdict(obj("batch/v1", "Job", {"parallelism": 2}, status)) == expected


@pytest.mark.parametrize("ctype", ["Failed", "FailureTarget"])
def test_a_job_failed_without_reason_or_message(ctype):
    job = obj("batch/v1", "Job", {"completions": 1},
              {"startTime": "2026-11-25T11:59:00Z", "conditions": [
                  {"type": ctype, "status": "True"}]})
    assert verdict(job) == (Status.FAILED, "job failed")


@pytest.mark.parametrize("pod", ["junk", None, {"metadata": "junk"}, {"metadata": ["x"]},
                                 {"metadata": {"ownerReferences": "junk"}}])
def test_no_owners_for_an_unreadable_pod(pod):
    assert pod_owners(pod) == []
    assert controller_of(pod) is None


def test_a_pending_pod_with_nothing_waiting():
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"},
           "status": {"phase": "Pending"}}
    assert verdict(pod) == (Status.IN_PROGRESS, "pending")


def test_a_field_of_the_wrong_type_is_named():
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"},
           "status": {"phase": 5}}
    assert verdict(pod) == (Status.UNKNOWN, "malformed object: status.phase is not a string: 5")


@pytest.mark.parametrize("status,reason", [
    ("False", "SchedulingGated"),   # held by spec.schedulingGates: not a failure
    ("True", "Unschedulable"),
    ("Unknown", "Unschedulable"),
])
def test_only_unschedulable_false_fails_a_pod(status, reason):
    cond = dict(UNSCHEDULABLE, status=status, reason=reason,
                lastTransitionTime="2026-11-25T11:00:00Z")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"},
           "status": {"phase": "Pending", "conditions": [cond]}}
    assert pod_failure(pod, NOW) is None


def deleting(p: dict) -> dict:
    p["metadata"]["deletionTimestamp"] = "2026-11-25T11:59:00Z"
    return p


def test_only_a_deployments_terminating_pods_are_waited_for():
    sts_pod = deleting(owned_pod("db-0", STS_REF, {"app": "db"}))
    assert first_terminating_pod(statefulset(), [sts_pod]) is None
    assert first_terminating_pod("junk", [sts_pod]) is None


def test_an_extensions_deployments_terminating_pod():
    dep = deployment("extensions/v1beta1", 'ReplicaSet "web-new" is progressing.')
    pod = deleting(owned_pod("web-old-a", ("extensions/v1beta1", "ReplicaSet", "web-old", "u"),
                             {"app": "web", "pod-template-hash": "old"}))
    assert first_terminating_pod(dep, [pod]) == ("web-old-a", "pod web-old-a still terminating")


@pytest.mark.parametrize("rs_name", ["cache", "-5d9c"])
def test_a_replicaset_named_without_a_deployment_prefix_has_no_deployment(rs_name):
    pod = owned_pod("p", ("apps/v1", "ReplicaSet", rs_name, "u"), {"pod-template-hash": "5d9c"})
    assert pod_owners(pod) == [("apps/ReplicaSet", rs_name)]


@pytest.mark.parametrize("name,expected", [
    ("kstatus-TestSuspendedJobConditions.yaml",
     (Status.READY, "suspended (spec.suspend is true)")),
    ("argo-job-suspended.yaml", (Status.READY, "suspended (spec.suspend is true)")),
    # being resumed (the condition lags spec.suspend), or being suspended: both still moving
    ("kstatus-TestSuspendedJobTransitionConditions-fromSuspended.yaml",
     (Status.IN_PROGRESS, "not started")),
    ("kstatus-TestSuspendedJobTransitionConditions-toSuspended.yaml",
     (Status.IN_PROGRESS, "not started")),
    ("kstatus-TestPreviouslySuspendedJobConditions.yaml", (Status.IN_PROGRESS, "not started")),
])
def test_a_job_is_suspended_only_when_spec_and_condition_agree(name, expected):
    assert verdict(peer(name)) == expected


def test_first_unready_pod_is_only_asked_of_replicated_workloads():
    job = workload("batch/v1", "Job", "migrate", "u-job", None)
    pod = owned_pod("migrate-a", ("batch/v1", "Job", "migrate", "u-job"), {})
    assert selects(job, pod) is True
    assert first_unready_pod(job, [pod]) is None
    rs = workload("apps/v1", "ReplicaSet", "cache", "u-cache", {"app": "cache"})
    rs_pod = owned_pod("cache-a", ("apps/v1", "ReplicaSet", "cache", "u-cache"), {})
    assert first_unready_pod(rs, [rs_pod]) == ("cache-a", "pod cache-a not ready: phase Pending")


def test_an_unready_pod_is_explained_by_its_ready_condition_else_its_phase():
    rs = workload("apps/v1", "ReplicaSet", "cache", "u-cache", {"app": "cache"})
    ref = ("apps/v1", "ReplicaSet", "cache", "u-cache")
    no_phase = owned_pod("cache-a", ref, {})
    no_phase["status"] = {}
    assert first_unready_pod(rs, [no_phase]) == ("cache-a", "pod cache-a not ready: phase unknown")
    probing = owned_pod("cache-b", ref, {})
    probing["status"] = {"phase": "Running", "conditions": [
        {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
         "message": "containers with unready status: [c]"}]}
    assert first_unready_pod(rs, [probing]) == (
        "cache-b", "pod cache-b not ready: ContainersNotReady: containers with unready status: [c]")
    assert first_unready_pod(rs, [probing, no_phase]) == (
        "cache-a", "pod cache-a not ready: phase unknown (and 1 more pod not ready)")


def test_a_failing_pod_or_workload_being_deleted_is_not_a_failure():
    pod = bare_pod([{"name": "c", "state": {"waiting": {"reason": "ErrImagePull"}}}])
    assert failure(pod, [])[:2] == (Status.FAILED, "pod p container c: ErrImagePull")
    assert failure(deleting(pod), []) is None
    sts_pod = crashing("db-0", STS_REF, {"app": "db"})
    assert failure(statefulset(), [sts_pod]) == (Status.FAILED, cause("db-0"), ("db-0",))
    assert failure(deleting(statefulset()), [sts_pod]) is None


JOB_REF = ("batch/v1", "Job", "migrate", "u-job")


def job_pod(name: str, phase: str, code: int = 1) -> dict:
    pod = owned_pod(name, JOB_REF, {"job-name": "migrate"})
    pod["status"] = {"phase": phase, "containerStatuses": [
        {"name": "c", "state": {"terminated": {"exitCode": code}}}]}
    return pod


def failed_job(ctype: str, **cond) -> dict:
    job = workload("batch/v1", "Job", "migrate", "u-job", None)
    job["status"] = {"conditions": [dict(cond, type=ctype, status="True")]}
    return job


@pytest.mark.parametrize("ctype", ["Failed", "FailureTarget"])
def test_a_failed_job_names_its_last_failed_pod(ctype):
    # FailureTarget: the Job controller's verdict while its pods still terminate (1.31+)
    job = failed_job(ctype, reason="BackoffLimitExceeded",
                     message="Job has reached the specified backoff limit")
    pods = [job_pod("migrate-c", "Running"), job_pod("migrate-b", "Failed", 2)]
    assert failure(job, pods) == (
        Status.FAILED, "BackoffLimitExceeded: Job has reached the specified backoff limit; "
                       "pod migrate-b failed; container c exit code 2", ("migrate-b",))
    assert failure(job, pods[:1]) == (
        Status.FAILED, "BackoffLimitExceeded: Job has reached the specified backoff limit", ())


def test_a_failed_job_without_reason_or_message():
    assert failure(failed_job("Failed"), []) == (Status.FAILED, "job failed", ())
    assert failure(failed_job("FailureTarget"), [job_pod("migrate-a", "Failed")]) == (
        Status.FAILED, "job failed; pod migrate-a failed; container c exit code 1",
        ("migrate-a",))


def test_two_failing_pods_name_the_first_and_count_the_other():
    pods = [crashing("db-1", STS_REF, {"app": "db"}), crashing("db-0", STS_REF, {"app": "db"})]
    assert failure(statefulset(), pods) == (
        Status.FAILED, cause("db-0") + " (and 1 more pod failing)", ("db-0",))


def test_a_workload_without_metadata_generation_is_judged_by_its_pods():
    sts = statefulset()
    sts["status"]["observedGeneration"] = -1   # unreadable against a missing generation
    pod = crashing("db-0", STS_REF, {"app": "db"})
    assert failure(sts, [pod]) == (Status.FAILED, cause("db-0"), ("db-0",))
    sts["metadata"]["generation"] = 0
    assert failure(sts, [pod]) is None


@pytest.mark.parametrize("seconds,failing", [(15, False), (16, True)])
def test_workload_failures_default_unschedulable_grace_is_15_seconds(seconds, failing):
    since = (NOW - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")
    pod = owned_pod("db-0", STS_REF, {"app": "db"})
    pod["status"] = {"phase": "Pending",
                     "conditions": [dict(UNSCHEDULABLE, lastTransitionTime=since)]}
    expected = (Status.FAILED, "pod db-0: Unschedulable: 0/1 nodes are available: "
                               "1 Insufficient cpu.", ("db-0",))
    assert failure(statefulset(), [pod]) == (expected if failing else None)


def test_an_object_without_metadata_generation_is_not_waiting_for_one():
    cm = obj("v1", "ConfigMap")
    del cm["metadata"]["generation"]
    cm["status"]["observedGeneration"] = -1   # unreadable against a missing generation
    assert verdict(cm) == (Status.READY, "exists")
    cm["metadata"]["generation"] = 0
    assert verdict(cm) == (
        Status.IN_PROGRESS, "waiting for the controller to observe generation 0 (observed -1)")


@pytest.mark.parametrize("thing,message", [
    ([{"kind": "Pod"}], "not an object: list"),
    ("Pod", "not an object: str"),
])
def test_what_is_not_an_object_is_named_by_its_type(thing, message):
    v = object_status(thing, NOW)
    assert (v.status, v.message) == (Status.UNKNOWN, message)


def test_a_field_no_rule_can_hash_cannot_be_evaluated():
    # a waiting reason (looked up in a set) or a condition type (a dict key) that is a list
    pod = bare_pod([{"name": "c", "state": {"waiting": {"reason": ["ErrImagePull"]}}}])
    hpa = obj("autoscaling/v2", "HorizontalPodAutoscaler", {},
              {"conditions": [{"type": ["AbleToScale"], "status": "True"}]})
    for o in (pod, hpa):
        assert verdict(o) == (Status.UNKNOWN, "cannot evaluate: TypeError: unhashable type: 'list'")


def test_a_clock_in_another_zone_is_the_same_instant():
    since = (NOW - timedelta(seconds=10)).strftime("%Y-%m-%dT%H:%M:%SZ")
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"},
           "status": {"phase": "Pending",
                      "conditions": [dict(UNSCHEDULABLE, lastTransitionTime=since)]}}
    east = NOW.astimezone(timezone(timedelta(hours=2)))   # 14:00+02:00 is NOW
    assert pod_failure(pod, east) is None
    assert pod_failure(pod, east + timedelta(seconds=6)) == (
        "pod p: Unschedulable: 0/1 nodes are available: 1 Insufficient cpu.")


def test_a_malformed_nested_field_is_named_by_its_dotted_path():
    svc = obj("v1", "Service", {"type": "LoadBalancer"}, {"loadBalancer": "pending"})
    assert verdict(svc) == (
        Status.UNKNOWN, "malformed object: status.loadBalancer is not an object: str")
