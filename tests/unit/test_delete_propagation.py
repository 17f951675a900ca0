"""DELETE's propagation policy per kind (issue 17, scale): Foreground only where it buys
something (workloads: gone means their pods are gone), Background for the rest.

Breaking it on purpose (done once, went red): `propagation` returning "Foreground" for every
kind, as before, fails the first test; at N=500 that made the DELETE's ConfigMap/Secret/Service
stage 60 s instead of 21 s (bench/scale, docs/benchmarks.md).
"""
import pytest

from heat_k8s_hook.engine import plan


@pytest.mark.parametrize("kind", ["ConfigMap", "Secret", "Service", "ServiceAccount",
                                  "PersistentVolumeClaim", "Namespace",
                                  "CustomResourceDefinition"])
def test_objects_that_own_nothing_to_wait_for_go_in_the_background(kind):
    assert plan.propagation(kind) == "Background"


@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob",
                                  "ReplicaSet", "Pod", "Widget"])
def test_workloads_and_unknown_kinds_go_in_the_foreground(kind):
    assert plan.propagation(kind) == "Foreground"
