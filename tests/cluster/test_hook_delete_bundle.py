"""DELETE of a real public bundle holding CRDs and custom resources of them (Contour's Gateway
bundle, read from the shared corpus, never copied into the project).

Before the plan of steps, DELETE removed everything at once and then watched the custom
resources' endpoint, which answers 404 once their CRD is gone: the hook failed with code 5.
"""
from __future__ import annotations

import pathlib
import re
import uuid

from hookrun import deployment, run_hook

BUNDLE = pathlib.Path("/work/shared/corpora/real-manifests/contour-gateway.yaml")


def contour(ns: str) -> str:
    """The bundle with its namespace and its own API group renamed for this test only, so
    runs never share CRDs (`projectcontour.io` becomes `<ns>.io`), nor the GatewayClass."""
    text = re.sub(r"\bprojectcontour\b", ns, BUNDLE.read_text())
    return text.replace("  name: example\n", f"  name: {ns}\n").replace(
        "gatewayClassName: example", f"gatewayClassName: {ns}")


def test_delete_of_crds_with_their_custom_resources_succeeds(kubectl, hook_env, ns):
    stack = f"c{uuid.uuid4().hex[:6]}"
    config = contour(ns)
    options = {"timeout": 240, "wait": False}
    create = run_hook(deployment(config, stack=stack, options=options), hook_env, timeout=300)
    assert create.code == 0, create.err
    assert kubectl.get("gatewayclass", ns) is not None
    assert kubectl.get(f"crd/contourconfigurations.{ns}.io") is not None

    delete = run_hook(deployment(config, stack=stack, options=options, action="DELETE"),
                      hook_env, timeout=300)
    assert delete.code == 0, delete.err
    actions = delete.actions()
    assert actions[f"GatewayClass/{ns}"] == "deleted"
    assert actions[f"CustomResourceDefinition/contourconfigurations.{ns}.io"] == "deleted"
    order = list(actions)
    assert order.index(f"GatewayClass/{ns}") < order.index(
        "CustomResourceDefinition/gatewayclasses.gateway.networking.k8s.io")
    assert order[-1] == f"Namespace/{ns}"
    assert kubectl.get(f"crd/contourconfigurations.{ns}.io") is None
    assert kubectl.get("namespace", ns) is None
