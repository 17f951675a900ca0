"""One kubeconfig reader, one config type (issue 25): the fast path (tinykube.Client), the full
path (cluster.KubeconfigCredentials) and the `kubernetes` package's own loader read every
kubeconfig of a set to the same Endpoint, so the two paths cannot drift apart again.

Checked by breaking the reader once each: with `tls-server-name` dropped, with a relative
certificate path taken from the working directory, with `''` left undoubled in a quoted token,
and with a non-current context ignored, the matching case went red; with exec credentials
read as a token, the beyond-the-subset case went red.
"""
from __future__ import annotations

import base64
import os

import pytest

from heat_k8s_hook.errors import CredentialsRejected
from heat_k8s_hook.kube import kubeconfig, tinykube
from heat_k8s_hook.kube.cluster import KubeconfigCredentials
from heat_k8s_hook.kube.kubeconfig import Endpoint, Unsupported

CA, CERT, KEY = b"--CA PEM--\n", b"--CLIENT CERT PEM--\n", b"--CLIENT KEY PEM--\n"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def config(cluster: str, user: str, extra: str = "", current: str = "main") -> str:
    return (f"apiVersion: v1\nkind: Config\ncurrent-context: {current}\n"
            f"clusters:\n- name: c\n  cluster:\n{cluster}"
            f"contexts:\n- name: main\n  context:\n    cluster: c\n    user: u\n{extra}"
            f"users:\n- name: u\n  user:\n{user}preferences: {{}}\n")


KIND = config(f"    certificate-authority-data: {b64(CA)}\n    server: https://127.0.0.1:6443\n",
              f"    client-certificate-data: {b64(CERT)}\n    client-key-data: {b64(KEY)}\n")
KUBECONFIGS = {
    "kind": KIND,
    "quoted token, comments, a document start": "---\n# written by hand\n" + config(
        "    server: 'https://api.example:6443/'\n"
        f"    certificate-authority-data: \"{b64(CA)}\"\n",
        "    token: 'abc''def'\n"),
    "files relative to the kubeconfig": config(
        "    certificate-authority: pki/ca.crt\n    server: https://10.0.0.1:443\n",
        "    client-certificate: pki/client.crt\n    client-key: pki/client.key\n"),
    "tokenFile": config("    server: https://api.example\n", "    tokenFile: pki/token\n"),
    "insecure-skip-tls-verify": config(
        "    insecure-skip-tls-verify: true\n    server: https://api.example:6443\n",
        "    token: t0k3n\n"),
    "tls-server-name": config(
        f"    certificate-authority-data: {b64(CA)}\n    server: https://10.0.0.1:6443\n"
        "    tls-server-name: kubernetes.default\n", "    token: t0k3n\n"),
    "a path prefix": config("    server: https://proxy.example/k8s/clusters/c-1\n",
                            "    token: t0k3n\n"),
    "the context option": config(
        "    server: https://api.example:6443\n", "    token: t0k3n\n",
        extra="- name: other\n  context:\n    cluster: c\n    user: u\n", current="nope"),
}
CONTEXT = {"the context option": "other"}


def write(tmp_path, text: str) -> str:
    (tmp_path / "pki").mkdir()
    for name, data in (("ca.crt", CA), ("client.crt", CERT), ("client.key", KEY),
                       ("token", b"from-a-file")):   # kubectl strips a final newline, as
        #                                                   kubeconfig.read does; the kubernetes
        #                                                   loader would send it in the header
        (tmp_path / "pki" / name).write_bytes(data)
    path = tmp_path / "kubeconfig"
    path.write_text(text)
    path.chmod(0o600)
    return str(path)


def facts(ep: Endpoint) -> tuple:
    """What decides where a request goes and who it claims to be."""
    return (ep.server, ep.ca, ep.insecure, ep.server_name, ep.client_cert, ep.client_key,
            ep.authorization(), ep.proxy)


def by_kubernetes(path: str, context) -> Endpoint:
    """The `kubernetes` package's loader: the oracle for what a kubeconfig means."""
    from kubernetes import client
    from kubernetes import config as kconfig
    cfg = client.Configuration()
    kconfig.load_kube_config(config_file=path, context=context, client_configuration=cfg,
                             persist_config=False)
    return kubeconfig.from_client_configuration(cfg)


@pytest.mark.parametrize("name", KUBECONFIGS)
def test_fast_and_full_path_read_a_kubeconfig_alike(name, tmp_path, monkeypatch):
    path = write(tmp_path, KUBECONFIGS[name])
    monkeypatch.chdir("/")   # relative files are the kubeconfig's, not the cwd's
    context = CONTEXT.get(name)
    # the fast path's client (its TLS context needs a real CA: the insecure case has none)
    fast = tinykube.Client(path, context).transport.endpoint if "insecure" in name else \
        kubeconfig.read(path, context)
    full = KubeconfigCredentials(path, context).configuration()
    oracle = by_kubernetes(path, context)
    assert facts(fast) == facts(full) == facts(oracle)


def test_what_the_reader_finds(tmp_path):
    """The set above is not read alike by accident: a few facts, spelled out."""
    ep = kubeconfig.read(write(tmp_path, KUBECONFIGS["files relative to the kubeconfig"]))
    assert (ep.server, ep.ca, ep.client_cert, ep.client_key) == \
        ("https://10.0.0.1:443", CA, CERT, KEY)
    quoted = KUBECONFIGS["quoted token, comments, a document start"]
    ep = kubeconfig.endpoint_of(kubeconfig.parse_kubeconfig(quoted), None, str(tmp_path))
    assert ep.server == "https://api.example:6443" and ep.authorization() == "Bearer abc'def"
    ep = kubeconfig.endpoint_of(kubeconfig.parse_kubeconfig(KUBECONFIGS["a path prefix"]),
                                None, "")
    assert (ep.hostname, ep.port, ep.prefix) == ("proxy.example", 443, "/k8s/clusters/c-1")


@pytest.mark.parametrize("user", [
    "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: aws\n",
    "    auth-provider:\n      name: oidc\n",
    "    token: &t abc\n",
    "    username: admin\n    password: secret\n",
])
def test_beyond_the_plain_subset_the_fast_path_gives_up(user, tmp_path):
    """Exec plugins, auth providers, anchors, basic auth: the stdlib reader says Unsupported
    (the fast path returns None, the full path asks the `kubernetes` loader)."""
    path = write(tmp_path, config("    server: https://api.example:6443\n", user))
    with pytest.raises(Unsupported):
        kubeconfig.read(path)
    with pytest.raises(Unsupported):
        tinykube.Client(path, None)


def test_the_full_path_reads_basic_auth_through_the_kubernetes_loader(tmp_path):
    path = write(tmp_path, config("    server: https://api.example:6443\n",
                                  "    username: admin\n    password: secret\n"))
    ep = KubeconfigCredentials(path).configuration()
    assert ep.authorization() == "Basic " + b64(b"admin:secret")


def test_a_kubeconfig_nobody_can_read_is_code_4_without_its_content(tmp_path):
    path = write(tmp_path, "users: [ {name: u, user: {token: s3cr3t-value\n")
    with pytest.raises(CredentialsRejected) as err:
        KubeconfigCredentials(path).configuration()
    assert "s3cr3t" not in err.value.message and os.path.basename(path) in err.value.message
