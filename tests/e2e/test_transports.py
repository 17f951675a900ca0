"""Issue 24: the transports real clouds default to, through the real Heat, nova-api and
heat-api-cfn of tools/local-heat.

- `omitted`: the web-app template with `signal_transport` left out: the deployment gets the
  cloud's default, upstream's CFN_SIGNAL (heat.conf keeps it), and heat-config-notify POSTs
  to a pre-signed heat-api-cfn URL that Keystone's ec2tokens checks.
- `CFN_SIGNAL`: the same, asked for by name.
- `POLL_SERVER_CFN`: a DeployedServer whose metadata os-collect-config's `cfn` collector polls
  from heat-api-cfn (tools/bootstrap-controller configures it from the server's
  os_collect_config attribute); its deployment leaves `signal_transport` out, as TripleO's do.

Each completes CREATE, UPDATE and DELETE through the real hook, and a failing image
(`nginx:missing`, docs/local-cluster.md) reaches CREATE_FAILED with the hook's cause in the
deployment's deploy_stderr. The catalog lists compute and cloudformation, and the real nova-api
answers 404 for a DeployedServer. Only Heat's states and the hook's answers are asserted here
(what a stack delete leaves in the cluster is the lifecycle tests' business).
"""
from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import time

import pytest
from conftest import CACHE, POLL_MAX, ROOT, RUN_ID, Controller, HeatError

TRANSPORTS = ["omitted", "CFN_SIGNAL", "POLL_SERVER_CFN"]
EXPLICIT = "      signal_transport: HEAT_SIGNAL\n"


def _fail(msg):
    pytest.fail(msg, pytrace=False)


def web_template(signal_transport: str | None) -> str:
    """examples/heat/web-app.yaml with its `signal_transport: HEAT_SIGNAL` left out or replaced."""
    text = (ROOT / "examples" / "heat" / "web-app.yaml").read_text(encoding="utf-8")
    if EXPLICIT not in text:
        _fail("examples/heat/web-app.yaml no longer sets signal_transport: HEAT_SIGNAL on its "
              "deployment; this test needs that line to vary it")
    return text.replace(EXPLICIT, f"      signal_transport: {signal_transport}\n"
                        if signal_transport else "")


def cfn_controller_template() -> str:
    text = (ROOT / "examples" / "heat" / "controller.yaml").read_text(encoding="utf-8")
    if "software_config_transport: POLL_SERVER_HEAT" not in text:
        _fail("examples/heat/controller.yaml no longer sets POLL_SERVER_HEAT; this test swaps it")
    return text.replace("software_config_transport: POLL_SERVER_HEAT",
                        "software_config_transport: POLL_SERVER_CFN")


@pytest.fixture(scope="module")
def cfn_controller(heat, local_heat, kubeconfig) -> Controller:
    """A DeployedServer with POLL_SERVER_CFN, and an agent on this machine whose os-collect-config
    polls heat-api-cfn with the server's EC2 keypair (tools/bootstrap-controller --metadata)."""
    name = f"cfn-controller-{RUN_ID}"
    stack_id, st = heat.create_settled(name, 120, template=cfn_controller_template(),
                                       parameters={"name": name}, timeout_mins=10)
    if st["stack_status"] != "CREATE_COMPLETE":
        _fail(f"the POLL_SERVER_CFN server stack failed: {st['stack_status_reason']}")
    out = heat.outputs(stack_id)
    occ = out["os_collect_config"] or {}
    cfn = occ.get("cfn") or {}
    if not cfn.get("metadata_url") or not cfn.get("access_key_id"):
        _fail(f"the POLL_SERVER_CFN server has no cfn map in os_collect_config: {sorted(occ)}")
    assert cfn["metadata_url"] == local_heat["LOCAL_HEAT_CFN_URL"] + "/", cfn["metadata_url"]
    root = pathlib.Path(local_heat["LOCAL_HEAT_STATE"]) / name
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    meta = root / "os_collect_config.json"
    meta.write_text(json.dumps(occ))
    proc = subprocess.run(
        [str(ROOT / "tools" / "bootstrap-controller"), "--root", str(root),
         "--venv", str(CACHE / "heat" / "venv-agent"), "--metadata", str(meta),
         "--kubeconfig", kubeconfig,
         "--polling-interval", str(POLL_MAX), "--min-polling-interval", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=1800)
    if proc.returncode != 0:
        _fail(f"tools/bootstrap-controller (POLL_SERVER_CFN) failed:\n{proc.stderr[-3000:]}")
    conf = (root / "etc" / "os-collect-config.conf").read_text()
    assert "collectors = cfn" in conf and "[cfn]" in conf and "[heat]" not in conf, conf
    agent = Controller(out["server_id"], root, stack_id)
    yield agent
    subprocess.run([str(ROOT / "tools" / "bootstrap-controller"), "--root", str(root), "--stop"],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    try:
        heat.call("stacks.delete", stack_id)
        heat.wait(stack_id, "DELETE", 60)
    except HeatError:
        pass
    shutil.rmtree(root, ignore_errors=True)


def _server(request, transport: str) -> Controller:
    return request.getfixturevalue("cfn_controller" if transport == "POLL_SERVER_CFN"
                                   else "controller")


def _template(transport: str) -> str:
    return web_template("CFN_SIGNAL" if transport == "CFN_SIGNAL" else None)


def _signal(heat, stack_id: str) -> dict:
    """The deployment's signal inputs, from its derived config (what the agent got)."""
    sd = heat.deployment(stack_id, "deployment")
    cfg = heat.call("software_configs.get", sd["config_id"])
    return {i["name"]: i.get("value") for i in cfg.get("inputs", [])
            if i["name"] in ("deploy_signal_transport", "deploy_signal_id",
                             "deploy_signal_verb")}


def _stderr(heat, stack_id: str) -> str:
    sd = heat.deployment(stack_id, "deployment")
    return (sd.get("output_values") or {}).get("deploy_stderr") or ""


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_lifecycle(transport, request, heat, kube, local_heat, unique, record_property):
    """CREATE, UPDATE and stack DELETE of the web app, the deployment signalling over CFN."""
    server = _server(request, transport)
    ns = f"e2e-tr-{unique}"
    template = _template(transport)
    params = {"server": server.server_id, "namespace": ns, "replicas": 2,
              "message": f"hello over {transport}"}
    t0 = time.monotonic()
    stack_id, st = heat.create_settled(f"tr-{transport.lower()}-{unique}", 300,
                                       template=template, parameters=params, timeout_mins=10)
    create_s = time.monotonic() - t0
    assert st["stack_status"] == "CREATE_COMPLETE", st["stack_status_reason"]

    sig = _signal(heat, stack_id)
    # Left out, the deployment gets the cloud's default: upstream's CFN_SIGNAL.
    assert sig.get("deploy_signal_transport") == "CFN_SIGNAL", sig
    cfn_signal = local_heat["LOCAL_HEAT_CFN_URL"] + "/signal/"
    assert (sig.get("deploy_signal_id") or "").startswith(cfn_signal), sig
    assert kube.get("configmap", "web-config", ns)["data"] == {"message": f"hello over {transport}"}
    dep = kube.get("deployment", "web", ns)
    assert dep["status"].get("readyReplicas") == 2, dep["status"]
    svc = kube.get("service", "web", ns)
    assert heat.outputs(stack_id)["cluster_ip"] == svc["spec"]["clusterIP"]
    if transport == "POLL_SERVER_CFN":
        # The metadata came through os-collect-config's cfn collector.
        assert (server.root / "var" / "lib" / "os-collect-config" / "cfn.json").exists()

    t1 = time.monotonic()
    st = heat.call("stacks.update", stack_id, existing=True,
                   parameters={"replicas": 3, "with_banner": False})
    st = heat.wait(stack_id, "UPDATE", 300)
    update_s = time.monotonic() - t1
    assert st["stack_status"] == "UPDATE_COMPLETE", st["stack_status_reason"]
    dep = kube.get("deployment", "web", ns)
    assert dep["spec"]["replicas"] == 3 and dep["status"].get("readyReplicas") == 3, dep["status"]
    assert kube.get("configmap", "web-banner", ns) is None, "the removed ConfigMap was not pruned"

    t2 = time.monotonic()
    heat.call("stacks.delete", stack_id)
    st = heat.wait(stack_id, "DELETE", 300)
    delete_s = time.monotonic() - t2
    assert st["stack_status"] == "DELETE_COMPLETE", st.get("stack_status_reason")
    for key, value in (("create", create_s), ("update", update_s), ("delete", delete_s)):
        record_property(f"{key}_seconds", round(value, 2))
    print(f"{transport}: CREATE {create_s:.1f}s, UPDATE {update_s:.1f}s, "
          f"stack delete -> DELETE_COMPLETE {delete_s:.1f}s")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_failing_image(transport, request, heat, kube, unique):
    """A missing image: CREATE_FAILED, the hook's cause in deploy_stderr, signalled over CFN."""
    server = _server(request, transport)
    ns = f"e2e-trf-{unique}"
    timeout = 120
    t0 = time.monotonic()
    stack_id, st = heat.create_settled(
        f"trf-{transport.lower()}-{unique}", 300, template=_template(transport),
        parameters={"server": server.server_id, "namespace": ns, "image": "nginx:missing",
                    "timeout": timeout}, timeout_mins=10)
    elapsed = time.monotonic() - t0
    print(f"{transport}: failing image -> {st['stack_status']} in {elapsed:.1f}s")
    assert st["stack_status"] == "CREATE_FAILED", st["stack_status_reason"]
    assert _signal(heat, stack_id).get("deploy_signal_transport") == "CFN_SIGNAL"
    stderr = _stderr(heat, stack_id)
    assert "ImagePullBackOff" in stderr or "ErrImagePull" in stderr, stderr
    sd = heat.deployment(stack_id, "deployment")
    assert sd["status"] == "FAILED", sd
    assert (sd.get("output_values") or {}).get("deploy_status_code") not in (None, 0), sd
    assert elapsed < timeout, f"the failure took {elapsed:.0f}s, past the hook's {timeout}s"
    heat.call("stacks.delete", stack_id)
    st = heat.wait(stack_id, "DELETE", 120)
    assert st["stack_status"] == "DELETE_COMPLETE", st.get("stack_status_reason")


def _venv_python(local_heat, code: str, *args: str) -> str:
    proc = subprocess.run([os.path.join(local_heat["LOCAL_HEAT_VENV"], "bin", "python"), "-c",
                           code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=120, env=dict(os.environ, **local_heat))
    if proc.returncode != 0:
        _fail(f"the local Heat's venv could not answer:\n{proc.stderr[-2000:]}")
    return proc.stdout


def test_catalog_and_nova_404(heat, controller, local_heat):
    """`openstack catalog list` has compute and cloudformation; a GET of the DeployedServer's
    id is answered 404 by the real nova-api (what Heat's DELETE check gets)."""
    openstack = os.path.join(local_heat["LOCAL_HEAT_VENV"], "bin", "openstack")
    env = dict(os.environ, **local_heat)
    proc = subprocess.run([openstack, "catalog", "list", "-f", "json"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=120, env=env)
    if proc.returncode != 0:
        _fail(f"openstack catalog list failed:\n{proc.stderr[-2000:]}")
    types = {entry["Type"]: entry for entry in json.loads(proc.stdout)}
    missing = {"compute", "cloudformation", "orchestration", "identity"} - set(types)
    if missing:
        _fail(f"the catalog lacks {sorted(missing)} (tools/local-heat up registers them): "
              f"{sorted(types)}")

    proc = subprocess.run([openstack, "server", "show", controller.server_id],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=120, env=env)
    assert proc.returncode != 0
    assert f"No Server found for {controller.server_id}" in proc.stderr, proc.stderr

    # The same GET Heat's nova plugin makes, through keystoneauth, with its status and body.
    answer = json.loads(_venv_python(local_heat, """
import json, os, sys
from keystoneauth1 import session
from keystoneauth1.identity import v3
s = session.Session(auth=v3.Password(
    auth_url=os.environ["OS_AUTH_URL"], username=os.environ["OS_USERNAME"],
    password=os.environ["OS_PASSWORD"], project_name=os.environ["OS_PROJECT_NAME"],
    user_domain_id="default", project_domain_id="default"))
url = s.get_endpoint(service_type="compute", interface="public")
r = s.get(url + "/servers/" + sys.argv[1], raise_exc=False)
print(json.dumps({"url": url, "status": r.status_code, "body": r.text,
                  "request_id": r.headers.get("x-openstack-request-id", "")}))
""", controller.server_id))
    assert answer["url"] == local_heat["LOCAL_HEAT_NOVA_URL"], answer
    assert answer["status"] == 404, answer
    body = json.loads(answer["body"])
    assert body["itemNotFound"]["message"] == \
        f"Instance {controller.server_id} could not be found.", body
    assert answer["request_id"].startswith("req-"), answer
