"""The fast re-delivery through the real Heat (issue 25): a controller that runs its deployments
again, as after a rebuild (its deployed markers gone), answers each from the record the full
path left, and the API server counts no write.

The config names are the ones Heat makes (`<stack>-config-<12-character short id>`): the fast
path missed every such name until session 7 (it kept its own copy of the naming and never
stripped the short id), and the full path ran instead. The run is triggered by another stack on
the same server (heat-agents' `script` hook): the metadata changes, 55-heat-config walks every
deployment and runs each one without a marker.

Seen red twice before it passed: on session 7's code the fast path never fired on these
controllers at all, since tools/bootstrap-controller's hook.yaml names its own
default_kubeconfig and fastpath.kubeconfig_path gave up on any such file, where the full path
reads $KUBECONFIG first ("took the full path": 0 writes, but every object checked again).
"""
from __future__ import annotations

import json
import re
import sys
import time

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "tests" / "cluster"))
from apimetrics import Kubectl, quiesce, settled, writes  # noqa: E402

# What a full-path run of web-app.yaml writes (applies, the inventory parent, the record).
APP_RESOURCES = ("namespaces", "configmaps", "deployments", "services", "secrets")


def _fail(msg):
    pytest.fail(msg, pytrace=False)


def test_a_rebuilt_controller_answers_its_deployments_from_the_record(
        heat, k8s_server, kubectl_bin, kubeconfig, unique):
    api = Kubectl(kubectl_bin, kubeconfig)

    def quiet_writes() -> int:
        quiesce(api)
        return settled(lambda: writes(api, APP_RESOURCES))

    stacks = [heat.create(f"redeliver-{unique}-{i}", "web-app.yaml",
                          {"server": k8s_server.server_id, "namespace": f"e2e-rd-{unique}-{i}",
                           "replicas": 1}) for i in range(2)]
    for stack_id in stacks:
        assert heat.stack(stack_id)["stack_status"] == "CREATE_COMPLETE"
    # 55-heat-config names its markers by the derived config's id (the metadata item's id).
    ids = [heat.deployment(s, "deployment")["config_id"] for s in stacks]
    names = [json.loads((k8s_server.deployed / f"{i}.json").read_text())["name"] for i in ids]
    for name in names:   # Heat's own names, with the short id the fast path once missed
        assert re.search(r"-[A-Za-z0-9]{12}$", name), name

    # The rebuild: the markers are gone (55-heat-config runs a deployment without one).
    for i in ids:
        for suffix in (".json", ".notify.json"):
            (k8s_server.deployed / f"{i}{suffix}").unlink()
    before = quiet_writes()
    trigger = heat.call("stacks.create", stack_name=f"redeliver-trigger-{unique}",
                        template=heat.example("script-smoke.yaml"), timeout_mins=5,
                        parameters={"server": k8s_server.server_id})["stack"]["id"]
    try:
        answers = {}
        end = time.monotonic() + 180
        while len(answers) < len(ids):
            for i in ids:
                notify = k8s_server.deployed / f"{i}.notify.json"
                if i not in answers and notify.exists():
                    answers[i] = json.loads(notify.read_text())
            if time.monotonic() > end:
                _fail(f"the agent re-ran {len(answers)} of {len(ids)} deployments in 180 s")
            time.sleep(0.5)
        for i, answer in answers.items():
            assert answer["deploy_status_code"] == 0, answer["deploy_stderr"]
            assert "re-delivery of the recorded apply" in answer["deploy_stderr"], \
                f"{i} took the full path:\n{answer['deploy_stderr']}"
            assert "nothing sent" in answer["deploy_stderr"], answer["deploy_stderr"]
        after = quiet_writes()
        assert after == before, f"{after - before} write(s) counted by the API server"
        for answer in answers.values():
            print(answer["deploy_stderr"].strip()[:160])
    finally:
        for stack_id in stacks + [trigger]:
            heat.call("stacks.delete", stack_id)
        for stack_id in stacks + [trigger]:
            heat.wait(stack_id, "DELETE", 300)
