"""What the API server itself counted: non-dry-run writes from its /metrics endpoint.

Tests count requests as the server saw them (`apiserver_request_total`), not as the hook says.
"""
from __future__ import annotations

import re
import subprocess
import time

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


class Kubectl:
    """kubectl with a kubeconfig, as a callable that writes() and quiesce() take."""

    def __init__(self, kubectl_bin: str, kubeconfig: str):
        self.bin, self.kubeconfig = kubectl_bin, kubeconfig

    def __call__(self, *args: str) -> str:
        return subprocess.run([self.bin, "--kubeconfig", self.kubeconfig, *args], check=True,
                              capture_output=True, text=True, timeout=60).stdout


def settled(count, seconds: float = 3.0, timeout: float = 60.0) -> int:
    """count() once it has held still for `seconds`: the count is the whole server's, and an
    earlier test's work (a stack delete, a namespace going) may still be finishing."""
    end = time.monotonic() + timeout
    last, since = count(), time.monotonic()
    while time.monotonic() - since < seconds and time.monotonic() < end:
        time.sleep(0.5)
        now = count()
        if now != last:
            last, since = now, time.monotonic()
    return last
