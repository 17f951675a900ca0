"""Issue 28 through the real Heat: examples/heat/real-node.yaml puts busybox's httpd on the real
kubelet node (`tools/local-cluster up --real-node`); the stack is CREATE_COMPLETE only once the
readiness probe passed, its `pod_ip` output is the Pod's live IP, and a request from this host to
it answers with the greeting Heat passed in. Stack delete: the Pod is gone (its container
stopped by the kubelet).

Then the docker-compose backend (examples/heat/real-node-compose.yaml, heat-agents' compose hook
on a second agent, tools/local-docker's dockerd) serves the same page from the same image: the
image both runtimes ran has one config digest (tools/cluster/mkimage.py made it for both), and
the two pages are the same bytes."""
from __future__ import annotations

import json
import os
import pathlib
import subprocess
import tarfile
import time
import urllib.request

import pytest
from conftest import free_port

ROOT = pathlib.Path(__file__).resolve().parents[2]
# What the real node served, for the compose test that follows (tests in a file run in order).
SERVED: dict = {}


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
    page = urllib.request.urlopen(f"http://{ip}:8080/", timeout=10).read()
    assert page.decode().strip() == message
    status = pod["status"]["containerStatuses"][0]
    SERVED.update(message=message, page=page, image_id=status["imageID"], image=status["image"])
    heat.call("stacks.delete", stack_id)
    st = heat.wait(stack_id, "DELETE", 300)
    assert st["stack_status"] == "DELETE_COMPLETE", st.get("stack_status_reason")
    end = time.monotonic() + 60
    while kube.get("pod", "web", ns) is not None:
        if time.monotonic() > end:
            _fail(f"Pod {ns}/web still there 60 s after DELETE_COMPLETE")
        time.sleep(0.5)


def _archive_digests() -> dict:
    """The digests of the real node's busybox archive (tools/cluster/realnode.sh made it):
    manifest (index.json) and config (the manifest's), as containerd and docker name them."""
    cache = pathlib.Path(os.environ.get("HEAT_K8S_HOOK_CACHE",
                                        pathlib.Path.home() / ".cache" / "heat-k8s-hook"))
    tars = sorted((cache / "real-node" / "images").glob("busybox-*.tar"))
    if not tars:
        _fail("no busybox archive under ~/.cache/heat-k8s-hook/real-node/images")
    with tarfile.open(tars[-1]) as tar:
        index = json.load(tar.extractfile("index.json"))
        manifest_digest = index["manifests"][0]["digest"]
        manifest = json.load(tar.extractfile("blobs/sha256/" + manifest_digest.split(":", 1)[1]))
    return {"manifest": manifest_digest, "config": manifest["config"]["digest"]}


def _get(url: str, timeout: float = 60) -> bytes:
    """GET url, retried until it answers 200 (docker-compose up -d has no readiness gate)."""
    end = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as r:
                return r.read()
        except OSError as exc:
            if time.monotonic() > end:
                _fail(f"{url} did not answer in {timeout}s: {exc}")
            time.sleep(0.5)


def test_compose_serves_the_same_page_from_the_same_image(heat, compose_host, local_docker,
                                                           unique):
    if not SERVED:
        _fail("the real node's page was not recorded (test_heat_serves_a_page_from_the_real_node"
              " failed or did not run)")
    digests = _archive_digests()
    # The kubelet ran the archive's image: CRI's imageID of an imported image (no registry,
    # no repo digest) is its config digest, which is what docker calls the image's ID.
    assert SERVED["image_id"] in (digests["config"], f"docker.io/{_image()}@{digests['manifest']}"), \
        (SERVED, digests)
    image = _image()
    docker_id = local_docker.run("image", "inspect", "--format", "{{.Id}}", image).strip()
    assert docker_id == digests["config"], (docker_id, digests)

    port = free_port()
    project = "page" + unique.replace("-", "")
    stack_id = heat.create(f"page-compose-{unique}", "real-node-compose.yaml",
                           {"server": compose_host.server_id, "project": project, "image": image,
                            "message": SERVED["message"], "port": port})
    try:
        st = heat.stack(stack_id)
        assert st["stack_status"] == "CREATE_COMPLETE", st["stack_status_reason"]
        assert heat.outputs(stack_id)["endpoint"] == f"127.0.0.1:{port}"
        page = _get(f"http://127.0.0.1:{port}/")
        assert page == SERVED["page"], (page, SERVED["page"])
        ran = local_docker.run("ps", "--filter", f"label=com.docker.compose.project={project}",
                               "--format", "{{.Image}}").split()
        assert ran == [image], ran
    finally:
        heat.call("stacks.delete", stack_id)
        heat.wait(stack_id, "DELETE", 300)
