"""python -m heat_k8s_hook.tokenreview --config FILE: serve TokenReviews until stopped.

Exit codes: 2 bad configuration (one line naming the field), 3 Keystone unusable at start-up
(the stack-user domain lookup), 4 cannot listen (address in use, TLS files unreadable).
"""
from __future__ import annotations

import argparse
import logging
import signal
import ssl
import sys
import time

from .cache import TokenCache
from .config import ConfigError, load_config
from .keystone import Unavailable, Validator, make_session
from .server import Server

LOG = logging.getLogger("heat_k8s_hook.tokenreview")


def main(argv: list | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m heat_k8s_hook.tokenreview",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True, help="the webhook's YAML configuration")
    parser.add_argument("--debug", action="store_true", help="log every request line")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s tokenreview %(levelname)s %(message)s")
    for noisy in ("keystoneauth", "urllib3"):  # their debug logs would print request headers
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"tokenreview: {exc}", file=sys.stderr)
        return 2
    validator = Validator(config, make_session(config),
                          TokenCache(config.cache_ttl, config.cache_size, time.monotonic))
    try:
        validator.resolve_stack_domain()
    except Unavailable as exc:
        print(f"tokenreview: {exc}", file=sys.stderr)
        return 3
    try:
        server = Server(config, validator)
    except (OSError, ssl.SSLError) as exc:
        print(f"tokenreview: cannot serve on {config.host}:{config.port}: {exc.strerror or exc}",
              file=sys.stderr)
        return 4
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    LOG.info("serving TokenReview v1/v1beta1 on https://%s:%d (stack-user domain %s, cache %gs)",
             config.host, config.port, validator.stack_domain_id or "not set", config.cache_ttl)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
