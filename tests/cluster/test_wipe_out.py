"""An UPDATE whose config renders no objects never prunes what the deployment owns by accident."""
from __future__ import annotations

import uuid

from apimetrics import quiesce, writes
from hookrun import deployment, run_hook

RESOURCES = ("configmaps", "namespaces")


def objects(ns: str) -> list:
    return [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": ns},
             "data": {"k": "v"}},
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b", "namespace": ns}}]


def test_empty_update_is_refused_and_changes_nothing(kubectl, hook_env):
    """Checked by removing the guard (now in steps.plan_apply): the refused UPDATE then prunes
    all three objects (code 0, `pruned` lines) and the write count and resourceVersions move."""
    ns = f"t-{uuid.uuid4().hex[:8]}"
    stack = f"s{uuid.uuid4().hex[:6]}"
    create = run_hook(deployment(objects(ns), stack=stack), hook_env)
    assert create.code == 0, create.err
    before = kubectl.get("configmap", "a", "-n", ns)["metadata"]["resourceVersion"]
    # the controller-manager publishes kube-root-ca.crt into every new namespace: let that
    # write land before counting (in CI the tests run one at a time, so nothing else writes)
    kubectl("wait", "--for=create", "configmap/kube-root-ca.crt", "-n", ns, "--timeout=30s")
    quiesce(kubectl)
    counted = writes(kubectl, RESOURCES)

    for empty in ("", "# every document was emptied by a str_replace\n", "---\n---\n"):
        update = run_hook(deployment(empty, action="UPDATE", stack=stack), hook_env)
        assert update.code == 2, update.err
        last = update.err.strip().splitlines()[-1]
        assert last.startswith("ERROR: config renders no objects") and "allow_empty" in last
        assert update.result["deploy_stdout"] == ""

    assert writes(kubectl, RESOURCES) == counted, "the API server saw a write"
    assert kubectl.get("configmap", "a", "-n", ns)["metadata"]["resourceVersion"] == before
    assert kubectl.get("configmap", "b", "-n", ns) is not None

    # Said explicitly, the same UPDATE removes everything the deployment owns.
    allowed = run_hook(deployment("", action="UPDATE", stack=stack,
                                  options={"allow_empty": True}), hook_env)
    assert allowed.code == 0, allowed.err
    assert set(allowed.actions().values()) == {"pruned"}
    assert kubectl.get("configmap", "a", "-n", ns) is None
