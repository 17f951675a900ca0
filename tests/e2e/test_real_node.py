"""Issue 28 through the real Heat: examples/heat/real-node.yaml puts busybox's httpd on the real
kubelet node (`tools/local-cluster up --real-node`); the stack is CREATE_COMPLETE only once the
readiness probe passed, its `pod_ip` output is the Pod's live IP, and a request from this host to
it answers with the greeting Heat passed in. Stack delete: the Pod is gone (its container
stopped by the kubelet)."""
from __future__ import annotations

import pathlib
import subprocess
import time
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _fail(msg):
    pytest.fail(msg, pytrace=False)


def _image() -> str:
    for line in (ROOT / "tools" / "versions.env").read_text().splitlines():
        if line.startswith("BUSYBOX_STATIC_DEB_VERSION="):
            version = line.split("=", 1)[1].strip().strip('"').split(":", 1)[-1]
            return "local/busybox:" + version.split("+", 1)[0]
    _fail("tools/versions.env pins no BUSYBOX_STATIC_DEB_VERSION")


@pytest.fixture(scope="module")
def real_node():
    proc = subprocess.run([str(ROOT / "tools" / "local-cluster"), "up", "--real-node"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=3600)
    if proc.returncode != 0:
        _fail("the real node could not start (tools/local-cluster up --real-node):\n"
              + "\n".join(proc.stderr.strip().splitlines()[-15:]))
    return "real-node-0"


def test_heat_serves_a_page_from_the_real_node(real_node, heat, k8s_server, kube, unique):
    ns = f"e2e-real-{unique}"
    message = f"hello from Heat on a real kubelet {unique}"
    t0 = time.monotonic()
    stack_id = heat.create(f"real-{unique}", "real-node.yaml",
                           {"server": k8s_server.server_id, "namespace": ns,
                            "image": _image(), "message": message})
    st = heat.stack(stack_id)
    print(f"stack create on the real node -> {st['stack_status']} in "
          f"{time.monotonic() - t0:.1f}s")
    assert st["stack_status"] == "CREATE_COMPLETE", st["stack_status_reason"]
    pod = kube.get("pod", "web", ns)
    assert pod["spec"]["nodeName"] == real_node
    assert any(c["type"] == "Ready" and c["status"] == "True"
               for c in pod["status"]["conditions"]), pod["status"]
    ip = heat.outputs(stack_id)["pod_ip"]
    assert ip and ip == pod["status"]["podIP"]
    page = urllib.request.urlopen(f"http://{ip}:8080/", timeout=10).read().decode()
    assert page.strip() == message
    heat.call("stacks.delete", stack_id)
    st = heat.wait(stack_id, "DELETE", 300)
    assert st["stack_status"] == "DELETE_COMPLETE", st.get("stack_status_reason")
    end = time.monotonic() + 60
    while kube.get("pod", "web", ns) is not None:
        if time.monotonic() > end:
            _fail(f"Pod {ns}/web still there 60 s after DELETE_COMPLETE")
        time.sleep(0.5)
