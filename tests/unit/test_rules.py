"""Table tests of the readiness rules: plain objects in, a status and a message out."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import yaml

from heat_k8s_hook.readiness.rules import (
    KIND_RULES,
    Status,
    Verdict,
    group_kind,
    object_status,
    pod_failure,
    selects,
    workload_failure,
)

NOW = datetime(2024, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
READY, IN_PROGRESS, FAILED, UNKNOWN = (Status.READY, Status.IN_PROGRESS, Status.FAILED,
                                       Status.UNKNOWN)


def load(text: str) -> dict:
    return yaml.safe_load(text)


DEPLOY = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: default, generation: 2}
spec: {replicas: 3, selector: {matchLabels: {app: web}}}
"""


def deployment(status: str, base: str = DEPLOY) -> str:
    return base + "status:\n" + "".join(f"  {line}\n" for line in status.split("; "))


STS = """
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db, namespace: default, generation: 1}
"""

DS = """
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent, namespace: kube-system, generation: 1}
"""

RS = """
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: web-7d9f, namespace: default, generation: 1}
"""

POD = """
apiVersion: v1
kind: Pod
metadata: {name: web-7d9f-abc, namespace: default, creationTimestamp: "2024-01-01T11:59:00Z"}
"""

JOB = """
apiVersion: batch/v1
kind: Job
metadata: {name: migrate, namespace: default, generation: 1}
"""

CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com, generation: 1}
"""

WIDGET = """
apiVersion: example.com/v1
kind: Widget
metadata: {name: w, namespace: default, generation: 1}
"""


CASES = [
    # --- generic steps, for any kind
    ("terminating", DEPLOY.replace("generation: 2", "deletionTimestamp: '2024-01-01T00:00:00Z'"),
     IN_PROGRESS, "terminating"),
    ("generation not observed", deployment("observedGeneration: 1; replicas: 3"),
     IN_PROGRESS, "waiting for the controller to observe generation 2 (observed 1)"),
    ("stalled", WIDGET + """status:
  conditions: [{type: Stalled, status: "True", reason: BadSpec, message: size must be > 0}]
""", FAILED, "stalled: BadSpec: size must be > 0"),
    ("reconciling", WIDGET + """status:
  conditions: [{type: Reconciling, status: "True", reason: Progressing, message: scaling}]
""", IN_PROGRESS, "reconciling: Progressing: scaling"),
    ("stalled wins over kind rule", deployment(
        "observedGeneration: 2; conditions: [{type: Stalled, status: 'True', reason: X}]"),
     FAILED, "stalled: X"),
    # --- Deployment
    ("deployment ready", deployment(
        "observedGeneration: 2; replicas: 3; updatedReplicas: 3; readyReplicas: 3; "
        "availableReplicas: 3"), READY, "3 of 3 replicas available"),
    ("deployment rolling: available", deployment(
        "observedGeneration: 2; replicas: 3; updatedReplicas: 3; readyReplicas: 1; "
        "availableReplicas: 1"), IN_PROGRESS, "1 of 3 replicas available"),
    ("deployment rolling: updated", deployment(
        "observedGeneration: 2; replicas: 4; updatedReplicas: 1; readyReplicas: 3; "
        "availableReplicas: 3"), IN_PROGRESS, "1 of 3 replicas updated"),
    ("deployment old replicas", deployment(
        "observedGeneration: 2; replicas: 4; updatedReplicas: 3; readyReplicas: 3; "
        "availableReplicas: 3"), IN_PROGRESS, "1 old replica pending termination"),
    ("deployment paused", deployment(
        "observedGeneration: 2; replicas: 3; updatedReplicas: 0",
        DEPLOY.replace("spec: {", "spec: {paused: true, ")),
     IN_PROGRESS, "0 of 3 replicas updated (rollout paused)"),
    ("deployment no status", DEPLOY, IN_PROGRESS, "0 of 3 replicas updated"),
    ("deployment zero replicas", DEPLOY.replace("replicas: 3", "replicas: 0")
     + "status: {observedGeneration: 2}", READY, "0 of 0 replicas available"),
    ("deployment default one replica", DEPLOY.replace("replicas: 3, ", "")
     + "status: {observedGeneration: 2, replicas: 1, updatedReplicas: 1, readyReplicas: 1, "
       "availableReplicas: 1}", READY, "1 of 1 replicas available"),
    ("deployment progress deadline", deployment(
        "observedGeneration: 2; replicas: 3; updatedReplicas: 3; conditions: [{type: "
        "Progressing, status: 'False', reason: ProgressDeadlineExceeded, message: 'ReplicaSet "
        "\"web-7d9f\" has timed out progressing.'}]"),
     FAILED, 'ProgressDeadlineExceeded: ReplicaSet "web-7d9f" has timed out progressing.'),
    # --- StatefulSet
    ("sts ready", STS + """spec: {replicas: 2}
status: {observedGeneration: 1, replicas: 2, readyReplicas: 2, currentReplicas: 2,
  updatedReplicas: 2, currentRevision: db-1, updateRevision: db-1}
""", READY, "2 of 2 replicas ready"),
    ("sts creating", STS + "spec: {replicas: 3}\nstatus: {observedGeneration: 1, replicas: 1}",
     IN_PROGRESS, "1 of 3 replicas created"),
    ("sts not ready", STS + """spec: {replicas: 3}
status: {observedGeneration: 1, replicas: 3, readyReplicas: 2}
""", IN_PROGRESS, "2 of 3 replicas ready"),
    ("sts extra", STS + """spec: {replicas: 2}
status: {observedGeneration: 1, replicas: 3, readyReplicas: 3}
""", IN_PROGRESS, "1 extra replica pending termination"),
    ("sts revision rollout", STS + """spec: {replicas: 3}
status: {observedGeneration: 1, replicas: 3, readyReplicas: 3, updatedReplicas: 1,
  currentRevision: db-1, updateRevision: db-2}
""", IN_PROGRESS, "1 of 3 replicas updated to revision db-2"),
    ("sts partition in progress", STS + """spec:
  replicas: 4
  updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 2}}
status: {observedGeneration: 1, replicas: 4, readyReplicas: 4, updatedReplicas: 1,
  currentRevision: db-1, updateRevision: db-2}
""", IN_PROGRESS, "1 of 2 replicas updated (partition 2)"),
    ("sts partition done", STS + """spec:
  replicas: 4
  updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 2}}
status: {observedGeneration: 1, replicas: 4, readyReplicas: 4, updatedReplicas: 2,
  currentRevision: db-1, updateRevision: db-2}
""", READY, "4 of 4 replicas ready, 2 updated (partition 2)"),
    ("sts ondelete", STS + """spec: {replicas: 2, updateStrategy: {type: OnDelete}}
status: {observedGeneration: 1, replicas: 2, readyReplicas: 2, updatedReplicas: 0,
  currentRevision: db-1, updateRevision: db-2}
""", READY, "2 of 2 replicas ready (OnDelete: pods update when deleted)"),
    # --- DaemonSet
    ("ds ready", DS + """status: {observedGeneration: 1, desiredNumberScheduled: 3,
  currentNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3, numberReady: 3}
""", READY, "3 of 3 pods available"),
    ("ds not observed", DS, IN_PROGRESS, "not yet observed by the DaemonSet controller"),
    ("ds updating", DS + """status: {observedGeneration: 1, desiredNumberScheduled: 3,
  currentNumberScheduled: 3, updatedNumberScheduled: 1, numberAvailable: 3, numberReady: 3}
""", IN_PROGRESS, "1 of 3 pods updated"),
    ("ds unavailable", DS + """status: {observedGeneration: 1, desiredNumberScheduled: 3,
  currentNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 2, numberReady: 2}
""", IN_PROGRESS, "2 of 3 pods available"),
    ("ds scheduling", DS + """status: {observedGeneration: 1, desiredNumberScheduled: 3,
  currentNumberScheduled: 2}
""", IN_PROGRESS, "2 of 3 pods scheduled"),
    # --- ReplicaSet
    ("rs ready", RS + """spec: {replicas: 2}
status: {observedGeneration: 1, replicas: 2, readyReplicas: 2, availableReplicas: 2}
""", READY, "2 of 2 replicas available"),
    ("rs unavailable", RS + """spec: {replicas: 2}
status: {observedGeneration: 1, replicas: 2, readyReplicas: 1, availableReplicas: 1}
""", IN_PROGRESS, "1 of 2 replicas available"),
    ("rs replica failure", RS + """spec: {replicas: 2}
status:
  observedGeneration: 1
  conditions: [{type: ReplicaFailure, status: "True", reason: FailedCreate,
                message: exceeded quota}]
""", IN_PROGRESS, "0 of 2 replicas available; ReplicaFailure: FailedCreate: exceeded quota"),
    # --- Pod
    ("pod running ready", POD + """status:
  phase: Running
  conditions: [{type: Ready, status: "True"}]
""", READY, "running and ready"),
    ("pod succeeded", POD + "status: {phase: Succeeded}", READY, "succeeded"),
    ("pod running not ready", POD + """spec: {containers: [{name: a}, {name: b}]}
status:
  phase: Running
  conditions: [{type: Ready, status: "False"}]
  containerStatuses: [{name: a, ready: true}, {name: b, ready: false}]
""", IN_PROGRESS, "running, 1 of 2 containers ready"),
    ("pod pending creating", POD + """status:
  phase: Pending
  containerStatuses: [{name: web, state: {waiting: {reason: ContainerCreating}}}]
""", IN_PROGRESS, "pending: container web ContainerCreating"),
    ("pod not observed", POD, IN_PROGRESS, "not yet observed by the kubelet"),
    ("pod failed", POD + """status:
  phase: Failed
  reason: Evicted
  message: The node was low on resource memory.
""", FAILED, "pod web-7d9f-abc failed: Evicted: The node was low on resource memory."),
    ("pod crashloop", POD + """status:
  phase: Running
  containerStatuses:
  - name: web
    restartCount: 3
    lastState: {terminated: {exitCode: 2}}
    state: {waiting: {reason: CrashLoopBackOff, message: back-off 40s}}
""", FAILED, ("pod web-7d9f-abc container web: CrashLoopBackOff: back-off 40s "
             "(last exit code 2, 3 restarts)")),
    ("pod unschedulable in grace", POD + """status:
  phase: Pending
  conditions: [{type: PodScheduled, status: "False", reason: Unschedulable,
                lastTransitionTime: "2024-01-01T11:59:50Z", message: 0/1 nodes are available}]
""", IN_PROGRESS, "pending, not scheduled: Unschedulable: 0/1 nodes are available"),
    ("pod unschedulable past grace (judged by workload_failure)", POD + """status:
  phase: Pending
  conditions: [{type: PodScheduled, status: "False", reason: Unschedulable,
                lastTransitionTime: "2024-01-01T11:59:00Z", message: 0/1 nodes are available}]
""", IN_PROGRESS, "pending, not scheduled: Unschedulable: 0/1 nodes are available"),
    ("pod odd phase", POD + "status: {phase: Weird}", UNKNOWN, "unknown pod phase 'Weird'"),
    # --- Job
    ("job complete", JOB + """spec: {completions: 1}
status:
  observedGeneration: 1
  succeeded: 1
  conditions: [{type: Complete, status: "True"}]
""", READY, "complete, 1 of 1 succeeded"),
    ("job running", JOB + """spec: {completions: 3}
status: {startTime: "2024-01-01T11:00:00Z", active: 1, succeeded: 1, failed: 2}
""", IN_PROGRESS, "running: 1 active, 1 of 3 succeeded, 2 failed"),
    ("job not started", JOB, IN_PROGRESS, "not started"),
    ("job failed", JOB + """status:
  failed: 7
  conditions: [{type: Failed, status: "True", reason: BackoffLimitExceeded,
                message: Job has reached the specified backoff limit}]
""", FAILED, "BackoffLimitExceeded: Job has reached the specified backoff limit"),
    ("job failure target", JOB + """status:
  conditions: [{type: FailureTarget, status: "True", reason: DeadlineExceeded,
                message: Job was active longer than specified deadline}]
""", FAILED, "DeadlineExceeded: Job was active longer than specified deadline"),
    ("job suspended", JOB + """spec: {suspend: true}
status:
  conditions: [{type: Suspended, status: "True", reason: JobSuspended}]
""", READY, "suspended (spec.suspend is true)"),
    # --- CronJob
    ("cronjob", """apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: default}
spec: {schedule: "0 3 * * *"}
""", READY, "exists, schedule '0 3 * * *'"),
    # --- PVC
    ("pvc bound", """apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: default}
spec: {volumeName: pv-1}
status: {phase: Bound}
""", READY, "bound to volume pv-1"),
    ("pvc pending", """apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: default}
status: {phase: Pending}
""", IN_PROGRESS, "Pending, waiting to be bound"),
    ("pvc lost", """apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: default}
spec: {volumeName: pv-1}
status: {phase: Lost}
""", FAILED, "lost its volume pv-1"),
    # --- Service
    ("service clusterip", """apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {clusterIP: 10.0.0.1}
""", READY, "type ClusterIP"),
    ("service lb waiting", """apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {type: LoadBalancer, clusterIP: 10.0.0.1}
status: {loadBalancer: {}}
""", IN_PROGRESS, "waiting for the load balancer's address"),
    ("service lb ready", """apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {type: LoadBalancer}
status: {loadBalancer: {ingress: [{ip: 192.0.2.10}, {hostname: lb.example.com}]}}
""", READY, "load balancer at 192.0.2.10, lb.example.com"),
    # --- Namespace
    ("namespace active", ("apiVersion: v1\nkind: Namespace\nmetadata: {name: app}\n"
     "status: {phase: Active}"), READY, "active"),
    ("namespace terminating", ("apiVersion: v1\nkind: Namespace\nmetadata: {name: app}\n"
     "status: {phase: Terminating}"), IN_PROGRESS, "terminating"),
    # --- CRD
    ("crd established", CRD + """status:
  conditions: [{type: NamesAccepted, status: "True"}, {type: Established, status: "True"}]
""", READY, "established"),
    ("crd installing", CRD + """status:
  conditions: [{type: Established, status: "False", reason: Installing}]
""", IN_PROGRESS, "not yet established"),
    ("crd names conflict", CRD + """status:
  conditions: [{type: NamesAccepted, status: "False", reason: ListKindConflict,
                message: '"WidgetList" is already in use'}]
""", FAILED, 'ListKindConflict: "WidgetList" is already in use'),
    # --- APIService
    ("apiservice available", """apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1beta1.metrics.k8s.io}
status: {conditions: [{type: Available, status: "True"}]}
""", READY, "available"),
    ("apiservice unavailable", """apiVersion: apiregistration.k8s.io/v1
kind: APIService
metadata: {name: v1beta1.metrics.k8s.io}
status:
  conditions: [{type: Available, status: "False", reason: MissingEndpoints,
                message: endpoints for service/metrics-server have no addresses}]
""", IN_PROGRESS,
     "not available: MissingEndpoints: endpoints for service/metrics-server have no addresses"),
    # --- PDB
    ("pdb healthy", """apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: default, generation: 1}
status: {observedGeneration: 1, currentHealthy: 3, desiredHealthy: 2}
""", READY, "3 healthy pods, 2 required"),
    ("pdb short", """apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: default, generation: 1}
status: {observedGeneration: 1, currentHealthy: 1, desiredHealthy: 2}
""", IN_PROGRESS, "1 of 2 required pods healthy"),
    ("pdb unobserved", """apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: default, generation: 1}
""", IN_PROGRESS, "not yet observed by the disruption controller"),
    # --- HorizontalPodAutoscaler (more cases in test_readiness_hpa.py)
    ("hpa without metrics", """apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: default, generation: 1}
status:
  conditions:
  - {type: AbleToScale, status: "True", reason: SucceededGetScale}
  - {type: ScalingActive, status: "False", reason: FailedGetResourceMetric,
     message: unable to get metrics for resource cpu}
""", IN_PROGRESS, "cannot scale: ScalingActive is False: FailedGetResourceMetric: unable to get "
     "metrics for resource cpu"),
    # --- exist-and-ready kinds
    ("configmap", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: d}",
     READY, "exists"),
    ("secret", "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: d}", READY,
     "exists"),
    ("serviceaccount", "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: s}", READY,
     "exists"),
    ("rolebinding", ("apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n"
     "metadata: {name: r, namespace: d}"), READY, "exists"),
    # --- custom resources
    ("cr ready condition true", WIDGET + "status: {conditions: [{type: Ready, status: 'True'}]}",
     READY, "Ready is True"),
    ("cr ready condition false", WIDGET + """status:
  conditions: [{type: Ready, status: "False", reason: ReconcileFailed, message: no quota}]
""", IN_PROGRESS, "Ready is False: ReconcileFailed: no quota"),
    ("cr without conditions", WIDGET, READY, "exists (no readiness conditions)"),
    # --- malformed input never raises
    ("no kind", "metadata: {name: x}", UNKNOWN, "no kind"),
    ("no metadata", "kind: Widget", UNKNOWN, "no metadata"),
    ("replicas not a number", deployment("observedGeneration: 2; replicas: many"), UNKNOWN,
     "malformed object: status.replicas is not an integer: 'many'"),
    ("status not an object", DEPLOY + "status: [1, 2]", UNKNOWN,
     "malformed object: status is not an object: list"),
    ("conditions not a list", WIDGET + "status: {conditions: yes}", UNKNOWN,
     "malformed object: status.conditions is not a list: bool"),
]


@pytest.mark.parametrize("text,status,message", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_object_status(text, status, message):
    assert object_status(load(text), NOW) == Verdict(status, message)


def test_every_table_kind_has_a_case():
    covered = {group_kind(load(c[1])) for c in CASES}
    missing = {k for k in KIND_RULES if not k.startswith("extensions/")} - covered
    # Kinds that are ready on existence share one rule; one case each is enough for a few.
    assert missing <= {"LimitRange", "ResourceQuota", "rbac.authorization.k8s.io/Role",
                       "rbac.authorization.k8s.io/ClusterRole",
                       "rbac.authorization.k8s.io/ClusterRoleBinding",
                       "networking.k8s.io/NetworkPolicy", "scheduling.k8s.io/PriorityClass",
                       "storage.k8s.io/StorageClass"}


@pytest.mark.parametrize("obj", [None, "text", 3, [], {"kind": 3, "metadata": {}}])
def test_object_status_of_non_objects_is_unknown(obj):
    assert object_status(obj, NOW).status is UNKNOWN


WAIT_RULES = {"example.com/Widget": "Synced"}


@pytest.mark.parametrize("status_yaml,status,message", [
    ("{conditions: [{type: Synced, status: 'True'}, {type: Ready, status: 'False'}]}",
     READY, "Synced is True"),
    ("{conditions: [{type: Synced, status: 'False', reason: Pending, message: in queue}]}",
     IN_PROGRESS, "Synced is False: Pending: in queue"),
    ("{conditions: [{type: Ready, status: 'True'}]}", IN_PROGRESS, "waiting for condition Synced"),
    ("{}", IN_PROGRESS, "waiting for condition Synced"),
])
def test_wait_rules(status_yaml, status, message):
    obj = load(WIDGET + "status: " + status_yaml)
    assert object_status(obj, NOW, WAIT_RULES) == Verdict(status, message)


def test_wait_rules_come_after_generic_steps():
    obj = load(WIDGET + "status: {conditions: [{type: Stalled, status: 'True', reason: X}]}")
    assert object_status(obj, NOW, WAIT_RULES) == Verdict(FAILED, "stalled: X")


def test_naive_now_is_utc():
    pod = load(POD + """status:
  phase: Pending
  conditions: [{type: PodScheduled, status: "False", reason: Unschedulable,
                lastTransitionTime: "2024-01-01T11:59:50Z"}]
""")
    assert pod_failure(pod, NOW.replace(tzinfo=None)) is None
    assert pod_failure(pod, datetime(2024, 1, 1, 12, 1)) == "pod web-7d9f-abc: Unschedulable"


@pytest.mark.parametrize("obj,expected", [
    ({"apiVersion": "apps/v1", "kind": "Deployment"}, "apps/Deployment"),
    ({"apiVersion": "v1", "kind": "Pod"}, "Pod"),
    ({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition"},
     "apiextensions.k8s.io/CustomResourceDefinition"),
    ({"kind": "Pod"}, "Pod"),
    ({"kind": "Deployment"}, "apps/Deployment"),  # list items have no apiVersion
    ({"kind": "Job", "apiVersion": ""}, "batch/Job"),
    ({"kind": "Widget"}, "Widget"),
    ({}, ""),
    (None, ""),
])
def test_group_kind(obj, expected):
    assert group_kind(obj) == expected


# ---------------------------------------------------------------------------------------------
# pod_failure


def pod_with(container_status: str = "", extra_status: str = "", init: bool = False) -> dict:
    key = "initContainerStatuses" if init else "containerStatuses"
    text = POD + "status:\n  phase: Pending\n" + extra_status
    if container_status:
        text += f"  {key}:\n  - name: web\n" + "".join(
            f"    {line}\n" for line in container_status.split("; "))
    return load(text)


WAITING_CASES = [
    ("ErrImagePull", 'rpc error: pull access denied for "nginx:missing"', 0, None),
    ("ImagePullBackOff", 'Back-off pulling image "nginx:missing"', 4, 1),
    ("InvalidImageName", 'couldn\'t parse image name "nginx::1"', 0, None),
    ("CrashLoopBackOff", "back-off 5m0s restarting failed container=web", 7, 137),
    ("CreateContainerConfigError", 'secret "db-password" not found', 0, None),
    ("CreateContainerError", "context deadline exceeded", 0, None),
    ("RunContainerError", "exec: \"/app\": permission denied", 2, 128),
]


def _waiting_status(reason: str, message: str, restarts: int, code: int | None) -> str:
    status = f"restartCount: {restarts}; state: {{waiting: {{reason: {reason}, message: '" + \
        message.replace("'", "''") + "'}}"
    if code is not None:
        status += f"; lastState: {{terminated: {{exitCode: {code}}}}}"
    return status


def _suffix(restarts: int, code: int | None) -> str:
    parts = ([f"last exit code {code}"] if code is not None else []) + (
        [f"{restarts} restart" + ("s" if restarts != 1 else "")] if restarts else [])
    return f" ({', '.join(parts)})" if parts else ""


@pytest.mark.parametrize("init", [False, True], ids=["container", "init"])
@pytest.mark.parametrize("reason,message,restarts,code", WAITING_CASES,
                         ids=[c[0] for c in WAITING_CASES])
def test_pod_failure_waiting_reasons(reason, message, restarts, code, init):
    pod = pod_with(_waiting_status(reason, message, restarts, code), init=init)
    assert pod_failure(pod, NOW) == (
        f"pod web-7d9f-abc container web: {reason}: {message}{_suffix(restarts, code)}")


def test_pod_failure_example_from_the_issue():
    pod = pod_with('restartCount: 4; lastState: {terminated: {exitCode: 1}}; state: {waiting: '
                   '{reason: ImagePullBackOff, message: \'Back-off pulling image "nginx:missing"'
                   '\'}}')
    assert pod_failure(pod, NOW) == ('pod web-7d9f-abc container web: ImagePullBackOff: '
                                     'Back-off pulling image "nginx:missing" '
                                     '(last exit code 1, 4 restarts)')


@pytest.mark.parametrize("status", [
    "state: {waiting: {reason: ContainerCreating}}",
    "state: {waiting: {reason: PodInitializing}}",
    "state: {running: {startedAt: '2024-01-01T11:59:00Z'}}",
    "restartCount: 2; lastState: {terminated: {exitCode: 1}}; state: {running: {}}",
])
def test_pod_failure_none_while_starting(status):
    assert pod_failure(pod_with(status), NOW) is None


def test_pod_failure_message_is_one_line():
    pod = pod_with("state: {waiting: {reason: CreateContainerError, message: \"line one\\n"
                   "  line two\"}}")
    assert pod_failure(pod, NOW) == ("pod web-7d9f-abc container web: CreateContainerError: "
                                     "line one line two")


def test_pod_failure_phase_failed_names_exit_codes():
    pod = load(POD + """status:
  phase: Failed
  containerStatuses:
  - name: main
    state: {terminated: {exitCode: 3, reason: Error, message: migration 42 failed}}
  - name: sidecar
    state: {terminated: {exitCode: 0, reason: Completed}}
""")
    assert pod_failure(pod, NOW) == ("pod web-7d9f-abc failed; container main exit code 3 "
                                     "(Error): migration 42 failed")


UNSCHEDULABLE = """  conditions:
  - type: PodScheduled
    status: "False"
    reason: Unschedulable
    message: "0/1 nodes are available: 1 Insufficient cpu."
"""


@pytest.mark.parametrize("since,grace,failing", [
    ("2024-01-01T11:59:46Z", 15.0, False),   # 14 s: within the grace period
    ("2024-01-01T11:59:45Z", 15.0, False),   # exactly 15 s: still within
    ("2024-01-01T11:59:44Z", 15.0, True),    # 16 s: past it
    ("2024-01-01T11:59:55Z", 0.0, True),
    ("2024-01-01T11:00:00Z", 7200.0, False),
    ("2024-01-01T13:59:44+02:00", 15.0, True),  # offsets are honoured
    ("2024-01-01T11:59:50.123456Z", 15.0, False),
])
def test_pod_failure_unschedulable_grace(since, grace, failing):
    pod = pod_with(extra_status=UNSCHEDULABLE + f"    lastTransitionTime: '{since}'\n")
    expected = ("pod web-7d9f-abc: Unschedulable: 0/1 nodes are available: 1 Insufficient cpu."
                if failing else None)
    assert pod_failure(pod, NOW, unschedulable_grace=grace) == expected


def test_pod_failure_unschedulable_falls_back_to_creation_time():
    pod = pod_with(extra_status=UNSCHEDULABLE)  # created 60 s before NOW
    assert pod_failure(pod, NOW) is not None
    assert pod_failure(pod, NOW, unschedulable_grace=120) is None


def test_pod_failure_unschedulable_accepts_yaml_timestamps():
    pod = pod_with(extra_status=UNSCHEDULABLE + "    lastTransitionTime: 2024-01-01T11:59:00Z\n")
    assert pod_failure(pod, NOW) is not None


@pytest.mark.parametrize("pod", [None, {}, {"status": "x"}, {"status": {"phase": 3}}])
def test_pod_failure_tolerates_junk(pod):
    assert pod_failure(pod, NOW) is None


# ---------------------------------------------------------------------------------------------
# selects


def workload_with_selector(selector: str, kind: str = "Deployment") -> dict:
    return load(f"""apiVersion: apps/v1
kind: {kind}
metadata: {{name: web, namespace: default, uid: w-1}}
spec: {{selector: {selector}}}
""")


def labelled_pod(labels: str, namespace: str = "default", owner: str = "") -> dict:
    owners = f", ownerReferences: [{{controller: true, uid: {owner}}}]" if owner else ""
    return load(f"""apiVersion: v1
kind: Pod
metadata: {{name: p, namespace: {namespace}, labels: {labels}{owners}}}
""")


@pytest.mark.parametrize("selector,labels,expected", [
    ("{matchLabels: {app: web}}", "{app: web, tier: fe}", True),
    ("{matchLabels: {app: web}}", "{app: db}", False),
    ("{matchLabels: {app: web}}", "{}", False),
    ("{matchExpressions: [{key: tier, operator: In, values: [fe, be]}]}", "{tier: be}", True),
    ("{matchExpressions: [{key: tier, operator: In, values: [fe, be]}]}", "{tier: db}", False),
    ("{matchExpressions: [{key: tier, operator: In, values: [fe]}]}", "{}", False),
    ("{matchExpressions: [{key: tier, operator: NotIn, values: [db]}]}", "{tier: fe}", True),
    ("{matchExpressions: [{key: tier, operator: NotIn, values: [db]}]}", "{}", True),
    ("{matchExpressions: [{key: tier, operator: NotIn, values: [db]}]}", "{tier: db}", False),
    ("{matchExpressions: [{key: canary, operator: Exists}]}", "{canary: 'x'}", True),
    ("{matchExpressions: [{key: canary, operator: Exists}]}", "{app: web}", False),
    ("{matchExpressions: [{key: canary, operator: DoesNotExist}]}", "{app: web}", True),
    ("{matchExpressions: [{key: canary, operator: DoesNotExist}]}", "{canary: 'x'}", False),
    ("{matchExpressions: [{key: canary, operator: Bogus}]}", "{canary: 'x'}", False),
    ("{matchLabels: {app: web}, matchExpressions: [{key: tier, operator: In, values: [fe]}]}",
     "{app: web, tier: fe}", True),
    ("{matchLabels: {app: web}, matchExpressions: [{key: tier, operator: In, values: [fe]}]}",
     "{app: web, tier: be}", False),
    ("{}", "{anything: here}", True),
])
def test_selects_label_selector(selector, labels, expected):
    assert selects(workload_with_selector(selector), labelled_pod(labels)) is expected


def test_selects_needs_the_same_namespace():
    workload = workload_with_selector("{matchLabels: {app: web}}")
    assert not selects(workload, labelled_pod("{app: web}", namespace="other"))


def test_selects_skips_pods_controlled_by_another_object():
    rs = workload_with_selector("{matchLabels: {app: web}}", kind="ReplicaSet")
    assert selects(rs, labelled_pod("{app: web}", owner="w-1"))
    assert not selects(rs, labelled_pod("{app: web}", owner="someone-else"))


def test_a_pod_selects_itself():
    pod = labelled_pod("{app: web}")
    other = labelled_pod("{app: web}")
    other["metadata"]["name"] = "q"
    assert selects(pod, pod)
    assert not selects(pod, other)


def test_job_without_selector_selects_its_named_pods():
    job = load(JOB)
    assert selects(job, labelled_pod("{batch.kubernetes.io/job-name: migrate}"))
    assert selects(job, labelled_pod("{job-name: migrate}"))
    assert not selects(job, labelled_pod("{job-name: other}"))


@pytest.mark.parametrize("workload,pod", [
    (None, {}), ({}, None), ({"kind": "Deployment", "metadata": {}}, {"kind": "Service"}),
    ({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {}, "spec": {}},
     {"kind": "Pod", "metadata": {}}),  # no selector
])
def test_selects_tolerates_junk(workload, pod):
    assert selects(workload, pod) is False


# ---------------------------------------------------------------------------------------------
# workload_failure

CRASHING = """
apiVersion: v1
kind: Pod
metadata:
  name: {name}
  namespace: default
  labels: {{app: web, pod-template-hash: {hash}}}
status:
  phase: Running
  containerStatuses:
  - name: web
    restartCount: 5
    lastState: {{terminated: {{exitCode: 1}}}}
    state: {{waiting: {{reason: CrashLoopBackOff, message: back-off 2m40s}}}}
"""


def crashing(name: str = "web-new-a", template_hash: str = "new") -> dict:
    return load(CRASHING.format(name=name, hash=template_hash))


def rolling_deployment(new_rs: str = "web-new", generation: int = 2, observed: int = 2) -> dict:
    return load(f"""apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: default, generation: {generation}}}
spec: {{replicas: 1, selector: {{matchLabels: {{app: web}}}}}}
status:
  observedGeneration: {observed}
  conditions:
  - {{type: Progressing, status: "True", reason: ReplicaSetUpdated,
     message: 'ReplicaSet "{new_rs}" is progressing.'}}
""")


CRASH_CAUSE = ("pod web-new-a container web: CrashLoopBackOff: back-off 2m40s "
               "(last exit code 1, 5 restarts)")


def test_deployment_fails_with_its_pods_cause():
    assert workload_failure(rolling_deployment(), [crashing()], NOW) == Verdict(FAILED,
                                                                                 CRASH_CAUSE)


def test_deployment_ignores_pods_of_older_revisions():
    old = crashing("web-old-a", "old")
    assert workload_failure(rolling_deployment(), [old], NOW) is None


def test_deployment_ignores_pods_before_the_new_generation_is_observed():
    deployment = rolling_deployment(generation=3, observed=2)
    assert workload_failure(deployment, [crashing()], NOW) is None


def test_deployment_ignores_terminating_pods():
    pod = crashing()
    pod["metadata"]["deletionTimestamp"] = "2024-01-01T11:59:00Z"
    assert workload_failure(rolling_deployment(), [pod], NOW) is None


def test_deployment_ignores_evicted_pods():
    pod = load(POD.replace("{name: web-7d9f-abc,", "{name: web-new-e, labels: {app: web},")
               + "status: {phase: Failed, reason: Evicted}")
    assert workload_failure(rolling_deployment(), [pod], NOW) is None


def test_several_failing_pods_are_counted():
    pods = [crashing("web-new-b"), crashing("web-new-a"), crashing("web-new-c")]
    verdict = workload_failure(rolling_deployment(), pods, NOW)
    assert verdict == Verdict(FAILED, CRASH_CAUSE + " (and 2 more pods failing)")


def test_statefulset_fails_only_for_its_update_revision():
    sts = load(STS + """spec: {replicas: 2, selector: {matchLabels: {app: web}}}
status: {observedGeneration: 1, updateRevision: db-2, currentRevision: db-1}
""")
    new, old = crashing(), crashing("db-0")
    new["metadata"]["labels"]["controller-revision-hash"] = "db-2"
    old["metadata"]["labels"]["controller-revision-hash"] = "db-1"
    assert workload_failure(sts, [old], NOW) is None
    assert workload_failure(sts, [old, new], NOW) == Verdict(FAILED, CRASH_CAUSE)


def test_daemonset_fails_only_for_its_template_generation():
    ds = load(DS.replace("namespace: kube-system", "namespace: default, annotations: "
                         "{deprecated.daemonset.template.generation: '2'}")
              + "spec: {selector: {matchLabels: {app: web}}}\nstatus: {observedGeneration: 1}")
    pod = crashing()
    pod["metadata"]["labels"]["pod-template-generation"] = "1"
    assert workload_failure(ds, [pod], NOW) is None
    pod["metadata"]["labels"]["pod-template-generation"] = "2"
    assert workload_failure(ds, [pod], NOW) == Verdict(FAILED, CRASH_CAUSE)


def test_unschedulable_pod_fails_a_replicaset_after_the_grace_period():
    rs = load(RS + "spec: {replicas: 1, selector: {matchLabels: {app: web}}}")
    pod = labelled_pod("{app: web}")
    pod["status"] = load("status:\n  phase: Pending\n" + UNSCHEDULABLE
                         + "    lastTransitionTime: '2024-01-01T11:59:50Z'\n")["status"]
    assert workload_failure(rs, [pod], NOW) is None
    assert workload_failure(rs, [pod], NOW, unschedulable_grace=5) == Verdict(
        FAILED, "pod p: Unschedulable: 0/1 nodes are available: 1 Insufficient cpu.")


def test_job_failed_condition_names_the_last_failed_pod():
    job = load(JOB + """spec: {selector: {matchLabels: {job-name: migrate}}}
status:
  conditions: [{type: Failed, status: "True", reason: BackoffLimitExceeded,
                message: Job has reached the specified backoff limit}]
""")
    pod = load("""apiVersion: v1
kind: Pod
metadata: {name: migrate-x1, namespace: default, labels: {job-name: migrate}}
status:
  phase: Failed
  containerStatuses: [{name: main, state: {terminated: {exitCode: 1, reason: Error}}}]
""")
    assert workload_failure(job, [pod], NOW) == Verdict(
        FAILED, "BackoffLimitExceeded: Job has reached the specified backoff limit; "
                "pod migrate-x1 failed; container main exit code 1 (Error)")
    assert workload_failure(job, [], NOW) == Verdict(
        FAILED, "BackoffLimitExceeded: Job has reached the specified backoff limit")


def test_job_retrying_failed_pods_is_not_a_failure_yet():
    job = load(JOB + "spec: {selector: {matchLabels: {job-name: migrate}}}")
    pod = load("""apiVersion: v1
kind: Pod
metadata: {name: migrate-x1, namespace: default, labels: {job-name: migrate}}
status: {phase: Failed}
""")
    assert workload_failure(job, [pod], NOW) is None


def test_job_pod_with_a_bad_image_fails_the_job():
    job = load(JOB + "spec: {selector: {matchLabels: {job-name: migrate}}}")
    pod = load("""apiVersion: v1
kind: Pod
metadata: {name: migrate-x1, namespace: default, labels: {job-name: migrate}}
status:
  phase: Pending
  containerStatuses: [{name: main, state: {waiting: {reason: ErrImagePull, message: nope}}}]
""")
    assert workload_failure(job, [pod], NOW) == Verdict(
        FAILED, "pod migrate-x1 container main: ErrImagePull: nope")


def test_a_pod_is_its_own_workload():
    pod = crashing()
    assert workload_failure(pod, [], NOW) == Verdict(FAILED, CRASH_CAUSE)
    failed = load(POD + "status: {phase: Failed, reason: DeadlineExceeded}")
    assert workload_failure(failed, [], NOW) == Verdict(
        FAILED, "pod web-7d9f-abc failed: DeadlineExceeded")


@pytest.mark.parametrize("workload", [
    load("apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}"),
    load(WIDGET), None, {},
])
def test_workload_failure_is_none_for_other_kinds(workload):
    assert workload_failure(workload, [crashing()], NOW) is None


def test_healthy_workload_has_no_failure():
    pod = labelled_pod("{app: web, pod-template-hash: new}")
    pod["status"] = {"phase": "Running", "containerStatuses": [
        {"name": "web", "state": {"running": {}}, "restartCount": 0}]}
    assert workload_failure(rolling_deployment(), [pod], NOW) is None
