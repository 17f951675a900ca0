"""Keystone-only credentials (issue 13): the hook reaches the cluster as a Keystone identity.

Real components only: tools/local-heat's Keystone and Heat, tools/local-cluster's kube-apiserver
wired to the TokenReview webhook (`tools/local-cluster webhook up`). Projects, users and
application credentials are made per module with Keystone's admin and deleted at the end; the
two tenants' namespaces and RBAC are examples/keystone/rbac.yaml with the projects' ids.

Broken on purpose once, each went red:
- RBAC: B's group bound in A's namespace too (rbac_for) -> test_b_is_forbidden_in_a_and_changes_nothing
  (B's run exit 0, NetworkPolicy writes counted);
- renewal: `_had_token` ignored in keystone_auth._failure -> test_expired_token (code 10, not 12).
The canary (test_heat_stack_through_keystone) looks for the stack user's password and for any
fernet token (`gAAAAA...`) in the agent's log, the hook's answers and its files; it was not
seen red here (nothing in the hook prints either); the masking of tokens is proven red-green by
tests/unit/test_keystone_auth.py::test_every_token_is_taught_to_the_masker.
"""
from __future__ import annotations

import datetime
import json
import os
import pathlib
import signal
import subprocess
import sys
import time
import uuid

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "keystone"
sys.path.insert(0, str(ROOT / "tests" / "cluster"))
import apimetrics  # noqa: E402

FERNET = "gAAAAA"   # every Keystone fernet token starts so: the canary for a printed token


def _fail(msg: str) -> None:
    pytest.fail(msg, pytrace=False)


# --- the tenants -----------------------------------------------------------------------------------

class Tenant:
    def __init__(self, project: dict, user: dict, password: str, namespace: str):
        self.project, self.user, self.password, self.namespace = project, user, password, namespace

    @property
    def id(self) -> str:
        return self.project["id"]



def rbac_for(a: str, b: str, ns_a: str, ns_b: str) -> str:
    """examples/keystone/rbac.yaml for two projects and their namespaces."""
    text = (EXAMPLES / "rbac.yaml").read_text()
    for old, new in (("PROJECT_A_ID", a), ("PROJECT_B_ID", b), ("tenant-a", ns_a),
                     ("tenant-b", ns_b)):
        text = text.replace(old, new)
    return text


@pytest.fixture(scope="module")
def tenants(keystone_admin, tokenreview_env, kubectl):
    """Projects A and B, a member of each, their namespaces bound as rbac.yaml binds them."""
    tag = uuid.uuid4().hex[:6]
    made = []
    for letter in "ab":
        project = keystone_admin.project(f"ks-{letter}-{tag}")
        user, password = keystone_admin.person(project["id"], prefix=f"ks-{letter}")
        made.append(Tenant(project, user, password, f"ks-{letter}-{tag}"))
    a, b = made
    kubectl("apply", "-f", "-", stdin=rbac_for(a.id, b.id, a.namespace, b.namespace))
    yield a, b
    kubectl("delete", "namespace", a.namespace, b.namespace, "--wait=false", check=False)


# --- the hook, as 55-heat-config runs it, on a Keystone-mode controller -------------------------

def settings_file(path: pathlib.Path, env: dict, auth_url: str, **keystone) -> str:
    """The operator's hook.yaml (0600): the cluster's address and CA, the identity source."""
    ks = {"server": env["KUBE_SERVER"], "certificate_authority": env["KUBE_CA"],
          "identity": "heat_signal", "auth_url": auth_url, **keystone}
    path.write_text(yaml.safe_dump({"keystone": ks}))
    path.chmod(0o600)
    return str(path)


def deployment(tenant: Tenant, auth_url: str, namespace: str, *, password: str | None = None,
               user_id: str | None = None, config: str | None = None) -> dict:
    """A deployment JSON with the inputs HEAT_SIGNAL adds (here: a plain member of the project)."""
    inputs = {"deploy_action": "CREATE", "deploy_stack_id": f"ks-{tenant.id[:8]}/{uuid.uuid4()}",
              "deploy_resource_name": "app", "deploy_signal_transport": "HEAT_SIGNAL",
              "deploy_auth_url": auth_url, "deploy_user_id": user_id or tenant.user["id"],
              "deploy_password": tenant.password if password is None else password,
              "deploy_project_id": tenant.id}
    return {"id": str(uuid.uuid4()), "name": "app", "group": "kubectl",
            "options": {"namespace": namespace, "timeout": 90},
            "config": config or APP, "outputs": [],
            "inputs": [{"name": k, "type": "String", "value": v} for k, v in inputs.items()]}


APP = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: greeting}
data: {text: hello}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web}
spec: {podSelector: {matchLabels: {app: web}}, policyTypes: [Ingress]}
"""
COUNTED = {"networkpolicies"}   # a kind no other test writes: the API server's counter is ours
# creates and updates only: the namespace controller's deletes in earlier runs' Terminating
# namespaces land in the DELETE counters at any time (what B did not delete is checked apart)
WRITES = frozenset({"POST", "PUT", "PATCH", "APPLY"})


def hook_env(settings: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}
    env["HEAT_K8S_HOOK_CONFIG"] = settings
    return env


def run_hook(dep: dict, settings: str) -> tuple:
    """(result, stderr) of hooks/kubectl; exactly one JSON object on stdout."""
    proc = subprocess.run([sys.executable, str(ROOT / "hooks" / "kubectl")],
                          input=json.dumps(dep), capture_output=True, text=True, timeout=150,
                          env=hook_env(settings))
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        _fail(f"hook stdout is not one JSON object: {proc.stdout!r}\n{proc.stderr}")
    assert proc.returncode == result["deploy_status_code"]
    return result, proc.stdout + proc.stderr


def last_line(result: dict) -> str:
    return result["deploy_stderr"].splitlines()[-1]


def no_secret(text: str, *secrets: str) -> None:
    for secret in secrets:
        assert secret not in text, "a Keystone secret was printed"
    assert FERNET not in text, "a Keystone token was printed"


@pytest.fixture(scope="module")
def auth_url(local_heat) -> str:
    return local_heat["OS_AUTH_URL"]


@pytest.fixture(scope="module")
def signal_settings(tmp_path_factory, tokenreview_env, auth_url) -> str:
    return settings_file(tmp_path_factory.mktemp("ks") / "hook.yaml", tokenreview_env, auth_url)


# --- tenant isolation ------------------------------------------------------------------------------

def parents(kubectl, namespace: str) -> list:
    listing = json.loads(kubectl("get", "configmaps", "-n", namespace, "-l",
                                 "applyset.kubernetes.io/id", "-o", "json"))
    return listing["items"]


def test_tenant_applies_with_its_own_keystone_identity(tenants, signal_settings, auth_url,
                                                       kubectl, kubeconfig):
    """A's deployment applies in A's namespace as A's Keystone user; its ApplySet parent (the
    records) lives there too, and `heat-k8s-hook list` still finds it."""
    a, _ = tenants
    before = apimetrics.writes(kubectl, COUNTED, WRITES)
    dep = deployment(a, auth_url, a.namespace)
    result, text = run_hook(dep, signal_settings)
    assert result["deploy_status_code"] == 0, result["deploy_stderr"]
    assert f"NetworkPolicy/{a.namespace}/web created" in result["deploy_stdout"]
    assert apimetrics.writes(kubectl, COUNTED, WRITES) > before   # the counter sees this kind's writes
    records = parents(kubectl, a.namespace)
    assert len(records) == 1 and records[0]["metadata"]["namespace"] == a.namespace
    no_secret(text, a.password)
    identity = "/".join(i["value"] for i in dep["inputs"]
                        if i["name"] in ("deploy_stack_id", "deploy_resource_name"))
    status = subprocess.run([sys.executable, "-m", "heat_k8s_hook.cli.main", "status", identity,
                             "--kubeconfig", kubeconfig, "-o", "json"],
                            capture_output=True, text=True, timeout=120,
                            env=dict(os.environ, HEAT_K8S_HOOK_CONFIG="/nonexistent"))
    assert status.returncode == 0, status.stderr   # found (cluster-wide) and every member ready
    assert len(json.loads(status.stdout)["members"]) == 2


def test_b_is_forbidden_in_a_and_changes_nothing(tenants, signal_settings, auth_url, kubectl):
    """The same deployment from project B aimed at A's namespace: code 5, a cause saying
    Forbidden and naming the namespace, and not one write the API server counted."""
    a, b = tenants
    run_hook(deployment(a, auth_url, a.namespace), signal_settings)   # A's objects exist
    seen = {p["metadata"]["name"]: p["metadata"]["resourceVersion"]
            for p in parents(kubectl, a.namespace)}
    before = apimetrics.writes(kubectl, COUNTED, WRITES)
    result, text = run_hook(deployment(b, auth_url, a.namespace), signal_settings)
    assert result["deploy_status_code"] == 5, result["deploy_stderr"]
    cause = last_line(result)
    assert "forbidden" in cause.lower() and f'in the namespace "{a.namespace}"' in cause, cause
    assert apimetrics.writes(kubectl, COUNTED, WRITES) == before, result["deploy_stderr"]
    assert {p["metadata"]["name"]: p["metadata"]["resourceVersion"]
            for p in parents(kubectl, a.namespace)} == seen
    kubectl("get", "networkpolicy/web", "configmap/greeting", "-n", a.namespace)  # not deleted
    no_secret(text, b.password)


def test_b_cannot_read_or_change_a_inventory(tenants, signal_settings, auth_url, kubectl,
                                             keystone_admin, kubectl_bin, tokenreview_env,
                                             tmp_path):
    """With B's own Keystone token, A's ApplySet parent can be neither read, listed, patched
    nor deleted; B's own records stay in B's namespace."""
    a, b = tenants
    run_hook(deployment(a, auth_url, a.namespace), signal_settings)
    result, _ = run_hook(deployment(b, auth_url, b.namespace), signal_settings)
    assert result["deploy_status_code"] == 0, result["deploy_stderr"]
    parent = parents(kubectl, a.namespace)[0]["metadata"]["name"]
    empty = tmp_path / "kubeconfig"
    empty.write_text("apiVersion: v1\nkind: Config\n")
    token = keystone_admin.token(b.user["id"], b.password, b.id)
    as_b = [kubectl_bin, "--kubeconfig", str(empty), "--server", tokenreview_env["KUBE_SERVER"],
            "--certificate-authority", tokenreview_env["KUBE_CA"], "--token", token,
            "-n", a.namespace]
    for verb in (["get", "configmap", parent], ["get", "configmaps"],
                 ["patch", "configmap", parent, "-p", '{"data":{"members":"[]"}}'],
                 ["delete", "configmap", parent]):
        proc = subprocess.run(as_b + verb, capture_output=True, text=True, timeout=60)
        assert proc.returncode != 0 and "Forbidden" in proc.stderr, (verb, proc.stderr)
    assert parents(kubectl, a.namespace)[0]["metadata"]["name"] == parent
    assert len(parents(kubectl, b.namespace)) == 1


# --- identities, and what fails --------------------------------------------------------------------

@pytest.fixture
def app_credential(local_heat, auth_url):
    """make(tenant, expires_in=None): an application credential the tenant's user makes for
    itself (as `openstack application credential create` does), deleted through Keystone's API
    at the end (so no role rows are orphaned)."""
    from keystoneauth1 import session
    from keystoneauth1.identity import v3
    made = []

    def make(tenant: Tenant, expires_in: float | None = None) -> dict:
        sess = session.Session(auth=v3.Password(auth_url=auth_url, user_id=tenant.user["id"],
                                                password=tenant.password, project_id=tenant.id))
        body: dict = {"name": f"hk-{uuid.uuid4().hex[:8]}", "roles": [{"name": "member"}]}
        if expires_in is not None:
            at = datetime.datetime.now(datetime.timezone.utc) + \
                datetime.timedelta(seconds=expires_in)
            body["expires_at"] = at.strftime("%Y-%m-%dT%H:%M:%S")
        url = f"{auth_url}/users/{tenant.user['id']}/application_credentials"
        for _ in range(5):  # seen while the local Keystone served from threads: a project token
            resp = sess.post(url, json={"application_credential": body}, raise_exc=False)
            if resp.status_code != 403:   # with a 403 "domain scope": asked again
                break
            time.sleep(0.5)
        if resp.status_code != 201:
            _fail(f"Keystone did not make an application credential: {resp.status_code} "
                  f"{resp.text[:200]}")
        cred = resp.json()["application_credential"]
        made.append((sess, f"{url}/{cred['id']}"))
        return cred
    yield make
    for sess, url in made:
        sess.delete(url, raise_exc=False)


def clouds_controller(tmp: pathlib.Path, env: dict, auth_url: str, cred: dict) -> str:
    """A controller with an application credential in its clouds.yaml (0600)."""
    clouds = tmp / "clouds.yaml"
    clouds.write_text(yaml.safe_dump({"clouds": {"tenant": {
        "auth_type": "v3applicationcredential",
        "auth": {"auth_url": auth_url, "application_credential_id": cred["id"],
                 "application_credential_secret": cred["secret"]}}}}))
    clouds.chmod(0o600)
    return settings_file(tmp / "hook.yaml", env, auth_url, identity="clouds_yaml",
                         clouds_yaml=str(clouds), cloud="tenant")


def test_application_credential_controller(tenants, tmp_path, tokenreview_env, auth_url,
                                           app_credential):
    """A controller holding A's application credential deploys into A's namespace; the
    deployment's own inputs carry no password at all."""
    a, _ = tenants
    cred = app_credential(a)
    settings = clouds_controller(tmp_path, tokenreview_env, auth_url, cred)
    dep = deployment(a, auth_url, a.namespace, password="")
    dep["inputs"] = [i for i in dep["inputs"] if not i["name"].startswith("deploy_")
                     or i["name"] in ("deploy_action", "deploy_stack_id", "deploy_resource_name")]
    result, text = run_hook(dep, settings)
    assert result["deploy_status_code"] == 0, result["deploy_stderr"]
    assert f"ConfigMap/{a.namespace}/greeting" in result["deploy_stdout"]
    no_secret(text, cred["secret"])


def test_wrong_password_and_deleted_user(tenants, signal_settings, auth_url, keystone_admin):
    """Keystone refuses both alike (401, by design it does not say which): code 10, a cause
    naming Keystone and the user id, never the password."""
    a, _ = tenants
    result, text = run_hook(deployment(a, auth_url, a.namespace, password="wrong-" + a.password),
                            signal_settings)
    assert result["deploy_status_code"] == 10, result["deploy_stderr"]
    cause = last_line(result)
    assert f"Keystone at {auth_url} refused the credentials of Keystone user {a.user['id']}" \
        in cause and cause.endswith("[phase: connect]"), cause
    no_secret(text, a.password)
    gone, password = keystone_admin.person(a.id, prefix="ks-gone")
    keystone_admin.call("DELETE", f"/users/{gone['id']}")
    result, text = run_hook(deployment(a, auth_url, a.namespace, user_id=gone["id"],
                                       password=password), signal_settings)
    assert result["deploy_status_code"] == 10, result["deploy_stderr"]
    assert f"Keystone user {gone['id']}" in last_line(result)
    no_secret(text, password)


def test_expired_token(tenants, tmp_path, tokenreview_env, auth_url, app_credential):
    """A token that expires mid-run (its application credential expires, so Keystone caps the
    token's life there and will not issue another): code 12 and a cause saying so. The run is
    paused (SIGSTOP) once it has its token and is connected, and resumed after the expiry."""
    a, _ = tenants
    cred = app_credential(a, expires_in=30)
    expires = time.monotonic() + 30
    settings = clouds_controller(tmp_path, tokenreview_env, auth_url, cred)
    # its own process group: SIGSTOP must reach the worker that holds the token, not only the
    # supervising parent (supervise.py), which would let the worker finish in time
    proc = subprocess.Popen([sys.executable, str(ROOT / "hooks" / "kubectl")],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=hook_env(settings), start_new_session=True)
    proc.stdin.write(json.dumps(deployment(a, auth_url, a.namespace)))
    proc.stdin.close()
    proc.stdin = None   # communicate() below must not flush it again
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "object(s), cluster" in line:   # connected: the run holds its first token
            os.killpg(proc.pid, signal.SIGSTOP)
            break
    else:
        _fail("the hook ended before it connected:\n" + "".join(seen))
    time.sleep(max(0.0, expires - time.monotonic()) + 3)
    os.killpg(proc.pid, signal.SIGCONT)
    out, err = proc.communicate(timeout=120)
    result = json.loads(out)
    assert result["deploy_status_code"] == 12, result["deploy_stderr"]
    cause = last_line(result)
    assert "expired or was revoked mid-run" in cause and "refused a new one" in cause, cause
    no_secret(out + err + "".join(seen), cred["secret"])


# --- through the real Heat: a Keystone-mode controller, HEAT_SIGNAL ------------------------------

KUBE_SECRETS = ("client-key-data", "client-certificate-data", "PRIVATE KEY", "token:",
                "current-context")


def _files(root: pathlib.Path):
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink() and "/opt/" not in str(path) \
                and "site-packages" not in str(path):
            yield path


def test_heat_stack_through_keystone(heat, local_heat, keystone_admin, tokenreview_env,
                                     auth_url, kubectl):
    """examples/keystone/app.yaml in the demo project, on a controller bootstrapped in Keystone
    mode: the stack's HEAT_SIGNAL user applies into the demo project's namespace (bound as
    rbac.yaml binds it) and the stack is CREATE_COMPLETE with the Service's address. No
    Kubernetes credential exists under the controller's root; the stack user's password and any
    Keystone token appear in none of the agent's log, the hook's answers (deploy_stdout/stderr),
    the hook's files, nor the objects on the cluster (canary)."""
    from conftest import RUN_ID, bootstrap_agent, stop_agent
    demo = keystone_admin.call("GET", "/projects?name=demo").json()["projects"][0]["id"]
    ns = f"ks-demo-{RUN_ID}"
    kubectl("apply", "-f", "-", stdin=rbac_for(demo, uuid.uuid4().hex, ns, f"{ns}-unused"))
    agent = bootstrap_agent(heat, local_heat, f"ks-controller-{RUN_ID}", f"ks-controller-{RUN_ID}",
                            "--keystone-server", tokenreview_env["KUBE_SERVER"],
                            "--keystone-ca", tokenreview_env["KUBE_CA"],
                            "--keystone-auth-url", auth_url)
    try:
        stack_id, st = heat.create_settled(
            f"ks-app-{RUN_ID}", 400, template=(EXAMPLES / "app.yaml").read_text(),
            parameters={"server": agent.server_id, "namespace": ns, "replicas": 1})
        assert st["stack_status"] == "CREATE_COMPLETE", st["stack_status_reason"]
        assert heat.outputs(stack_id)["web_ip"], "no web_ip output"
        web = json.loads(kubectl("get", "deployment", "web", "-n", ns, "-o", "json"))
        assert web["status"].get("readyReplicas") == 1
        # the records, in the tenant's namespace (a first attempt that the local Heat failed
        # and create_settled replaced may have left its own parent: count this stack's)
        ours = [p for p in parents(kubectl, ns) if str(stack_id) in
                (p["metadata"].get("annotations") or {}).get("heat-k8s-hook.dev/deployment", "")]
        assert len(ours) == 1, [p["metadata"]["name"] for p in parents(kubectl, ns)]
        deployed = [json.loads(p.read_text()) for p in agent.deployed.glob("*.json")
                    if not p.name.endswith(".notify.json")]
        passwords = {i["value"] for d in deployed for i in d.get("inputs", [])
                     if i["name"] == "deploy_password" and i.get("value")}
        assert passwords, "the deployment carried no HEAT_SIGNAL password"
        for path in _files(agent.root):
            text = path.read_text(errors="replace")
            assert not any(s in text for s in KUBE_SECRETS), \
                f"{path} looks like a Kubernetes credential"
        # the agent's log, the hook's answers (deploy_stdout/stderr) and the hook's own files;
        # heat-agents' copies of the deployments hold its inputs by design and are left out
        watched = [agent.log, *agent.deployed.glob("*.notify.json"),
                   *(agent.root / "etc" / "heat-k8s-hook").iterdir()]
        assert agent.log.exists() and any(p.name.endswith(".notify.json") for p in watched)
        for path in watched:
            no_secret(path.read_text(errors="replace"), *passwords)
        assert not list(agent.root.rglob("kubeconfig*")), "a kubeconfig on the controller"
        on_cluster = kubectl("get", "all,configmaps", "-n", ns, "-o", "json")
        no_secret(on_cluster, *passwords)
    finally:
        stop_agent(heat, agent)
        kubectl("delete", "namespace", ns, f"{ns}-unused", "--wait=false", check=False)
