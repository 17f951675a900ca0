"""A SoftwareDeploymentGroup across three controllers, as process-level tests (issue 15).

Three real hook processes (hooks/kubectl, JSON on stdin, as 55-heat-config runs it) receive
the same deployment at once, as the members of one group do: same deploy_stack_id and name,
config, options and inputs; their own id, deploy_resource_name and deploy_server_id. What the
API server counted (apimetrics) proves one applier; objects' resourceVersions prove the late
member wrote nothing. The kinds counted (ResourceQuota, PodDisruptionBudget) are used by no other test, so
concurrent tests on the shared cluster do not add to the counts.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid

from apimetrics import writes
from hookrun import HOOK, Run, deployment

from heat_k8s_hook.config import settings

COUNTED = ("resourcequotas", "poddisruptionbudgets")
UPSERTS = frozenset({"POST", "PUT", "PATCH", "APPLY"})   # not the namespace controller's deletes
FIGURES: dict = {}


def app(ns: str, image: str = "nginx:1.27", min_ready: int = 0) -> list:
    spec = {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "web", "image": image}]}}}
    if min_ready:
        spec["minReadySeconds"] = min_ready
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "rq", "namespace": ns},
         "spec": {"hard": {"pods": {"get_input": "pods"}}}},
        {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
         "metadata": {"name": "web", "namespace": ns},
         "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}},
        {"apiVersion": "apps/v1", "kind": "Deployment",
         "metadata": {"name": "web", "namespace": ns}, "spec": spec},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": ns},
         "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}},
    ]


def members(ns: str, stack: str, count: int = 3, action: str = "CREATE", **kw) -> list:
    """One deployment per member, as a SoftwareDeploymentGroup derives them."""
    options = dict({"timeout": 90, "outputs": {"web_ip": "Service/web:{.spec.clusterIP}"}},
                   **kw.pop("options", {}))
    deps = []
    for i in range(count):
        dep = deployment(kw.get("docs") or app(ns), inputs=[{"name": "pods", "value": "50"}],
                         options=options, action=action, stack=stack, resource=str(i),
                         outputs=["web_ip"])
        dep["name"] = f"{stack}-web_config-x1y2"     # the config's name: shared by the members
        for item in dep["inputs"]:
            if item["name"] == "deploy_server_id":
                item["value"] = f"controller-{i}"
        deps.append(dep)
    return deps


def start(dep: dict, env: dict) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, str(HOOK)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, **env))
    proc.stdin.write(json.dumps(dep))
    proc.stdin.close()
    proc.stdin = None   # communicate() must not flush it again
    proc.started = time.monotonic()
    return proc


def finish(proc: subprocess.Popen, timeout: float = 150) -> Run:
    out, err = proc.communicate(timeout=timeout)
    elapsed = time.monotonic() - proc.started
    try:
        result = json.loads(out)
    except ValueError:
        raise AssertionError(f"hook stdout is not one JSON object: {out!r}\n{err}") from None
    for secret in ("Pa55w0rd-never-printed", "TOPSECRETSIGNATURE"):
        assert secret not in out + err, "a secret input was printed"
    return Run(result, err, elapsed, proc.returncode, out)


def run_all(deps: list, env: dict) -> list:
    procs = [start(d, env) for d in deps]
    return [finish(p) for p in procs]


def lease(kubectl, stack: str):
    """The group's Lease (the only one whose identity annotation names this stack)."""
    items = json.loads(kubectl("get", "leases", "-n", "heat-k8s-hook", "-o", "json"))["items"]
    mine = [i for i in items if (i["metadata"].get("annotations") or {}).get(
        "heat-k8s-hook.dev/deployment", "").startswith(f"{stack}/")]
    assert len(mine) <= 1, [i["metadata"]["name"] for i in mine]
    return mine[0] if mine else None


def recorded(lease_: dict) -> list:
    """The members the Lease records (ha.MEMBERS): those that answered."""
    return json.loads(lease_["metadata"]["annotations"].get("heat-k8s-hook.dev/members", "[]"))


def without_members(lease_: dict) -> dict:
    """The Lease's annotations but the members and, in the same write, their deployment
    resources (ha.OWNERS, issue 23)."""
    return {k: v for k, v in lease_["metadata"]["annotations"].items()
            if k not in ("heat-k8s-hook.dev/members", "heat-k8s-hook.dev/owners")}


def applier_of(runs: list) -> list:
    return [i for i, r in enumerate(runs) if "applied by this member" in r.err]


def test_three_members_one_applier_then_a_late_member(kubectl, hook_env):
    """Exactly one of three concurrent members applies; all answer alike; a late member
    answers from the record with zero writes.

    Broken on purpose once (coordinate.run made to always apply, with no Lease): the server
    counted 3 writes per ResourceQuota/PodDisruptionBudget object instead of 1, and no run's stderr named
    another member as the applier; the test went red.
    """
    stack = f"s{uuid.uuid4().hex[:6]}"
    one_ns, ns = f"t-{uuid.uuid4().hex[:8]}", f"t-{uuid.uuid4().hex[:8]}"
    # one member alone first: the baseline for time and writes
    before = writes(kubectl, COUNTED, UPSERTS)
    single = run_all(members(one_ns, f"{stack}a", count=1), hook_env)[0]
    single_writes = writes(kubectl, COUNTED, UPSERTS) - before
    assert single.code == 0, single.err
    assert single_writes == 2, single_writes

    before = writes(kubectl, COUNTED, UPSERTS)
    t0 = time.monotonic()
    runs = run_all(members(ns, stack), hook_env)
    group_time = time.monotonic() - t0
    group_writes = writes(kubectl, COUNTED, UPSERTS) - before
    assert [r.code for r in runs] == [0, 0, 0], "\n---\n".join(r.err for r in runs)
    assert group_writes == single_writes, "more than one member applied"
    assert len({json.dumps(r.result.get("web_ip")) for r in runs}) == 1
    assert runs[0].result["web_ip"] == kubectl.get("service", "web", "-n", ns)["spec"]["clusterIP"]
    assert len({r.result["deploy_stdout"] for r in runs}) == 1
    appliers = applier_of(runs)
    assert len(appliers) == 1, [r.err for r in runs]
    holder = f"{appliers[0]}@"
    for i, r in enumerate(runs):
        if i not in appliers:
            assert f"applied by member {holder}" in r.err, r.err
    held = lease(kubectl, stack)
    assert held and not held["spec"].get("holderIdentity")   # released, outcome recorded
    assert recorded(held) == ["0", "1", "2"], "every member that answered is recorded"
    status = subprocess.run([sys.executable, "-m", "heat_k8s_hook.cli.main", "status",
                             f"{stack}/0b5c2d7e-1111/{stack}-web_config-x1y2"],
                            capture_output=True, text=True, env=dict(os.environ, **hook_env))
    assert f"lease: free; generation {runs[0].err.split('generation ')[1][:16]} (CREATE) " \
           f"applied by {holder}" in status.stdout, status.stdout + status.stderr

    # A late member (say a controller whose agent polled later): record + cheap check only.
    parent = kubectl.get("configmap", "-n", "heat-k8s-hook", held["metadata"]["name"])
    before = writes(kubectl, COUNTED, UPSERTS)
    late = run_all(members(ns, stack, count=4)[3:], hook_env)[0]
    assert late.code == 0, late.err
    assert writes(kubectl, COUNTED, UPSERTS) == before, late.err
    now = lease(kubectl, stack)   # its one Lease write: recording itself as a member
    assert recorded(now) == ["0", "1", "2", "3"] and now["spec"] == held["spec"] and \
        without_members(now) == without_members(held), "the late member wrote the Lease"
    owners = json.loads(now["metadata"]["annotations"]["heat-k8s-hook.dev/owners"])
    assert sorted(owners) == ["0", "1", "2", "3"], owners   # each with its resource
    after = kubectl.get("configmap", "-n", "heat-k8s-hook", held["metadata"]["name"])
    assert after["metadata"]["resourceVersion"] == parent["metadata"]["resourceVersion"], \
        (late.err, parent, after)
    assert late.result["deploy_stdout"] == runs[0].result["deploy_stdout"]
    assert late.result["web_ip"] == runs[0].result["web_ip"]
    assert f"applied by member {holder}" in late.err
    FIGURES.update(single_s=round(single.elapsed, 1), group_s=round(group_time, 1),
                   late_s=round(late.elapsed, 1), single_writes=single_writes,
                   group_writes=group_writes)
    print(f"\nFIGURES {FIGURES}")
    for n in (ns, one_ns):
        kubectl("delete", "namespace", n, "--wait=false", check=False)


def holder_named(kubectl, stack: str, ns: str, procs: list) -> tuple:
    """(holderIdentity, pid) once a member holds the Lease and has applied the Deployment;
    the pid is a worker's, the child of one of the hook processes `procs` (supervise.py)."""
    end = time.monotonic() + 40
    while time.monotonic() < end:
        held = lease(kubectl, stack)
        if held and held["spec"].get("holderIdentity") and \
                kubectl.get("deployment", "web", "-n", ns):
            holder = held["spec"]["holderIdentity"]
            pid = int(holder.rpartition(":")[2])
            assert parent_of(pid) in [p.pid for p in procs], \
                f"the Lease names {holder}, not a worker of a member's hook"
            return holder, pid
        time.sleep(0.3)
    raise AssertionError("no member took the Lease within 40 s")


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rpartition(")")[2].split()[1])


def next_holder(kubectl, stack: str, old: str, wait: float = 40) -> float:
    """When (monotonic) the API server first showed the Lease claimed by another than `old`
    or released (read every few tenths of a second)."""
    end = time.monotonic() + wait
    while time.monotonic() < end:
        spec = lease(kubectl, stack)["spec"]
        if spec.get("holderIdentity") != old:
            return time.monotonic()
        time.sleep(0.1)
    raise AssertionError(f"the Lease still names {old} {wait:.0f}s after the kill")


def test_killed_worker_its_hook_runs_again_and_takes_over(kubectl, hook_env):
    """SIGKILL the process the Lease names (a hook's worker) while it waits for readiness:
    that member's hook (another pid) runs a new worker, a member takes the Lease over at once
    (the dead pid on this host, not the lapse of lease_duration) and all three answer 0 with
    the same outputs; the API server counted no second write of the objects.

    Broken on purpose three times, red each time: with the dead-pid rule removed (ha.decide
    ignoring `dead`) the Lease was taken over 14.1 s after the kill, once the claim lapsed;
    with no restart (supervise.RESTARTS = 0) the killed member's hook answered code 9; with
    HEAT_K8S_HOOK_SUPERVISE=0 the Lease named a hook process itself, not a worker.
    """
    stack, ns = f"s{uuid.uuid4().hex[:6]}", f"t-{uuid.uuid4().hex[:8]}"
    before = writes(kubectl, COUNTED, UPSERTS)
    procs = [start(d, hook_env) for d in members(ns, stack, docs=app(ns, min_ready=12))]
    holder, pid = holder_named(kubectl, stack, ns, procs)
    victim = procs[[p.pid for p in procs].index(parent_of(pid))]
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    taken_at = next_holder(kubectl, stack, holder)
    runs = [finish(p) for p in procs]
    takeover = taken_at - killed
    assert takeover < settings.DEFAULT_LEASE_SECONDS / 2, f"taken over {takeover:.1f}s after the kill"
    assert [(r.code, r.returncode) for r in runs] == [(0, 0)] * 3, [r.err for r in runs]
    mine = runs[procs.index(victim)]
    assert victim.pid != pid
    assert f"worker pid {pid} killed by signal 9; running again (takeover of its Lease)" \
        in mine.err, mine.err
    ip = kubectl.get("service", "web", "-n", ns)["spec"]["clusterIP"]
    assert [r.result["web_ip"] for r in runs] == [ip] * 3
    assert len({r.result["deploy_stdout"] for r in runs}) == 1
    assert kubectl.get("deployment", "web", "-n", ns)["status"].get("availableReplicas") == 2
    assert writes(kubectl, COUNTED, UPSERTS) - before == 2, "the takeover wrote the objects again"
    taken = lease(kubectl, stack)
    assert taken["spec"].get("leaseTransitions", 0) >= 1 and not taken["spec"].get(
        "holderIdentity")
    takers = [i for i, r in enumerate(runs) if "applied by this member" in r.err]
    assert len(takers) == 1, [r.err for r in runs]
    FIGURES.update(kill_takeover_s=round(takeover, 1),
                   kill_taken_by="its own new worker" if procs[takers[0]] is victim
                   else "another member",
                   kill_answered_s=round(max(p.started + r.elapsed for p, r in zip(procs, runs))
                                         - killed, 1))
    print(f"\nFIGURES {FIGURES}")
    kubectl("delete", "namespace", ns, "--wait=false", check=False)


def test_frozen_holder_lapses_and_another_member_takes_over(kubectl, hook_env, tmp_path):
    """SIGSTOP the worker the Lease names (a frozen controller: its pid alive, no renewal):
    once its claim lapses another member takes over and converges; then the frozen worker is
    killed, and its hook's new worker answers from the record: every member answers 0.

    Broken on purpose once, in this test's earlier form (the hook process itself killed), by
    a follower that never re-decided when the holder's claim lapsed: the survivors timed out
    with code 7 and the test went red.
    """
    settings = tmp_path / "hook.yaml"
    settings.write_text("lease_duration: 5\n")
    settings.chmod(0o600)
    env = dict(hook_env, HEAT_K8S_HOOK_CONFIG=str(settings))
    stack, ns = f"s{uuid.uuid4().hex[:6]}", f"t-{uuid.uuid4().hex[:8]}"
    procs = [start(d, env) for d in members(ns, stack, docs=app(ns, min_ready=12))]
    holder, pid = holder_named(kubectl, stack, ns, procs)
    frozen = [p for p in procs if p.pid == parent_of(pid)][0]
    os.kill(pid, signal.SIGSTOP)
    stopped = time.monotonic()
    try:
        taken_at = next_holder(kubectl, stack, holder)
        runs = [finish(p) for p in procs if p is not frozen]
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert [r.code for r in runs] == [0, 0], [r.err for r in runs]
    late = finish(frozen)
    assert late.code == 0, late.err
    assert f"worker pid {pid} killed by signal 9; running again" in late.err
    assert "this member answers with its outcome and wrote nothing" in late.err, late.err
    taken = lease(kubectl, stack)
    assert taken["spec"].get("leaseTransitions", 0) >= 1
    takeover = [(r, p) for r, p in zip(runs, [p for p in procs if p is not frozen])
                if "applied by this member" in r.err]
    assert len(takeover) == 1, [r.err for r in runs]
    assert kubectl.get("deployment", "web", "-n", ns)["status"].get("availableReplicas") == 2
    assert late.result["web_ip"] == takeover[0][0].result["web_ip"]
    FIGURES.update(takeover_s=round(taken_at - stopped, 1),
                   converged_s=round(max(r.elapsed for r in runs) -
                                     (stopped - min(p.started for p in procs)), 1))
    print(f"\nFIGURES {FIGURES}")
    kubectl("delete", "namespace", ns, "--wait=false", check=False)


def test_failing_deployment_gives_every_member_the_same_failure(kubectl, hook_env):
    """A bad image: one member applies and fails; the others answer with its code and cause
    (a member that arrives after the failure is recorded tries again, with no write).

    Broken on purpose once (followers answered only from a success): the members that had
    waited applied again after the failure was recorded; the test went red.
    """
    stack, ns = f"s{uuid.uuid4().hex[:6]}", f"t-{uuid.uuid4().hex[:8]}"
    before = writes(kubectl, COUNTED, UPSERTS)
    runs = run_all(members(ns, stack, docs=app(ns, image="nginx:missing")), hook_env)
    assert [r.code for r in runs] == [6, 6, 6], [r.err for r in runs]
    assert writes(kubectl, COUNTED, UPSERTS) - before == 2, "\n---\n".join(r.err for r in runs)
    causes = [r.err.strip().splitlines()[-1] for r in runs]
    for cause in causes:   # a member that arrives after the failure tries again (no write)
        assert cause.startswith(f"ERROR: Deployment/{ns}/web: pod ") and "ImagePull" in cause
    appliers = applier_of(runs)
    followers = [r for i, r in enumerate(runs) if i not in appliers]
    assert appliers and all("applied by member" in r.err for r in followers)
    waited = [r for r in runs if "waiting for its outcome" in r.err]
    assert waited and not any("applied by this member" in r.err for r in waited), \
        "a member that waited for the applier applied again instead of answering"
    assert {c for i, c in enumerate(causes) if i not in appliers} <= \
        {causes[i] for i in appliers}, "a follower answered another cause than the applier's"
    kubectl("delete", "namespace", ns, "--wait=false", check=False)


def test_deployment_from_before_groups_keeps_its_objects(kubectl, hook_env):
    """A deployment recorded under the identity before groups (stack + resource name) is
    adopted: no object re-created or pruned, the old parent forgotten; a DELETE (with or
    without an UPDATE first) still deletes.

    The first runs' name equals their resource name, so they record exactly what the hook did
    before issue 15. Broken on purpose once (adopt_parent returning None): the UPDATE found no
    inventory, the old parent stayed, and the DELETE left the objects; the test went red.
    """
    stacks = [f"s{uuid.uuid4().hex[:6]}" for _ in range(2)]
    spaces = [f"t-{uuid.uuid4().hex[:8]}" for _ in range(2)]

    def dep(i, action, pods="50", name="web_deployment"):
        d = deployment(app(spaces[i])[:2], inputs=[{"name": "pods", "value": pods}],
                       stack=stacks[i], resource="web_deployment", action=action,
                       options={"timeout": 60})   # Namespace, ResourceQuota
        d["name"] = name
        return d
    first = run_all([dep(0, "CREATE"), dep(1, "CREATE")], hook_env)
    assert [r.code for r in first] == [0, 0], [r.err for r in first]
    uid = kubectl.get("resourcequota", "rq", "-n", spaces[0])["metadata"]["uid"]
    old_parents = _parents(kubectl, stacks[0])
    assert len(old_parents) == 1 and len(_parents(kubectl, stacks[1])) == 1

    named = f"{stacks[0]}-web_config-x1y2"   # what Heat sends: the config's name
    update, delete1 = run_all([dep(0, "UPDATE", "60", named), dep(1, "DELETE", name="cfg")],
                              hook_env)
    assert update.code == 0, update.err
    assert "adopting inventory" in update.err
    assert set(update.actions().values()) <= {"configured", "unchanged"}, update.lines
    quota = kubectl.get("resourcequota", "rq", "-n", spaces[0])
    assert quota["metadata"]["uid"] == uid and quota["spec"]["hard"]["pods"] == "60"
    parents = _parents(kubectl, stacks[0])
    assert len(parents) == 1 and parents[0]["metadata"]["name"] != \
        old_parents[0]["metadata"]["name"]
    assert quota["metadata"]["labels"]["applyset.kubernetes.io/part-of"] == \
        parents[0]["metadata"]["labels"]["applyset.kubernetes.io/id"]
    assert delete1.code == 0 and "adopting inventory" in delete1.err, delete1.err
    assert delete1.actions().get(f"ResourceQuota/{spaces[1]}/rq") == "deleted", delete1.lines
    assert not _parents(kubectl, stacks[1])

    delete0 = run_all([dep(0, "DELETE", name=named)], hook_env)[0]
    assert delete0.code == 0, delete0.err
    assert delete0.actions().get(f"ResourceQuota/{spaces[0]}/rq") == "deleted", delete0.lines
    assert not _parents(kubectl, stacks[0])


def _parents(kubectl, stack):
    items = json.loads(kubectl("get", "configmap", "-n", "heat-k8s-hook", "-o", "json",
                               "-l", "applyset.kubernetes.io/id"))["items"]
    return [p for p in items if p["metadata"]["annotations"].get(
        "heat-k8s-hook.dev/deployment", "").startswith(f"{stack}/")]


def test_after_an_adoption_suspend_resume_and_a_pruning_update_work(kubectl, hook_env):
    """The rest of the lifecycle of a deployment from before groups (found by mutation testing
    of runner.py): SUSPEND answered code 5 (its record written to the new parent, which does not
    exist yet), and an UPDATE that dropped a member left it "skipped" and forgot it (it still
    carried the adopted parent's ApplySet id): an object leaked. Seen red with the fix reverted."""
    stack, space = f"s{uuid.uuid4().hex[:6]}", f"t-{uuid.uuid4().hex[:8]}"
    docs = app(space)   # Namespace, ResourceQuota, PDB, Deployment web, Service

    def dep(action, keep=docs, name="web_deployment"):
        d = deployment(keep, inputs=[{"name": "pods", "value": "50"}], stack=stack,
                       resource="web_deployment", action=action, options={"timeout": 90})
        d["name"] = name   # the first run's name is its resource name: the identity before groups
        return d
    assert run_all([dep("CREATE")], hook_env)[0].code == 0
    named = f"{stack}-web_config-x1y2"
    suspended = run_all([dep("SUSPEND", name=named)], hook_env)[0]
    assert suspended.code == 0, suspended.err
    assert "adopting inventory" in suspended.err
    assert kubectl.get("deployment", "web", "-n", space)["spec"]["replicas"] == 0
    resumed = run_all([dep("RESUME", name=named)], hook_env)[0]
    assert resumed.code == 0, resumed.err
    assert kubectl.get("deployment", "web", "-n", space)["spec"]["replicas"] == 2

    update = run_all([dep("UPDATE", keep=[d for d in docs if d["kind"] != "Service"],
                          name=named)], hook_env)[0]
    assert update.code == 0, update.err
    assert update.actions().get(f"Service/{space}/web") == "pruned", update.lines
    assert kubectl.get("service", "web", "-n", space) is None
    assert len(_parents(kubectl, stack)) == 1
    assert run_all([dep("DELETE", name=named)], hook_env)[0].code == 0
    assert not _parents(kubectl, stack)
