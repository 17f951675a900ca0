"""Helm 4 as bench/run's third peer (issue 17): build it once, make a chart, run it.

The chart's templates are the very manifests the hook and kubectl get (one file per kind, no
template syntax); the release lives in its own namespace (`bench-helm-releases`) so the chart
can carry the run's Namespace. Helm 4's `--wait` waits with kstatus watchers (`--wait=watcher`,
its default); `--wait-for-jobs` makes it wait for the Jobs to complete too, as the hook does.
"""
from __future__ import annotations

import fcntl
import os
import pathlib
import shutil
import subprocess

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
RELEASES_NS = "bench-helm-releases"
KIND_ORDER = ["Namespace", "ConfigMap", "Secret", "Service", "StatefulSet", "Deployment", "Job"]


def pinned_version() -> str:
    for line in (ROOT / "tools" / "versions.env").read_text().splitlines():
        if line.startswith("HELM_VERSION="):
            return line.split("=", 1)[1].strip()
    raise SystemExit("tools/versions.env pins no HELM_VERSION")


def binary(log) -> str:
    """~/.cache/heat-k8s-hook/helm-<version>/bin/helm, built with `go install` the first time
    (one build at a time: a lock file next to it)."""
    version = pinned_version()
    cache = pathlib.Path(os.environ.get("HEAT_K8S_HOOK_CACHE",
                                        pathlib.Path.home() / ".cache" / "heat-k8s-hook"))
    bindir = cache / f"helm-{version}" / "bin"
    helm = bindir / "helm"
    if helm.exists():
        return str(helm)
    if not shutil.which("go"):
        raise SystemExit("helm: not built and go is not installed (needed once to build it)")
    bindir.mkdir(parents=True, exist_ok=True)
    with open(bindir.parent / "build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not helm.exists():
            log(f"building helm {version} with go install (once; several minutes on 2 cores)")
            subprocess.run(["go", "install", "-trimpath", "-ldflags", "-s -w",
                            f"helm.sh/helm/v4/cmd/helm@{version}"], check=True,
                           env=dict(os.environ, GOBIN=str(bindir), CGO_ENABLED="0",
                                    GOFLAGS="-mod=mod"))
    return str(helm)


def write_chart(objs: list, path: pathlib.Path) -> pathlib.Path:
    """A chart whose templates are the objects themselves, one file per kind."""
    if path.exists():
        shutil.rmtree(path)
    (path / "templates").mkdir(parents=True)
    (path / "Chart.yaml").write_text(yaml.safe_dump(
        {"apiVersion": "v2", "name": "bench", "version": "0.1.0", "type": "application"}))
    for i, kind in enumerate(KIND_ORDER):
        docs = [o for o in objs if o["kind"] == kind]
        if docs:
            (path / "templates" / f"{i:02d}-{kind.lower()}s.yaml").write_text(
                yaml.safe_dump_all(docs, sort_keys=False))
    return path


def release_name(ns: str) -> str:
    return ns[:53]


def install(helm: str, chart: pathlib.Path, ns: str, timeout: int, upgrade: bool = False) -> list:
    """`helm install --wait` (or `helm upgrade --wait`) of the chart as release `ns`."""
    verb = "upgrade" if upgrade else "install"
    return [helm, verb, release_name(ns), str(chart), "-n", RELEASES_NS, "--create-namespace",
            "--wait", "--wait-for-jobs", "--timeout", f"{timeout}s"]


def forget(cl, ns: str) -> None:
    """Delete the release's records (Helm keeps them as Secrets in RELEASES_NS)."""
    cl.call("DELETE", f"/api/v1/namespaces/{RELEASES_NS}/secrets",
            [("labelSelector", f"owner=helm,name={release_name(ns)}")])
