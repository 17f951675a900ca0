"""The one pod-to-owner rule (rules.owns) and the three places that link pods to workloads.

The per-kind pod rules (`rules.selects`), the judge's choice of events (`judge.last_warning`)
and the watch store's pod index (`store.WatchStore.pods_of`) once had a linker each (label
selectors; any ownerReference by name; controller references by name). Each case below is
asked of all three: any one that links differently fails it. Checked red: with
`last_warning` back on its own match (any reference's uid, or an owner named `<name>` or
`<name>-<hash>`), the re-created StatefulSet case failed; with `selects` back on the label
selector alone, the canary, the other DaemonSet, the Deployment's ReplicaSet and the
re-created StatefulSet cases failed; with the store's index unfiltered by `owns`, the
re-created StatefulSet case failed.
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from heat_k8s_hook.objects import ObjectRef
from heat_k8s_hook.readiness.judge import last_warning
from heat_k8s_hook.readiness.rules import group_kind, owns, pod_owners, selects
from heat_k8s_hook.readiness.store import Target, WatchStore

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=timezone.utc)
NS = "shop"


class Res:
    """The parts of kube.cluster.Resource the store reads."""

    def __init__(self, gk: str):
        self.group_kind = gk
        self.group, _, self.kind = gk.rpartition("/")
        self.api_version = f"{self.group}/v1" if self.group else "v1"


def workload(api_version: str, kind: str, name: str, uid: str, selector: dict | None) -> dict:
    obj = {"apiVersion": api_version, "kind": kind,
           "metadata": {"name": name, "namespace": NS, "uid": uid}, "spec": {}}
    if selector is not None:
        obj["spec"]["selector"] = {"matchLabels": selector}
    return obj


def pod(name: str, controller: tuple | None, labels: dict) -> dict:
    """A pod as its controller makes it: (apiVersion, kind, name, uid) of the controller."""
    meta = {"name": name, "namespace": NS, "uid": f"uid-{name}", "labels": labels,
            "creationTimestamp": "2026-12-05T11:59:00Z"}
    if controller:
        api_version, kind, owner, uid = controller
        meta["ownerReferences"] = [{"apiVersion": api_version, "kind": kind, "name": owner,
                                    "uid": uid, "controller": True}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
            "status": {"phase": "Pending"}}


DEPLOY = workload("apps/v1", "Deployment", "web", "u-web", {"app": "web"})
STS = workload("apps/v1", "StatefulSet", "db", "u-db", {"app": "db"})
DS = workload("apps/v1", "DaemonSet", "agent", "u-agent", {"app": "agent"})
JOB = workload("batch/v1", "Job", "migrate", "u-migrate", None)
RS = workload("apps/v1", "ReplicaSet", "cache", "u-cache", {"app": "cache"})
CRON = workload("batch/v1", "CronJob", "nightly", "u-nightly", None)
CRON_JOB = {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": "nightly-29412345", "namespace": NS, "uid": "u-n1",
                         "ownerReferences": [{"apiVersion": "batch/v1", "kind": "CronJob",
                                              "name": "nightly", "uid": "u-nightly",
                                              "controller": True}]}}
RS_OF = ("apps/v1", "ReplicaSet")

CASES = [
    # (case, workload, pod, owned)
    ("deployment: the pod of its current ReplicaSet", DEPLOY,
     pod("web-7c9d4-a", RS_OF + ("web-7c9d4", "u-rs1"),
         {"app": "web", "pod-template-hash": "7c9d4"}), True),
    ("deployment: the pod of an older ReplicaSet (still its own)", DEPLOY,
     pod("web-55f6-b", RS_OF + ("web-55f6", "u-rs0"), {"app": "web", "pod-template-hash": "55f6"}),
     True),
    ("deployment: a canary's pod its selector also matches", DEPLOY,
     pod("web-canary-9a-c", RS_OF + ("web-canary-9a", "u-rs2"),
         {"app": "web", "pod-template-hash": "9a"}),
     False),
    ("statefulset: its pod", STS,
     pod("db-0", ("apps/v1", "StatefulSet", "db", "u-db"), {"app": "db"}), True),
    ("statefulset: a pod of the one deleted before it under the same name", STS,
     pod("db-1", ("apps/v1", "StatefulSet", "db", "u-db-old"), {"app": "db"}), False),
    ("daemonset: its pod", DS,
     pod("agent-x7", ("apps/v1", "DaemonSet", "agent", "u-agent"), {"app": "agent"}), True),
    ("daemonset: another DaemonSet's pod", DS,
     pod("agent2-x7", ("apps/v1", "DaemonSet", "agent2", "u-agent2"), {"app": "agent"}), False),
    ("job: its pod (the manifest has no selector)", JOB,
     pod("migrate-q", ("batch/v1", "Job", "migrate", "u-migrate"), {"job-name": "migrate"}),
     True),
    ("job: a CronJob's Job's pod is not this Job's", JOB,
     pod("nightly-29412345-z", ("batch/v1", "Job", "nightly-29412345", "u-n1"),
         {"job-name": "nightly-29412345"}), False),
    ("cronjob: its pods are its Jobs' (not linked one step)", CRON,
     pod("nightly-29412345-z", ("batch/v1", "Job", "nightly-29412345", "u-n1"),
         {"job-name": "nightly-29412345"}), False),
    ("bare replicaset: its pod", RS,
     pod("cache-k2", RS_OF + ("cache", "u-cache"), {"app": "cache"}), True),
    ("bare replicaset: a Deployment's ReplicaSet's pod", RS,
     pod("web-7c9d4-a", RS_OF + ("web-7c9d4", "u-rs1"),
         {"app": "cache", "pod-template-hash": "7c9d4"}), False),
]


def _store_links(w: dict, p: dict) -> bool:
    store = WatchStore()
    store.store_pod(NS, p, deleted=False)
    gk = group_kind(w)
    target = Target(ObjectRef(*gk.rpartition("/")[::2], NS, w["metadata"]["name"], "v1"),
                    Res(gk), w, deadline=0.0)
    return p in store.pods_of(target, NOW)


def _judge_links(w: dict, p: dict) -> bool:
    event = {"type": "Warning", "reason": "BackOff", "message": "restarting",
             "involvedObject": {"kind": "Pod", "name": p["metadata"]["name"], "namespace": NS}}
    return last_warning(w, [p], [event]) != ""


@pytest.mark.parametrize("case,w,p,owned", CASES, ids=[c[0] for c in CASES])
def test_every_call_site_links_a_pod_as_the_one_rule_does(case, w, p, owned):
    assert owns(w, p, group_kind(w)) is owned, "the rule"
    assert selects(w, p) is owned, "rules.selects"
    assert _judge_links(w, p) is owned, "judge.last_warning"
    assert _store_links(w, p) is owned, "the watch store's pod index"


def test_a_cronjob_owns_its_jobs_and_they_their_pods():
    p = CASES[9][2]
    assert owns(CRON, CRON_JOB, "batch/CronJob")
    assert owns(CRON_JOB, p, "batch/Job")
    assert not owns(JOB, CRON_JOB, "batch/Job")


def test_the_index_keys_a_replicaset_pod_under_its_deployment_too():
    p = CASES[0][2]
    assert pod_owners(p) == [("apps/ReplicaSet", "web-7c9d4"), ("apps/Deployment", "web")]
    assert pod_owners(CASES[10][2]) == [("apps/ReplicaSet", "cache")]
    assert pod_owners({"metadata": {"ownerReferences": [{"kind": "Job", "name": "j"}]}}) == []


def test_a_pod_no_controller_claims_is_the_one_the_selector_would_adopt():
    orphan = pod("stray", None, {"app": "web"})
    assert owns(DEPLOY, orphan, "apps/Deployment") and selects(DEPLOY, orphan)
    assert not owns(STS, orphan, "apps/StatefulSet")
    assert pod_owners(orphan) == []   # the index waits for the adoption's MODIFIED event
