"""Readiness: pure rules (rules.py), the offline verdict CLI (offline.py), live watches (watch.py).

Only the pure rules are re-exported here, so importing the package never loads a client.
"""
from heat_k8s_hook.readiness.rules import (
    Status,
    Verdict,
    group_kind,
    object_status,
    pod_failure,
    selects,
    workload_failure,
)

__all__ = [
    "Status",
    "Verdict",
    "group_kind",
    "object_status",
    "pod_failure",
    "selects",
    "workload_failure",
]
