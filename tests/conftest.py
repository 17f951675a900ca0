"""Session fixtures for the real components: the local cluster (tools/local-cluster).

A component that cannot start fails the test with its cause; nothing skips silently.
"""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _start_cluster() -> str:
    proc = subprocess.run(
        [str(ROOT / "tools" / "local-cluster"), "up"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=3600,
    )
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        pytest.fail(f"the local cluster could not start (tools/local-cluster up):\n{tail}",
                    pytrace=False)
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def kubeconfig() -> str:
    """Path of a kubeconfig for the running local cluster (started if needed)."""
    path = os.environ.get("HEAT_K8S_HOOK_TEST_KUBECONFIG") or _start_cluster()
    if not os.path.exists(path):
        pytest.fail(f"kubeconfig {path} does not exist", pytrace=False)
    return path


@pytest.fixture(scope="session")
def kubectl_bin() -> str:
    """The kubectl built by tools/local-cluster (same pinned release as the cluster)."""
    out = subprocess.run([str(ROOT / "tools" / "local-cluster"), "bin"],
                         stdout=subprocess.PIPE, text=True, check=True).stdout.strip()
    path = os.path.join(out, "kubectl")
    if not os.access(path, os.X_OK):
        pytest.fail(f"kubectl not built at {path}; run tools/local-cluster build", pytrace=False)
    return path
