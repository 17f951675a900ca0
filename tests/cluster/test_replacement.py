"""A replaced deployment resource's DELETE leaves the application to its replacement (issue 23).

Heat replaces a SoftwareDeployment (after a failure, when `server` or a replace_on_change input
changes, in a rollback) by creating a new resource of the same name, then deleting the old one:
the hook sees a CREATE, then a DELETE, with the same stack and resource name. What tells the two
apart is the resource's own stack user (`deploy_user_id`) or signal URL; NO_SIGNAL has only
the server. The API server's own count of PodTemplate DELETEs proves what was deleted.
"""
from __future__ import annotations

import json
import uuid

from hookrun import deployment, run_hook
from test_ha_members import lease
from test_ha_shrink import app, deletes


def dep(ns: str, stack: str, user: str, action: str = "CREATE", server: str = "",
        transport: str = "HEAT_SIGNAL", pods: str = "1") -> dict:
    d = deployment(app(ns), inputs=[{"name": "pods", "value": pods}], action=action,
                   stack=stack, resource="web_deployment")
    extra = {"deploy_user_id": user, "deploy_signal_transport": transport}
    if server:
        extra["deploy_server_id"] = server
    for item in d["inputs"]:
        if item["name"] in extra:
            item["value"] = extra.pop(item["name"])
    d["inputs"] += [{"name": k, "type": "String", "value": v} for k, v in extra.items()]
    if transport == "NO_SIGNAL":   # Heat sends no credential and no signal URL then
        d["inputs"] = [i for i in d["inputs"] if i["name"] not in
                       ("deploy_user_id", "deploy_password", "deploy_signal_id")]
    return d


def owners(kubectl, stack: str) -> dict:
    annotations = lease(kubectl, stack)["metadata"]["annotations"]
    return json.loads(annotations.get("heat-k8s-hook.dev/owners", "{}"))


def test_replaced_resource_delete_keeps_the_application(kubectl, hook_env):
    """CREATE by resource A; A's replacement B applies (a new image, as after a fix); A's
    DELETE, sent by Heat once B is complete, deletes nothing; B's DELETE deletes.

    Seen red with the ownership check removed from coordinate.run: A's DELETE deleted the
    application (the server counted one PodTemplate DELETE) and B's answer then had nothing."""
    stack, ns = f"s{uuid.uuid4().hex[:6]}", f"t-{uuid.uuid4().hex[:8]}"
    a = run_hook(dep(ns, stack, "user-a"), hook_env)
    assert a.code == 0, a.err
    first = owners(kubectl, stack)
    b = run_hook(dep(ns, stack, "user-b", pods="2"), hook_env)
    assert b.code == 0, b.err
    assert owners(kubectl, stack) != first, "the replacement did not take ownership"
    uid = kubectl.get("podtemplate", "tpl", "-n", ns)["metadata"]["uid"]

    before = deletes(kubectl)
    old = run_hook(dep(ns, stack, "user-a", action="DELETE"), hook_env)
    assert old.code == 0, old.err
    assert "was replaced by a new resource of the same name" in old.err, old.err
    assert "objects kept" in old.err
    assert deletes(kubectl) == before, "the replaced resource's DELETE deleted objects"
    assert kubectl.get("podtemplate", "tpl", "-n", ns)["metadata"]["uid"] == uid
    assert kubectl.get("configmap", "cfg", "-n", ns)["data"]["pods"] == "2"

    new = run_hook(dep(ns, stack, "user-b", action="DELETE"), hook_env)
    assert new.code == 0, new.err
    assert deletes(kubectl) == before + 1
    assert kubectl.get("podtemplate", "tpl", "-n", ns) is None
    assert owners(kubectl, stack) == {}


def test_moved_to_another_server_stays(kubectl, hook_env):
    """NO_SIGNAL carries no per-resource credential: the server tells the resources apart
    (a `server` change replaces the deployment). The old server's DELETE keeps everything."""
    stack, ns = f"s{uuid.uuid4().hex[:6]}", f"t-{uuid.uuid4().hex[:8]}"
    assert run_hook(dep(ns, stack, "", server="srv-1", transport="NO_SIGNAL"), hook_env).code == 0
    moved = run_hook(dep(ns, stack, "", server="srv-2", transport="NO_SIGNAL"), hook_env)
    assert moved.code == 0, moved.err
    before = deletes(kubectl)
    old = run_hook(dep(ns, stack, "", action="DELETE", server="srv-1", transport="NO_SIGNAL"),
                   hook_env)
    assert old.code == 0 and "objects kept" in old.err, old.err
    assert deletes(kubectl) == before
    assert kubectl.get("podtemplate", "tpl", "-n", ns) is not None
    gone = run_hook(dep(ns, stack, "", action="DELETE", server="srv-2", transport="NO_SIGNAL"),
                    hook_env)
    assert gone.code == 0, gone.err
    assert deletes(kubectl) == before + 1


def test_delete_of_the_owner_after_an_update_deletes(kubectl, hook_env):
    """One resource's CREATE, UPDATE and DELETE (the common path) still deletes: ownership
    only ever spares a resource that another one replaced."""
    stack, ns = f"s{uuid.uuid4().hex[:6]}", f"t-{uuid.uuid4().hex[:8]}"
    assert run_hook(dep(ns, stack, "user-a"), hook_env).code == 0
    assert run_hook(dep(ns, stack, "user-a", action="UPDATE", pods="3"), hook_env).code == 0
    before = deletes(kubectl)
    gone = run_hook(dep(ns, stack, "user-a", action="DELETE"), hook_env)
    assert gone.code == 0, gone.err
    assert deletes(kubectl) == before + 1
