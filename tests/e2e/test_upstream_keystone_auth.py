"""The upstream TokenReview webhook, k8s-keystone-auth, in front of a real kube-apiserver, and a
Keystone-mode deployment of the hook through it (issue 27 part 2: the README's claim that
production clusters can run it instead of ours).

Real components only: k8s-keystone-auth as tools/cluster/keystone-auth.sh builds it (the version
pinned in tools/versions.env), tools/local-heat's Keystone, and a second kube-apiserver process
(the local cluster's own cached binary, on the local cluster's etcd, so the operator's kubectl on
the shared cluster sees what it writes) on a port and certificates of its own, with
`--authentication-token-webhook-config-file` pointing at k8s-keystone-auth and
`--authentication-token-webhook-version=v1beta1` (upstream answers nothing else), and an audit
log that records who made each write. The shared cluster's kube-apiserver and our webhook are
not touched; both processes started here are stopped by pid at the end.

RBAC is the README's (examples/keystone/rbac.yaml): a namespace bound to the project's id, one
bound to the name of a Keystone group the user is in, one bound to nobody.

Broken on purpose once, each went red with the cause in the message: the webhook kubeconfig
pointing at a port where nothing listens (HEAT_K8S_HOOK_E2E_KA_URL=https://127.0.0.1:1/webhook:
`kubectl auth whoami ... Unauthorized`, kube-apiserver's "connection refused" beside it), and
k8s-keystone-auth stopped before the hook ran (the hook's code 4, "rejected the credentials").

Both kube-apiservers on this host name renew the same identity Lease (kube-system,
`apiserver-<hash of the host name>`): while this test runs each logs an occasional "Failed to
update lease ... the object has been modified" and retries; nothing else is shared but etcd.
"""
from __future__ import annotations

import json
import os
import pathlib
import signal
import ssl
import subprocess
import time
import urllib.error
import urllib.request
import uuid

import pytest
import yaml
from conftest import free_port
from test_keystone import Tenant, deployment, last_line, no_secret, rbac_for, run_hook, settings_file

ROOT = pathlib.Path(__file__).resolve().parents[2]
KEYSTONE_AUTH = ROOT / "tools" / "cluster" / "keystone-auth.sh"
AUDIT_POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
"""


def _fail(msg: str) -> None:
    pytest.fail(msg, pytrace=False)


def _tail(path: pathlib.Path, n: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").strip().splitlines()[-n:])
    except OSError:
        return "(no log)"


def openssl(*args: str) -> None:
    proc = subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        _fail(f"openssl {args[0]} failed: {proc.stderr.strip()}")


def make_pki(d: pathlib.Path) -> None:
    """A private CA and a serving certificate for 127.0.0.1 signed by it (both servers use it),
    and the service-account signing key kube-apiserver requires."""
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-days", "2", "-keyout", str(d / "ca.key"),
            "-out", str(d / "ca.crt"), "-subj", "/CN=upstream-keystone-auth test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", "-new", *ec, "-keyout", str(d / "server.key"), "-out", str(d / "server.csr"),
            "-subj", "/CN=127.0.0.1")
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                                  "extendedKeyUsage=serverAuth\n")
    openssl("x509", "-req", "-in", str(d / "server.csr"), "-CA", str(d / "ca.crt"),
            "-CAkey", str(d / "ca.key"), "-CAcreateserial", "-days", "2",
            "-out", str(d / "server.crt"), "-extfile", str(d / "server.ext"))
    openssl("genrsa", "-out", str(d / "sa.key"), "2048")


class Process:
    """A process started here, stopped by its pid (its own session), its output in a file."""

    def __init__(self, name: str, argv: list, log: pathlib.Path):
        self.name, self.log = name, log
        with open(log, "wb") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)


def wait_https(proc: Process, url: str, ca: str, timeout: float, ok=(200,)) -> None:
    """Until `url` answers one of `ok` over TLS checked against `ca`; fails naming the log."""
    ctx = ssl.create_default_context(cafile=ca)
    end, last = time.monotonic() + timeout, ""
    while time.monotonic() < end:
        if not proc.alive():
            _fail(f"{proc.name} exited ({proc.proc.returncode}):\n{_tail(proc.log)}")
        try:
            with urllib.request.urlopen(url, context=ctx, timeout=5) as resp:
                if resp.status in ok:
                    return
                last = f"HTTP {resp.status}"
        except urllib.error.HTTPError as exc:
            if exc.code in ok:
                return
            last = f"HTTP {exc.code}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.5)
    _fail(f"{proc.name} did not answer {url} within {timeout:.0f}s ({last}); log "
          f"{proc.log}:\n{_tail(proc.log)}")


def main_apiserver_args(kubeconfig: str) -> dict:
    """What the second kube-apiserver must share with the local cluster's: etcd, its prefix, and
    the Service range (both reconcile the same ServiceCIDR), from the running one's command line
    (tools/local-cluster keeps its pid in the cluster's pids/)."""
    pid_file = pathlib.Path(kubeconfig).parent / "pids" / "kube-apiserver.pid"
    try:
        pid = pid_file.read_text().strip()
        argv = pathlib.Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
    except OSError as exc:
        _fail(f"the local cluster's kube-apiserver is not running ({pid_file}: {exc})")
    args = dict(a[2:].split("=", 1) for a in argv if a.startswith("--") and "=" in a)
    for key in ("etcd-servers", "etcd-prefix", "service-cluster-ip-range"):
        if key not in args:
            _fail(f"the local cluster's kube-apiserver has no --{key} (pid {pid})")
    return args


class Upstream:
    """k8s-keystone-auth and the kube-apiserver that asks it."""
    server: str
    ca: str
    audit: pathlib.Path
    webhook: Process
    apiserver: Process


@pytest.fixture(scope="module")
def upstream(local_heat, kubeconfig, kubectl_bin, tmp_path_factory):
    proc = subprocess.run([str(KEYSTONE_AUTH), "build"], capture_output=True, text=True,
                          timeout=3600)   # waits for CI's background build (its lock)
    binary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    if proc.returncode != 0 or not os.access(binary, os.X_OK):
        _fail(f"k8s-keystone-auth is not built ({KEYSTONE_AUTH} build, rc {proc.returncode}):\n"
              + "\n".join(proc.stderr.strip().splitlines()[-15:]))
    apiserver_bin = pathlib.Path(kubectl_bin).with_name("kube-apiserver")
    if not os.access(apiserver_bin, os.X_OK):
        _fail(f"no kube-apiserver at {apiserver_bin} (tools/local-cluster build)")
    shared = main_apiserver_args(kubeconfig)

    d = tmp_path_factory.mktemp("upstream-keystone-auth")
    make_pki(d)
    u = Upstream()
    u.ca = str(d / "ca.crt")
    webhook_port, api_port = free_port(), free_port()
    u.webhook = Process("k8s-keystone-auth", [
        binary, "--listen", f"127.0.0.1:{webhook_port}",
        "--tls-cert-file", str(d / "server.crt"), "--tls-private-key-file", str(d / "server.key"),
        "--keystone-url", local_heat["OS_AUTH_URL"]], d / "k8s-keystone-auth.log")
    u.apiserver = None
    try:
        # its only handler is POST /webhook: a GET is 500 (an empty body), but it answers
        wait_https(u.webhook, f"https://127.0.0.1:{webhook_port}/webhook", u.ca, 60,
                   ok=(200, 400, 405, 500))
        wh_kubeconfig = d / "webhook.kubeconfig"
        wh_kubeconfig.write_text(yaml.safe_dump({
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "keystone", "cluster": {
                "server": os.environ.get("HEAT_K8S_HOOK_E2E_KA_URL",
                                         f"https://127.0.0.1:{webhook_port}/webhook"),
                "certificate-authority": u.ca}}],
            "users": [{"name": "kube-apiserver", "user": {}}],
            "contexts": [{"name": "webhook", "context": {"cluster": "keystone",
                                                         "user": "kube-apiserver"}}],
            "current-context": "webhook"}))
        (d / "audit-policy.yaml").write_text(AUDIT_POLICY)
        u.audit = d / "audit.log"
        u.apiserver = Process("kube-apiserver (upstream webhook)", [
            str(apiserver_bin),
            f"--etcd-servers={shared['etcd-servers']}",
            f"--etcd-prefix={shared['etcd-prefix']}",
            f"--service-cluster-ip-range={shared['service-cluster-ip-range']}",
            "--bind-address=127.0.0.1", f"--secure-port={api_port}",
            f"--tls-cert-file={d / 'server.crt'}", f"--tls-private-key-file={d / 'server.key'}",
            f"--service-account-key-file={d / 'sa.key'}",
            f"--service-account-signing-key-file={d / 'sa.key'}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            "--authorization-mode=RBAC",
            # not the shared cluster's `kubernetes` Service endpoints: they stay the first's
            "--endpoint-reconciler-type=none",
            f"--authentication-token-webhook-config-file={wh_kubeconfig}",
            "--authentication-token-webhook-version=v1beta1",
            "--authentication-token-webhook-cache-ttl=10s",
            f"--audit-policy-file={d / 'audit-policy.yaml'}", f"--audit-log-path={u.audit}",
        ], d / "kube-apiserver.log")
        u.server = f"https://127.0.0.1:{api_port}"
        wait_https(u.apiserver, f"{u.server}/readyz", u.ca, 180)
        yield u
    finally:
        if u.apiserver is not None:
            u.apiserver.stop()
        u.webhook.stop()



def audit_writes(audit: pathlib.Path, namespace: str) -> list:
    """(user, groups, verb, resource) of every successful write in `namespace` the second
    kube-apiserver's audit log holds."""
    out = []
    for line in audit.read_text().splitlines():
        ev = json.loads(line)
        ref = ev.get("objectRef") or {}
        if ev.get("stage") == "ResponseComplete" and ref.get("namespace") == namespace \
                and ev.get("verb") in ("create", "update", "patch") \
                and (ev.get("responseStatus") or {}).get("code", 0) < 300:
            user = ev.get("user") or {}
            out.append((user.get("username"), user.get("groups") or [], ev["verb"],
                        ref.get("resource")))
    return out


def test_keystone_mode_deployment_through_k8s_keystone_auth(upstream, keystone_admin, local_heat,
                                                           kubectl, kubectl_bin, tmp_path):
    """A project member in a Keystone group: `kubectl auth whoami` through upstream names it as
    the README says (user name, id, the group's name and the project id as groups); the hook in
    Keystone mode (heat_signal credentials) creates its objects in the namespace bound to the
    project id and in the one bound to the group's name, each write made as that user (the
    audit log); aimed at a namespace bound to nobody it is Forbidden (code 5) and writes
    nothing."""
    auth_url = local_heat["OS_AUTH_URL"]
    tag = uuid.uuid4().hex[:6]
    project = keystone_admin.project(f"ka-{tag}")
    user, password = keystone_admin.person(project["id"], prefix="ka")
    group = keystone_admin.group(f"ka-group-{tag}")
    keystone_admin.add_to_group(group["id"], user["id"])

    ns_project, ns_group, ns_nobody = (f"ka-{w}-{tag}" for w in ("project", "group", "nobody"))
    docs = list(yaml.safe_load_all(rbac_for(project["id"], uuid.uuid4().hex, ns_project,
                                            ns_nobody)))
    docs = [doc for doc in docs   # the "B" binding (to a random id) left out: nobody's namespace
            if not (doc["kind"] == "RoleBinding" and doc["metadata"]["namespace"] == ns_nobody)]
    docs += [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns_group}},
             {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
              "metadata": {"name": "heat-k8s-hook-tenant", "namespace": ns_group},
              "subjects": [{"kind": "Group", "name": group["name"],
                            "apiGroup": "rbac.authorization.k8s.io"}],
              "roleRef": {"kind": "ClusterRole", "name": "heat-k8s-hook-tenant",
                          "apiGroup": "rbac.authorization.k8s.io"}}]
    kubectl("apply", "-f", "-", stdin=yaml.safe_dump_all(docs))   # the operator, on the cluster
    try:
        # who upstream says the user is (through the second kube-apiserver)
        empty = tmp_path / "empty-kubeconfig"
        empty.write_text("apiVersion: v1\nkind: Config\n")
        token = keystone_admin.token(user["id"], password, project["id"])
        who = subprocess.run([kubectl_bin, "--kubeconfig", str(empty), "--server",
                              upstream.server, "--certificate-authority", upstream.ca,
                              "--token", token, "auth", "whoami", "-o", "json"],
                             capture_output=True, text=True, timeout=90)
        if who.returncode != 0:
            _fail(f"kubectl auth whoami through k8s-keystone-auth failed: {who.stderr.strip()}\n"
                  f"k8s-keystone-auth log:\n{_tail(upstream.webhook.log)}\n"
                  f"kube-apiserver log:\n{_tail(upstream.apiserver.log)}")
        info = json.loads(who.stdout)["status"]["userInfo"]
        assert info["username"] == user["name"] and info["uid"] == user["id"], info
        assert info["groups"] == [group["name"], project["id"], "system:authenticated"], info
        assert info["extra"]["alpha.kubernetes.io/identity/project/id"] == [project["id"]]
        assert "member" in info["extra"]["alpha.kubernetes.io/identity/roles"]

        settings = settings_file(tmp_path / "hook.yaml",
                                 {"KUBE_SERVER": upstream.server, "KUBE_CA": upstream.ca},
                                 auth_url)
        tenant = Tenant(project, user, password, ns_project)
        for ns in (ns_project, ns_group):
            result, text = run_hook(deployment(tenant, auth_url, ns), settings)
            if result["deploy_status_code"] != 0:
                _fail(f"the hook through k8s-keystone-auth failed in {ns} "
                      f"(code {result['deploy_status_code']}): {last_line(result)}\n"
                      f"k8s-keystone-auth log:\n{_tail(upstream.webhook.log)}\n"
                      f"kube-apiserver log:\n{_tail(upstream.apiserver.log)}")
            assert f"NetworkPolicy/{ns}/web created" in result["deploy_stdout"]
            assert f"ConfigMap/{ns}/greeting created" in result["deploy_stdout"]
            no_secret(text, password)
            # on the cluster, as the operator sees it (the same etcd)
            kubectl("get", "networkpolicy/web", "configmap/greeting", "-n", ns)
            writes = audit_writes(upstream.audit, ns)
            kinds = {w[3] for w in writes}
            assert {"networkpolicies", "configmaps"} <= kinds, writes
            assert all(w[0] == user["name"] and project["id"] in w[1]
                       and group["name"] in w[1] for w in writes), writes

        result, text = run_hook(deployment(tenant, auth_url, ns_nobody), settings)
        assert result["deploy_status_code"] == 5, result["deploy_stderr"]
        cause = last_line(result)
        assert "forbidden" in cause.lower() and f'in the namespace "{ns_nobody}"' in cause, cause
        assert audit_writes(upstream.audit, ns_nobody) == []
        no_secret(text, password)
    finally:
        kubectl("delete", "namespace", ns_project, ns_group, ns_nobody, "--wait=false",
                check=False)

