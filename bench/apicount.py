"""API requests per tool run, as the API server counted them (apiserver_request_total).

`Counter(cl).around(fn)` runs fn and returns (its result, {"writes": n, "dry_run": m}):
non-dry-run write requests and dry-run requests on the resources the tools write, read from
/metrics before and after. The counters are cluster-wide: on a busy cluster another client's
writes land in the count (bench/run is meant for a quiet machine); controllers' status
updates (subresources), Events and Leases (node heartbeats, leader election) are left out.
"""
from __future__ import annotations

import re

WRITE_VERBS = frozenset({"POST", "PUT", "PATCH", "APPLY", "DELETE", "DELETECOLLECTION"})
RESOURCES = frozenset({"namespaces", "configmaps", "secrets", "services", "deployments", "jobs",
                       "statefulsets"})
_SAMPLE = re.compile(r'^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>[0-9.e+]+)$')
_LABEL = re.compile(r'(\w+)="([^"]*)"')


def parse(text: str) -> dict:
    """{"writes": n, "dry_run": m} so far, from the /metrics text."""
    out = {"writes": 0, "dry_run": 0}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if not match:
            continue
        labels = dict(_LABEL.findall(match["labels"]))
        if labels.get("resource") not in RESOURCES or labels.get("subresource"):
            continue
        value = int(float(match["value"]))
        if labels.get("dry_run"):
            out["dry_run"] += value
        elif labels.get("verb") in WRITE_VERBS:
            out["writes"] += value
    return out


class Counter:
    def __init__(self, cl):
        self.cl = cl

    def snapshot(self) -> dict:
        headers = {"Accept": "text/plain"}
        if self.cl.cfg.api_key:
            headers["Authorization"] = self.cl.cfg.get_api_key_with_prefix("authorization")
        resp = self.cl.pool.request("GET", self.cl.cfg.host + "/metrics", headers=headers,
                                    timeout=30)
        return parse(resp.data.decode())

    def around(self, fn, *args, **kwargs):
        before = self.snapshot()
        result = fn(*args, **kwargs)
        after = self.snapshot()
        return result, {k: after[k] - before[k] for k in after}
