#!/usr/bin/env python3
"""The ideal client of bench/run: the hook's requests and nothing else, as fast as they go.

    bench/ideal.py --kubeconfig K --objects objs.json [--workers 32]

Sends exactly the requests an apply with the dry-run guarantee needs: the Namespaces
(server-side-apply dry-run, then apply), then every other object's dry-run in parallel, then
every apply in parallel (`--workers` threads, each with its own kept-alive TLS connection).
No YAML, no discovery (the bench's kinds are known), no inventory, no wait: what is left is
Python start-up, TLS and the API server. The objects come as JSON (a list), already
namespaced. Prints one JSON line: counts and timings. Standard library + tinykube only.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from heat_k8s_hook.kube.tinykube import Client  # noqa: E402

PLURALS = {"Namespace": "namespaces", "ConfigMap": "configmaps", "Secret": "secrets",
           "Service": "services", "Deployment": "deployments", "Job": "jobs",
           "StatefulSet": "statefulsets"}
APPLY = "application/apply-patch+yaml"


def path(obj: dict) -> str:
    api = obj["apiVersion"]
    base = f"/apis/{api}" if "/" in api else f"/api/{api}"
    ns = obj["metadata"].get("namespace")
    where = f"/namespaces/{ns}" if ns and obj["kind"] != "Namespace" else ""
    return f"{base}{where}/{PLURALS[obj['kind']]}/{obj['metadata']['name']}"


class Sender:
    """One connection per worker thread, kept alive across requests."""

    def __init__(self, kubeconfig: str, workers: int):
        self.kubeconfig, self.local = kubeconfig, threading.local()
        self.pool = ThreadPoolExecutor(max_workers=workers)

    def _client(self) -> Client:
        if not hasattr(self.local, "client"):
            self.local.client = Client(self.kubeconfig, None, timeout=60)
        return self.local.client

    def apply(self, obj: dict, dry_run: bool) -> int:
        query = "?fieldManager=ideal&force=true" + ("&dryRun=All" if dry_run else "")
        status, body = self._client().request("PATCH", path(obj) + query,
                                              json.dumps(obj).encode(), APPLY)
        if status >= 300:
            raise SystemExit(f"{obj['kind']}/{obj['metadata']['name']}: HTTP {status} "
                             f"{body[:200]!r}")
        return status

    def all(self, objs: list, dry_run: bool) -> None:
        list(self.pool.map(lambda o: self.apply(o, dry_run), objs))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kubeconfig", required=True)
    ap.add_argument("--objects", required=True)
    ap.add_argument("--workers", type=int, default=32)
    args = ap.parse_args()
    t0 = time.monotonic()
    objs = json.loads(pathlib.Path(args.objects).read_text())
    namespaces = [o for o in objs if o["kind"] == "Namespace"]
    rest = [o for o in objs if o["kind"] != "Namespace"]
    sender = Sender(args.kubeconfig, args.workers)
    for ns in namespaces:
        sender.apply(ns, True)
        sender.apply(ns, False)
    t_ns = time.monotonic()
    sender.all(rest, True)
    t_dry = time.monotonic()
    sender.all(rest, False)
    t_end = time.monotonic()
    print(json.dumps({"objects": len(objs), "workers": args.workers,
                      "dry_run": len(objs), "applied": len(objs),
                      "namespaces_s": round(t_ns - t0, 3), "dry_run_s": round(t_dry - t_ns, 3),
                      "apply_s": round(t_end - t_dry, 3), "total_s": round(t_end - t0, 3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
