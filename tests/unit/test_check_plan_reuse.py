"""A late member whose check finds something to write applies with the plan that check built
(issue 27 part 3: the inventory, discovery and labelled LISTs were read twice per run), unless
the Lease was read again in between (another member may have applied meanwhile)."""
from __future__ import annotations

from fakeapi import FakeApiServer
from wiring import deployment, through_pipeline

from heat_k8s_hook.ha import coordinate

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web, namespace: default}\ndata: {a: '1'}\n"
CM_PATH = "/api/v1/namespaces/default/configmaps/web"
CM_LIST = "GET /api/v1/namespaces/default/configmaps"


def member(i) -> dict:
    dep = deployment(CM, {"application": "web"})
    keep = [x for x in dep["inputs"] if x["name"] not in ("deploy_resource_name",
                                                          "deploy_stack_id")]
    dep["inputs"] = keep + [{"name": "deploy_resource_name", "value": str(i)},
                            {"name": "deploy_stack_id", "value": "s/1"},
                            {"name": "deploy_server_id", "value": f"srv-{i}"}]
    return dep


def changed_after_member_0() -> FakeApiServer:
    api = FakeApiServer()
    assert through_pipeline(member(0), api)[0]["deploy_status_code"] == 0
    api.objects[CM_PATH]["data"] = {"a": "changed by hand"}
    return api


def test_the_check_plan_is_applied_when_the_lease_did_not_move():
    api = changed_after_member_0()
    before = len(api.requests)
    answer, _ = through_pipeline(member(1), api)
    assert answer["deploy_status_code"] == 0, answer
    assert "applying again" in answer["deploy_stderr"]
    assert api.requests[before:].count(CM_LIST) == 1   # the check's LIST serves the run
    assert api.objects[CM_PATH]["data"] == {"a": "1"}


def test_a_lease_read_again_drops_the_check_plan(monkeypatch):
    api = changed_after_member_0()
    real, lost = coordinate.acquire, []

    def acquire_lost_once(*args):
        if not lost:
            lost.append(True)
            return None   # another member won the race: the Lease is read again
        return real(*args)
    monkeypatch.setattr(coordinate, "acquire", acquire_lost_once)
    before = len(api.requests)
    answer, _ = through_pipeline(member(1), api)
    assert answer["deploy_status_code"] == 0, answer
    assert api.requests[before:].count(CM_LIST) == 2   # gathered again under the new read
    assert api.objects[CM_PATH]["data"] == {"a": "1"}
