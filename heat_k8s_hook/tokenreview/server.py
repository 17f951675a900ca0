"""The HTTPS server: POST a TokenReview (v1 or v1beta1), get the answer (I/O).

Any path answers TokenReviews (the API server posts to the kubeconfig's server URL);
GET /healthz answers `ok` for start-up scripts. Logs name users, never tokens.
"""
from __future__ import annotations

import json
import logging
import ssl
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .config import Config
from .keystone import Rejected, Unavailable, Validator, describe
from .mapping import BadReview, parse_review, review_response

LOG = logging.getLogger("heat_k8s_hook.tokenreview")
MAX_BODY = 64 * 1024


def _cost(stats: dict, started: float) -> str:
    """A log line's tail: the Keystone calls this review made (and the time they took), and
    the review's time in the webhook."""
    calls = stats.get("keystone_calls", 0)
    return (f" [{calls} Keystone call{'' if calls == 1 else 's'} "
            f"{stats.get('keystone_s', 0.0) * 1000:.1f} ms, "
            f"{(time.monotonic() - started) * 1000:.1f} ms]")


def answer(validator: Validator, body: bytes) -> tuple:
    """(HTTP status, response document) for one request body."""
    started, stats = time.monotonic(), {}
    try:
        review = parse_review(body)
    except BadReview as exc:
        LOG.info("bad request: %s", exc)
        return 400, {"error": str(exc)}
    try:
        user, cached = validator.validate(review.token, stats)
    except Rejected as exc:
        LOG.info("%s: not authenticated: %s%s", review.api_version, exc, _cost(stats, started))
        return 200, review_response(review.api_version, None, str(exc))
    except Unavailable as exc:
        LOG.warning("%s: not authenticated: %s%s", review.api_version, exc,
                    _cost(stats, started))
        return 200, review_response(review.api_version, None, "Keystone is unavailable")
    LOG.info("%s: authenticated %s%s%s", review.api_version, describe(user),
             " (cached)" if cached else "", _cost(stats, started))
    return 200, review_response(review.api_version, user)


class Handler(BaseHTTPRequestHandler):
    server_version = "heat-k8s-hook-tokenreview"
    protocol_version = "HTTP/1.1"
    # Issue 27: the head and the body used to leave in two writes, and Nagle's algorithm held
    # the second until the client's delayed ACK (40 ms on Linux) on every keep-alive review.
    # Now one buffered write per answer (flushed by handle_one_request), sent at once.
    disable_nagle_algorithm = True
    wbufsize = 64 * 1024

    def _send(self, status: int, doc) -> None:
        raw = isinstance(doc, bytes)
        data = doc if raw else (json.dumps(doc) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain" if raw else "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path == "/healthz":
            self._send(200, b"ok\n")
        else:
            self._send(404, {"error": "POST a TokenReview"})

    def do_POST(self) -> None:  # noqa: N802
        try:
            length = int(self.headers.get("Content-Length") or "")
        except ValueError:
            self._send(411, {"error": "Content-Length required"})
            return
        if not 0 < length <= MAX_BODY:
            self._send(413, {"error": f"body must be 1..{MAX_BODY} bytes"})
            return
        body = self.rfile.read(length)
        try:
            status, doc = answer(self.server.validator, body)
        except Exception as exc:  # noqa: BLE001 a bug: answer 500, log the type only
            LOG.error("internal error answering a review: %s", type(exc).__name__)
            status, doc = 500, {"error": "internal error"}
        self._send(status, doc)

    def log_message(self, fmt, *args) -> None:  # the request line only; bodies hold tokens
        LOG.debug("%s %s", self.address_string(), fmt % args)


def tls_context(config: Config) -> ssl.SSLContext:
    """Server TLS (1.2+); client certificates required when tls_client_ca_file is set."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(config.tls_cert_file, config.tls_key_file)
    if config.tls_client_ca_file:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(config.tls_client_ca_file)
    return ctx


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # kube-apiservers send bursts; socketserver's default is 5

    def __init__(self, config: Config, validator: Validator):
        super().__init__((config.host, config.port), Handler)
        self.validator = validator
        # The handshake runs in the request's thread (finish_request), not in the accept loop.
        self.socket = tls_context(config).wrap_socket(self.socket, server_side=True,
                                                      do_handshake_on_connect=False)

    def finish_request(self, request, client_address) -> None:
        request.settimeout(30)
        request.do_handshake()
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):  # TLS handshake failures, resets, timeouts
            LOG.info("connection from %s ended: %s: %s", client_address[0], type(exc).__name__, exc)
        else:  # a bug; the type only, in case its message quotes request data
            LOG.error("internal error serving %s: %s", client_address[0], type(exc).__name__)
