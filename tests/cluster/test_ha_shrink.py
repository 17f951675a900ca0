"""A SoftwareDeploymentGroup that shrinks keeps its application; a stack delete removes it.

Three real hook processes apply one application as the members of a group (test_ha_members.py
runs them the same way). Removing one server from `servers` sends that member a DELETE: it must
leave the application to the two others, not delete it. Deleting the stack sends every member a
DELETE at once: exactly one deletes, after the others left. What the API server counted
(apiserver_request_total: DELETEs of one PodTemplate, a kind no other test uses) proves it,
not the hook's words; objects' uids prove nothing was re-created.
"""
from __future__ import annotations

import re
import time
import uuid

from test_ha_members import finish, lease, members, recorded, start

FIGURES: dict = {}
LAST = {"group_delete": "last"}   # the template's choice: only the last member's DELETE deletes


def deletes(kubectl) -> int:
    """DELETEs of one PodTemplate the API server counted (scope "resource"; a namespace's end
    deletes its PodTemplates as a collection, counted with scope "namespace")."""
    total = 0
    for line in kubectl("get", "--raw", "/metrics").splitlines():
        if line.startswith("apiserver_request_total{") and 'resource="podtemplates"' in line \
                and 'verb="DELETE"' in line and 'scope="resource"' in line \
                and 'dry_run=""' in line and 'subresource=""' in line:
            total += int(float(re.split(r"}\s*", line)[1]))
    return total


def app(ns: str) -> list:
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
        {"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "tpl", "namespace": ns},
         "template": {"metadata": {"labels": {"app": "web"}},
                      "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]}}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": ns},
         "data": {"pods": {"get_input": "pods"}}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "namespace": ns},
         "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}},
    ]


def at_once(deps: list, env: dict) -> list:
    procs = [start(d, env) for d in deps]
    return [finish(p) for p in procs]


def test_one_member_leaves_then_a_stack_delete_deletes_once(kubectl, hook_env):
    """Members 0, 1, 2 apply; member 2's DELETE keeps every object (zero DELETEs counted);
    the DELETEs of 0 and 1 at once delete the application exactly once.

    Broken on purpose once (coordinate.run without the `ha.others` check, as before): member
    2's DELETE deleted the application, the server counted 1 PodTemplate DELETE at the shrink
    (3 == 2); the test went red there. Red again with `group_delete` ignored (the condition
    removed from coordinate.run): the same DELETE at the shrink.
    """
    stack, ns = f"s{uuid.uuid4().hex[:6]}", f"t-{uuid.uuid4().hex[:8]}"
    created = at_once(members(ns, stack, docs=app(ns), options=LAST), hook_env)
    assert [r.code for r in created] == [0, 0, 0], "\n---\n".join(r.err for r in created)
    assert recorded(lease(kubectl, stack)) == ["0", "1", "2"]
    uid = kubectl.get("podtemplate", "tpl", "-n", ns)["metadata"]["uid"]

    # servers 3 -> 2: member 2 gets a DELETE
    before = deletes(kubectl)
    shrink = at_once(members(ns, stack, docs=app(ns), options=LAST, action="DELETE")[2:],
                     hook_env)[0]
    assert shrink.code == 0, shrink.err
    assert deletes(kubectl) == before, "the shrink deleted objects"
    assert "; members 0, 1 remain; objects kept" in shrink.err, shrink.err
    assert not shrink.lines, shrink.lines
    assert kubectl.get("podtemplate", "tpl", "-n", ns)["metadata"]["uid"] == uid
    assert kubectl.get("configmap", "cfg", "-n", ns) and kubectl.get("service", "web", "-n", ns)
    assert recorded(lease(kubectl, stack)) == ["0", "1"]

    # stack delete: the two members left get their DELETEs at the same moment
    t0 = time.monotonic()
    gone = at_once(members(ns, stack, docs=app(ns), options=LAST, action="DELETE")[:2], hook_env)
    elapsed = time.monotonic() - t0
    assert [r.code for r in gone] == [0, 0], "\n---\n".join(r.err for r in gone)
    deleters = [r for r in gone if r.actions().get(f"PodTemplate/{ns}/tpl") == "deleted"]
    assert len(deleters) == 1, [r.lines for r in gone]
    assert deletes(kubectl) == before + 1, "not exactly one deleter"
    assert kubectl.get("podtemplate", "tpl", "-n", ns) is None
    space = kubectl.get("namespace", ns)
    assert space is None or space["status"].get("phase") == "Terminating"
    assert recorded(lease(kubectl, stack)) == []
    FIGURES.update(create_3_s=round(max(r.elapsed for r in created), 1),
                   leave_s=round(shrink.elapsed, 1), stack_delete_2_s=round(elapsed, 1))
    print(f"\nFIGURES {FIGURES}")


def test_default_any_member_delete_deletes(kubectl, hook_env):
    """Without `group_delete: last` (default `any`) one member's DELETE deletes the application:
    a stack delete through a Heat that delivers DELETE to only some members (docs/e2e.md: without
    Nova the group's delete stops at its first member) still removes it."""
    stack, ns = f"s{uuid.uuid4().hex[:6]}", f"t-{uuid.uuid4().hex[:8]}"
    created = at_once(members(ns, stack, docs=app(ns)), hook_env)
    assert [r.code for r in created] == [0, 0, 0], "\n---\n".join(r.err for r in created)
    before = deletes(kubectl)
    one = at_once(members(ns, stack, docs=app(ns), action="DELETE")[1:2], hook_env)[0]
    assert one.code == 0, one.err
    assert deletes(kubectl) == before + 1, "one member's DELETE did not delete"
    assert kubectl.get("podtemplate", "tpl", "-n", ns) is None
