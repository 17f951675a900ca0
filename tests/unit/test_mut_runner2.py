"""runner.py's survivors of mutation run c (docs/testing.md): SUSPEND/RESUME through
`pipeline.execute` (the members' values read live, recorded, scaled, drained, restored), the
inventory under the identity before groups adopted, outputs matched by kind and namespace.
Against `FakeApiServer` with a workload "controller" (status follows spec.replicas) and the
merge patches SUSPEND/RESUME send (`/scale`, a CronJob's spec.suspend)."""
from __future__ import annotations

import copy
import json
import time

from fakeapi import KINDS, FakeApiServer
from test_mut_runner import CM, JOB, JOBS, TWO, A, B, events_of
from wiring import deployment, through_pipeline

from heat_k8s_hook import names
from heat_k8s_hook.config.keystone_settings import KeystoneSettings
from heat_k8s_hook.config.settings import Settings
from heat_k8s_hook.engine import inventory, pipeline, plan, steps
from heat_k8s_hook.engine.pipeline import Context, execute
from heat_k8s_hook.input.deployment import load_deployment
from heat_k8s_hook.kube.cluster import MERGE_PATCH, NotFound, Resource
from heat_k8s_hook.kube.deadline import Deadline
from heat_k8s_hook.result.events import VerdictChanged
from heat_k8s_hook.result.report import Masker, Result

WORKLOAD_KINDS = dict(KINDS, **{
    "v1": KINDS["v1"] + [("Pod", "pods", True)],
    "apps/v1": [("Deployment", "deployments", True), ("StatefulSet", "statefulsets", True),
                ("ReplicaSet", "replicasets", True)],
    "batch/v1": [("CronJob", "cronjobs", True), ("Job", "jobs", True)]})
SCALED = ("Deployment", "StatefulSet", "ReplicaSet")


class Workloads(FakeApiServer):
    """A controller that makes each scaled workload's status follow its spec.replicas at
    once (ready when up, no pods when at 0), and the merge patches of SUSPEND/RESUME."""

    def __init__(self):
        super().__init__(WORKLOAD_KINDS)
        self.patches: list = []   # (path, query, patch) of each merge patch

    def _stamp(self, obj, created):
        obj = super()._stamp(obj, created)
        if obj.get("kind") in SCALED:
            n = (obj.get("spec") or {}).get("replicas", 1)
            obj["status"] = {"observedGeneration": obj["metadata"].get("generation", 1),
                             "replicas": n, "updatedReplicas": n, "readyReplicas": n,
                             "availableReplicas": n}
        return obj

    def request_full(self, method, path, query=None, body=None, content_type=None,
                     timeout=30.0, **kw):
        if method != "PATCH" or content_type != MERGE_PATCH:
            return super().request_full(method, path, query, body, content_type, timeout, **kw)
        with self.lock:
            self.requests.append(f"{method} {path}")
            self.patches.append((path, dict(query or {}), copy.deepcopy(body)))
            target = path[:-len("/scale")] if path.endswith("/scale") else path
            if target not in self.objects:
                raise NotFound(404, "NotFound", "not found")
            obj = copy.deepcopy(self.objects[target])
            obj["spec"] = dict(obj.get("spec") or {}, **body["spec"])
            self._store(target, self._stamp(obj, False), False)
            if target != path:
                return 200, {"kind": "Scale", "spec": {"replicas": obj["spec"]["replicas"]}}
            return 200, copy.deepcopy(self.objects[target])


WEB = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
       "spec: {replicas: 2, selector: {matchLabels: {app: web}}, template: {metadata: "
       "{labels: {app: web}}, spec: {containers: [{name: c, image: i}]}}}\n")
TICK = ("apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: tick}\n"
        "spec: {schedule: '* * * * *', jobTemplate: {spec: {template: {spec: "
        "{restartPolicy: Never, containers: [{name: c, image: i}]}}}}}\n")
CONF = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: v}\n"
APP = WEB + "---\n" + TICK + "---\n" + CONF
NS = "kube-system"
WEB_PATH = f"/apis/apps/v1/namespaces/{NS}/deployments/web"
TICK_PATH = f"/apis/batch/v1/namespaces/{NS}/cronjobs/tick"


def last_error(answer: dict) -> str:
    return answer["deploy_stderr"].rstrip("\n").rpartition("\n")[2]


def said(lines: list) -> list:
    """The progress lines without their time, and without the Lease's line (coordinate.py:
    written only when the run takes the Lease, which a settled re-delivery need not)."""
    return [line[10:] for line in lines if not line[10:].startswith("applied by this member")]


def parent_of(api: FakeApiServer) -> tuple:
    [(path, parent)] = [(p, o) for p, o in api.objects.items() if "/configmaps/heat-" in p]
    return path, parent


def created(options: dict | None = None, api: FakeApiServer | None = None,
            config: str = APP) -> FakeApiServer:
    answer, api = through_pipeline(deployment(config, {"namespace": NS, **(options or {})}),
                                   api or Workloads())
    assert answer["deploy_status_code"] == 0, answer
    return api


def test_suspend_records_scales_and_waits_until_no_pods_are_left(monkeypatch):
    api = created()
    lines: list = []
    events = events_of(monkeypatch)
    answer, api = through_pipeline(deployment(APP, {"namespace": NS}, action="SUSPEND"),
                                   api, lines)
    assert answer["deploy_status_code"] == 0, answer
    assert answer["deploy_stdout"] == (f"Deployment/{NS}/web configured\n"
                                       f"CronJob/{NS}/tick configured\n"), answer
    path, parent = parent_of(api)
    assert said(lines)[1:] == [
        f"recorded 2 value(s) for RESUME in inventory ConfigMap {path.split('/')[4]}/"
        f"{path.rpartition('/')[2]}",
        f"suspended: Deployment/{NS}/web replicas=0, CronJob/{NS}/tick suspend=true",
        f"Deployment/{NS}/web: ready: scaled to 0: no pods left",
        "all 1 scaled workload(s) have no pods left"], lines
    assert json.loads(parent["data"][inventory.SUSPENDED]) == [
        {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": NS, "name": "web",
         "replicas": 2},
        {"apiVersion": "batch/v1", "kind": "CronJob", "namespace": NS, "name": "tick",
         "suspend": False}]
    assert api.objects[WEB_PATH]["spec"]["replicas"] == 0
    assert api.objects[TICK_PATH]["spec"]["suspend"] is True
    assert sorted((p, q, json.dumps(b)) for p, q, b in api.patches) == [
        (WEB_PATH + "/scale", {"fieldManager": "heat-k8s-hook-suspend"},
         '{"spec": {"replicas": 0}}'),
        (TICK_PATH, {"fieldManager": "heat-k8s-hook-suspend"}, '{"spec": {"suspend": true}}')]
    drained = [(str(e.ref), e.status.value, e.message) for e in events
               if isinstance(e, VerdictChanged) and e.what == "drained"]
    assert drained[-1] == (f"Deployment/{NS}/web", "ready", "scaled to 0: no pods left"), drained


def test_a_second_suspend_keeps_the_record_and_scales_nothing():
    api = created()
    through_pipeline(deployment(APP, {"namespace": NS}, action="SUSPEND"), api)
    _path, first = parent_of(api)
    lines: list = []
    answer, api = through_pipeline(deployment(APP, {"namespace": NS}, action="SUSPEND"),
                                   api, lines)
    assert answer["deploy_status_code"] == 0, answer
    assert answer["deploy_stdout"] == "", answer
    assert said(lines)[1:] == [
        "nothing to scale: 2 object(s) already at 0 replicas or suspended",
        f"Deployment/{NS}/web: ready: scaled to 0: no pods left",
        "all 1 scaled workload(s) have no pods left"], lines
    assert parent_of(api)[1]["data"] == first["data"]


def test_resume_restores_the_recorded_values_waits_and_reads_outputs(monkeypatch):
    api = created()
    through_pipeline(deployment(APP, {"namespace": NS}, action="SUSPEND"), api)
    lines: list = []
    events = events_of(monkeypatch)
    options = {"namespace": NS, "outputs": {"replicas": "Deployment/web:{.spec.replicas}",
                                            "value": "ConfigMap/c:{.data.k}"}}
    answer, api = through_pipeline(deployment(APP, options, action="RESUME"), api, lines)
    assert answer["deploy_status_code"] == 0, answer
    assert answer["deploy_stdout"] == (f"Deployment/{NS}/web configured\n"
                                       f"CronJob/{NS}/tick configured\n"), answer
    assert (answer["replicas"], answer["value"]) == (2, "v"), answer
    assert said(lines)[1:] == [
        f"restored: Deployment/{NS}/web replicas=2, CronJob/{NS}/tick suspend=false",
        f"Deployment/{NS}/web: ready: 2 of 2 replicas available",
        f"CronJob/{NS}/tick: ready: exists, schedule '* * * * *'",
        f"ConfigMap/{NS}/c: ready: exists", "all 3 object(s) ready"], lines
    assert inventory.SUSPENDED not in (parent_of(api)[1].get("data") or {})
    assert api.objects[WEB_PATH]["spec"]["replicas"] == 2
    assert api.objects[TICK_PATH]["spec"]["suspend"] is False
    ready = sorted(str(e.ref) for e in events
                   if isinstance(e, VerdictChanged) and e.status.value == "ready")
    assert ready == [f"ConfigMap/{NS}/c", f"CronJob/{NS}/tick", f"Deployment/{NS}/web"], ready


class Timed(Workloads):
    """Records the timeout of each GET of Deployment web (the one member read alone)."""

    def __init__(self):
        super().__init__()
        self.timeouts: list = []

    def get(self, path, query=None, timeout=30.0, **kw):
        if path == WEB_PATH:
            self.timeouts.append(timeout)
        return super().get(path, query, timeout, **kw)


DROPPED = TICK + "---\n" + CONF   # web no longer rendered: still a recorded member


def test_a_member_the_config_no_longer_renders_is_read_alone_and_suspended(monkeypatch):
    api = created(api=Timed())
    api.timeouts.clear()
    answer, api = through_pipeline(deployment(DROPPED, {"namespace": NS, "timeout": 5},
                                              action="SUSPEND"), api)
    assert answer["deploy_status_code"] == 0, answer
    assert answer["deploy_stdout"] == (f"Deployment/{NS}/web configured\n"
                                       f"CronJob/{NS}/tick configured\n"), answer
    assert api.objects[WEB_PATH]["spec"]["replicas"] == 0
    assert json.loads(parent_of(api)[1]["data"][inventory.SUSPENDED])[0]["replicas"] == 2
    assert api.timeouts and all(t is not None and t <= 5 for t in api.timeouts), api.timeouts
    # again: nothing to write, web drained as it is live (read alone, not in the changes)
    lines: list = []
    events = events_of(monkeypatch)
    answer, api = through_pipeline(deployment(DROPPED, {"namespace": NS}, action="SUSPEND"),
                                   api, lines)
    assert answer["deploy_status_code"] == 0, answer
    assert said(lines)[1:] == [
        "nothing to scale: 2 object(s) already at 0 replicas or suspended",
        f"Deployment/{NS}/web: ready: scaled to 0: no pods left",
        "all 1 scaled workload(s) have no pods left"], lines
    assert [e.message for e in events if isinstance(e, VerdictChanged)] == [
        "listing its pods", "scaled to 0: no pods left"]


def test_the_drain_starts_from_the_scaled_object_not_the_one_read_before(monkeypatch):
    api = created()
    events = events_of(monkeypatch)
    answer, api = through_pipeline(deployment(APP, {"namespace": NS}, action="SUSPEND"), api)
    assert answer["deploy_status_code"] == 0, answer
    assert [(e.what, e.message) for e in events if isinstance(e, VerdictChanged)] == [
        ("drained", "listing its pods"), ("drained", "scaled to 0: no pods left")]


def test_a_wrong_output_stops_resume_before_anything_is_restored_and_suspend_ignores_it():
    api = created()
    bad = {"namespace": NS, "outputs": {"x": "ConfigMap/nope:{.data.k}"}}
    answer, api = through_pipeline(deployment(APP, bad, action="SUSPEND"), api)
    assert answer["deploy_status_code"] == 0, answer
    assert api.objects[WEB_PATH]["spec"]["replicas"] == 0
    patches = len(api.patches)
    answer, api = through_pipeline(deployment(APP, bad, action="RESUME"), api)
    assert answer["deploy_status_code"] == 2, answer
    assert last_error(answer) == ("ERROR: output x: ConfigMap/nope is not an object of this "
                                  "config [phase: discovery]"), answer
    assert len(api.patches) == patches and api.objects[WEB_PATH]["spec"]["replicas"] == 0


def test_a_damaged_record_of_suspended_values_is_named():
    api = created()
    through_pipeline(deployment(APP, {"namespace": NS}, action="SUSPEND"), api)
    path, parent = parent_of(api)
    parent["data"][inventory.SUSPENDED] = "not json"
    answer, api = through_pipeline(deployment(APP, {"namespace": NS}, action="RESUME"), api)
    assert answer["deploy_status_code"] == 2, answer
    name = path.rpartition("/")[2]
    assert last_error(answer).startswith(
        f"ERROR: inventory ConfigMap heat-k8s-hook/{name}: the record of suspended values "
        "cannot be read: "), answer


QUIET = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: q, annotations: "
         "{heat-k8s-hook.dev/wait: 'false'}}\n")


def test_resume_waits_only_for_live_objects_not_opted_out():
    api = created(config=APP + "---\n" + QUIET)
    through_pipeline(deployment(APP + "---\n" + QUIET, {"namespace": NS}, action="SUSPEND"), api)
    del api.objects[f"/api/v1/namespaces/{NS}/configmaps/c"]   # deleted by hand since
    lines: list = []
    answer, api = through_pipeline(deployment(APP + "---\n" + QUIET, {"namespace": NS},
                                              action="RESUME"), api, lines)
    assert answer["deploy_status_code"] == 0, answer
    assert said(lines)[-1] == "all 2 object(s) ready", lines
    assert not [line for line in lines if "ConfigMap" in line], lines


# -- the inventory under the identity before groups, adopted ---------------------------------

def renamed(config: str, action: str, options: dict | None = None) -> dict:
    """The same deployment (stack s/1, resource r) named "app": its identity is now s/1/app,
    its identity before groups still s/1/r (input/deployment.py: legacy_identity)."""
    return dict(deployment(config, options, action=action), name="app")


def parents(dep: dict) -> tuple:
    """(inventory path of the identity now, of the identity before groups)."""
    loaded = load_deployment(json.dumps(dep).encode())
    base = f"/api/v1/namespaces/{inventory.NAMESPACE}/configmaps/"
    return base + names.parent_name(loaded.slug), base + names.parent_name(loaded.legacy_slug)


def test_an_update_adopts_the_inventory_under_the_identity_before_groups():
    _answer, api = through_pipeline(deployment(TWO))
    dep = renamed(TWO, "UPDATE")
    new, old = parents(dep)
    assert old in api.objects and new not in api.objects and new != old
    lines: list = []
    answer, api = through_pipeline(dep, api, lines)
    assert answer["deploy_status_code"] == 0, answer
    assert answer["deploy_stdout"] == ("ConfigMap/default/a configured\n"
                                       "ConfigMap/default/b configured\n"), answer
    assert said(lines)[1:] == [
        f"adopting inventory {inventory.NAMESPACE}/{old.rpartition('/')[2]} (identity s/1/r)",
        "validated: 2 object(s) passed server-side dry-run", "applied: 2 configured",
        "ConfigMap/default/a: ready: exists", "ConfigMap/default/b: ready: exists",
        "all 2 object(s) ready"], lines
    assert old not in api.objects, "the adopted parent is forgotten"
    assert [r for r in api.requests if r.startswith(
        f"DELETE /api/v1/namespaces/{inventory.NAMESPACE}/configmaps/")] == [f"DELETE {old}"]
    record = api.objects[new]
    assert record["metadata"]["annotations"][inventory.IDENTITY] == "s/1/app"
    assert [m.name for m in inventory.members_of(record)] == ["a", "b"]
    own = inventory.applyset_id(new.rpartition("/")[2])
    for path in (A, B):
        assert api.objects[path]["metadata"]["labels"][plan.PART_OF] == own
    # the next run finds the parent under its own name: nothing adopted, nothing written
    lines = []
    answer, api = through_pipeline(dep, api, lines)
    assert answer["deploy_stdout"] == ("ConfigMap/default/a unchanged\n"
                                       "ConfigMap/default/b unchanged\n"), answer
    assert not [line for line in lines if "adopting" in line], lines


def test_a_delete_adopts_the_inventory_before_groups_and_forgets_both():
    _answer, api = through_pipeline(deployment(TWO))
    dep = renamed(TWO, "DELETE")
    new, old = parents(dep)
    lines: list = []
    answer, api = through_pipeline(dep, api, lines)
    assert answer["deploy_status_code"] == 0, answer
    assert answer["deploy_stdout"] == ("ConfigMap/default/a deleted\n"
                                       "ConfigMap/default/b deleted\n"), answer
    assert said(lines)[1:] == [
        f"adopting inventory {inventory.NAMESPACE}/{old.rpartition('/')[2]} (identity s/1/r)",
        "all 2 deleted object(s) gone", "deleted: 2 object(s)"], lines
    assert A not in api.objects and B not in api.objects
    assert old not in api.objects and new not in api.objects
    assert f"DELETE {old}" in api.requests and f"DELETE {new}" in api.requests


def test_no_parent_under_either_identity_adopts_nothing():
    api = FakeApiServer()
    dep = renamed(TWO, "CREATE")
    lines: list = []
    answer, api = through_pipeline(dep, api, lines)
    assert answer["deploy_status_code"] == 0, answer
    assert not [line for line in lines if "adopting" in line], lines
    new, old = parents(dep)
    assert new in api.objects and old not in api.objects


# -- waiting: the watchdog's cancel, pods of this apply or from before ------------------------

class CancelledAtWatch(FakeApiServer):
    """The hook's watchdog cancels the run's deadline while the wait watches."""

    deadline = None

    def watch(self, path, query, timeout):
        self.deadline.cancel()
        return super().watch(path, query, timeout)


def test_a_cancelled_run_stops_waiting_at_once():
    api = CancelledAtWatch(JOBS, {"Job": {}})
    dep = load_deployment(json.dumps(deployment(JOB % "j1", {"timeout": 3})).encode())
    clock = time.monotonic
    start = clock()
    api.deadline = Deadline(start + 3, 3, clock)
    ctx = Context(connect=lambda _options, **_kw: api, progress=lambda _line: None,
                  started=start, deadline=api.deadline)
    mask = Masker()
    answer = execute(dep, ctx, Result()).as_dict(mask)
    assert clock() - start < 2, "waited on until the deadline"
    assert answer["deploy_status_code"] == 7, answer
    assert last_error(answer) == ("ERROR: not ready after 0s: Job/default/j1: not started "
                                  "[phase: wait ready]"), answer


class Pods(Workloads):
    """Deployments that never become available, a pod of web not ready created long before
    (`created`), its Warning events, and managedFields as the API server writes them."""

    created = "2020-01-01T00:00:00Z"

    def _stamp(self, obj, created):
        obj = super()._stamp(obj, created)
        if obj.get("kind") == "Deployment":
            obj["status"].update(readyReplicas=0, availableReplicas=0)
        return obj

    def _apply(self, path, body, dry):
        status, obj = super()._apply(path, body, dry)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        obj["metadata"]["managedFields"] = [{"manager": "heat-k8s-hook", "operation": "Apply",
                                             "time": stamp}]
        return status, obj

    def add_pod(self, crashing: bool = False):
        self.objects["/api/v1/namespaces/default/pods/web-abc-1"] = {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-abc-1", "namespace": "default", "uid": "uid-pod",
                         "resourceVersion": "1", "creationTimestamp": self.created,
                         "labels": {"app": "web", "pod-template-hash": "abc"},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                              "name": "web-abc", "controller": True}]},
            "status": {"phase": "Running", "conditions": [
                {"type": "Ready", "status": "False", "reason": "ContainersNotReady",
                 "message": "containers with unready status: [c]"}]}}
        if crashing:
            self.objects["/api/v1/namespaces/default/pods/web-abc-1"]["status"][
                "containerStatuses"] = [{"name": "c", "restartCount": 3, "state": {"waiting": {
                    "reason": "CrashLoopBackOff", "message": "back-off 40s"}}}]
        self.objects["/api/v1/namespaces/default/events/web-abc-1.probe"] = {
            "apiVersion": "v1", "kind": "Event", "type": "Warning", "reason": "Unhealthy",
            "message": "Readiness probe failed", "lastTimestamp": "2026-01-01T00:00:00Z",
            "count": 2, "metadata": {"name": "web-abc-1.probe", "namespace": "default"},
            "involvedObject": {"kind": "Pod", "name": "web-abc-1", "namespace": "default"}}


NOT_READY = "Deployment/default/web: 0 of 2 replicas available"
POD_NOT_READY = ("; pod web-abc-1 not ready: ContainersNotReady: containers with unready "
                 "status: [c]")
POD_EVENT = "  event Pod/web-abc-1: Unhealthy: Readiness probe failed (x2)"


def test_a_pod_from_before_the_apply_is_not_this_apply_s():
    api = Pods()
    api.add_pod()
    answer, api = through_pipeline(deployment(WEB, {"timeout": 1}), api)
    assert answer["deploy_status_code"] == 7, answer
    assert answer["deploy_stderr"].rstrip("\n").split("\n")[-1] == (
        f"ERROR: not ready after 1s: {NOT_READY} [phase: wait ready]"), answer
    assert POD_EVENT not in answer["deploy_stderr"], answer


def test_an_unchanged_workload_s_pods_all_count_and_their_events_are_shown():
    api = Pods()
    through_pipeline(deployment(WEB, {"wait": False}), api)
    api.add_pod()
    answer, api = through_pipeline(deployment(WEB, {"timeout": 1}, action="UPDATE"), api)
    assert answer["deploy_status_code"] == 7, answer
    assert answer["deploy_stdout"] == "Deployment/default/web unchanged\n", answer
    assert answer["deploy_stderr"].rstrip("\n").split("\n")[-2:] == [
        POD_EVENT,
        f"ERROR: not ready after 1s: {NOT_READY}{POD_NOT_READY} [phase: wait ready]"], answer


def test_a_failed_workload_s_pod_is_named_with_its_warning_events():
    api = Pods()
    api.created = "2099-01-01T00:00:00Z"   # after this apply
    api.add_pod(crashing=True)
    answer, api = through_pipeline(deployment(WEB, {"timeout": 1}), api)
    assert answer["deploy_status_code"] == 6, answer
    assert answer["deploy_stderr"].rstrip("\n").split("\n")[-2:] == [
        POD_EVENT, "ERROR: Deployment/default/web: pod web-abc-1 container c: CrashLoopBackOff: "
                   "back-off 40s (3 restarts) [phase: wait ready]"], answer


# -- custom resources of a CRD created in the same run ----------------------------------------

CRD_API = "apiextensions.k8s.io/v1"
ESTABLISHED = {"conditions": [{"type": "NamesAccepted", "status": "True"},
                              {"type": "Established", "status": "True"}]}


class Crds(FakeApiServer):
    """CRDs are served, and a CRD's kind is discovered once the CRD exists."""

    def __init__(self):
        super().__init__(dict(KINDS, **{CRD_API: [("CustomResourceDefinition",
                                                   "customresourcedefinitions", False)]}),
                         {"CustomResourceDefinition": ESTABLISHED})

    def discover(self, api_version):
        found = super().discover(api_version)
        for path, crd in list(self.objects.items()):
            if "/customresourcedefinitions/" not in path:
                continue
            spec = crd["spec"]
            for v in spec["versions"]:
                if f"{spec['group']}/{v['name']}" == api_version:
                    found[spec["names"]["kind"]] = Resource(
                        spec["group"], v["name"], spec["names"]["kind"],
                        spec["names"]["plural"], spec["scope"] == "Namespaced")
        return found


CRD = ("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
       "metadata: {name: widgets.example.com}\n"
       "spec: {group: example.com, scope: Namespaced, names: {kind: Widget, plural: widgets},"
       " versions: [{name: v1, served: true, storage: true}]}\n")
WIDGET = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\nspec: {size: 1}\n"


def test_a_custom_resource_of_a_crd_in_the_same_config_is_applied_after_it():
    lines: list = []
    answer, api = through_pipeline(deployment(CRD + "---\n" + WIDGET), Crds(), lines)
    assert answer["deploy_status_code"] == 0, answer
    assert answer["deploy_stdout"] == ("CustomResourceDefinition/widgets.example.com created\n"
                                       "Widget/default/w created\n"), answer
    assert "/apis/example.com/v1/namespaces/default/widgets/w" in api.objects
    said_ = said(lines)
    assert said_[1] == "validated: 1 object(s) passed server-side dry-run", lines
    assert said_[-1] == "all 2 object(s) ready", lines


def test_the_wait_until_gone_goes_past_a_custom_resource_whose_crd_went():
    """Widget w is pruned with its CRD: its kind is no longer served, so it is gone; the
    ConfigMap and the CRD after it are still waited for."""
    _answer, api = through_pipeline(deployment(CRD + "---\n" + WIDGET + "---\n" + TWO), Crds())
    lines: list = []
    answer, api = through_pipeline(deployment(CM % ("a", "a"), action="UPDATE"), api, lines)
    assert answer["deploy_status_code"] == 0, answer
    assert answer["deploy_stdout"] == (
        "ConfigMap/default/a unchanged\nWidget/default/w pruned\nConfigMap/default/b pruned\n"
        "CustomResourceDefinition/widgets.example.com pruned\n"), answer
    assert said(lines)[-1] == "all 2 deleted object(s) gone", lines


KEYSTONE = Settings(keystone=KeystoneSettings("https://k8s.example:6443", "/etc/ca.pem",
                                              "heat_signal"))


def through_keystone(dep: dict, api: FakeApiServer, lines: list | None = None) -> tuple:
    """pipeline.execute in Keystone mode: the records live in the deployment's namespace."""
    mask = Masker()
    ctx = Context(connect=lambda _options, **_kw: api, settings=KEYSTONE,
                  progress=(lines.append if lines is not None else lambda _line: None),
                  mask=mask)
    return execute(load_deployment(json.dumps(dep).encode()), ctx, Result()).as_dict(mask), api


def test_keystone_mode_adopts_the_parent_in_the_deployment_s_namespace():
    api = FakeApiServer()
    answer, api = through_keystone(deployment(TWO, {"namespace": "default"}), api)
    assert answer["deploy_status_code"] == 0, answer
    dep = renamed(TWO, "UPDATE", {"namespace": "default"})
    loaded = load_deployment(json.dumps(dep).encode())
    old = f"/api/v1/namespaces/default/configmaps/{names.parent_name(loaded.legacy_slug)}"
    new = f"/api/v1/namespaces/default/configmaps/{names.parent_name(loaded.slug)}"
    assert old in api.objects, sorted(api.objects)
    lines: list = []
    answer, api = through_keystone(dep, api, lines)
    assert answer["deploy_status_code"] == 0, answer
    assert answer["deploy_stdout"] == ("ConfigMap/default/a configured\n"
                                       "ConfigMap/default/b configured\n"), answer
    assert old not in api.objects and new in api.objects
    assert said(lines)[1].startswith("adopting inventory default/"), lines


def test_keystone_mode_deletes_under_the_adopted_parent_s_set_id():
    api = FakeApiServer()
    answer, api = through_keystone(deployment(TWO, {"namespace": "default"}), api)
    answer, api = through_keystone(renamed(TWO, "DELETE", {"namespace": "default"}), api)
    assert answer["deploy_status_code"] == 0, answer
    assert answer["deploy_stdout"] == ("ConfigMap/default/a deleted\n"
                                       "ConfigMap/default/b deleted\n"), answer
    assert A not in api.objects and B not in api.objects


class LateJobs(FakeApiServer):
    """A Job completes only once the wait watches: its verdict comes from the watch, whose
    selector is the run's own set id."""

    def __init__(self):
        super().__init__(JOBS, {"Job": {}})

    def watch(self, path, query, timeout):
        with self.lock:
            for p, o in list(self.objects.items()):
                if "/jobs/" in p and not o.get("status"):
                    done = copy.deepcopy(o)
                    done["status"] = {"succeeded": 1, "conditions": [
                        {"type": "Complete", "status": "True"}]}
                    self.version += 1
                    done["metadata"]["resourceVersion"] = str(self.version)
                    self._store(p, done, False)
        return super().watch(path, query, timeout)


def test_after_an_adoption_the_wait_watches_under_the_run_s_own_set_id():
    _answer, api = through_pipeline(deployment(JOB % "j1", {"wait": False}), LateJobs())
    lines: list = []
    answer, api = through_pipeline(renamed(JOB % "j1", "UPDATE", {"timeout": 1}), api, lines)
    assert answer["deploy_status_code"] == 0, answer
    assert answer["deploy_stdout"] == "Job/default/j1 configured\n", answer
    assert said(lines)[-2:] == ["Job/default/j1: ready: complete, 1 succeeded",
                                "all 1 object(s) ready"], lines


def test_without_a_name_the_identity_before_groups_is_the_same_and_read_once():
    dep = deployment(TWO)
    new, old = parents(dep)
    assert new == old
    answer, api = through_pipeline(dep)
    assert answer["deploy_status_code"] == 0, answer
    assert [r for r in api.requests if r == f"GET {new}"] == [f"GET {new}"], api.requests


def test_the_plan_of_a_suspend_with_option_suspend_none_is_a_note():
    """The CLI's `plan` (pipeline.open_run + plan_for) gathers even when the hook would not
    connect: option suspend none still plans nothing but the note."""
    api = created()
    dep = load_deployment(json.dumps(deployment(APP, {"namespace": NS, "suspend": "none"},
                                                action="SUSPEND")).encode())
    ctx = Context(connect=lambda _options, **_kw: api, progress=lambda _line: None)
    manifests = pipeline.rendered(dep, ctx)
    with pipeline.open_run(dep, ctx, lambda _event: None, manifests) as run_ctx:
        facts, planned = pipeline.plan_for(run_ctx, manifests)
    assert facts.suspend == "none"
    assert planned == [steps.Note("SUSPEND: option suspend is none: workloads left as they are")]


def test_resume_counts_every_pod_of_a_workload_it_did_not_write():
    """web was scaled back by hand before RESUME: nothing to restore, so nothing was applied
    and its pods from before count (named with their events when it is not ready)."""
    api = Pods()
    through_pipeline(deployment(WEB, {"wait": False}), api)
    through_pipeline(deployment(WEB, {"wait": False}, action="SUSPEND"), api)
    web = "/apis/apps/v1/namespaces/default/deployments/web"
    api.objects[web]["spec"]["replicas"] = 2   # its status still says 0 (updated: 0)
    api.add_pod()
    lines: list = []
    answer, api = through_pipeline(deployment(WEB, {"timeout": 1}, action="RESUME"), api, lines)
    assert answer["deploy_status_code"] == 7, answer
    assert answer["deploy_stdout"] == "", answer
    assert answer["deploy_stderr"].rstrip("\n").split("\n")[-2:] == [
        POD_EVENT,
        "ERROR: not ready after 1s: Deployment/default/web: 0 of 2 replicas updated"
        f"{POD_NOT_READY} [phase: wait ready]"], answer


# -- outputs: matched by kind and namespace, refused before any write ---------------------------

TWO_NS = ("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: default}\n"
          "data: {k: v-default}\n---\n"
          "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: kube-system}\n"
          "data: {k: v-kube-system}\n")


def test_an_output_names_its_object_by_group_kind_and_namespace():
    # (not "ConfigMap/default/c": the output syntax takes "ConfigMap/default" for a group/kind)
    options = {"outputs": {"sys": "ConfigMap/kube-system/c:{.data.k}",
                           "any": "ConfigMap/c:{.data.k}"}}
    answer, api = through_pipeline(deployment(TWO_NS, options))
    assert answer["deploy_status_code"] == 0, answer
    assert (answer["sys"], answer["any"]) == ("v-kube-system", "v-default"), answer
    answer, api = through_pipeline(
        deployment(WEB, {"wait": False, "outputs": {"n": "apps/Deployment/web:{.spec.replicas}"}}),
        Workloads())
    assert answer["deploy_status_code"] == 0, answer
    assert answer["n"] == 2, answer


def test_an_output_selecting_secret_data_is_refused_before_anything_is_written():
    secret = ("apiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"
              "stringData: {token: c2VjcmV0LXZhbHVl}\n")
    answer, api = through_pipeline(deployment(secret, {"outputs": {"t": "Secret/s:{..token}"}}))
    assert answer["deploy_status_code"] == 2, answer
    assert last_error(answer).startswith(
        "ERROR: output t: refused: its JSONPath selects Secret data"), answer
    assert not [w for w in api.writes if "/secrets/" in w], api.writes


def test_only_namespaces_are_looked_up_as_namespaces():
    answer, api = through_pipeline(deployment(TWO))
    assert answer["deploy_status_code"] == 0, answer
    assert not [r for r in api.requests if r in ("GET /api/v1/namespaces/a",
                                                 "GET /api/v1/namespaces/b")], api.requests


def test_a_namespace_the_config_creates_is_looked_up_once_and_created():
    config = ("apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\n"
              "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n")
    answer, api = through_pipeline(deployment(config))
    assert answer["deploy_status_code"] == 0, answer
    assert answer["deploy_stdout"] == "Namespace/shop created\nConfigMap/shop/c created\n"
    assert "GET /api/v1/namespaces/shop" in api.requests
