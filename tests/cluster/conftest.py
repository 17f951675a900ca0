"""Fixtures for tests against the local cluster: kubectl, namespaces, kubeconfig env."""
from __future__ import annotations

import json
import subprocess
import uuid

import pytest


class Kubectl:
    def __init__(self, binary: str, kubeconfig: str):
        self.binary, self.kubeconfig = binary, kubeconfig

    def __call__(self, *args: str, check: bool = True, input: str | None = None) -> str:
        proc = subprocess.run([self.binary, "--kubeconfig", self.kubeconfig, *args],
                              capture_output=True, text=True, input=input, timeout=120)
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout

    def get(self, *args: str):
        """The object as JSON, or None when it does not exist."""
        out = self("get", *args, "-o", "json", "--ignore-not-found")
        return json.loads(out) if out.strip() else None


@pytest.fixture(scope="session")
def kubectl(kubectl_bin, kubeconfig) -> Kubectl:
    return Kubectl(kubectl_bin, kubeconfig)


@pytest.fixture(scope="session")
def hook_env(kubeconfig) -> dict:
    """The hook finds the cluster through $KUBECONFIG, as on a controller node."""
    return {"KUBECONFIG": kubeconfig}


@pytest.fixture
def ns(kubectl):
    """A fresh namespace name for one test; deleted afterwards (without waiting)."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    yield name
    kubectl("delete", "namespace", name, "--wait=false", "--ignore-not-found", check=False)
