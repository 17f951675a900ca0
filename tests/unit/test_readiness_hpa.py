"""Issue 28: a HorizontalPodAutoscaler is ready once its controller can scale the target.

The conditions below are what kube-controller-manager v1.37.2 wrote on the local cluster (no
metrics API there), read with autoscaling/v2 and autoscaling/v1 (which carries them in an
annotation). Argo CD calls AbleToScale False (FailedGetScale, FailedUpdateScale) and
ScalingActive False (FailedGetResourceMetric, InvalidSelector) degraded.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from heat_k8s_hook.readiness.rules import Status, Verdict, object_status

NOW = datetime(2026, 12, 5, 7, 2, 0, tzinfo=timezone.utc)

ABLE = {"type": "AbleToScale", "status": "True", "reason": "SucceededGetScale",
        "message": "the HPA controller was able to get the target's current scale"}
NO_TARGET = {"type": "AbleToScale", "status": "False", "reason": "FailedGetScale",
             "message": "the HPA controller was unable to get the target's current scale: "
                        "deployments.apps \"nosuch\" not found"}
NO_METRICS = {"type": "ScalingActive", "status": "False", "reason": "FailedGetResourceMetric",
              "message": "the HPA was unable to compute the replica count: failed to get cpu "
                         "utilization: unable to get metrics for resource cpu"}
DISABLED = {"type": "ScalingActive", "status": "False", "reason": "ScalingDisabled",
            "message": "scaling is disabled since the replica count of the target is zero"}
BAD_SELECTOR = {"type": "ScalingActive", "status": "False", "reason": "InvalidSelector",
                "message": "the HPA target's scale is missing a selector"}
ACTIVE = {"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound",
          "message": "the HPA was able to successfully calculate a replica count from cpu "
                     "resource utilization (percentage of request)"}
LIMITED = {"type": "ScalingLimited", "status": "True", "reason": "TooFewReplicas",
           "message": "the desired replica count is less than the minimum replica count"}


def hpa(conditions=None, api="autoscaling/v2", status=None):
    obj = {"apiVersion": api, "kind": "HorizontalPodAutoscaler",
           "metadata": {"name": "web", "namespace": "default", "generation": 1},
           "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                       "name": "web"}, "minReplicas": 1, "maxReplicas": 3}}
    obj["status"] = dict(status or {"currentReplicas": 1, "desiredReplicas": 1,
                                    "observedGeneration": 1})
    if conditions is not None:
        if api == "autoscaling/v1":
            obj["metadata"]["annotations"] = {
                "autoscaling.alpha.kubernetes.io/conditions": json.dumps(conditions)}
        else:
            obj["status"]["conditions"] = conditions
    return obj


R, P, F, U = Status.READY, Status.IN_PROGRESS, Status.FAILED, Status.UNKNOWN


@pytest.mark.parametrize("api", ["autoscaling/v2", "autoscaling/v1"])
@pytest.mark.parametrize("conditions,status,message", [
    (None, P, "waiting for the autoscaler's first check"),
    ([ABLE, ACTIVE], R, "scaling active: 1 replicas, 1 desired"),
    ([ABLE, ACTIVE, LIMITED], R, "scaling active: 1 replicas, 1 desired"),
    ([ABLE, NO_METRICS], P, "cannot scale: ScalingActive is False: FailedGetResourceMetric: "
                            + NO_METRICS["message"]),
    ([NO_TARGET], P, "cannot scale: AbleToScale is False: FailedGetScale: "
                     + NO_TARGET["message"]),
    ([NO_TARGET, NO_METRICS], P, "cannot scale: AbleToScale is False: FailedGetScale: "
                                 + NO_TARGET["message"]),
    ([ABLE, DISABLED], R, "scaling disabled: ScalingDisabled: " + DISABLED["message"]),
    ([ABLE, BAD_SELECTOR], F, "cannot scale: ScalingActive is False: InvalidSelector: "
                              + BAD_SELECTOR["message"]),
    ([dict(ABLE, status="Unknown", reason="", message="")], P,
     "cannot scale: AbleToScale is Unknown"),
])
def test_hpa_verdicts(api, conditions, status, message):
    assert object_status(hpa(conditions, api), NOW) == Verdict(status, message)


def test_hpa_generation_not_observed_waits():
    obj = hpa([ABLE, ACTIVE], status={"observedGeneration": 1})
    obj["metadata"]["generation"] = 2
    assert object_status(obj, NOW).status == P


def test_hpa_wait_rule_overrides():
    verdict = object_status(hpa([ABLE, NO_METRICS]), NOW,
                            {"autoscaling/HorizontalPodAutoscaler": "AbleToScale"})
    assert verdict == Verdict(R, "AbleToScale is True")


@pytest.mark.parametrize("annotation", ["not json", "{}", "[1, 2]"])
def test_hpa_v1_annotation_malformed_never_raises(annotation):
    obj = hpa(None, "autoscaling/v1")
    obj["metadata"]["annotations"] = {"autoscaling.alpha.kubernetes.io/conditions": annotation}
    verdict = object_status(obj, NOW)
    if annotation == "not json":
        assert verdict.status == U and "autoscaling.alpha.kubernetes.io/conditions" in verdict.message
    else:
        assert verdict == Verdict(P, "waiting for the autoscaler's first check")


def test_hpa_without_api_version_is_still_an_hpa():
    obj = hpa([ABLE, NO_METRICS])
    del obj["apiVersion"]
    assert object_status(obj, NOW).status == P
