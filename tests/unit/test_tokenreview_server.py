"""The webhook's HTTP handler on a real loopback TCP connection (no TLS): one keep-alive
connection, several reviews, each answer sent at once (issue 27).

Broken on purpose once: with `Handler.disable_nagle_algorithm` and `wbufsize` left at
http.server's defaults, test_answers_leave_at_once went red (TCP_NODELAY off; measured
by bench/webhook_load.py, every cached review then took 40 ms: head and body in two writes,
the second held by Nagle until the client's delayed ACK).
"""
import http.client
import json
import socket
import threading
from types import SimpleNamespace

from heat_k8s_hook.tokenreview import mapping
from heat_k8s_hook.tokenreview.server import Handler


class Validator:
    def validate(self, token, stats=None):
        return mapping.User("alice", "u1", ("p1",), {}), True


def serve_one_connection(listener, seen):
    conn, addr = listener.accept()
    seen.append(conn)
    Handler(conn, addr, SimpleNamespace(validator=Validator()))
    conn.close()


def test_answers_leave_at_once():
    listener = socket.create_server(("127.0.0.1", 0))
    seen = []
    thread = threading.Thread(target=serve_one_connection, args=(listener, seen), daemon=True)
    thread.start()
    client = http.client.HTTPConnection("127.0.0.1", listener.getsockname()[1], timeout=10)
    body = json.dumps({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                       "spec": {"token": "t"}})
    for _ in range(3):   # keep-alive: three answers on one connection
        client.request("POST", "/", body=body, headers={"Content-Type": "application/json"})
        resp = client.getresponse()
        doc = json.loads(resp.read())
        assert resp.status == 200 and doc["status"]["user"]["username"] == "alice"
    assert seen[0].getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    assert Handler.wbufsize > 0   # head and body in one write
    client.close()
    thread.join(10)
    listener.close()
