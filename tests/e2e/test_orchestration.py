"""Issue 7, tests 5 and 6: a StructuredConfig, and two deployments ordered by Heat."""
from __future__ import annotations

from datetime import datetime


def _ts(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ")


def _delete(heat, stack_id):
    heat.call("stacks.delete", stack_id)
    return heat.wait(stack_id, "DELETE", 120)


def test_5_structured_config(heat, controller, kube, unique):
    ns = f"e2e-struct-{unique}"
    stack_id = heat.create(f"struct-{unique}", "web-app-structured.yaml",
                           {"server": controller.server_id, "namespace": ns, "replicas": 2,
                            "message": "structured"})
    st = heat.wait(stack_id, "CREATE", 300)
    assert st["stack_status"] == "CREATE_COMPLETE", st["stack_status_reason"]
    assert kube.get("configmap", "web-config", ns)["data"] == {"message": "structured"}
    dep = kube.get("deployment", "web", ns)
    assert dep["spec"]["replicas"] == 2 and dep["status"].get("readyReplicas") == 2
    assert heat.outputs(stack_id)["cluster_ip"] == kube.get("service", "web", ns)["spec"]["clusterIP"]
    _delete(heat, stack_id)


def test_6_dependent_deployments(heat, controller, kube, unique):
    ns = f"e2e-dbweb-{unique}"
    stack_id = heat.create(f"dbweb-{unique}", "db-web.yaml",
                           {"server": controller.server_id, "namespace": ns})
    st = heat.wait(stack_id, "CREATE", 300)
    assert st["stack_status"] == "CREATE_COMPLETE", st["stack_status_reason"]
    db_svc = kube.get("service", "db", ns)
    # db's output fed web's input through get_attr.
    assert heat.outputs(stack_id)["db_host"] == db_svc["spec"]["clusterIP"]
    assert kube.get("configmap", "web-db", ns)["data"] == {"DB_HOST": db_svc["spec"]["clusterIP"]}
    # The cluster's own clocks: the db was ready before any web object existed.
    db = kube.get("deployment", "db", ns)
    available = [c for c in db["status"]["conditions"] if c["type"] == "Available"][0]
    assert available["status"] == "True"
    db_pods = kube.list("pods", ns, "app=db")
    assert db_pods
    db_ready = max([_ts(available["lastTransitionTime"])] + [
        _ts(c["lastTransitionTime"]) for p in db_pods for c in p["status"]["conditions"]
        if c["type"] == "Ready" and c["status"] == "True"])
    web_created = min(_ts(kube.get(k, n, ns)["metadata"]["creationTimestamp"])
                      for k, n in (("configmap", "web-db"), ("deployment", "web")))
    db_created = _ts(db["metadata"]["creationTimestamp"])
    print(f"db created {db_created:%H:%M:%S}, db ready {db_ready:%H:%M:%S}, "
          f"first web object {web_created:%H:%M:%S}")
    assert web_created >= db_ready >= db_created
    # Heat's own record agrees: db signalled COMPLETE before web started.
    events = heat.events(stack_id)
    db_done = [e["event_time"] for e in events
               if e["resource_name"] == "db" and e["resource_status"] == "CREATE_COMPLETE"]
    web_start = [e["event_time"] for e in events
                 if e["resource_name"] == "web" and e["resource_status"] == "CREATE_IN_PROGRESS"]
    assert db_done and web_start and min(web_start) >= max(db_done)
    _delete(heat, stack_id)


def test_6_failing_db_leaves_web_unapplied(heat, controller, kube, unique):
    ns = f"e2e-dbfail-{unique}"
    stack_id, st = heat.create_settled(
        f"dbfail-{unique}", 300, template=heat.example("db-web.yaml"), timeout_mins=10,
        parameters={"server": controller.server_id, "namespace": ns, "db_image": "postgres:missing"})
    assert st["stack_status"] == "CREATE_FAILED"
    assert heat.resource(stack_id, "db")["resource_status"] == "CREATE_FAILED"
    web = heat.resource(stack_id, "web")
    assert web["resource_status"] in ("INIT_COMPLETE", "CREATE_FAILED"), web
    assert web["resource_status"] == "INIT_COMPLETE", "Heat started the web deployment"
    assert kube.get("deployment", "db", ns) is not None  # the db was applied ...
    assert kube.get("configmap", "web-db", ns) is None   # ... the web never was
    assert kube.get("deployment", "web", ns) is None
    _delete(heat, stack_id)
