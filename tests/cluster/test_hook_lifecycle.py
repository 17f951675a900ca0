"""CREATE, re-delivery, drift, UPDATE with prune, DELETE: the hook against the real cluster."""
from __future__ import annotations

import json
import uuid

from hookrun import deployment, run_hook


def app(ns: str, replicas=None, with_config=True) -> list:
    replicas = replicas if replicas is not None else {"get_input": "replicas"}
    docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}]
    if with_config:
        docs.append({"apiVersion": "v1", "kind": "ConfigMap",
                     "metadata": {"name": "web-config", "namespace": ns},
                     "data": {"greeting": {"get_input": "greeting"}}})
    docs += [
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "web", "namespace": ns},
         "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}},
                               "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": ns},
         "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}},
    ]
    return docs


def test_create_redeliver_drift_update_delete(kubectl, hook_env):
    ns = f"t-{uuid.uuid4().hex[:8]}"
    stack = f"s{uuid.uuid4().hex[:6]}"
    inputs = [{"name": "replicas", "type": "Number", "value": "2"},
              {"name": "greeting", "value": "hello: {world}"}]
    options = {"outputs": {"web_ip": "Service/web:{.spec.clusterIP}",
                           "ready": f"apps/Deployment/{ns}/web:{{.status.readyReplicas}}"}}

    # CREATE: everything created, ready, outputs read from live objects.
    create = run_hook(deployment(app(ns), inputs=inputs, options=options, stack=stack,
                                 outputs=["web_ip"]), hook_env)
    assert create.code == 0, create.err
    assert create.actions() == {f"Namespace/{ns}": "created",
                                f"ConfigMap/{ns}/web-config": "created",
                                f"Deployment/{ns}/web": "created",
                                f"Service/{ns}/web": "created"}
    svc = kubectl.get("service", "web", "-n", ns)
    assert create.result["web_ip"] == svc["spec"]["clusterIP"]
    assert create.result["ready"] == 2
    dep = kubectl.get("deployment", "web", "-n", ns)
    assert dep["status"]["availableReplicas"] == 2
    assert kubectl.get("configmap", "web-config", "-n", ns)["data"]["greeting"] == "hello: {world}"
    assert "all 4 object(s) ready" in create.err

    # kubectl sees the ApplySet parent.
    parents = json.loads(kubectl("get", "configmap", "-n", "heat-k8s-hook", "-o", "json",
                                 "-l", "applyset.kubernetes.io/id"))["items"]
    mine = [p for p in parents if p["metadata"]["annotations"].get(
        "heat-k8s-hook.dev/deployment", "").startswith(stack)]
    assert len(mine) == 1
    assert dep["metadata"]["labels"]["applyset.kubernetes.io/part-of"] == \
        mine[0]["metadata"]["labels"]["applyset.kubernetes.io/id"]

    # Re-delivery (a new id, same config): nothing changes.
    again = run_hook(deployment(app(ns), inputs=inputs, options=options, stack=stack), hook_env)
    assert again.code == 0, again.err
    assert set(again.actions().values()) == {"unchanged"}
    assert kubectl.get("deployment", "web", "-n", ns)["metadata"]["resourceVersion"] == \
        kubectl.get("deployment", "web", "-n", ns)["metadata"]["resourceVersion"]

    # Drift: a hand edit of a field the hook owns is put back on the next delivery.
    kubectl("patch", "configmap", "web-config", "-n", ns, "--type", "merge",
            "-p", '{"data": {"greeting": "edited by hand"}}')
    fixed = run_hook(deployment(app(ns), inputs=inputs, options=options, stack=stack), hook_env)
    assert fixed.code == 0, fixed.err
    assert fixed.actions()[f"ConfigMap/{ns}/web-config"] == "configured"
    assert fixed.actions()[f"Deployment/{ns}/web"] == "unchanged"
    assert kubectl.get("configmap", "web-config", "-n", ns)["data"]["greeting"] == "hello: {world}"

    # UPDATE: replicas change, the ConfigMap is dropped from the config and pruned.
    inputs3 = [dict(inputs[0], value="3"), inputs[1]]
    update = run_hook(deployment(app(ns, with_config=False), inputs=inputs3, options=options,
                                 stack=stack, action="UPDATE"), hook_env)
    assert update.code == 0, update.err
    assert update.actions()[f"Deployment/{ns}/web"] == "configured"
    assert update.actions()[f"ConfigMap/{ns}/web-config"] == "pruned"
    assert kubectl.get("configmap", "web-config", "-n", ns) is None
    assert kubectl.get("deployment", "web", "-n", ns)["status"]["availableReplicas"] == 3

    # DELETE: everything the deployment owns is gone when the hook answers.
    delete = run_hook(deployment("", action="DELETE", stack=stack), hook_env)
    assert delete.code == 0, delete.err
    assert set(delete.actions().values()) == {"deleted"}
    assert kubectl.get("namespace", ns) is None
    # A second DELETE is a success with nothing to do.
    again = run_hook(deployment("", action="DELETE", stack=stack), hook_env)
    assert again.code == 0 and "owns no objects" in again.err


def test_structured_config_and_json_inputs(kubectl, hook_env, ns):
    config = {"manifests": [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": ns},
         "data": {"get_input": "data"}}]}
    run = run_hook(deployment(config, inputs=[
        {"name": "data", "type": "Json", "value": '{"a": "1", "b": "two"}'}],
        stack=f"s{uuid.uuid4().hex[:6]}"), hook_env)
    assert run.code == 0, run.err
    assert kubectl.get("configmap", "c", "-n", ns)["data"] == {"a": "1", "b": "two"}
