"""readiness/rules.py's survivors of the (partial) mutation run (docs/testing.md): each rule's
verdict and its exact message, at the boundaries the mutants moved."""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from heat_k8s_hook.readiness.rules import Status, object_status, pod_failure

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def obj(api_version: str, kind: str, spec=None, status=None, annotations=None) -> dict:
    meta = {"name": "x", "namespace": "shop", "generation": 1}
    if annotations:
        meta["annotations"] = annotations
    out = {"apiVersion": api_version, "kind": kind, "metadata": meta,
           "status": dict({"observedGeneration": 1}, **(status or {}))}
    if spec is not None:
        out["spec"] = spec
    return out


def verdict(o) -> tuple:
    v = object_status(o, NOW)
    return v.status, v.message


@pytest.mark.parametrize("spec,status,expected", [
    ({}, {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1},
     (Status.READY, "1 of 1 replicas available")),                    # spec.replicas: 1 default
    ({"replicas": 2}, {"replicas": 2, "readyReplicas": 1, "availableReplicas": 2},
     (Status.IN_PROGRESS, "1 of 2 replicas ready")),
    ({"replicas": 1}, {"replicas": 3, "readyReplicas": 1, "availableReplicas": 1},
     (Status.IN_PROGRESS, "2 extra replicas pending termination")),
    ({"replicas": 1}, {"replicas": 2, "readyReplicas": 1, "availableReplicas": 1},
     (Status.IN_PROGRESS, "1 extra replica pending termination")),
])
def test_replicaset(spec, status, expected):
    assert verdict(obj("apps/v1", "ReplicaSet", spec, status)) == expected


@pytest.mark.parametrize("spec,expected", [
    ({"suspend": True, "schedule": "*/5 * * * *"}, "exists (suspended)"),
    ({"suspend": False, "schedule": "*/5 * * * *"}, "exists, schedule '*/5 * * * *'"),
    ({}, "exists"),
])
def test_cronjob(spec, expected):
    assert verdict(obj("batch/v1", "CronJob", spec)) == (Status.READY, expected)


def test_apiservice_without_its_condition_waits_for_it():
    assert verdict(obj("apiregistration.k8s.io/v1", "APIService", {})) == (
        Status.IN_PROGRESS, "waiting for the Available condition")


def test_hpa_messages_name_an_unknown_status():
    able = {"type": "AbleToScale"}
    assert verdict(obj("autoscaling/v2", "HorizontalPodAutoscaler", {},
                       {"conditions": [able]}))[1] == "cannot scale: AbleToScale is Unknown"
    conds = [{"type": "AbleToScale", "status": "True"}, {"type": "ScalingActive"}]
    assert verdict(obj("autoscaling/v2", "HorizontalPodAutoscaler", {},
                       {"conditions": conds}))[1] == "cannot scale: ScalingActive is Unknown"


def test_hpa_v1_conditions_annotation_must_be_a_list_of_maps():
    v1 = "autoscaling/v1"
    annotation = "autoscaling.alpha.kubernetes.io/conditions"
    not_a_list = json.dumps({"type": "AbleToScale", "status": "True"})
    assert verdict(obj(v1, "HorizontalPodAutoscaler", {}, {}, {annotation: not_a_list})) == (
        Status.IN_PROGRESS, "waiting for the autoscaler's first check")
    hpa = obj(v1, "HorizontalPodAutoscaler", {}, {})
    hpa["metadata"]["annotations"] = "junk"
    assert verdict(hpa) == (Status.IN_PROGRESS, "waiting for the autoscaler's first check")


def test_pdb_with_exactly_the_required_pods_is_ready():
    assert verdict(obj("policy/v1", "PodDisruptionBudget", {},
                       {"currentHealthy": 2, "desiredHealthy": 2})) == (
        Status.READY, "2 healthy pods, 2 required")


def test_ready_condition_without_a_status_is_unknown():
    widget = obj("example.com/v1", "Widget", {}, {"conditions": [{"type": "Ready"}]})
    assert verdict(widget) == (Status.IN_PROGRESS, "Ready is Unknown")


def test_a_failed_container_without_a_name_is_shown_as_question_mark():
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"},
           "status": {"phase": "Failed", "containerStatuses": [
               {"state": {"terminated": {"exitCode": 3}}}]}}
    assert pod_failure(pod, NOW) == "pod p failed; container ? exit code 3"


def pod(phase: str, statuses: list, containers=None) -> dict:
    out = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"},
           "status": {"phase": phase, "containerStatuses": statuses}}
    if containers is not None:
        out["spec"] = {"containers": [{"name": n} for n in containers]}
    return out


RUNNING = {"name": "a", "ready": True, "state": {"running": {}}}


def waiting(name: str, reason: str) -> dict:
    return {"name": name, "ready": False, "state": {"waiting": {"reason": reason}}}


def test_a_running_pod_counts_its_ready_containers():
    assert verdict(pod("Running", [RUNNING, waiting("b", "ContainerCreating")], "ab")) == (
        Status.IN_PROGRESS, "running, 1 of 2 containers ready")
    # the spec's containers count, also those without a status yet; else the statuses
    assert verdict(pod("Running", [RUNNING], "ab"))[1] == "running, 1 of 2 containers ready"
    assert verdict(pod("Running", [RUNNING, waiting("b", "ContainerCreating")]))[1] == \
        "running, 1 of 2 containers ready"


def test_a_pending_pod_lists_each_waiting_container():
    statuses = [RUNNING, waiting("b", "ContainerCreating"), waiting("c", "PodInitializing")]
    assert verdict(pod("Pending", statuses)) == (
        Status.IN_PROGRESS, "pending: container b ContainerCreating, container c PodInitializing")


@pytest.mark.parametrize("phase,message", [("", "no phase yet"), ("Weird", "phase Weird")])
def test_a_namespace_in_no_known_phase(phase, message):
    assert verdict(obj("v1", "Namespace", None, {"phase": phase})) == (Status.IN_PROGRESS, message)


def test_a_load_balancer_ingress_without_address_is_a_question_mark():
    svc = obj("v1", "Service", {"type": "LoadBalancer"},
              {"loadBalancer": {"ingress": [{"ip": "1.2.3.4"}, {"hostname": "lb.example"}, {}]}})
    assert verdict(svc) == (Status.READY, "load balancer at 1.2.3.4, lb.example, ?")


def test_hpa_v1_conditions_annotation_that_is_a_number():
    hpa = obj("autoscaling/v1", "HorizontalPodAutoscaler", {}, {},
              {"autoscaling.alpha.kubernetes.io/conditions": "5"})
    assert verdict(hpa) == (Status.IN_PROGRESS, "waiting for the autoscaler's first check")
