"""Readiness rules: pure functions from a live object (its JSON as plain dicts) to a verdict.

The order follows kstatus (kubernetes-sigs/cli-utils, pkg/kstatus/status): terminating,
observedGeneration, the generic Stalled/Reconciling conditions, then one small rule per kind
found in ``KIND_RULES``, then the ``Ready`` condition. Beyond kstatus, ``pod_failure`` and
``workload_failure`` recognise pods that will not recover by waiting, so the caller can fail
fast with the cause. Nothing here reads the clock: ``now`` is always passed in.
"""
from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from heat_k8s_hook.timestamps import parse_time


class Status(str, enum.Enum):
    READY = "ready"
    IN_PROGRESS = "in_progress"
    FAILED = "failed"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Verdict:
    status: Status
    message: str  # written for a person, e.g. "1 of 3 replicas available"
    # The pods the message names (a failing, unready or terminating one), so that a caller
    # can look up their events without reading names back out of the message.
    pods: tuple = field(default=(), compare=False)


# Container waiting reasons that do not go away by waiting (kubelet's own vocabulary).
FAILING_WAITING_REASONS = frozenset({
    "ErrImagePull",
    "ImagePullBackOff",
    "InvalidImageName",
    "CrashLoopBackOff",
    "CreateContainerConfigError",
    "CreateContainerError",
    "RunContainerError",
})

# Workload kinds whose pods are inspected by workload_failure.
WORKLOAD_KINDS = frozenset({
    "apps/Deployment", "extensions/Deployment",
    "apps/StatefulSet",
    "apps/DaemonSet", "extensions/DaemonSet",
    "apps/ReplicaSet", "extensions/ReplicaSet",
    "batch/Job",
    "Pod",
})


class _Malformed(Exception):
    """A field has a type the rules cannot read; becomes an UNKNOWN verdict."""


# ---------------------------------------------------------------------------------------------
# Small readers over plain dicts. They raise _Malformed on a wrong type, never KeyError.


def _get(obj: Any, path: str, default: Any = None) -> Any:
    """The value at a dotted path, or default when any step is missing."""
    cur = obj
    walked: list[str] = []
    for key in path.split("."):
        if not isinstance(cur, Mapping):
            where = ".".join(walked) or "the object"
            raise _Malformed(f"{where} is not an object: {type(cur).__name__}")
        if key not in cur or cur[key] is None:
            return default
        cur = cur[key]
        walked.append(key)
    return cur


def _int(obj: Any, path: str, default: int | None = 0) -> int | None:
    value = _get(obj, path)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Malformed(f"{path} is not an integer: {value!r}")
    return value


def _str(obj: Any, path: str, default: str = "") -> str:
    value = _get(obj, path)
    if value is None:
        return default
    if not isinstance(value, str):
        raise _Malformed(f"{path} is not a string: {value!r}")
    return value


def _list(obj: Any, path: str) -> list:
    value = _get(obj, path)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Malformed(f"{path} is not a list: {type(value).__name__}")
    return value


def _conditions(obj: Mapping) -> list:
    """status.conditions as a list of mappings (entries that are not mappings are skipped)."""
    return [c for c in _list(obj, "status.conditions") if isinstance(c, Mapping)]


def _condition(obj: Mapping, ctype: str) -> Mapping | None:
    for cond in _conditions(obj):
        if cond.get("type") == ctype:
            return cond
    return None


def _is_true(cond: Mapping | None) -> bool:
    return cond is not None and cond.get("status") == "True"


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


def _explain(cond: Mapping) -> str:
    """A condition's reason and message as "Reason: message", whichever are present."""
    parts = [_one_line(cond[k]) for k in ("reason", "message") if cond.get(k)]
    return ": ".join(parts)


def _join(prefix: str, detail: str) -> str:
    return f"{prefix}: {detail}" if detail else prefix


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _aware(now: datetime) -> datetime:
    return now if now.tzinfo else now.replace(tzinfo=timezone.utc)


# ---------------------------------------------------------------------------------------------
# Identity


# Items of a list response carry no apiVersion; these kinds' groups are unambiguous.
_GROUP_OF_BARE_KIND = {
    "Deployment": "apps", "StatefulSet": "apps", "DaemonSet": "apps", "ReplicaSet": "apps",
    "Job": "batch", "CronJob": "batch", "PodDisruptionBudget": "policy",
    "CustomResourceDefinition": "apiextensions.k8s.io", "APIService": "apiregistration.k8s.io",
    "HorizontalPodAutoscaler": "autoscaling",
}


def group_kind(obj: Mapping) -> str:
    """The table key: "apps/Deployment" for apps/v1 Deployments, just "Pod" for the core group.

    Without an apiVersion, well-known built-in kinds get their usual group.
    """
    if not isinstance(obj, Mapping):
        return ""
    kind = obj.get("kind")
    kind = kind if isinstance(kind, str) else ""
    api_version = obj.get("apiVersion")
    if not isinstance(api_version, str) or not api_version:
        group = _GROUP_OF_BARE_KIND.get(kind, "")
    else:
        group = api_version.rsplit("/", 1)[0] if "/" in api_version else ""
    return f"{group}/{kind}" if group else kind


def _name(obj: Mapping) -> str:
    name = _get(obj, "metadata.name")
    return name if isinstance(name, str) else "<unnamed>"


def _namespace(obj: Mapping) -> str:
    ns = _get(obj, "metadata.namespace")
    return ns if isinstance(ns, str) and ns else "default"


# ---------------------------------------------------------------------------------------------
# Per-kind rules: each takes the object and `now` and returns a Verdict.

Rule = Callable[[Mapping, datetime], Verdict]


def _ready(message: str) -> Verdict:
    return Verdict(Status.READY, message)


def _progress(message: str) -> Verdict:
    return Verdict(Status.IN_PROGRESS, message)


def _failed(message: str, pods: tuple = ()) -> Verdict:
    return Verdict(Status.FAILED, message, pods)


def _exists(obj: Mapping, now: datetime) -> Verdict:
    return _ready("exists")


def _deployment(obj: Mapping, now: datetime) -> Verdict:
    progressing = _condition(obj, "Progressing")
    if progressing is not None and progressing.get("reason") == "ProgressDeadlineExceeded":
        return _failed(_explain(progressing))
    spec = _int(obj, "spec.replicas", 1)
    replicas = _int(obj, "status.replicas")
    updated = _int(obj, "status.updatedReplicas")
    ready = _int(obj, "status.readyReplicas")
    available = _int(obj, "status.availableReplicas")
    paused = " (rollout paused)" if _get(obj, "spec.paused") is True else ""
    if updated < spec:
        return _progress(f"{updated} of {spec} replicas updated{paused}")
    if replicas > updated:
        old = replicas - updated
        return _progress(f"{_plural(old, 'old replica')} pending termination{paused}")
    if available < spec:
        return _progress(f"{available} of {spec} replicas available")
    if ready < spec:
        return _progress(f"{ready} of {spec} replicas ready")
    # Beyond kstatus, Argo CD and `kubectl rollout status`: the old version still runs until
    # its pods are gone (status.terminatingReplicas, set by the controller since Kubernetes
    # 1.35; absent before, where this step says nothing).
    terminating = _int(obj, "status.terminatingReplicas")
    if terminating > 0:
        return _progress(f"{available} of {spec} replicas available, "
                         f"{_plural(terminating, 'replica')} still terminating")
    return _ready(f"{available} of {spec} replicas available")


def _statefulset(obj: Mapping, now: datetime) -> Verdict:
    spec = _int(obj, "spec.replicas", 1)
    replicas = _int(obj, "status.replicas")
    ready = _int(obj, "status.readyReplicas")
    updated = _int(obj, "status.updatedReplicas")
    if replicas < spec:
        return _progress(f"{replicas} of {spec} replicas created")
    if ready < spec:
        return _progress(f"{ready} of {spec} replicas ready")
    if replicas > spec:
        return _progress(f"{_plural(replicas - spec, 'extra replica')} pending termination")
    if _str(obj, "spec.updateStrategy.type") == "OnDelete":
        return _ready(f"{ready} of {spec} replicas ready (OnDelete: pods update when deleted)")
    partition = _int(obj, "spec.updateStrategy.rollingUpdate.partition", None)
    if partition:
        want = max(spec - partition, 0)
        if updated < want:
            return _progress(f"{updated} of {want} replicas updated (partition {partition})")
        return _ready(f"{ready} of {spec} replicas ready, {updated} updated "
                      f"(partition {partition})")
    current_rev = _str(obj, "status.currentRevision")
    update_rev = _str(obj, "status.updateRevision")
    if current_rev != update_rev:
        return _progress(f"{updated} of {spec} replicas updated to revision {update_rev}")
    return _ready(f"{ready} of {spec} replicas ready")


def _daemonset(obj: Mapping, now: datetime) -> Verdict:
    # The controller always sets these once it has seen the object (kstatus checks them too).
    if _int(obj, "status.observedGeneration", None) is None:
        return _progress("not yet observed by the DaemonSet controller")
    desired = _int(obj, "status.desiredNumberScheduled", None)
    if desired is None:
        return _progress("desired number of pods not yet computed")
    scheduled = _int(obj, "status.currentNumberScheduled")
    updated = _int(obj, "status.updatedNumberScheduled")
    available = _int(obj, "status.numberAvailable")
    ready = _int(obj, "status.numberReady")
    if scheduled < desired:
        return _progress(f"{scheduled} of {desired} pods scheduled")
    if updated < desired and _str(obj, "spec.updateStrategy.type") != "OnDelete":
        return _progress(f"{updated} of {desired} pods updated")
    if available < desired:
        return _progress(f"{available} of {desired} pods available")
    if ready < desired:
        return _progress(f"{ready} of {desired} pods ready")
    return _ready(f"{available} of {desired} pods available")


def _replicaset(obj: Mapping, now: datetime) -> Verdict:
    spec = _int(obj, "spec.replicas", 1)
    replicas = _int(obj, "status.replicas")
    ready = _int(obj, "status.readyReplicas")
    available = _int(obj, "status.availableReplicas")
    failure = _condition(obj, "ReplicaFailure")
    if _is_true(failure):
        return _progress(f"{available} of {spec} replicas available; "
                         f"ReplicaFailure: {_explain(failure)}")
    if available < spec:
        return _progress(f"{available} of {spec} replicas available")
    if ready < spec:
        return _progress(f"{ready} of {spec} replicas ready")
    if replicas > spec:
        return _progress(f"{_plural(replicas - spec, 'extra replica')} pending termination")
    return _ready(f"{available} of {spec} replicas available")


def _pod(obj: Mapping, now: datetime) -> Verdict:
    phase = _str(obj, "status.phase")
    if phase == "Succeeded":
        return _ready("succeeded")
    if phase == "Failed":
        return _failed(_pod_failed_cause(obj))
    if phase == "Running" and _is_true(_condition(obj, "Ready")):
        return _ready("running and ready")
    # Unschedulable is left to workload_failure, which knows the caller's grace period.
    cause = _container_failure(obj)
    if cause:
        return _failed(cause)
    if phase == "Running":
        return _progress(f"running, {_containers_ready(obj)}")
    if phase == "Pending":
        scheduled = _condition(obj, "PodScheduled")
        if scheduled is not None and scheduled.get("status") == "False":
            return _progress(_join("pending, not scheduled", _explain(scheduled)))
        waiting = _waiting_reasons(obj)
        return _progress(f"pending: {waiting}" if waiting else "pending")
    if not phase:
        return _progress("not yet observed by the kubelet")
    return Verdict(Status.UNKNOWN, f"unknown pod phase {phase!r}")


def _containers_ready(pod: Mapping) -> str:
    statuses = [s for s in _list(pod, "status.containerStatuses") if isinstance(s, Mapping)]
    ready = sum(1 for s in statuses if s.get("ready") is True)
    total = len(_list(pod, "spec.containers")) or len(statuses)
    return f"{ready} of {total} containers ready"


def _waiting_reasons(pod: Mapping) -> str:
    reasons = []
    for status in _container_statuses(pod):
        reason = _get(status, "state.waiting.reason")
        if reason:
            reasons.append(f"container {status.get('name')} {reason}")
    return ", ".join(reasons)


def _job(obj: Mapping, now: datetime) -> Verdict:
    succeeded = _int(obj, "status.succeeded")
    active = _int(obj, "status.active")
    failed = _int(obj, "status.failed")
    completions = _int(obj, "spec.completions", None)
    done = f"{succeeded} of {completions}" if completions is not None else f"{succeeded}"
    for ctype in ("Failed", "FailureTarget"):
        cond = _condition(obj, ctype)
        if _is_true(cond):
            return _failed(_explain(cond) or "job failed")
    if _is_true(_condition(obj, "Complete")):
        return _ready(f"complete, {done} succeeded")
    if _is_true(_condition(obj, "Suspended")) and _get(obj, "spec.suspend") is True:
        return _ready("suspended (spec.suspend is true)")
    if not _get(obj, "status.startTime"):
        return _progress("not started")
    return _progress(f"running: {active} active, {done} succeeded, {failed} failed")


def _cronjob(obj: Mapping, now: datetime) -> Verdict:
    if _get(obj, "spec.suspend") is True:
        return _ready("exists (suspended)")
    schedule = _str(obj, "spec.schedule")
    return _ready(f"exists, schedule {schedule!r}" if schedule else "exists")


def _pvc(obj: Mapping, now: datetime) -> Verdict:
    phase = _str(obj, "status.phase")
    volume = _str(obj, "spec.volumeName")
    if phase == "Bound":
        return _ready(f"bound to volume {volume}" if volume else "bound")
    if phase == "Lost":
        return _failed(f"lost its volume {volume}" if volume else "lost its volume")
    return _progress(f"{phase or 'no phase yet'}, waiting to be bound")


def _service(obj: Mapping, now: datetime) -> Verdict:
    stype = _str(obj, "spec.type", "ClusterIP")
    if stype == "LoadBalancer":
        ingress = [i for i in _list(obj, "status.loadBalancer.ingress") if isinstance(i, Mapping)]
        if not ingress:
            return _progress("waiting for the load balancer's address")
        addresses = ", ".join(str(i.get("ip") or i.get("hostname") or "?") for i in ingress)
        return _ready(f"load balancer at {addresses}")
    return _ready(f"type {stype}")


def _namespace_rule(obj: Mapping, now: datetime) -> Verdict:
    phase = _str(obj, "status.phase")
    if phase == "Active":
        return _ready("active")
    if phase == "Terminating":
        return _progress("terminating")
    return _progress(f"phase {phase}" if phase else "no phase yet")


def _crd(obj: Mapping, now: datetime) -> Verdict:
    names = _condition(obj, "NamesAccepted")
    if names is not None and names.get("status") == "False":
        return _failed(_explain(names) or "names not accepted")
    established = _condition(obj, "Established")
    if _is_true(established):
        return _ready("established")
    if (established is not None and established.get("status") == "False"
            and established.get("reason") not in (None, "", "Installing")):
        return _failed(_explain(established))
    return _progress("not yet established")


def _apiservice(obj: Mapping, now: datetime) -> Verdict:
    available = _condition(obj, "Available")
    if _is_true(available):
        return _ready("available")
    if available is None:
        return _progress("waiting for the Available condition")
    return _progress(_join("not available", _explain(available)))


_HPA_CONDITIONS_ANNOTATION = "autoscaling.alpha.kubernetes.io/conditions"


def _hpa_conditions(obj: Mapping) -> list:
    """status.conditions (autoscaling/v2), or the JSON annotation autoscaling/v1 carries them in."""
    conds = _conditions(obj)
    if conds:
        return conds
    annotations = _get(obj, "metadata.annotations") or {}
    text = annotations.get(_HPA_CONDITIONS_ANNOTATION) if isinstance(annotations, Mapping) else None
    if not isinstance(text, str):
        return []
    try:
        parsed = json.loads(text)
    except ValueError as exc:
        raise _Malformed(f"annotation {_HPA_CONDITIONS_ANNOTATION}: {exc}") from None
    return [c for c in parsed if isinstance(c, Mapping)] if isinstance(parsed, list) else []


def _hpa(obj: Mapping, now: datetime) -> Verdict:
    """An HPA is ready once its controller could read the target's scale and compute replicas.

    Argo CD calls AbleToScale False (FailedGetScale, FailedUpdateScale) and ScalingActive False
    (FailedGetResourceMetric, InvalidSelector) degraded, and an HPA without conditions
    progressing. The real controller (v1.37) sets both conditions within a second of creation.
    Not ready here, not failed: metrics are missing for a while after new pods start, and a
    missing target may still be created, so both can recover; only an invalid selector cannot.
    ScalingActive False with ScalingDisabled is the target scaled to zero on purpose: ready.
    """
    conds = {c.get("type"): c for c in _hpa_conditions(obj)}
    able, active = conds.get("AbleToScale"), conds.get("ScalingActive")
    if able is None and active is None:
        return _progress("waiting for the autoscaler's first check")
    if able is not None and not _is_true(able):
        return _progress(_join("cannot scale: AbleToScale is "
                               f"{able.get('status') or 'Unknown'}", _explain(able)))
    if active is not None and not _is_true(active):
        if active.get("reason") == "ScalingDisabled":
            return _ready(_join("scaling disabled", _explain(active)))
        detail = _join(f"cannot scale: ScalingActive is {active.get('status') or 'Unknown'}",
                       _explain(active))
        return _failed(detail) if active.get("reason") == "InvalidSelector" else _progress(detail)
    current = _int(obj, "status.currentReplicas")
    desired = _int(obj, "status.desiredReplicas")
    return _ready(f"scaling active: {current} replicas, {desired} desired")


def _pdb(obj: Mapping, now: datetime) -> Verdict:
    if _int(obj, "status.observedGeneration", None) is None:
        return _progress("not yet observed by the disruption controller")
    current = _int(obj, "status.currentHealthy")
    desired = _int(obj, "status.desiredHealthy")
    if current < desired:
        return _progress(f"{current} of {desired} required pods healthy")
    return _ready(f"{current} healthy pods, {desired} required")


# One table, keyed by group/kind. Kinds not listed fall through to the Ready condition.
KIND_RULES: Mapping[str, Rule] = {
    "apps/Deployment": _deployment,
    "extensions/Deployment": _deployment,
    "apps/StatefulSet": _statefulset,
    "apps/DaemonSet": _daemonset,
    "extensions/DaemonSet": _daemonset,
    "apps/ReplicaSet": _replicaset,
    "extensions/ReplicaSet": _replicaset,
    "Pod": _pod,
    "batch/Job": _job,
    "batch/CronJob": _cronjob,
    "PersistentVolumeClaim": _pvc,
    "Service": _service,
    "Namespace": _namespace_rule,
    "apiextensions.k8s.io/CustomResourceDefinition": _crd,
    "apiregistration.k8s.io/APIService": _apiservice,
    "policy/PodDisruptionBudget": _pdb,
    "autoscaling/HorizontalPodAutoscaler": _hpa,
    "ConfigMap": _exists,
    "Secret": _exists,
    "ServiceAccount": _exists,
    "LimitRange": _exists,
    "ResourceQuota": _exists,
    "rbac.authorization.k8s.io/Role": _exists,
    "rbac.authorization.k8s.io/RoleBinding": _exists,
    "rbac.authorization.k8s.io/ClusterRole": _exists,
    "rbac.authorization.k8s.io/ClusterRoleBinding": _exists,
    "networking.k8s.io/NetworkPolicy": _exists,
    "scheduling.k8s.io/PriorityClass": _exists,
    "storage.k8s.io/StorageClass": _exists,
}


# ---------------------------------------------------------------------------------------------
# object_status: the ordered steps.


def _generic(obj: Mapping) -> Verdict | None:
    """Steps shared by every kind: terminating, generation observed, Stalled, Reconciling."""
    if _get(obj, "metadata.deletionTimestamp"):
        return _progress("terminating")
    generation = _int(obj, "metadata.generation", None)
    observed = _int(obj, "status.observedGeneration", None)
    if generation is not None and observed is not None and generation > observed:
        return _progress(f"waiting for the controller to observe generation {generation} "
                         f"(observed {observed})")
    stalled = _condition(obj, "Stalled")
    if _is_true(stalled):
        return _failed(_join("stalled", _explain(stalled)))
    reconciling = _condition(obj, "Reconciling")
    if _is_true(reconciling):
        return _progress(_join("reconciling", _explain(reconciling)))
    return None


def _wait_rule(obj: Mapping, ctype: str) -> Verdict:
    cond = _condition(obj, ctype)
    if _is_true(cond):
        return _ready(f"{ctype} is True")
    if cond is None:
        return _progress(f"waiting for condition {ctype}")
    return _progress(_join(f"{ctype} is {cond.get('status') or 'Unknown'}", _explain(cond)))


def _ready_condition(obj: Mapping) -> Verdict | None:
    cond = _condition(obj, "Ready")
    if cond is None:
        return None
    if _is_true(cond):
        return _ready("Ready is True")
    return _progress(_join(f"Ready is {cond.get('status') or 'Unknown'}", _explain(cond)))


def object_status(obj: Mapping, now: datetime,
                  wait_rules: Mapping[str, str] | None = None) -> Verdict:
    """The readiness of one live object; never raises (malformed input gives UNKNOWN).

    `wait_rules` maps "group/Kind" to the condition type that means ready for that kind; a
    listed kind uses it instead of its built-in rule.
    """
    if not isinstance(obj, Mapping):
        return Verdict(Status.UNKNOWN, f"not an object: {type(obj).__name__}")
    if not isinstance(obj.get("kind"), str) or not obj.get("kind"):
        return Verdict(Status.UNKNOWN, "no kind")
    if not isinstance(obj.get("metadata"), Mapping):
        return Verdict(Status.UNKNOWN, "no metadata")
    try:
        return _object_status(obj, _aware(now), wait_rules or {})
    except _Malformed as exc:
        return Verdict(Status.UNKNOWN, f"malformed object: {exc}")
    except (TypeError, ValueError, AttributeError) as exc:
        return Verdict(Status.UNKNOWN, f"cannot evaluate: {type(exc).__name__}: {exc}")


def _object_status(obj: Mapping, now: datetime, wait_rules: Mapping[str, str]) -> Verdict:
    verdict = _generic(obj)
    if verdict is not None:
        return verdict
    gk = group_kind(obj)
    if gk in wait_rules:
        return _wait_rule(obj, wait_rules[gk])
    rule = KIND_RULES.get(gk)
    if rule is not None:
        return rule(obj, now)
    verdict = _ready_condition(obj)
    if verdict is not None:
        return verdict
    return _ready("exists (no readiness conditions)")


# ---------------------------------------------------------------------------------------------
# Fail fast: pods that will not recover by waiting.


def _container_statuses(pod: Mapping) -> Sequence[Mapping]:
    """Init container statuses first (they run first), then the app containers."""
    statuses = _list(pod, "status.initContainerStatuses") + _list(pod, "status.containerStatuses")
    return [s for s in statuses if isinstance(s, Mapping)]


def _restarts_and_exit(status: Mapping) -> str:
    parts = []
    term = _get(status, "lastState.terminated")
    if not isinstance(term, Mapping) or term.get("exitCode") is None:
        term = _get(status, "state.terminated")
    code = term.get("exitCode") if isinstance(term, Mapping) else None
    if isinstance(code, int) and not isinstance(code, bool):
        # The kubelet's reason too: 137 alone does not say OOMKilled (issue 28, real node).
        reason = term.get("reason")
        parts.append(f"last exit code {code}"
                     + (f": {_one_line(reason)}" if isinstance(reason, str) and reason else ""))
    restarts = status.get("restartCount")
    if isinstance(restarts, int) and not isinstance(restarts, bool) and restarts > 0:
        parts.append(_plural(restarts, "restart"))
    return f" ({', '.join(parts)})" if parts else ""


def _backing_off(pod: Mapping, status: Mapping) -> bool:
    """A container that exited non-zero again after a restart, not running: the kubelet is in
    its restart back-off. A real kubelet keeps `state.terminated` through the first back-off
    (10 s) and says `waiting: CrashLoopBackOff` only later (issue 28, measured on the real
    node); the first exit restarts at once, so `restartCount` 0 is never matched."""
    term = _get(status, "state.terminated")
    restarts = status.get("restartCount")
    code = term.get("exitCode") if isinstance(term, Mapping) else None
    return (isinstance(code, int) and not isinstance(code, bool) and code != 0
            and isinstance(restarts, int) and not isinstance(restarts, bool) and restarts >= 1
            and _get(pod, "spec.restartPolicy") != "Never")


def _container_failure(pod: Mapping) -> str | None:
    """The first container waiting for a reason that waiting will not fix, or backing off."""
    for status in _container_statuses(pod):
        waiting = _get(status, "state.waiting")
        if isinstance(waiting, Mapping) and waiting.get("reason") in FAILING_WAITING_REASONS:
            cause = _explain(waiting)
        elif _backing_off(pod, status):
            cause = "CrashLoopBackOff: exited again after a restart, restarting after a back-off"
        else:
            continue
        return (f"pod {_name(pod)} container {status.get('name') or '?'}: {cause}"
                f"{_restarts_and_exit(status)}")
    return None


def _unschedulable(pod: Mapping, now: datetime, grace: float) -> str | None:
    """PodScheduled=False/Unschedulable for longer than `grace` seconds."""
    cond = _condition(pod, "PodScheduled")
    if cond is None or cond.get("status") != "False" or cond.get("reason") != "Unschedulable":
        return None
    since = parse_time(cond.get("lastTransitionTime")) or parse_time(
        _get(pod, "metadata.creationTimestamp"))
    if since is not None and (_aware(now) - since).total_seconds() <= grace:
        return None
    return f"pod {_name(pod)}: {_explain(cond)}"


def _pod_failed_cause(pod: Mapping) -> str:
    """Why a pod is in phase Failed: its own reason, then each container's termination."""
    parts = [f"pod {_name(pod)} failed"]
    own = [_one_line(_get(pod, f"status.{k}")) for k in ("reason", "message")
           if _get(pod, f"status.{k}")]
    if own:
        parts[0] += ": " + ": ".join(own)
    for status in _container_statuses(pod):
        term = _get(status, "state.terminated")
        if isinstance(term, Mapping) and term.get("exitCode") not in (None, 0):
            detail = f"container {status.get('name') or '?'} exit code {term.get('exitCode')}"
            if term.get("reason"):
                detail += f" ({_one_line(term['reason'])})"
            if term.get("message"):
                detail += f": {_one_line(term['message'])}"
            parts.append(detail)
    return "; ".join(parts)


def _pod_failure(pod: Mapping, now: datetime, grace: float, phase_failed: bool) -> str | None:
    if phase_failed and _str(pod, "status.phase") == "Failed":
        return _pod_failed_cause(pod)
    return _container_failure(pod) or _unschedulable(pod, now, grace)


def pod_failure(pod: Mapping, now: datetime, unschedulable_grace: float = 15.0) -> str | None:
    """A one-line cause when the pod is failing in a way waiting will not fix, else None.

    Image pull errors, crash loops and container config errors (init containers too), phase
    Failed, and Unschedulable for longer than `unschedulable_grace` seconds.
    """
    if not isinstance(pod, Mapping):
        return None
    try:
        return _pod_failure(pod, now, unschedulable_grace, phase_failed=True)
    except _Malformed:
        return None


# ---------------------------------------------------------------------------------------------
# Which pods belong to a workload: the one rule (`owns`), in this one place.
#
# Kubernetes links a pod to its workload by the pod's *controller* ownerReference: the
# StatefulSet, DaemonSet, Job or ReplicaSet that made it. Two kinds own pods one step removed:
# a Deployment owns the pods of its ReplicaSets, named `<deployment>-<pod-template-hash>`,
# whose pods carry a pod-template-hash label, and a CronJob owns its Jobs (its pods are the
# Jobs' pods; the same rule links the CronJob to each Job). The reference's uid decides when
# both sides carry one (a workload deleted and created again under the same name owns none of
# the old pods); its kind and name decide otherwise (a manifest before its first apply, an
# offline dump). A pod no controller claims yet is the one the workload's label selector would
# adopt (the controllers' own adoption rule; a Job without a selector is matched by its
# `job-name` label).
#
# `selects` (the per-kind pod rules), `judge.last_warning` (which events are a workload's) and
# the watch store's pod index (`pod_owners`, filtered by `owns`) all come from here, so they
# cannot link a pod differently (tests/unit/test_owners.py holds them to it).


def _owner_meta(obj: Any) -> Mapping:
    meta = obj.get("metadata") if isinstance(obj, Mapping) else None
    return meta if isinstance(meta, Mapping) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _ref_group_kind(api_version: Any, kind: Any) -> str:
    group = _text(api_version).rpartition("/")[0]
    kind = _text(kind)
    return f"{group}/{kind}" if group else kind


def controller_of(obj: Mapping) -> Mapping | None:
    """The ownerReference marked `controller: true`, or None."""
    refs = _owner_meta(obj).get("ownerReferences")
    for ref in refs if isinstance(refs, list) else ():
        if isinstance(ref, Mapping) and ref.get("controller") is True:
            return ref
    return None


def pod_owners(pod: Mapping) -> list:
    """(group/kind, name) of the workloads a pod belongs to, from its controller reference.

    A ReplicaSet's pod that carries a pod-template-hash label also belongs to the Deployment
    whose name is the ReplicaSet's minus its last `-<hash>`. A pod no controller claims has
    none here.
    """
    ref = controller_of(pod)
    if ref is None or not _text(ref.get("name")) or not _text(ref.get("kind")):
        return []
    name, kind = ref["name"], ref["kind"]
    owners = [(_ref_group_kind(ref.get("apiVersion"), kind), name)]
    labels = _owner_meta(pod).get("labels")
    pod_hash = _text(labels.get("pod-template-hash")) if isinstance(labels, Mapping) else ""
    if kind == "ReplicaSet" and pod_hash and name.rpartition("-")[0]:
        # The Deployment controller names its ReplicaSets `<deployment>-<hash>` (a hash has no
        # dash) and labels their pods with a hash; a bare ReplicaSet's pods carry none.
        owners.append(("apps/Deployment", name.rpartition("-")[0]))
    return owners


def _same_group_kind(a: str, b: str) -> bool:
    """By kind: apps/ and extensions/Deployment are one, and a reference or a list item may
    carry no group (the uid, when both sides have one, is what tells owners apart)."""
    return a.rpartition("/")[2] == b.rpartition("/")[2]


def owns(workload: Mapping, pod: Mapping, workload_gk: str) -> bool:
    """Whether `pod` (or any object with ownerReferences) belongs to `workload`.

    `workload_gk` is the workload's group/kind ("apps/Deployment", "Pod"), which the caller
    already knows. Namespaces are the caller's business (a store indexes per namespace).
    """
    if not isinstance(workload, Mapping) or not isinstance(pod, Mapping):
        return False
    meta, pmeta = _owner_meta(workload), _owner_meta(pod)
    name, uid = _text(meta.get("name")), _text(meta.get("uid"))
    if workload_gk == "Pod":
        pod_uid = _text(pmeta.get("uid"))
        return uid == pod_uid if uid and pod_uid else bool(name) and name == pmeta.get("name")
    ref = controller_of(pod)
    if ref is None:
        return _adopts(workload, pod, workload_gk)
    ref_uid = _text(ref.get("uid"))
    direct = not ref.get("kind") or _same_group_kind(
        _ref_group_kind(ref.get("apiVersion"), ref.get("kind")), workload_gk)
    if uid and ref_uid and direct:   # the workload itself is the controller: uids decide
        return ref_uid == uid
    return bool(name) and any(_same_group_kind(gk, workload_gk) and owner == name
                              for gk, owner in pod_owners(pod))


def _adopts(workload: Mapping, pod: Mapping, workload_gk: str) -> bool:
    """A pod no controller claims: the one the workload's selector would adopt."""
    spec = workload.get("spec")
    selector = spec.get("selector") if isinstance(spec, Mapping) else None
    labels = _owner_meta(pod).get("labels")
    labels = labels if isinstance(labels, Mapping) else {}
    if selector is None and workload_gk == "batch/Job":
        # Manifests omit it; the Job controller labels its pods with the job's name.
        name = _text(_owner_meta(workload).get("name"))
        return bool(name) and name in (labels.get("batch.kubernetes.io/job-name"),
                                       labels.get("job-name"))
    if selector is None:
        return False
    return label_selector_matches(selector, labels)


def _match_expression(expr: Mapping, labels: Mapping) -> bool:
    key = expr.get("key")
    op = expr.get("operator")
    values = expr.get("values") or []
    if not isinstance(key, str) or not isinstance(values, list):
        return False
    if op == "In":
        return key in labels and labels[key] in values
    if op == "NotIn":
        return key not in labels or labels[key] not in values
    if op == "Exists":
        return key in labels
    if op == "DoesNotExist":
        return key not in labels
    return False


def label_selector_matches(selector: Any, labels: Mapping) -> bool:
    """metav1.LabelSelector semantics; an empty selector matches everything."""
    if not isinstance(selector, Mapping):
        return False
    match_labels = selector.get("matchLabels") or {}
    expressions = selector.get("matchExpressions") or []
    if not isinstance(match_labels, Mapping) or not isinstance(expressions, list):
        return False
    if any(labels.get(k) != v for k, v in match_labels.items()):
        return False
    return all(isinstance(e, Mapping) and _match_expression(e, labels) for e in expressions)


def _labels(obj: Mapping) -> Mapping:
    labels = _get(obj, "metadata.labels")
    return labels if isinstance(labels, Mapping) else {}


def selects(workload: Mapping, pod: Mapping) -> bool:
    """Whether this pod belongs to the workload (a Pod: itself), by `owns` above, the one
    rule the judge and the watch store also use; the namespaces must agree."""
    if not isinstance(workload, Mapping) or not isinstance(pod, Mapping):
        return False
    if pod.get("kind") not in (None, "Pod"):
        return False
    try:
        if _namespace(workload) != _namespace(pod):
            return False
        return owns(workload, pod, group_kind(workload))
    except _Malformed:
        return False


def _current_revision(workload: Mapping, pod: Mapping) -> bool:
    """False only when the pod is known to belong to an older revision of the workload."""
    gk = group_kind(workload)
    labels = _labels(pod)
    if gk in ("apps/Deployment", "extensions/Deployment"):
        new_rs = _new_replicaset_name(workload)
        owner = controller_of(pod)
        if new_rs and owner and owner.get("kind") == "ReplicaSet" and owner.get("name"):
            return owner["name"] == new_rs
        pod_hash = labels.get("pod-template-hash")
        prefix = f"{_name(workload)}-"
        if new_rs and pod_hash and new_rs.startswith(prefix):
            return new_rs[len(prefix):] == pod_hash
    elif gk == "apps/StatefulSet":
        revision = _get(workload, "status.updateRevision")
        pod_rev = labels.get("controller-revision-hash")
        if revision and pod_rev:
            return revision == pod_rev
    elif gk in ("apps/DaemonSet", "extensions/DaemonSet"):
        generation = _get(workload, "metadata.annotations")
        generation = (generation or {}).get("deprecated.daemonset.template.generation")
        pod_gen = labels.get("pod-template-generation")
        if generation and pod_gen:
            return str(generation) == str(pod_gen)
    return True


# The deployment controller's Progressing messages: 'ReplicaSet "web-5d9c" is progressing.',
# 'Created new replica set "web-5d9c"', 'Found new replica set "web-5d9c"'.
_NEW_RS_RE = re.compile(r'(?:ReplicaSet|replica set) "([^"]+)"')


def _new_replicaset_name(deployment: Mapping) -> str | None:
    """The new ReplicaSet as the Progressing condition names it (the Deployment has no field)."""
    cond = _condition(deployment, "Progressing")
    if cond is None or not isinstance(cond.get("message"), str):
        return None
    m = _NEW_RS_RE.search(cond["message"])
    return m.group(1) if m else None


def workload_failure(workload: Mapping, pods: Iterable[Mapping], now: datetime,
                     unschedulable_grace: float = 15.0) -> Verdict | None:
    """A FAILED verdict naming the cause when the workload or one of its current pods fails.

    Pods being deleted, and pods of an older revision, are skipped. A Failed pod counts only
    for a bare Pod (controllers replace failed pods; a Job retries until its Failed condition).
    """
    if not isinstance(workload, Mapping):
        return None
    gk = group_kind(workload)
    if gk not in WORKLOAD_KINDS:
        return None
    try:
        return _workload_failure(workload, gk, list(pods), _aware(now), unschedulable_grace)
    except _Malformed:
        return None


def _workload_failure(workload: Mapping, gk: str, pods: list, now: datetime,
                      grace: float) -> Verdict | None:
    if gk == "Pod":
        if _get(workload, "metadata.deletionTimestamp"):
            return None
        cause = _pod_failure(workload, now, grace, phase_failed=True)
        return _failed(cause) if cause else None
    if _get(workload, "metadata.deletionTimestamp"):
        return None
    generation = _int(workload, "metadata.generation", None)
    observed = _int(workload, "status.observedGeneration", None)
    if generation is not None and observed is not None and generation > observed:
        return None  # the new revision's pods do not exist yet; old pods say nothing about it
    mine = sorted(
        (p for p in pods if isinstance(p, Mapping) and selects(workload, p)
         and not _get(p, "metadata.deletionTimestamp") and _current_revision(workload, p)),
        key=_name)
    if gk == "batch/Job":
        failed = _condition(workload, "Failed")
        if not _is_true(failed):
            failed = _condition(workload, "FailureTarget")
        if _is_true(failed):
            message = _explain(failed) or "job failed"
            last = [p for p in mine if _str(p, "status.phase") == "Failed"]
            if last:
                message += f"; {_pod_failed_cause(last[-1])}"
            return _failed(message, (_name(last[-1]),) if last else ())
    causes = [(p, c) for p, c in ((p, _pod_failure(p, now, grace, phase_failed=False))
                                  for p in mine) if c]
    if not causes:
        return None
    more = f" (and {_plural(len(causes) - 1, 'more pod')} failing)" if len(causes) > 1 else ""
    return _failed(causes[0][1] + more, (_name(causes[0][0]),))


_REPLICATED_KINDS = frozenset(WORKLOAD_KINDS - {"batch/Job", "Pod"})


def unready_pods(workload: Mapping, pods: Iterable[Mapping]) -> str | None:
    """`pod NAME not ready: Reason: message` (first_unready_pod's message), or None."""
    found = first_unready_pod(workload, pods)
    return found[1] if found else None


def first_unready_pod(workload: Mapping, pods: Iterable[Mapping]) -> tuple | None:
    """(NAME, `pod NAME not ready: Reason: message`) for the first current pod of a replicated
    workload whose Ready condition is not True, so that a wait that ends names the pod (whose
    events, such as a readiness probe's `Unhealthy`, the caller can then look up); None if all
    are ready.
    """
    if not isinstance(workload, Mapping) or group_kind(workload) not in _REPLICATED_KINDS:
        return None
    try:
        mine = sorted(
            (p for p in pods if isinstance(p, Mapping) and selects(workload, p)
             and not _get(p, "metadata.deletionTimestamp") and _current_revision(workload, p)
             and not _is_true(_condition(p, "Ready"))),
            key=_name)
        if not mine:
            return None
        cond = _condition(mine[0], "Ready")
        why = _explain(cond) if cond is not None else ""
        why = why or f"phase {_str(mine[0], 'status.phase') or 'unknown'}"
    except _Malformed:
        return None
    more = f" (and {_plural(len(mine) - 1, 'more pod')} not ready)" if len(mine) > 1 else ""
    return _name(mine[0]), f"pod {_name(mine[0])} not ready: {why}{more}"


def terminating_pods(workload: Mapping, pods: Iterable[Mapping]) -> str | None:
    """`pod NAME still terminating` (first_terminating_pod's message), or None."""
    found = first_terminating_pod(workload, pods)
    return found[1] if found else None


def first_terminating_pod(workload: Mapping, pods: Iterable[Mapping]) -> tuple | None:
    """(NAME, `pod NAME still terminating`) while a Deployment's pod (an old one after a
    rollout) is being deleted, else None. status.terminatingReplicas stops counting a pod once the kubelet
    has stopped its containers, but the pod object goes only after that (seen on a real node).
    """
    if not isinstance(workload, Mapping) or group_kind(workload) not in (
            "apps/Deployment", "extensions/Deployment"):
        return None
    try:
        going = sorted(_name(p) for p in pods if isinstance(p, Mapping) and selects(workload, p)
                       and _get(p, "metadata.deletionTimestamp"))
    except _Malformed:
        return None
    if not going:
        return None
    more = f" (and {_plural(len(going) - 1, 'more pod')})" if len(going) > 1 else ""
    return going[0], f"pod {going[0]} still terminating{more}"
