"""The one judge: an object's readiness from the object, its pods and its events. Pure.

The hook's waiter, `heat-k8s-hook status`, `list` and the offline `readiness` command all call
`judge`, so they cannot disagree: a Deployment whose current pods crash-loop is FAILED for each
of them (kstatus's `status.Compute` plus its pod-controller reader, in one place).
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from heat_k8s_hook.readiness.rules import (
    WORKLOAD_KINDS,
    Status,
    Verdict,
    first_terminating_pod,
    first_unready_pod,
    group_kind,
    object_status,
    selects,
    workload_failure,
)


def judge(obj: Mapping | None, now: datetime, pods: Iterable[Mapping] = (),
          events: Iterable[Mapping] = (), *, wait_rules: Mapping[str, str] | None = None,
          unschedulable_grace: float = 15.0) -> Verdict:
    """READY / IN_PROGRESS / FAILED / UNKNOWN with a message for a person.

    `pods` may hold any pods (those the object does not select are ignored); `events` may
    hold any Events: the last Warning about the object or one of its pods is added to the
    message of anything not ready, as the cause an operator looks for first.
    """
    if obj is None:
        return Verdict(Status.IN_PROGRESS, "not found")
    verdict = object_status(obj, now, wait_rules)
    if verdict.status is Status.READY and isinstance(obj, Mapping):
        going = first_terminating_pod(obj, pods)  # "ready" = the old version no longer runs
        if going:
            return Verdict(Status.IN_PROGRESS, f"{verdict.message}; {going[1]}", (going[0],))
    if verdict.status in (Status.READY, Status.FAILED) or not isinstance(obj, Mapping):
        return verdict
    gk = group_kind(obj)
    if gk in WORKLOAD_KINDS:
        failure = workload_failure(obj, [obj] if gk == "Pod" else pods, now,
                                   unschedulable_grace)
        if failure is not None:
            verdict = failure
        else:
            unready = first_unready_pod(obj, pods)
            if unready:
                verdict = Verdict(verdict.status, f"{verdict.message}; {unready[1]}",
                                  (unready[0],))
    warning = last_warning(obj, pods, events)
    if warning and warning not in verdict.message:
        verdict = Verdict(verdict.status, f"{verdict.message}; last event: {warning}",
                          verdict.pods)
    return verdict


def last_warning(obj: Mapping, pods: Iterable[Mapping], events: Iterable[Mapping]) -> str:
    """`Reason: message` of the newest Warning event about obj or the pods it owns."""
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    namespace = meta.get("namespace") or ""
    names = {meta.get("name")}
    names |= {(pod.get("metadata") or {}).get("name") for pod in pods if selects(obj, pod)}
    about = warnings_about(events, names, namespace)
    return event_text(about[-1]) if about else ""


def warnings_about(events: Iterable[Mapping], names: Iterable, namespace: str) -> list:
    """The Warning events about the named objects of `namespace`, oldest first (the hook's
    timeout details and `status`/`list` both read them from here)."""
    wanted, found = set(names), []
    for event in events:
        if not isinstance(event, Mapping) or event.get("type") != "Warning":
            continue
        io = event.get("involvedObject") or event.get("regarding") or {}
        if io.get("name") in wanted and (io.get("namespace") or "") == namespace:
            found.append(event)
    return sorted(found, key=lambda e: str(e.get("lastTimestamp") or e.get("eventTime") or ""))


def event_text(event: Mapping) -> str:
    """`Reason: message`, the message on one line."""
    text = " ".join(str(event.get("message") or event.get("note") or "").split())
    return f"{event.get('reason')}: {text}"

