"""The rest of Heat's lifecycle after an inventory under the identity before groups is adopted
(runner.adopt_parent): SUSPEND/RESUME and an UPDATE that drops a member. Found writing the
mutation tests of runner.py: SUSPEND answered code 5 (its record written to the new parent,
which does not exist yet) and RESUME restored and then failed the same way; an UPDATE left a
dropped member "skipped" and then forgot it (labelled with the adopted parent's ApplySet id,
which the prune did not take as ours): an application leaked."""
from __future__ import annotations

import json

from test_mut_runner2 import APP, NS, TICK_PATH, WEB_PATH, Workloads, parents, renamed
from wiring import deployment, through_pipeline

from heat_k8s_hook.engine import inventory

A = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: v}\n"
B = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata: {k: v}\n"
PATH_B = "/api/v1/namespaces/default/configmaps/b"


def test_suspend_and_resume_keep_their_record_on_the_adopted_parent():
    _answer, api = through_pipeline(deployment(APP, {"namespace": NS}), Workloads())
    suspend = renamed(APP, "SUSPEND", {"namespace": NS})
    new, old = parents(suspend)
    assert old in api.objects and new not in api.objects

    answer, api = through_pipeline(suspend, api)
    assert answer["deploy_status_code"] == 0, answer["deploy_stderr"]
    assert api.objects[WEB_PATH]["spec"]["replicas"] == 0
    assert api.objects[TICK_PATH]["spec"]["suspend"] is True
    held = json.loads(api.objects[old]["data"][inventory.SUSPENDED])
    assert {h["name"]: h.get("replicas", h.get("suspend")) for h in held} == \
        {"web": 2, "tick": False}
    assert new not in api.objects

    answer, api = through_pipeline(renamed(APP, "RESUME", {"namespace": NS}), api)
    assert answer["deploy_status_code"] == 0, answer["deploy_stderr"]
    assert api.objects[WEB_PATH]["spec"]["replicas"] == 2
    assert api.objects[TICK_PATH]["spec"]["suspend"] is False
    assert inventory.SUSPENDED not in api.objects[old]["data"]


def test_an_update_that_adopts_prunes_the_member_the_config_dropped():
    _answer, api = through_pipeline(deployment(A + "---\n" + B))
    update = renamed(A, "UPDATE")
    new, old = parents(update)
    answer, api = through_pipeline(update, api)
    assert answer["deploy_status_code"] == 0, answer["deploy_stderr"]
    assert answer["deploy_stdout"] == ("ConfigMap/default/a configured\n"
                                       "ConfigMap/default/b pruned\n"), answer
    assert PATH_B not in api.objects
    assert old not in api.objects
    assert [m.name for m in inventory.members_of(api.objects[new])] == ["a"]
