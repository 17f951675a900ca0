"""What the API server itself counted: non-dry-run writes from its /metrics endpoint.

Tests count requests as the server saw them (`apiserver_request_total`), not as the hook says.
"""
from __future__ import annotations

import re

WRITE_VERBS = frozenset({"POST", "PUT", "PATCH", "APPLY", "DELETE", "DELETECOLLECTION"})
_SAMPLE = re.compile(r'^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>[0-9.e+]+)$')
_LABEL = re.compile(r'(\w+)="([^"]*)"')


def writes(kubectl, resources, verbs=WRITE_VERBS) -> int:
    """Non-dry-run write requests the API server counted so far for these resources (only
    `verbs`: creates and updates alone leave out the namespace controller's deletes)."""
    total = 0
    for line in kubectl("get", "--raw", "/metrics").splitlines():
        match = _SAMPLE.match(line)
        if not match:
            continue
        labels = dict(_LABEL.findall(match["labels"]))
        if labels.get("verb") in verbs and not labels.get("dry_run") \
                and labels.get("resource") in resources and not labels.get("subresource"):
            total += int(float(match["value"]))
    return total


def quiesce(kubectl, timeout: float = 90.0) -> None:
    """Wait until no namespace is Terminating: the namespace controller's deletes of earlier
    tests' namespaces (DELETECOLLECTION per resource) would otherwise land in a count."""
    import json
    import time
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        items = json.loads(kubectl("get", "namespaces", "-o", "json"))["items"]
        if not any(i.get("status", {}).get("phase") == "Terminating" for i in items):
            return
        time.sleep(1)
    raise AssertionError(f"namespaces still Terminating after {timeout:.0f}s")
