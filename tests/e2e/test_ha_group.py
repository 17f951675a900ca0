"""Issue 15, part 4: a SoftwareDeploymentGroup across three HA controllers, through the real Heat.

Three OS::Heat::DeployedServers, three agents on this machine (tools/bootstrap-controller,
each with its own root and lease_duration 5 s in its operator settings), one group over them
(examples/heat/ha-group.yaml). What the API server counted (apiserver_request_total for
Ingresses, a kind no other test writes) proves one applier per generation; the members'
answers come from Heat (the group's attributes), not from the hook's own files.
"""
from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest
import yaml
from conftest import CACHE, RUN_ID, HeatError, bootstrap_agent, stop_agent

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "cluster"))
import apimetrics  # noqa: E402

COUNTED = {"ingresses"}
# The hook writes by server-side apply (verb APPLY); a plain PATCH of an Ingress here is the
# garbage collector dropping the foregroundDeletion finalizer after a stack delete.
UPSERTS = frozenset({"POST", "PUT", "APPLY"})
LEASE_SECONDS = 5
FIGURES: dict = {}


def _fail(msg: str) -> None:
    pytest.fail(msg, pytrace=False)


@pytest.fixture(scope="module")
def kubectl(kubectl_bin, kubeconfig):
    def run(*args: str) -> str:
        proc = subprocess.run([kubectl_bin, "--kubeconfig", kubeconfig, *args],
                              capture_output=True, text=True, timeout=60)
        if proc.returncode:
            _fail(f"kubectl {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout
    return run


@pytest.fixture(scope="module")
def agents(heat, local_heat, kubeconfig):
    """Three controllers: DeployedServers c0..c2, an agent each (own root), Lease of 5 s."""
    made = []
    try:
        for i in range(3):
            # The agents share one venv: the first installs this checkout, the others find it.
            package = () if i == 0 else ("--package", "heat-k8s-hook")
            agent = bootstrap_agent(heat, local_heat, f"ha-{RUN_ID}-c{i}", f"ha-{RUN_ID}-c{i}",
                                    "--kubeconfig", kubeconfig, *package)
            made.append(agent)
            settings = agent.root / "etc" / "heat-k8s-hook" / "hook.yaml"
            values = yaml.safe_load(settings.read_text()) or {}
            values["lease_duration"] = LEASE_SECONDS
            settings.write_text(yaml.safe_dump(values))
            os.chmod(settings, 0o600)
        yield made
    finally:
        for agent in made:
            try:
                stop_agent(heat, agent)
            except Exception as exc:  # the next agents must stop all the same
                print(f"stopping the agent {agent.root.name}: {exc!r}")
            shutil.rmtree(agent.root, ignore_errors=True)


NOTIFY = CACHE / "heat" / "venv-agent" / "bin" / "heat-config-notify"
_RUNNING = re.compile(r"Running \S*heat-config-notify (\S+) < (\S+)")


def resend_failed_notifies(agents, sent: dict) -> None:
    """Send again what an agent's heat-config-notify failed to send, and say so: with sqlite the
    local Keystone answered 500 to a signal's authentication and Heat 404 `ResourcePropertiesData
    with id N not found` to one of three simultaneous signals (not seen since the local Heat
    moved to PostgreSQL; kept because 55-heat-config never retries a failed notify, and a
    deployment whose signal never left would wait for the stack's timeout). The hook's answer
    is read back from the agent's own .notify.json, unchanged, and sent until Heat takes it."""
    for agent in agents:
        if not agent.log.exists():
            continue
        current = None
        for line in agent.log.read_text(errors="replace").splitlines():
            match = _RUNNING.search(line)
            if match:
                current = match.groups()
            elif "Error running heat-config-notify" in line and current:
                if current not in sent:
                    print(f"\nheat-config-notify failed on {agent.root.name}: sent again")
                    sent[current] = notify_again(*current)
                current = None


def agent_tails(agents, lines: int = 25) -> str:
    """The end of each agent's log: which member never signalled, and why (the teardown
    removes the agents' roots)."""
    parts = []
    for agent in agents:
        text = agent.log.read_text(errors="replace") if agent.log.exists() else "(no log)"
        parts.append(f"--- {agent.root.name}\n" + "\n".join(text.splitlines()[-lines:]))
    return "\n".join(parts)


def notify_again(deployed: str, answer_path: str, tries: int = 5) -> int:
    """heat-config-notify again until Heat takes it: the tries it took (0: never)."""
    for attempt in range(1, tries + 1):
        with open(answer_path, "rb") as answer:
            proc = subprocess.run([str(NOTIFY), deployed], stdin=answer,
                                  capture_output=True, timeout=120)
        if proc.returncode == 0:
            return attempt
        time.sleep(2 * attempt)
    print(f"heat-config-notify of {deployed} failed {tries} times: "
          f"{proc.stderr.decode(errors='replace')[-300:]}")
    return 0


SENT: dict = {}   # failed notifies already sent again, over the module (the logs persist)


def settle(heat, agents, stack_id: str, action: str, timeout: float = 300) -> dict:
    """Poll until the stack's `action` is no longer IN_PROGRESS (failed notifies sent again)."""
    end, sent = time.monotonic() + timeout, SENT
    while True:
        st = heat.stack(stack_id)
        if st["stack_status"] != f"{action}_IN_PROGRESS":
            if sent:
                print(f"notifies sent again after a Keystone error so far: {len(sent)}")
            return st
        if time.monotonic() > end:
            _fail(f"stack {stack_id} still {st['stack_status']} after {timeout}s\n"
                  f"{agent_tails(agents)}")
        resend_failed_notifies(agents, sent)
        time.sleep(1)


def create(heat, agents, name: str, parameters: dict, count=lambda: 0) -> tuple:
    """Create and settle: (stack id, stack, what `count` grew by meanwhile)."""
    before = count()
    body = heat.call("stacks.create", stack_name=name, template=heat.example("ha-group.yaml"),
                     parameters=parameters, timeout_mins=10)
    stack_id = body["stack"]["id"]
    st = settle(heat, agents, stack_id, "CREATE")
    return stack_id, st, count() - before


def update_group(heat, agents, group: dict, kubectl, parameters: dict, during=None) -> tuple:
    """Update the group stack and settle: (stack, Ingress writes the update made, seconds).
    `during(stack_name)` runs between the update call and the settling (the kill of test 4)."""
    before, t0 = written(kubectl), time.monotonic()
    heat.call("stacks.update", group["id"], existing=True, parameters=parameters)
    if during:
        during(heat.stack(group["id"])["stack_name"])
    st = settle(heat, agents, group["id"], "UPDATE")
    return st, written(kubectl) - before, time.monotonic() - t0


def servers(agents, count: int = 3) -> dict:
    return {f"c{i}": a.server_id for i, a in enumerate(agents[:count])}


def written(kubectl) -> int:
    """Ingress creates/updates the API server accepted (2xx): a request it answered 429 or
    5xx under load, then sent again by the hook's retry, changed nothing the first time."""
    total, refused = 0, {}
    for line in kubectl("get", "--raw", "/metrics").splitlines():
        match = apimetrics._SAMPLE.match(line)
        if not match:
            continue
        labels = dict(apimetrics._LABEL.findall(match["labels"]))
        if labels.get("verb") in UPSERTS and not labels.get("dry_run") and \
                labels.get("resource") in COUNTED and not labels.get("subresource"):
            if labels.get("code", "").startswith("2"):
                total += int(float(match["value"]))
            else:
                refused[labels.get("code")] = int(float(match["value"]))
    if refused:
        print(f"Ingress writes refused by the API server, by code: {refused}")
    return total


@pytest.fixture(scope="module")
def group(heat, agents, kubectl):
    """The group stack over three controllers, created once (test 1 asserts on the CREATE)."""
    ns = f"e2e-ha-{RUN_ID}"
    t0 = time.monotonic()
    stack_id, st, writes = create(heat, agents, f"ha-group-{RUN_ID}",
                                  {"servers": json.dumps(servers(agents)), "namespace": ns},
                                  lambda: written(kubectl))
    FIGURES["create_3_members_s"] = round(time.monotonic() - t0, 1)
    return {"id": stack_id, "ns": ns, "create": st, "writes": writes}


def answers(heat, stack_id: str) -> tuple:
    out = heat.outputs(stack_id)
    return out["cluster_ips"], out["deploy_stderrs"], out["deploy_status_codes"]


def appliers(stderrs: dict) -> list:
    return sorted(m for m, text in stderrs.items() if "applied by this member" in (text or ""))


def test_1_create_one_applier_three_answers(group, heat, kube):
    st = group["create"]
    assert st["stack_status"] == "CREATE_COMPLETE", st["stack_status_reason"]
    ns = group["ns"]
    ips, stderrs, codes = answers(heat, group["id"])
    service_ip = kube.get("service", "web", ns)["spec"]["clusterIP"]
    assert ips == {"c0": service_ip, "c1": service_ip, "c2": service_ip}
    assert codes == {"c0": 0, "c1": 0, "c2": 0}
    assert len(appliers(stderrs)) == 1, stderrs
    for member, text in stderrs.items():
        if member not in appliers(stderrs):
            assert "this member answers with its outcome and wrote nothing" in text, text
    assert group["writes"] == 1, f"the API server counted {group['writes']} Ingress writes"
    assert kube.get("deployment", "web", ns)["status"].get("readyReplicas") == 2
    print(f"\nCREATE, 3 members: {FIGURES['create_3_members_s']}s, applier "
          f"{appliers(stderrs)}, Ingress writes {group['writes']}")


def test_2_one_member_for_comparison(heat, agents, kube, kubectl):
    """The same template on a group of one controller: the figure 3 members are compared to."""
    ns = f"e2e-ha1-{RUN_ID}"
    t0 = time.monotonic()
    stack_id, st, writes = create(heat, agents[:1], f"ha-one-{RUN_ID}",
                                  {"servers": json.dumps(servers(agents, 1)), "namespace": ns},
                                  lambda: written(kubectl))
    FIGURES["create_1_member_s"] = round(time.monotonic() - t0, 1)
    assert st["stack_status"] == "CREATE_COMPLETE", st["stack_status_reason"]
    assert writes == 1
    print(f"\nCREATE, 1 member: {FIGURES['create_1_member_s']}s")
    heat.call("stacks.delete", stack_id)
    heat.wait(stack_id, "DELETE", 120)


def test_3_update_one_applier(group, heat, agents, kube, kubectl):
    st, writes, seconds = update_group(heat, agents, group, kubectl,
                                       {"replicas": 3, "message": "updated"})
    ns = group["ns"]
    FIGURES["update_3_members_s"] = round(seconds, 1)
    assert st["stack_status"] == "UPDATE_COMPLETE", st["stack_status_reason"]
    ips, stderrs, codes = answers(heat, group["id"])
    assert codes == {"c0": 0, "c1": 0, "c2": 0}
    assert len(set(ips.values())) == 1 and len(appliers(stderrs)) == 1, stderrs
    assert writes == 1
    assert kube.get("configmap", "web-config", ns)["data"] == {"message": "updated"}
    assert kube.get("deployment", "web", ns)["status"].get("readyReplicas") == 3
    print(f"\nUPDATE, 3 members: {FIGURES['update_3_members_s']}s")


def holder_pid(kubectl, stack_name: str) -> tuple:
    """(holderIdentity, pid) of the group's Lease once a member holds it: the Lease whose
    identity annotation (the group's nested stack `<stack>-<resource>-<id>/<uuid>` + the
    application) starts with the stack's name."""
    end = time.monotonic() + 90
    while time.monotonic() < end:
        leases = json.loads(kubectl("get", "leases", "-A", "-o", "json"))["items"]
        for lease in leases:
            holder = lease["spec"].get("holderIdentity") or ""
            identity = (lease["metadata"].get("annotations") or {}).get(
                "heat-k8s-hook.dev/deployment", "")
            if identity.startswith(f"{stack_name}-") and holder:
                return holder, int(holder.rpartition(":")[2])
        time.sleep(0.2)
    _fail("no member held the group's Lease during the update")


def test_4_applier_killed_mid_apply(group, heat, agents, kube, kubectl):
    """SIGKILL the process the Lease names (the applier's worker, supervise.py) while it waits
    (minReadySeconds 15): its member's hook runs the deployment again and takes its own Lease
    over at once (the holder's pid is gone on this host), so 55-heat-config sees an answer, not
    a -9, and the stack's UPDATE completes with every member's code 0 and one clusterIP.
    Seen red with the supervisor off (HEAT_K8S_HOOK_SUPERVISE=0 in the agents' hook: the Lease
    names the hook itself, the killed member reports -9 and the update fails).
    """
    # a new image: a rollout whose new pods count as available only after 15 s, so the
    # applier is still waiting when it is killed
    params = {"replicas": 2, "message": "after a kill", "min_ready": 15, "image": "nginx:1.28"}
    seen: dict = {}

    def kill(stack_name: str) -> None:
        seen["holder"], seen["pid"] = holder_pid(kubectl, stack_name)
        while kube.get("configmap", "web-config", group["ns"])["data"]["message"] != \
                "after a kill":
            time.sleep(0.2)   # the holder is applying
        try:
            os.kill(seen["pid"], signal.SIGKILL)
        except ProcessLookupError:
            _fail(f"the applier {seen['holder']} had ended before it could be killed")
        seen["killed"] = time.monotonic()
    st, writes, _ = update_group(heat, agents, group, kubectl, params, during=kill)
    ns, holder, pid = group["ns"], seen["holder"], seen["pid"]
    FIGURES["kill_to_update_complete_s"] = round(time.monotonic() - seen["killed"], 1)
    print(f"\nkilled {holder}; stack {st['stack_status']} "
          f"{FIGURES['kill_to_update_complete_s']}s after the kill")
    assert st["stack_status"] == "UPDATE_COMPLETE", st["stack_status_reason"]
    dep = kube.get("deployment", "web", ns)
    assert dep["spec"].get("minReadySeconds") == 15 and \
        dep["status"].get("availableReplicas") == 2, dep["status"]
    assert kube.get("ingress", "web", ns)["metadata"]["annotations"]["message"] == "after a kill"
    assert writes <= 2   # the killed worker's write, and maybe the taker's
    ips, stderrs, codes = answers(heat, group["id"])
    assert set(codes.values()) == {0} and len(set(ips.values())) == 1, (codes, ips)
    member = holder.partition("@")[0]
    assert f"worker pid {pid} killed by signal 9" in stderrs[member], stderrs[member]
    print(f"FIGURES {FIGURES}")


def test_5_delete_removes_the_objects(group, heat, agents, kube):
    ns = group["ns"]
    t0 = time.monotonic()
    heat.call("stacks.delete", group["id"])
    try:
        st = settle(heat, agents, group["id"], "DELETE")
    except HeatError as exc:  # gone
        assert "HTTPNotFound" in str(exc), exc
        st = {"stack_status": "DELETE_COMPLETE"}
    end = time.monotonic() + 120
    while time.monotonic() < end:
        left = [k for k in ("deployment", "service", "ingress", "configmap")
                if kube.get(k, "web" if k != "configmap" else "web-config", ns) is not None]
        if not left:
            break
        time.sleep(0.5)
    else:
        _fail(f"objects still in the cluster 120s after stack delete: {left}\n"
              f"{agent_tails(agents, 40)}")
    FIGURES["delete_gone_s"] = round(time.monotonic() - t0, 1)
    print(f"\nstack delete -> {st['stack_status']}; objects gone after "
          f"{FIGURES['delete_gone_s']}s\nFIGURES {FIGURES}")
    # with a real nova-api Heat completes the delete without waiting for the members' DELETEs
    assert st["stack_status"] == "DELETE_COMPLETE", st.get("stack_status_reason")


def deleted_ingresses(kubectl) -> int:
    """Ingress DELETEs the API server counted (scope resource: the hook's, not a namespace's)."""
    total = 0
    for line in kubectl("get", "--raw", "/metrics").splitlines():
        match = apimetrics._SAMPLE.match(line)
        if match:
            labels = dict(apimetrics._LABEL.findall(match["labels"]))
            if labels.get("verb") == "DELETE" and labels.get("resource") in COUNTED and \
                    labels.get("scope") == "resource" and not labels.get("dry_run"):
                total += int(float(match["value"]))
    return total


def test_6_shrink_keeps_then_stack_delete_removes(heat, agents, kube, kubectl):
    """Issue 23 on a cloud with Nova: Heat does not wait for a removed member's DELETE, so the
    agents' delete by absence decides, with `group_delete: last`: a server leaving `servers`
    keeps the application (no Ingress DELETE counted); the stack delete removes it (every
    member's deployment left its server: the last to leave deletes), within 30 s."""
    ns = f"e2e-ha-last-{RUN_ID}"
    stack_id, st, _ = create(heat, agents, f"ha-last-{RUN_ID}",
                             {"servers": json.dumps(servers(agents)), "namespace": ns,
                              "group_delete": "last"})
    assert st["stack_status"] == "CREATE_COMPLETE", st["stack_status_reason"]
    before = deleted_ingresses(kubectl)
    heat.call("stacks.update", stack_id, existing=True,
              parameters={"servers": json.dumps(servers(agents, 2))})
    st = settle(heat, agents, stack_id, "UPDATE")
    assert st["stack_status"] == "UPDATE_COMPLETE", st["stack_status_reason"]
    time.sleep(15)   # c2's agent has seen its deployment leave and run its pass
    assert deleted_ingresses(kubectl) == before, "the shrink deleted the application"
    assert kube.get("ingress", "web", ns) is not None
    assert kube.get("deployment", "web", ns)["status"].get("readyReplicas") == 2
    heat.call("stacks.delete", stack_id)
    try:
        st = settle(heat, agents, stack_id, "DELETE")
    except HeatError as exc:  # gone
        assert "HTTPNotFound" in str(exc), exc
        st = {"stack_status": "DELETE_COMPLETE"}
    assert st["stack_status"] == "DELETE_COMPLETE", st.get("stack_status_reason")
    t0 = time.monotonic()
    while kube.get("ingress", "web", ns) is not None or kube.get("deployment", "web", ns):
        if time.monotonic() - t0 > 30:
            _fail(f"objects still in {ns} 30 s after DELETE_COMPLETE\n{agent_tails(agents, 40)}")
        time.sleep(0.5)
    FIGURES["last_delete_gone_s"] = round(time.monotonic() - t0, 1)
    assert deleted_ingresses(kubectl) == before + 1, "not exactly one deleter"
    print(f"\nshrink kept the application; stack delete: gone "
          f"{FIGURES['last_delete_gone_s']}s after DELETE_COMPLETE")
