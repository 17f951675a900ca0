"""Readiness: pure rules (rules.py), the one judge (judge.py), the offline verdict CLI (offline.py),
live waits: the pure store of watched objects and the pod index (store.py), the list/watch
streams (streams.py) and the loop against the deadline (watch.py).

May import the base modules and `kube` (the streams); never the engine or results.

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
