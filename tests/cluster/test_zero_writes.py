"""An unchanged re-delivery writes nothing: counted by the API server, not by the hook.

The bundle is a real one (metrics-server, from the shared corpus, moved into the test's
namespace; its APIService left out, it would break discovery for everyone) plus objects whose
values the server stores in another spelling: quantities (`1000m`, `1024Mi`, `0.5`), fields it
defaults (Service protocol, Deployment strategy), int-or-string ports, a Secret's stringData.
"""
from __future__ import annotations

import json
import pathlib
import time
import uuid

import yaml
from apimetrics import _LABEL, _SAMPLE, WRITE_VERBS
from hookrun import deployment, run_hook

BUNDLE = pathlib.Path("/work/shared/corpora/real-manifests/metrics-server.yaml")
RESOURCES = ("namespaces", "configmaps", "secrets", "services", "deployments", "serviceaccounts",
             "clusterroles", "clusterrolebindings", "rolebindings", "limitranges")
NO_FAST_PATH = {"HEAT_K8S_HOOK_FAST_PATH": "0"}


def metrics_server(ns: str) -> list:
    docs = [d for d in yaml.safe_load_all(BUNDLE.read_text()) if d and d["kind"] != "APIService"]
    for d in docs:
        meta = d["metadata"]
        if meta.get("namespace") == "kube-system":
            meta["namespace"] = ns
        if d["kind"].startswith("Cluster"):
            meta["name"] = f"{meta['name']}-{ns}"
        for s in d.get("subjects", []):
            s["namespace"] = ns
        if d["kind"] == "ClusterRoleBinding":
            d["roleRef"]["name"] = f"{d['roleRef']['name']}-{ns}"
    return docs


def normalised(ns: str) -> list:
    """Objects the server stores in another spelling than the one applied."""
    res = {"limits": {"cpu": "1000m", "memory": "1024Mi"}, "requests": {"cpu": 0.5, "memory": "0.5Gi"}}
    return [
        {"apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "lr", "namespace": ns},
         "spec": {"limits": [{"type": "Container", "default": {"cpu": "1000m", "memory": "1024Mi"},
                              "defaultRequest": {"cpu": 0.1}}]}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": ns},
         "stringData": {"password": "not-a-secret-in-a-test"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": ns,
                                                             "annotations": {}},
         "data": {"cpu": "1000m"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": ns},
         "spec": {"selector": {"app": "web"}, "ports": [{"name": "web", "port": 80, "targetPort": "http"},
                                                        {"name": "alt", "port": 8080, "targetPort": 8080}]}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": ns},
         "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}},
                               "spec": {"containers": [{"name": "web", "image": "nginx:1.27",
                                                        "args": [], "resources": res,
                                                        "ports": [{"name": "http",
                                                                   "containerPort": 80}]}],
                                        "volumes": [{"name": "t", "emptyDir": {"sizeLimit": "1024Mi"}}]}}}},
    ]


def bundle(ns: str) -> list:
    return [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}] + \
        metrics_server(ns) + normalised(ns)


def writes(kubectl, resources) -> dict:
    """(verb, resource) -> non-dry-run writes the API server counted so far."""
    out: dict = {}
    for line in kubectl("get", "--raw", "/metrics").splitlines():
        match = _SAMPLE.match(line)
        labels = dict(_LABEL.findall(match["labels"])) if match else {}
        if labels.get("verb") in WRITE_VERBS and not labels.get("dry_run") \
                and labels.get("resource") in resources and not labels.get("subresource"):
            key = (labels["verb"], labels["resource"])
            out[key] = out.get(key, 0) + int(float(match["value"]))
    return out


def delta(after: dict, before: dict) -> dict:
    return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}


def leases(kubectl, stack: str) -> dict:
    """The hook's Leases of this stack (not counted by resource: kube-node-lease and leader
    election renew Leases every few seconds) and their resourceVersions."""
    items = json.loads(kubectl("get", "leases", "-n", "heat-k8s-hook", "-o", "json"))["items"]
    return {i["metadata"]["name"]: i["metadata"]["resourceVersion"] for i in items
            if stack in i["metadata"]["name"]}


def redeliver_counting(kubectl, dep, env, tries: int = 8):
    """Re-deliver and count the writes around it; the count is cluster-wide, so another test
    writing at the same moment is told apart by trying again: the hook's own writes are the
    same every time, others' are not (a namespace of another test being deleted, a client
    patching Services). Returns (run, writes of the quietest try)."""
    counted = []
    for _ in range(tries):
        before = writes(kubectl, RESOURCES)
        run = run_hook(dep, env)
        assert run.code == 0, run.err
        counted.append(delta(writes(kubectl, RESOURCES), before))
        if not counted[-1]:
            break
    return run, min(counted, key=lambda d: sum(d.values()))


def test_unchanged_redelivery_writes_nothing(kubectl, hook_env):
    """Checked red by breaking it on purpose: with drift.unchanged comparing spellings only
    (no quantity normalisation, no dry-run answer compared) the quantities' Deployment and
    LimitRange were PATCHed on every re-delivery (2 writes); with the inventory parent written
    every time, 1 write per re-delivery; and with the fast path's resourceVersion check removed,
    the edited ConfigMap was reported unchanged."""
    ns = f"t-{uuid.uuid4().hex[:8]}"
    stack = f"z{uuid.uuid4().hex[:6]}"
    objs = bundle(ns)
    options = {"timeout": 120, "outputs": {"ip": "Service/web:{.spec.clusterIP}"}}
    try:
        create = run_hook(deployment(objs, stack=stack, options=options, outputs=("ip",)),
                          hook_env, timeout=180)
        assert create.code == 0, create.err
        kubectl("wait", "--for=create", "configmap/kube-root-ca.crt", "-n", ns, "--timeout=30s")
        time.sleep(1)  # let the controllers' last status updates land

        update = deployment(objs, stack=stack, options=options, outputs=("ip",), action="UPDATE")
        full, full_writes = redeliver_counting(kubectl, update, dict(hook_env, **NO_FAST_PATH))
        assert set(full.actions().values()) == {"unchanged"}, full.lines
        assert not full_writes, f"the API server saw writes on a re-delivery (full path): {full_writes}"

        # The first UPDATE after the CREATE claims the HA Lease (ha.generation includes the
        # action): counted from here, where the fast path starts.
        held = leases(kubectl, stack)
        fast, fast_writes = redeliver_counting(kubectl, update, hook_env)
        assert not fast_writes, f"the API server saw writes on a re-delivery (fast path): {fast_writes}"
        assert "re-delivery of the recorded apply" in fast.err, fast.err
        assert fast.result["deploy_stdout"] == full.result["deploy_stdout"]
        assert fast.result["ip"] == full.result["ip"] == create.result["ip"]
        assert leases(kubectl, stack) == held, "a Lease was written on a re-delivery"

        # An edit behind the hook's back is never hidden: the next re-delivery puts it back.
        kubectl("patch", "configmap", "c", "-n", ns, "--type=merge", "-p", '{"data":{"cpu":"2"}}')
        again = run_hook(update, hook_env)
        assert again.code == 0, again.err
        assert "re-delivery of the recorded apply" not in again.err
        assert again.actions()[f"ConfigMap/{ns}/c"] == "configured"
        assert kubectl.get("configmap", "c", "-n", ns)["data"]["cpu"] == "1000m"
    finally:
        kubectl("delete", "namespace", ns, "--wait=false", "--ignore-not-found", check=False)
        for d in objs:
            if d["kind"].startswith("Cluster"):
                kubectl("delete", d["kind"].lower(), d["metadata"]["name"], "--ignore-not-found",
                        check=False)
