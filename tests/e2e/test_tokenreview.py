"""The TokenReview webhook against the real Keystone and the real kube-apiserver (issue 13).

Keystone is tools/local-heat's; the cluster is tools/local-cluster's, whose kube-apiserver sends
every bearer token it does not know itself to the webhook (`tools/local-cluster webhook up`).
Users, projects and groups are made for each test and deleted at the end of the session.

Broken on purpose once: the cache (cache_ttl 0 in the private webhook) turned
test_cache_hit_does_not_call_keystone red (the second review made Keystone calls); the
webhook on the cluster's port run with the domain-id check of stack_owner_project removed
turned test_look_alike_gets_no_owner_group red (the look-alike got the owner's id as a group)
while test_stack_user_gets_the_owner_group stayed green. The other mapping breaks (no project-id
group, no owner group) were run against the unit tables (tests/unit/test_tokenreview.py).
The group cache (issue 27) bypassed turned test_a_new_token_of_a_known_user_skips_the_group_listing
red.
"""
from __future__ import annotations

import json
import os
import pathlib
import ssl
import subprocess
import sys
import time
import urllib.request
import uuid

import pytest
import yaml
from conftest import free_port

from heat_k8s_hook.tokenreview import mapping

ROOT = pathlib.Path(__file__).resolve().parents[2]
HEAT_STACK_USER_DOMAIN = "heat"   # tools/local-heat's heat.conf stack_user_domain_name


def _fail(msg: str) -> None:
    pytest.fail(msg, pytrace=False)


class TokenKubectl:
    """kubectl as a user with only a bearer token (no kubeconfig credentials at all)."""

    def __init__(self, kubectl_bin: str, env: dict, tmp: pathlib.Path):
        tmp.mkdir(parents=True, exist_ok=True)
        empty = tmp / "empty-kubeconfig"
        empty.write_text("apiVersion: v1\nkind: Config\n")
        self.base = [kubectl_bin, "--kubeconfig", str(empty), "--server", env["KUBE_SERVER"],
                     "--certificate-authority", env["KUBE_CA"]]

    def run(self, token: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(self.base + ["--token", token, *args], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=60)

    def whoami(self, token: str) -> dict:
        proc = self.run(token, "auth", "whoami", "-o", "json")
        if proc.returncode != 0:
            _fail(f"kubectl auth whoami: {proc.stderr.strip()}")
        return json.loads(proc.stdout)["status"]["userInfo"]


@pytest.fixture(scope="module")
def as_token(tokenreview_env, kubectl_bin, tmp_path_factory) -> TokenKubectl:
    return TokenKubectl(kubectl_bin, tokenreview_env, tmp_path_factory.mktemp("tokenreview"))


@pytest.fixture(scope="module")
def admin_kubectl(kubectl_bin, kubeconfig):
    def run(*args: str, stdin: str | None = None) -> str:
        proc = subprocess.run([kubectl_bin, "--kubeconfig", kubeconfig, *args], input=stdin,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=60)
        if proc.returncode != 0:
            _fail(f"kubectl {' '.join(args)}: {proc.stderr.strip()}")
        return proc.stdout
    return run


class Ids:
    """What the tests share (made once per module, Keystone being slow on a loaded machine):
    project A with a member in a Keystone group; owner project O with a stack user (its project
    in Heat's stack-user domain, named as Heat names it) and a look-alike user (same name
    pattern, default domain); namespaces where A's id, O's id or nobody may view configmaps."""


def _stack_user(keystone_admin, owner_id: str, domain_id: str) -> tuple:
    """A project named as Heat names a stack's project, in `domain_id`, and a heat_stack_user
    on it (what create_stack_domain_project and create_stack_domain_user make)."""
    name = f"{owner_id}-{uuid.uuid4()}"[:64]
    project = keystone_admin.project(name, domain_id)
    user, password = keystone_admin.person(project["id"], role="heat_stack_user",
                                           domain_id=domain_id, prefix="tr-stack")
    return project, user, keystone_admin.token(user["id"], password, project["id"])


@pytest.fixture(scope="module")
def ids(keystone_admin, admin_kubectl) -> Ids:
    i, tag = Ids(), uuid.uuid4().hex[:8]
    i.a = keystone_admin.project(f"tr-a-{tag}")
    i.a_user, i.a_password = keystone_admin.person(i.a["id"])
    i.a_group = keystone_admin.group(f"tr-group-{tag}")
    keystone_admin.add_to_group(i.a_group["id"], i.a_user["id"])
    i.a_token = keystone_admin.token(i.a_user["id"], i.a_password, i.a["id"])
    i.owner = keystone_admin.project(f"tr-owner-{tag}")
    heat_domain = keystone_admin.domain_id(HEAT_STACK_USER_DOMAIN)
    i.stack, i.stack_user, i.stack_token = _stack_user(keystone_admin, i.owner["id"],
                                                       heat_domain)
    i.fake, i.fake_user, i.fake_token = _stack_user(keystone_admin, i.owner["id"], "default")
    i.ns = {who: f"tr-{who}-{tag}" for who in ("a", "owner", "nobody")}
    groups = {"a": i.a["id"], "owner": i.owner["id"], "nobody": uuid.uuid4().hex}
    docs = []
    for who, ns in i.ns.items():
        docs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        docs.append({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                     "metadata": {"name": "project-view", "namespace": ns},
                     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                                 "name": "view"},
                     "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group",
                                   "name": groups[who]}]})
    admin_kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(docs))
    yield i
    admin_kubectl("delete", "namespace", *i.ns.values(), "--wait=false")


def test_whoami(ids, as_token):
    """A project member in a Keystone group: name, id, groups and extras as upstream gives."""
    info = as_token.whoami(ids.a_token)
    assert info["username"] == ids.a_user["name"] and info["uid"] == ids.a_user["id"]
    assert info["groups"] == [ids.a_group["name"], ids.a["id"], "system:authenticated"]
    assert info["extra"][mapping.PROJECT_ID] == [ids.a["id"]]
    assert info["extra"][mapping.PROJECT_NAME] == [ids.a["name"]]
    assert "member" in info["extra"][mapping.ROLES]
    assert info["extra"][mapping.DOMAIN_ID] == ["default"]
    assert info["extra"][mapping.DOMAIN_NAME] == ["Default"]
    assert mapping.STACK_OWNER not in info["extra"]


def test_rejected_tokens_are_unauthorized(ids, keystone_admin, as_token):
    """A made-up token, and a real one revoked before first use: 401 from kube-apiserver."""
    revoked = keystone_admin.token(ids.a_user["id"], ids.a_password, ids.a["id"])
    keystone_admin.revoke(revoked)
    for token in ("gAAAAA" + uuid.uuid4().hex, revoked):
        proc = as_token.run(token, "auth", "whoami")
        assert proc.returncode != 0 and "Unauthorized" in proc.stderr, proc.stderr


def test_rbac_bound_to_the_project_group(ids, as_token):
    """RBAC written for k8s-keystone-auth (a RoleBinding to the project id) works unchanged:
    the project's member may read its namespace, not another one (Forbidden)."""
    ok = as_token.run(ids.a_token, "-n", ids.ns["a"], "get", "configmaps")
    assert ok.returncode == 0, ok.stderr
    denied = as_token.run(ids.a_token, "-n", ids.ns["nobody"], "get", "configmaps")
    assert denied.returncode != 0 and "Forbidden" in denied.stderr, denied.stderr
    assert f'User "{ids.a_user["name"]}" cannot list' in denied.stderr


def test_stack_user_gets_the_owner_group(ids, as_token):
    """A stack user (its project in Heat's stack-user domain) also gets its owner project's id
    as a group, so RBAC bound to the owner project covers the owner's stacks."""
    info = as_token.whoami(ids.stack_token)
    assert info["groups"] == [ids.stack["id"], ids.owner["id"], "system:authenticated"]
    assert info["extra"][mapping.STACK_OWNER] == [ids.owner["id"]]
    proc = as_token.run(ids.stack_token, "-n", ids.ns["owner"], "get", "configmaps")
    assert proc.returncode == 0, proc.stderr


def test_look_alike_gets_no_owner_group(ids, as_token):
    """Security: a project named exactly like a stack project of the owner, but in another
    domain (anyone with project-create rights there could make it), gets no owner group and
    no access to the owner's namespace."""
    assert ids.fake["name"].startswith(ids.owner["id"] + "-")
    info = as_token.whoami(ids.fake_token)
    assert info["groups"] == [ids.fake["id"], "system:authenticated"]
    assert mapping.STACK_OWNER not in info.get("extra", {})
    proc = as_token.run(ids.fake_token, "-n", ids.ns["owner"], "get", "configmaps")
    assert proc.returncode != 0 and "Forbidden" in proc.stderr, proc.stderr


# --- the webhook itself: both TokenReview versions, and its cache counted at Keystone ----------

class PrivateWebhook:
    """A second webhook process on its own port and User-Agent, with the local wiring's TLS
    material and service credential, so Keystone's access log tells its calls apart."""

    def __init__(self, env: dict, tmp: pathlib.Path, cache_ttl: float):
        config = yaml.safe_load(pathlib.Path(env["TOKENREVIEW_CONFIG"]).read_text())
        self.agent = f"tokenreview-test-{uuid.uuid4().hex[:8]}"
        self.port = free_port()
        config.update(listen=f"127.0.0.1:{self.port}", user_agent=self.agent, cache_ttl=cache_ttl)
        path = tmp / "config.yaml"
        path.touch(mode=0o600)
        path.write_text(yaml.safe_dump(config))
        self.log = open(tmp / "webhook.log", "w+")
        self.proc = subprocess.Popen([sys.executable, "-m", "heat_k8s_hook.tokenreview",
                                      "--config", str(path)], stdout=self.log,
                                     stderr=subprocess.STDOUT, env=dict(os.environ))
        self.ctx = ssl.create_default_context(cafile=env["TOKENREVIEW_CA"])
        self.ctx.load_cert_chain(env["TOKENREVIEW_CLIENT_CERT"], env["TOKENREVIEW_CLIENT_KEY"])
        self._wait()

    def _wait(self) -> None:
        end = time.monotonic() + 60
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                self.log.seek(0)
                _fail(f"the private webhook exited: {self.log.read()[-2000:]}")
            try:
                urllib.request.urlopen(f"https://127.0.0.1:{self.port}/healthz", context=self.ctx,
                                       timeout=2).read()
                return
            except OSError:
                time.sleep(0.2)
        _fail("the private webhook did not answer within 60 s")

    def review(self, version: str, token: str) -> dict:
        body = json.dumps({"apiVersion": f"authentication.k8s.io/{version}",
                           "kind": "TokenReview", "spec": {"token": token}}).encode()
        req = urllib.request.Request(f"https://127.0.0.1:{self.port}/", data=body,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, context=self.ctx, timeout=60) as resp:
            return json.loads(resp.read())

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        self.log.close()


def keystone_calls(local_heat, agent: str, path: str = "/v3/") -> int:
    """Requests Keystone logged from this User-Agent (gunicorn's access log), GETs under
    `path`."""
    log = pathlib.Path(local_heat["LOCAL_HEAT_STATE"]) / "logs" / "keystone.log"
    return sum(1 for line in log.open(errors="replace")
               if f'"{agent} ' in line and f'"GET {path}' in line)


@pytest.fixture
def private_webhook(tokenreview_env, tmp_path):
    hooks = []

    def start(cache_ttl: float = 30) -> PrivateWebhook:
        hooks.append(PrivateWebhook(tokenreview_env, tmp_path, cache_ttl))
        return hooks[-1]
    yield start
    for h in hooks:
        h.stop()


def _settled_calls(local_heat, agent: str, path: str = "/v3/") -> int:
    """The count once gunicorn's log has caught up (it writes after answering; a request the
    webhook gave up on and retried is logged when Keystone finally ends it): unchanged 1.5 s."""
    last, since = keystone_calls(local_heat, agent, path), time.monotonic()
    while time.monotonic() - since < 1.5:
        time.sleep(0.25)
        now = keystone_calls(local_heat, agent, path)
        if now != last:
            last, since = now, time.monotonic()
    return last


def test_cache_hit_does_not_call_keystone(ids, local_heat, private_webhook):
    """v1 and v1beta1 both answer; the second review of a token is answered from the cache:
    Keystone sees 2 GETs (token, groups) for the first and none for the second. With
    cache_ttl 0 this went red (the second review made Keystone calls)."""
    hook = private_webhook(cache_ttl=30)
    before = _settled_calls(local_heat, hook.agent)
    first = hook.review("v1", ids.a_token)
    after_first = _settled_calls(local_heat, hook.agent)
    second = hook.review("v1beta1", ids.a_token)
    after_second = _settled_calls(local_heat, hook.agent)
    assert first["apiVersion"] == "authentication.k8s.io/v1"
    assert second["apiVersion"] == "authentication.k8s.io/v1beta1"
    assert first["status"] == second["status"]
    assert first["status"]["authenticated"] and first["status"]["user"]["uid"] == ids.a_user["id"]
    # 2 (token, groups); more only if a slow Keystone made the webhook retry one
    assert after_first - before >= 2, "token validation + group listing"
    assert after_second - after_first == 0, "the second review must come from the cache"
    bad = hook.review("v1beta1", "gAAAAA" + uuid.uuid4().hex)
    assert bad["status"]["authenticated"] is False and "error" in bad["status"]


def test_a_new_token_of_a_known_user_skips_the_group_listing(ids, local_heat, keystone_admin,
                                                              private_webhook):
    """Issue 27: the user's groups are kept for cache_ttl, so a second token of the same user
    (a new deployment of the same stack user) costs Keystone one call (validation), not two,
    and carries the same groups. With the group cache bypassed this went red (a second GET
    /v3/users/{id}/groups)."""
    hook = private_webhook(cache_ttl=30)
    groups = f"/v3/users/{ids.a_user['id']}/groups"
    first = hook.review("v1", ids.a_token)
    before = _settled_calls(local_heat, hook.agent, groups)
    token = keystone_admin.token(ids.a_user["id"], ids.a_password, ids.a["id"])
    second = hook.review("v1", token)
    after = _settled_calls(local_heat, hook.agent, groups)
    assert second["status"]["authenticated"] and second["status"] == first["status"]
    assert ids.a_group["name"] in second["status"]["user"]["groups"]
    assert before >= 1 and after == before, "the groups of a known user come from the cache"
