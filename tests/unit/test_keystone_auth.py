"""Keystone mode, without a Keystone: settings, identities, error mapping, token renewal.

The real Keystone, cluster and webhook are in tests/e2e/test_keystone.py. Checked by breaking
each rule once: with `signal_identity`'s auth_url comparison removed, the foreign-Keystone test
went red; with `_had_token` ignored in `_failure` (every 401 a KeystoneRefused), the mid-run
expiry test went red; with the mode check in `read_clouds_yaml` removed, the open clouds.yaml
test went red; with `self.mask([token])` removed from `token`, the masking test went red;
with `connector`'s `early.prefetch()` left out, the fetched-once-in-a-thread test went red; with
the prefetch's error not re-raised by `token`, the prefetch-failure test went red (asked twice);
with the `kubernetes` Configuration back in `configuration`, the no-kubernetes and the PEM tests
went red (issue 25: `configuration` now yields the one config type, kubeconfig.Endpoint).
"""
from __future__ import annotations

import io
import json
import os

import pytest

from heat_k8s_hook.config.keystone_settings import (
    Identity,
    KeystoneSettings,
    cloud_identity,
    parse_keystone,
    read_clouds_yaml,
    records_namespace,
    refuse_kubeconfig,
    signal_identity,
)
from heat_k8s_hook.config.settings import parse_settings
from heat_k8s_hook.entry import hook
from heat_k8s_hook.errors import (
    InvalidInput,
    KeystoneRefused,
    KeystoneUnreachable,
    Misconfigured,
    TokenExpired,
)
from heat_k8s_hook.input.deployment import Options
from heat_k8s_hook.kube.keystone_auth import KeystoneCredentials
from heat_k8s_hook.result.report import Masker

SECRET = "s3cr3t-Passw0rd-xyz"
KS = {"server": "https://127.0.0.1:6443", "certificate_authority": "/etc/heat-k8s-hook/ca.crt",
      "identity": "heat_signal"}
SIGNAL = {"deploy_auth_url": "http://keystone.example:5000/v3", "deploy_user_id": "u1",
          "deploy_password": SECRET, "deploy_project_id": "p1"}


def settings(**over) -> KeystoneSettings:
    return parse_keystone("keystone", dict(KS, **over))


# --- settings ------------------------------------------------------------------------------------

def test_keystone_settings_parse_and_print():
    parsed = parse_settings({"keystone": dict(KS, auth_url="http://k:5000/v3")})
    assert parsed.keystone.identity == "heat_signal"
    assert parsed.as_dict()["keystone"]["auth_url"] == "http://k:5000/v3"
    assert "keystone" not in parse_settings({}).as_dict()


@pytest.mark.parametrize("over, cause", [
    ({"server": "http://127.0.0.1:6443"}, "keystone.server: expected an https:// URL"),
    ({"identity": "kubeconfig"}, "keystone.identity: expected one of heat_signal, clouds_yaml"),
    ({"identity": "clouds_yaml"}, "keystone.cloud: missing"),
    ({"certificate_authority": "ca.crt"}, "keystone.certificate_authority: expected an absolute"),
    ({"tokn": 1}, "keystone: unknown key(s) tokn"),
])
def test_bad_keystone_settings_are_code_9_naming_the_key(over, cause):
    with pytest.raises(Misconfigured) as info:
        parse_keystone("keystone", dict(KS, **over))
    assert info.value.code == 9 and cause in info.value.message


def test_missing_server_named():
    with pytest.raises(Misconfigured, match="keystone.server: missing"):
        parse_keystone("keystone", {k: v for k, v in KS.items() if k != "server"})


# --- identities ------------------------------------------------------------------------------------

def test_heat_signal_identity_from_the_inputs():
    i = signal_identity(SIGNAL, settings())
    assert (i.auth_url, i.user_id, i.project_id, i.secret) == (
        SIGNAL["deploy_auth_url"], "u1", "p1", SECRET)
    assert SECRET not in i.description and "u1" in i.description


@pytest.mark.parametrize("missing", ["deploy_auth_url", "deploy_user_id", "deploy_password",
                                     "deploy_project_id"])
def test_missing_signal_input_is_code_2_naming_it(missing):
    inputs = {k: v for k, v in SIGNAL.items() if k != missing}
    with pytest.raises(InvalidInput) as info:
        signal_identity(inputs, settings())
    assert f"input {missing}: missing" in info.value.message and "HEAT_SIGNAL" in info.value.message
    assert SECRET not in info.value.message


def test_a_template_cannot_send_the_password_to_another_keystone():
    with pytest.raises(InvalidInput, match="input deploy_auth_url: not the Keystone"):
        signal_identity(SIGNAL, settings(auth_url="https://keystone.cloud:5000/v3"))
    same = signal_identity(SIGNAL, settings(auth_url="http://keystone.example:5000/v3/"))
    assert same.auth_url == "http://keystone.example:5000/v3/"


def test_application_credential_from_clouds_yaml():
    clouds = {"clouds": {"tenant-a": {"auth_type": "v3applicationcredential", "auth": {
        "auth_url": "http://k:5000/v3", "application_credential_id": "ac1",
        "application_credential_secret": SECRET}}}}
    i = cloud_identity(clouds, settings(identity="clouds_yaml", cloud="tenant-a"))
    assert (i.app_cred_id, i.secret) == ("ac1", SECRET)
    assert i.description == "Keystone application credential ac1"
    with pytest.raises(Misconfigured, match="cloud tenant-b: missing"):
        cloud_identity(clouds, settings(identity="clouds_yaml", cloud="tenant-b"))
    del clouds["clouds"]["tenant-a"]["auth"]["application_credential_secret"]
    with pytest.raises(Misconfigured, match="application_credential_secret") as info:
        cloud_identity(clouds, settings(identity="clouds_yaml", cloud="tenant-a"))
    assert info.value.code == 9


def test_clouds_yaml_open_to_others_is_code_9(tmp_path):
    path = tmp_path / "clouds.yaml"
    path.write_text("clouds: {}\n")
    os.chmod(path, 0o644)
    with pytest.raises(Misconfigured, match="open to group or others"):
        read_clouds_yaml(str(path))
    os.chmod(path, 0o600)
    assert read_clouds_yaml(str(path)) == {"clouds": {}}


def test_records_live_in_the_tenants_namespace():
    assert records_namespace(None, None, "heat-k8s-hook") == "heat-k8s-hook"
    assert records_namespace("shop", None, "heat-k8s-hook") == "heat-k8s-hook"
    assert records_namespace("shop", settings(), "heat-k8s-hook") == "shop"
    with pytest.raises(InvalidInput, match="option namespace: required"):
        records_namespace(None, settings(), "heat-k8s-hook")


def test_the_template_cannot_pick_a_kubeconfig():
    refuse_kubeconfig(Options())
    for opts in (Options(kubeconfig="/etc/heat-k8s-hook/kubeconfig"), Options(context="admin")):
        with pytest.raises(InvalidInput, match="not allowed on this controller"):
            refuse_kubeconfig(opts)


# --- errors and renewal (keystoneauth's exception classes, no network) ----------------------------

def credentials(mask=lambda values: None) -> KeystoneCredentials:
    return KeystoneCredentials(Identity("http://k:5000/v3", SECRET, user_id="u1",
                                        project_id="p1"), settings(), mask)


def test_keystoneauth_errors_map_to_their_codes():
    from keystoneauth1 import exceptions as kse
    creds = credentials()
    refused = creds._failure(kse.Unauthorized("The request you have made requires auth"))
    assert isinstance(refused, KeystoneRefused) and refused.code == 10
    assert "Keystone does not say which" in refused.message
    down = creds._failure(kse.ConnectFailure("Unable to establish connection: Connection refused"))
    assert isinstance(down, KeystoneUnreachable) and down.code == 11
    assert "connection refused" in down.message
    assert creds._failure(kse.InternalServerError()).code == 11
    assert creds._failure(kse.BadRequest()).code == 10
    creds._had_token = True   # the run had a token: a 401 now means it expired or was revoked
    expired = creds._failure(kse.Unauthorized())
    assert isinstance(expired, TokenExpired) and expired.code == 12
    for error in (refused, down, expired):
        assert SECRET not in error.message


def test_renew_drops_the_token_a_bounded_number_of_times():
    class Auth:
        auth_ref, dropped = object(), 0

        def invalidate(self):
            self.dropped += 1
    now = [100.0]
    creds = KeystoneCredentials(Identity("http://k:5000/v3", SECRET), settings(),
                                clock=lambda: now[0])
    creds._auth, creds._obtained = Auth(), 0.0
    answers = [creds.renew() for _ in range(7)]
    assert answers == [True] * 5 + [False] * 2
    assert creds._auth.dropped == 5


def test_every_token_is_taught_to_the_masker():
    masker = Masker()
    creds = credentials(masker.add)

    class Session:
        def get_token(self):
            return "gAAAAABtoken-value-0123456789"
    creds._session, creds._auth = Session(), type("A", (), {"auth_ref": None})()
    assert creds.token() == "gAAAAABtoken-value-0123456789"
    assert masker("Bearer gAAAAABtoken-value-0123456789 and " + SECRET) == "Bearer ****** and ******"


# --- the hook, with Keystone down (nothing listens on the port) -----------------------------------

def test_keystone_down_is_code_11_naming_keystone(tmp_path, monkeypatch):
    ca = tmp_path / "ca.crt"
    ca.write_text("not used: Keystone fails first\n")
    conf = tmp_path / "hook.yaml"
    conf.write_text(json.dumps({"keystone": dict(KS, certificate_authority=str(ca))}))
    os.chmod(conf, 0o600)
    monkeypatch.setenv("HEAT_K8S_HOOK_CONFIG", str(conf))
    dep = {"id": "d1", "name": "web", "group": "kubectl", "options": {"namespace": "shop"},
           "config": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
           "inputs": [{"name": k, "value": v} for k, v in
                      dict(SIGNAL, deploy_auth_url="http://127.0.0.1:9/v3").items()]}
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(dep)))
    out = io.StringIO()
    monkeypatch.setattr("sys.stdout", out)
    code = hook.main()
    result = json.loads(out.getvalue())
    assert code == 11 == result["deploy_status_code"]
    last = result["deploy_stderr"].splitlines()[-1]
    assert "cannot reach Keystone at http://127.0.0.1:9/v3" in last and "[phase: connect]" in last
    assert SECRET not in out.getvalue()


# --- one token per run, started early (issue 27) ------------------------------------------------

class CountingSession:
    """keystoneauth's session as far as token() uses it: issues a token once (Keystone's
    POST, counted, with the thread that made it), then answers it from memory."""

    def __init__(self, fail=None):
        import threading
        self.fail, self.calls, self.threads = fail, 0, []
        self.release = threading.Event()

    def get_token(self):
        import threading
        self.release.wait(5)
        if self.fail is None and self.calls:
            return "gAAAAABprefetched-0123456789"
        self.calls += 1
        self.threads.append(threading.current_thread().name)
        if self.fail is not None:
            raise self.fail
        return "gAAAAABprefetched-0123456789"


def _early(monkeypatch, session):
    from types import SimpleNamespace

    from heat_k8s_hook.kube import keystone_auth

    def fake_open(self):
        self._auth, self._session = SimpleNamespace(auth_ref=None), session
        return session
    monkeypatch.setattr(keystone_auth.KeystoneCredentials, "_open", fake_open)
    made = []
    monkeypatch.setattr(keystone_auth, "Cluster", lambda creds: made.append(creds) or creds)
    dep = SimpleNamespace(options=SimpleNamespace(namespace="shop", kubeconfig=None,
                                                  context=None), inputs=SIGNAL)
    return keystone_auth.connector(dep, settings(), Masker().add), made


def test_the_token_is_fetched_once_before_connect_in_a_thread(monkeypatch):
    session = CountingSession()
    connect, made = _early(monkeypatch, session)
    session.release.set()          # Keystone answers while the run is still rendering
    creds = connect(Options())
    assert creds.token() == creds.token() == "gAAAAABprefetched-0123456789"
    assert session.calls == 1 and session.threads == ["keystone-token"]
    assert made == [creds]


def test_a_prefetch_failure_is_raised_by_the_runs_first_token(monkeypatch):
    from keystoneauth1 import exceptions as kse
    session = CountingSession(fail=kse.ConnectFailure("Connection refused"))
    connect, _ = _early(monkeypatch, session)
    session.release.set()
    creds = connect(Options())
    with pytest.raises(KeystoneUnreachable, match="connection refused"):
        creds.token()
    assert session.calls == 1      # raised from the prefetch, not asked again


def test_the_cluster_client_carries_the_token_without_importing_kubernetes(tmp_path):
    """Issue 27: Keystone mode's Cluster is built from a kubeconfig.Endpoint whose token is
    asked on every request (no `kubernetes` import, 0.3 s of a quiet run); every request
    carries the current token."""
    import subprocess
    import sys
    import textwrap

    import certifi
    script = textwrap.dedent(f"""
        import sys, types
        from heat_k8s_hook.kube.cluster import Cluster
        from heat_k8s_hook.kube.keystone_auth import KeystoneCredentials
        from heat_k8s_hook.config.keystone_settings import Identity, parse_keystone
        ks = parse_keystone("keystone", {{"server": "https://api.example:6443",
                                          "certificate_authority": {certifi.where()!r},
                                          "identity": "heat_signal"}})
        creds = KeystoneCredentials(Identity("http://k:5000/v3", "pw", user_id="u1",
                                             project_id="p1"), ks)
        class Session:
            def get_token(self):
                return creds._current
        creds._session, creds._auth = Session(), types.SimpleNamespace(auth_ref=None)
        creds._current = "gAAAAAfirst"
        cluster = Cluster(creds)
        assert cluster.host == "https://api.example:6443"
        assert cluster._headers()["Authorization"] == "Bearer gAAAAAfirst"
        creds._current = "gAAAAAsecond"   # renewed by keystoneauth
        assert cluster._headers()["Authorization"] == "Bearer gAAAAAsecond"
        assert "kubernetes" not in sys.modules, "kubernetes was imported"
        print("ok")
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert proc.stdout.strip() == "ok", proc.stderr[-2000:]


def test_a_ca_that_is_not_pem_is_code_9(tmp_path):
    bad = tmp_path / "ca.crt"
    bad.write_text("not a certificate\n")
    creds = KeystoneCredentials(Identity("http://k:5000/v3", SECRET, user_id="u1",
                                         project_id="p1"),
                                settings(certificate_authority=str(bad)))

    class Session:
        def get_token(self):
            return "gAAAAAtoken"
    creds._session, creds._auth = Session(), type("A", (), {"auth_ref": None})()
    with pytest.raises(Misconfigured, match="not a PEM certificate bundle"):
        creds.configuration()
