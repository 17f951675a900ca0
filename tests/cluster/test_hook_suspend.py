"""SUSPEND and RESUME through the real hook against the real API server (issue 23).

What each test would catch:
- `test_suspend_resume_then_update`: a SUSPEND that leaves pods running or does not wait for
  them to go; a second SUSPEND that records the zeros of the first (RESUME would then restore
  nothing) or writes the parent again; a RESUME that restores other values than those
  recorded (the template's, or 1) or answers before the workloads are ready; a change of the
  field that leaves another owner of `spec.replicas` behind, so that the next UPDATE meets a
  409 (or needs the applier's hand-edit takeover, which logs "taking back fields").
- `test_suspend_waits_until_no_pod_is_left`: a SUSPEND that answers before the pods are gone
  (seen red with `suspend.drained` always ready).
- `test_resume_restores_a_hand_scaled_value`: RESUME putting back the template's replicas
  instead of the live value SUSPEND found.
- `test_suspend_none_changes_nothing`: option suspend: none still scaling.
"""
from __future__ import annotations

import json
import threading
import time
import uuid

from hookrun import deployment, run_hook

MANAGER = "heat-k8s-hook"


def app(ns: str, image: str = "nginx:1.27", replicas: int = 2) -> list:
    labels = {"app": "web"}
    pod = {"metadata": {"labels": labels},
           "spec": {"containers": [{"name": "web", "image": image}]}}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": ns},
         "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": pod}},
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": ns},
         "spec": {"replicas": 1, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                  "template": {"metadata": {"labels": {"app": "db"}},
                               "spec": {"containers": [{"name": "db", "image": "postgres:17"}]}}}},
        {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "tick", "namespace": ns},
         "spec": {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": {"spec": {
             "restartPolicy": "Never", "containers": [{"name": "t", "image": "busybox:1.37"}]}}}}}},
    ]


def pods(kubectl, ns: str) -> list:
    """Every pod of the namespace, terminating ones too."""
    listing = kubectl.get("pods", "-n", ns) or {"items": []}   # none: kubectl prints nothing
    return [p["metadata"]["name"] for p in listing["items"]]


def parent(kubectl, stack: str) -> dict:
    items = json.loads(kubectl("get", "configmap", "-n", "heat-k8s-hook", "-o", "json",
                               "-l", "applyset.kubernetes.io/id"))["items"]
    mine = [p for p in items if p["metadata"]["annotations"].get(
        "heat-k8s-hook.dev/deployment", "").startswith(stack)]
    assert len(mine) == 1
    return mine[0]


def replicas_owners(obj: dict) -> list:
    """(manager, operation) of every managedFields entry that owns spec.replicas."""
    return [(m["manager"], m["operation"]) for m in obj["metadata"].get("managedFields", [])
            if "f:replicas" in (m.get("fieldsV1") or {}).get("f:spec", {})]


def live(kubectl, ns: str) -> tuple:
    web = kubectl.get("deployment", "web", "-n", ns, "--show-managed-fields")
    db = kubectl.get("statefulset", "db", "-n", ns)
    tick = kubectl.get("cronjob", "tick", "-n", ns)
    return web, db, tick


def test_suspend_resume_then_update(kubectl, hook_env, ns):
    stack = f"s{uuid.uuid4().hex[:6]}"
    options = {"outputs": {"ready": f"apps/Deployment/{ns}/web:{{.status.readyReplicas}}"}}

    def run(action, docs=None):
        return run_hook(deployment(docs or app(ns), options=options, stack=stack,
                                   action=action), hook_env)

    create = run("CREATE")
    assert create.code == 0, create.err
    assert len(pods(kubectl, ns)) == 3
    before = parent(kubectl, stack)

    # SUSPEND: zero replicas, the CronJob suspended, and no pod left when the hook answers.
    suspend = run("SUSPEND")
    assert suspend.code == 0, suspend.err
    web, db, tick = live(kubectl, ns)
    assert (web["spec"]["replicas"], db["spec"]["replicas"], tick["spec"]["suspend"]) == \
        (0, 0, True)
    assert pods(kubectl, ns) == []
    assert suspend.actions() == {f"Deployment/{ns}/web": "configured",
                                 f"StatefulSet/{ns}/db": "configured",
                                 f"CronJob/{ns}/tick": "configured"}
    record = parent(kubectl, stack)
    assert {(e["kind"], e.get("replicas", e.get("suspend")))
            for e in json.loads(record["data"]["suspended"])} == \
        {("Deployment", 2), ("StatefulSet", 1), ("CronJob", False)}
    kept = {k: v for k, v in before["data"].items()}
    assert {k: v for k, v in record["data"].items() if k != "suspended"} == kept

    # SUSPEND again: the record is not overwritten with zeros, the parent not even written.
    again = run("SUSPEND")
    assert again.code == 0, again.err
    assert parent(kubectl, stack)["metadata"]["resourceVersion"] == \
        record["metadata"]["resourceVersion"]
    assert again.actions() == {}

    # RESUME: exactly the recorded values back, ready, outputs read; the record gone.
    resume = run("RESUME")
    assert resume.code == 0, resume.err
    web, db, tick = live(kubectl, ns)
    assert (web["spec"]["replicas"], db["spec"]["replicas"], tick["spec"]["suspend"]) == \
        (2, 1, False)
    assert web["status"].get("readyReplicas") == 2 and db["status"].get("readyReplicas") == 1
    assert resume.result["ready"] == 2
    assert "suspended" not in parent(kubectl, stack)["data"]
    assert len(pods(kubectl, ns)) == 3
    # /scale leaves no other owner of spec.replicas behind (the finding this design rests on)
    assert set(replicas_owners(web)) <= {(MANAGER, "Apply")}

    # UPDATE: a new image and 3 replicas, applied without force: no conflict, no takeover.
    update = run("UPDATE", app(ns, image="nginx:1.28", replicas=3))
    assert update.code == 0, update.err
    assert "conflict" not in update.err.lower() and "taking back" not in update.stderr
    web = kubectl.get("deployment", "web", "-n", ns, "--show-managed-fields")
    assert web["spec"]["replicas"] == 3
    assert web["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    assert replicas_owners(web) == [(MANAGER, "Apply")]


def hold_pods(kubectl, ns: str) -> str:
    """A ValidatingAdmissionPolicy that keeps this namespace's pods labelled `hold` from
    losing finalizer example.com/hold: they stay Terminating (KWOK otherwise deletes a pod
    at once) until the test takes label and finalizer off. Returns the policy's name."""
    name = f"hold-pods-{ns}"
    policy = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
              "metadata": {"name": name},
              "spec": {"failurePolicy": "Fail",
                       "matchConstraints": {"resourceRules": [{
                           "apiGroups": [""], "apiVersions": ["v1"], "operations": ["UPDATE"],
                           "resources": ["pods"]}]},
                       "validations": [{"expression": (
                           "!(has(object.metadata.labels) && 'hold' in object.metadata.labels) "
                           "|| (has(object.metadata.finalizers) && "
                           "object.metadata.finalizers.exists(f, f == 'example.com/hold'))")}]}}
    binding = {"apiVersion": "admissionregistration.k8s.io/v1",
               "kind": "ValidatingAdmissionPolicyBinding", "metadata": {"name": name},
               "spec": {"policyName": name, "validationActions": ["Deny"],
                        "matchResources": {"namespaceSelector": {"matchLabels": {
                            "kubernetes.io/metadata.name": ns}}}}}
    kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                  "items": [policy, binding]}))
    return name


def test_suspend_waits_until_no_pod_is_left(kubectl, hook_env, ns):
    """Would catch a SUSPEND that answers while pods still run or terminate (KWOK deletes pods
    at once, so only held pods show it)."""
    stack = f"s{uuid.uuid4().hex[:6]}"
    docs = app(ns)
    template = docs[1]["spec"]["template"]
    template["metadata"] = {"labels": {"app": "web", "hold": "yes"},
                            "finalizers": ["example.com/hold"]}
    policy = hold_pods(kubectl, ns)
    try:
        time.sleep(1)   # the policy is enforced once the API server has loaded it
        assert run_hook(deployment(docs, stack=stack), hook_env).code == 0
        answer: list = []
        worker = threading.Thread(target=lambda: answer.append(run_hook(
            deployment(docs, stack=stack, action="SUSPEND"), hook_env)))
        worker.start()
        terminating = []
        for _ in range(60):
            items = (kubectl.get("pods", "-n", ns, "-l", "app=web") or {"items": []})["items"]
            terminating = [p["metadata"]["name"] for p in items
                           if p["metadata"].get("deletionTimestamp")]
            if len(terminating) == 2:
                break
            time.sleep(0.5)
        assert len(terminating) == 2, "the pods were not held Terminating"
        worker.join(3.0)
        assert worker.is_alive() and not answer, "SUSPEND answered while pods were left"
        for pod in terminating:
            kubectl("patch", "pod", pod, "-n", ns, "--type=json", "-p", json.dumps([
                {"op": "remove", "path": "/metadata/finalizers"},
                {"op": "remove", "path": "/metadata/labels/hold"}]))
        worker.join(120)
        assert answer and answer[0].code == 0, answer and answer[0].err
        assert "have no pods left" in answer[0].err
        assert pods(kubectl, ns) == []
    finally:
        kubectl("delete", "validatingadmissionpolicybinding,validatingadmissionpolicy", policy,
                "--ignore-not-found", check=False)


def test_resume_restores_a_hand_scaled_value(kubectl, hook_env, ns):
    stack = f"s{uuid.uuid4().hex[:6]}"

    def run(action):
        return run_hook(deployment(app(ns), stack=stack, action=action), hook_env)

    assert run("CREATE").code == 0
    kubectl("scale", "deployment", "web", "-n", ns, "--replicas=3")
    suspended = run("SUSPEND")
    assert suspended.code == 0, suspended.err
    assert kubectl.get("deployment", "web", "-n", ns)["spec"]["replicas"] == 0
    resumed = run("RESUME")
    assert resumed.code == 0, resumed.err
    web = kubectl.get("deployment", "web", "-n", ns)
    assert web["spec"]["replicas"] == 3 and web["status"].get("readyReplicas") == 3


def test_suspend_none_changes_nothing(kubectl, hook_env, ns):
    stack = f"s{uuid.uuid4().hex[:6]}"

    def run(action):
        return run_hook(deployment(app(ns), options={"suspend": "none"}, stack=stack,
                                   action=action), hook_env)

    assert run("CREATE").code == 0
    for action in ("SUSPEND", "RESUME"):
        result = run(action)
        assert result.code == 0, result.err
        assert f"{action}: option suspend is none" in result.err
        assert result.actions() == {}
    web, db, tick = live(kubectl, ns)
    assert (web["spec"]["replicas"], db["spec"]["replicas"], tick["spec"]["suspend"]) == \
        (2, 1, False)
    assert len(pods(kubectl, ns)) == 3
    assert "suspended" not in parent(kubectl, stack)["data"]
