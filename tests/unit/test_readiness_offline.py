"""The offline verdict CLI, run as a subprocess the way an operator runs it."""
from __future__ import annotations

import json
import pathlib
import subprocess
import sys
from datetime import datetime, timezone

import pytest

from heat_k8s_hook.readiness.offline import load_objects, main, verdicts

ROOT = pathlib.Path(__file__).resolve().parents[2]
NOW = "2024-01-01T12:00:00Z"

MULTI_DOC = """\
apiVersion: v1
kind: Namespace
metadata: {name: shop}
status: {phase: Active}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop, generation: 1}
spec: {replicas: 2, selector: {matchLabels: {app: web}}}
status:
  observedGeneration: 1
  replicas: 2
  updatedReplicas: 2
  readyReplicas: 0
  availableReplicas: 0
  conditions:
  - type: Progressing
    status: "True"
    reason: ReplicaSetUpdated
    message: ReplicaSet "web-5d9c" is progressing.
---
apiVersion: v1
kind: Pod
metadata:
  name: web-5d9c-x1
  namespace: shop
  labels: {app: web, pod-template-hash: 5d9c}
status:
  phase: Pending
  containerStatuses:
  - name: web
    restartCount: 0
    state:
      waiting: {reason: ImagePullBackOff, message: 'Back-off pulling image "nginx:missing"'}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: shop}
---
"""

POD_CAUSE = ('pod web-5d9c-x1 container web: ImagePullBackOff: '
             'Back-off pulling image "nginx:missing"')

ALL_READY_LIST = """\
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: a, namespace: default}
- apiVersion: batch/v1
  kind: Job
  metadata: {name: once, namespace: default, generation: 1}
  status:
    observedGeneration: 1
    succeeded: 1
    conditions: [{type: Complete, status: "True"}]
- apiVersion: v1
  kind: List
  items:
  - apiVersion: rbac.authorization.k8s.io/v1
    kind: ClusterRole
    metadata: {name: reader}
"""


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "heat_k8s_hook.readiness", *args],
        input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)


@pytest.fixture()
def multi_doc(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "dump.yaml"
    path.write_text(MULTI_DOC)
    return path


def test_multi_document_text(multi_doc):
    proc = run(str(multi_doc), "--now", NOW)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.splitlines() == [
        "Namespace/shop: ready: active",
        f"Deployment/shop/web: failed: {POD_CAUSE}",
        f"Pod/shop/web-5d9c-x1: failed: {POD_CAUSE}",
        "ConfigMap/shop/settings: ready: exists",
    ]
    assert proc.stderr == ""


def test_json_output(multi_doc):
    proc = run(str(multi_doc), "--output", "json", "--now", NOW)
    assert proc.returncode == 1, proc.stderr
    assert json.loads(proc.stdout) == [
        {"kind": "Namespace", "namespace": None, "name": "shop", "status": "ready",
         "message": "active"},
        {"kind": "Deployment", "namespace": "shop", "name": "web", "status": "failed",
         "message": POD_CAUSE},
        {"kind": "Pod", "namespace": "shop", "name": "web-5d9c-x1", "status": "failed",
         "message": POD_CAUSE},
        {"kind": "ConfigMap", "namespace": "shop", "name": "settings", "status": "ready",
         "message": "exists"},
    ]


def test_list_from_stdin_all_ready_exits_zero():
    proc = run("-", stdin=ALL_READY_LIST)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "ConfigMap/default/a: ready: exists",
        "Job/default/once: ready: complete, 1 succeeded",
        "ClusterRole/reader: ready: exists",
    ]


def test_kubectl_get_json_output():
    dump = {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": [
        {"apiVersion": "apps/v1", "kind": "StatefulSet",
         "metadata": {"name": "db", "namespace": "data", "generation": 1},
         "spec": {"replicas": 3},
         "status": {"observedGeneration": 1, "replicas": 3, "readyReplicas": 2}}]}
    proc = run("-", stdin=json.dumps(dump))
    assert proc.returncode == 1
    assert proc.stdout == "StatefulSet/data/db: in_progress: 2 of 3 replicas ready\n"


def test_wait_rule_option():
    widget = ("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: d}\n"
              "status: {conditions: [{type: Synced, status: 'True'}, "
              "{type: Ready, status: 'False'}]}\n")
    assert run("-", stdin=widget).returncode == 1
    proc = run("-", "--wait-rule", "example.com/Widget=Synced", stdin=widget)
    assert (proc.returncode, proc.stdout) == (0, "Widget/d/w: ready: Synced is True\n")


def test_now_and_grace_decide_unschedulable():
    pod = """apiVersion: v1
kind: Pod
metadata: {name: big, namespace: d}
status:
  phase: Pending
  conditions:
  - {type: PodScheduled, status: "False", reason: Unschedulable, message: Insufficient cpu,
     lastTransitionTime: "2024-01-01T11:59:50Z"}
"""
    early = run("-", "--now", NOW, stdin=pod)
    assert early.stdout == "Pod/d/big: in_progress: pending, not scheduled: Unschedulable: " \
                           "Insufficient cpu\n"
    late = run("-", "--now", NOW, "--unschedulable-grace", "5", stdin=pod)
    assert late.stdout == "Pod/d/big: failed: pod big: Unschedulable: Insufficient cpu\n"


@pytest.mark.parametrize("text,message", [
    ("a: [unclosed\n", "stdin: not YAML or JSON at line 2, column 1"),
    ("- just\n- strings\n", "stdin: document 1 item 0: expected an object, got str"),
    ("{\"kind\": \n", "stdin: not YAML or JSON"),
])
def test_unreadable_input_exits_two(text, message):
    proc = run("-", stdin=text)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1
    assert message in proc.stderr


def test_missing_file_exits_two(tmp_path):
    proc = run(str(tmp_path / "absent.yaml"))
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith("absent.yaml: No such file or directory")


@pytest.mark.parametrize("args", [["-", "--now", "yesterday"], ["-", "--wait-rule", "Synced"],
                                  ["-", "--output", "xml"]])
def test_bad_options_exit_two(args):
    assert run(*args, stdin="").returncode == 2


def test_empty_input_has_nothing_to_wait_for():
    proc = run("-", stdin="")
    assert (proc.returncode, proc.stdout) == (0, "")


def test_malformed_object_is_unknown_not_a_crash():
    proc = run("-", stdin="kind: Deployment\napiVersion: apps/v1\nmetadata: {name: x}\n"
                          "status: {replicas: lots}\n")
    assert proc.returncode == 1
    assert proc.stdout == ("Deployment/x: unknown: malformed object: status.replicas is not an "
                           "integer: 'lots'\n")


# In-process: the functions the project CLI and the tests call directly.


def test_main_in_process(multi_doc, capsys):
    assert main([str(multi_doc), "--now", NOW, "-o", "json"]) == 1
    assert len(json.loads(capsys.readouterr().out)) == 4


def test_load_objects_flattens_lists_and_skips_empty_documents():
    objects = load_objects(MULTI_DOC + "\n---\n" + ALL_READY_LIST)
    assert [o["kind"] for o in objects] == ["Namespace", "Deployment", "Pod", "ConfigMap",
                                            "ConfigMap", "Job", "ClusterRole"]


def test_verdicts_only_look_at_pods_for_unfinished_workloads():
    objects = load_objects(MULTI_DOC)
    objects[1]["status"].update(readyReplicas=2, availableReplicas=2)
    result = verdicts(objects, datetime(2024, 1, 1, 12, tzinfo=timezone.utc))
    assert (result[1].status, result[1].message) == ("ready", "2 of 2 replicas available")
