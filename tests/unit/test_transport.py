"""The one transport interface, both implementations, against one TLS test server: answers,
keep-alive, parallel requests, watch streams, TLS verification, timeouts, connection faults,
and retry.py's handling of a transient answer through cluster.Cluster (issue 25).

Checked by breaking each once: with `_release` never keeping a connection, the keep-alive case
went red for the socket transport; with `Endpoint.tls` never verifying (as if every kubeconfig
said insecure-skip-tls-verify), the certificate cases went red for both; with the chunked reader
yielding bytes that are not the body, the watch case went red."""
from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from pki import ApiServer, make_pki

from heat_k8s_hook.errors import ApplyRejected, ClusterUnreachable
from heat_k8s_hook.kube import retry
from heat_k8s_hook.kube.cluster import ApiError, Cluster, Credentials, NotFound
from heat_k8s_hook.kube.kubeconfig import Endpoint
from heat_k8s_hook.kube.tinykube import SocketTransport
from heat_k8s_hook.kube.transport import PoolTransport

TRANSPORTS = {"pool": PoolTransport, "socket": SocketTransport}


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def server(pki):
    with ApiServer(pki) as srv:
        yield srv


def endpoint(pki, srv, **over) -> Endpoint:
    fields = {"server": srv.url, "ca": pki["ca"].read_bytes(), "token": "t0ken",
              "client_cert": pki["client"].read_bytes(),
              "client_key": pki["client_key"].read_bytes()}
    fields.update(over)
    return Endpoint(**fields)


def send(transport, path: str = "/api/v1/x", timeout: float = 5.0):
    auth = transport.endpoint.authorization()
    return transport.request("GET", path, None, {"Accept": "application/json",
                                                 **({"Authorization": auth} if auth else {})},
                             timeout)


@pytest.mark.parametrize("kind", TRANSPORTS)
def test_an_answer_its_headers_and_the_credentials_sent(kind, pki, server):
    t = TRANSPORTS[kind](endpoint(pki, server), 4)
    for path in ("/api/v1/x?labelSelector=a%3Db", "/chunked"):
        resp = send(t, path)
        seen = json.loads(resp.body)
        assert resp.status == 200 and resp.headers["content-type"] == "application/json"
        assert seen["path"] == path and seen["auth"] == "Bearer t0ken"
        assert seen["client"] == [[["commonName", "client"]]]   # the client certificate
    posted = t.request("POST", "/echo", b'{"a": 1}', {"Content-Type": "application/json"}, 5)
    assert json.loads(posted.body) == {"body": '{"a": 1}', "type": "application/json"}
    assert send(t, "/missing").status == 404   # an error answer is returned, not raised
    t.close()


@pytest.mark.parametrize("kind", TRANSPORTS)
def test_connections_are_kept_alive_and_shared_by_threads(kind, pki, server):
    t = TRANSPORTS[kind](endpoint(pki, server), 4)
    for _ in range(5):
        assert send(t).status == 200
    assert len(set(server.peers)) == 1, "one connection for five requests in a row"
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda n: json.loads(send(t, f"/api/v1/n{n}").body)["path"],
                                range(64)))
    assert answers == [f"/api/v1/n{n}" for n in range(64)]   # every thread its own answer
    t.close()


@pytest.mark.parametrize("kind", TRANSPORTS)
def test_a_watch_streams_events_split_across_chunks(kind, pki, server):
    t = TRANSPORTS[kind](endpoint(pki, server), 2)
    stream = t.stream("GET", "/watch?watch=1", {}, 5)
    try:
        assert stream.status == 200
        assert [json.loads(line)["object"]["n"] for line in stream.lines()] == [0, 1, 2]
    finally:
        stream.close()
    assert send(t).status == 200   # the transport goes on after a stream
    t.close()


@pytest.mark.parametrize("kind", TRANSPORTS)
@pytest.mark.parametrize("over, words", [
    ({"ca": "other_ca"}, "not trusted by the kubeconfig's CA"),
    ({"tls_server_name": "elsewhere.test"}, "TLS handshake"),
])
def test_the_servers_certificate_is_verified(kind, pki, server, over, words):
    fields = {k: (pki[v].read_bytes() if k == "ca" else v) for k, v in over.items()}
    t = TRANSPORTS[kind](endpoint(pki, server, **fields), 2)
    with pytest.raises(ClusterUnreachable) as err:
        send(t)
    assert "TLS handshake" in err.value.message and words in err.value.message
    assert not retry.is_transient("GET", err.value)   # no retry fixes a trust problem
    insecure = TRANSPORTS[kind](endpoint(pki, server, insecure=True, **fields), 2)
    assert send(insecure).status == 200      # insecure-skip-tls-verify: not verified


@pytest.mark.parametrize("kind", TRANSPORTS)
def test_a_refused_connection_and_a_timeout_are_transient_faults(kind, pki, server):
    t = TRANSPORTS[kind](endpoint(pki, server), 2)
    with pytest.raises(retry.ConnectionFault) as slow:
        send(t, "/slow", timeout=0.5)
    assert slow.value.sent and "timed out" in slow.value.message
    closed = TRANSPORTS[kind](endpoint(pki, server, server="https://127.0.0.1:9"), 2)
    with pytest.raises(retry.ConnectionFault) as refused:
        send(closed)
    assert not refused.value.sent and "connection refused" in refused.value.message
    assert retry.is_transient("POST", refused.value)   # never reached the server


class Fixed(Credentials):
    def __init__(self, ep: Endpoint):
        self.ep = ep

    def configuration(self) -> Endpoint:
        return self.ep


@pytest.mark.parametrize("kind", TRANSPORTS)
def test_the_client_retries_a_503_and_raises_api_errors_that_are_not_rejections(kind, pki,
                                                                                 server):
    cluster = Cluster(Fixed(endpoint(pki, server)), 4, transport=TRANSPORTS[kind])
    assert cluster.get("/flaky")["path"] == "/flaky" and cluster.retried == 1
    with pytest.raises(NotFound) as err:
        cluster.get("/missing")
    assert err.value.status == 404 and err.value.message == 'configmaps "x" not found'
    assert isinstance(err.value, ApiError) and not isinstance(err.value, ApplyRejected)
    events = list(cluster.watch("/watch", {}, 5))
    assert [e["object"]["n"] for e in events] == [0, 1, 2]


def test_a_token_asked_on_every_request(pki, server):
    tokens = iter(["first", "second"])
    ep = endpoint(pki, server, token=None, dynamic=lambda: f"Bearer {next(tokens)}")
    cluster = Cluster(Fixed(ep), 2, transport=SocketTransport)
    assert [cluster.get("/a")["auth"], cluster.get("/b")["auth"]] == \
        ["Bearer first", "Bearer second"]


def test_threads_never_read_each_others_answers(pki, server):
    """The socket transport under the applier's pool: 4 threads, 200 requests, no mix-up."""
    t = SocketTransport(endpoint(pki, server), 4)
    errors: list = []

    def worker(n: int) -> None:
        for i in range(50):
            path = f"/api/v1/t{n}-{i}"
            if json.loads(send(t, path).body)["path"] != path:
                errors.append(path)
    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors


def test_a_plain_kubeconfig_run_never_imports_kubernetes(pki, server, tmp_path):
    """The full path's client for a plain kubeconfig: the stdlib reader, no `kubernetes`
    (225 ms of start-up; seen red with KubeconfigCredentials asking the kubernetes loader
    first)."""
    import subprocess
    import sys
    import textwrap
    kc = tmp_path / "kubeconfig"
    kc.write_text(f"apiVersion: v1\nkind: Config\ncurrent-context: c\nclusters:\n- name: c\n"
                  f"  cluster:\n    server: {server.url}\n    certificate-authority: {pki['ca']}\n"
                  f"contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\n"
                  f"users:\n- name: u\n  user:\n    token: t0ken\n")
    kc.chmod(0o600)
    script = textwrap.dedent(f"""
        import sys
        from heat_k8s_hook.kube.cluster import Cluster, KubeconfigCredentials
        cluster = Cluster(KubeconfigCredentials({str(kc)!r}))
        assert cluster.get("/api/v1/x")["auth"] == "Bearer t0ken"
        print(sorted(m for m in sys.modules if m.split(".")[0] == "kubernetes"))
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert proc.stdout.strip() == "[]", proc.stderr[-2000:] or proc.stdout


def test_the_full_paths_default_is_the_sockets_and_the_pool_only_where_they_cannot_go(pki, server):
    """The standard library's sockets carry a run's requests (half urllib3's CPU per request);
    urllib3's pool only behind a proxy or for a plain-http server."""
    direct = Cluster(Fixed(endpoint(pki, server)))
    assert type(direct.transport) is SocketTransport
    assert direct.get("/a")["auth"] == "Bearer t0ken"
    proxied = Cluster(Fixed(endpoint(pki, server, proxy="http://127.0.0.1:9")))
    assert type(proxied.transport) is PoolTransport
    plain = Cluster(Fixed(endpoint(pki, server, server="http://127.0.0.1:9")))
    assert type(plain.transport) is PoolTransport
