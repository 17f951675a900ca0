"""The webhook's Keystone side without Keystone (issue 27): calls per review, the group cache,
the connection pool. A fake keystoneauth session answers and counts; Keystone itself is
exercised in tests/e2e/test_tokenreview.py.

Broken on purpose once each: the group cache never consulted in `Validator.validate`
(test_a_new_token_of_a_known_user_costs_one_call went red: 2 calls), the group cache's TTL
not applied (test_groups_are_asked_again_after_the_ttl and
test_cache_off_means_groups_off_too went red), `make_session` without its
pooled requests session (test_the_keystone_pool_holds_the_servers_concurrency went red: 10),
the cost tail left off the log line (test_the_log_line_counts_keystone_calls went red).
"""
import json
import logging

import pytest

from heat_k8s_hook.tokenreview import keystone
from heat_k8s_hook.tokenreview.cache import TokenCache
from heat_k8s_hook.tokenreview.config import parse_config
from heat_k8s_hook.tokenreview.keystone import Rejected, Validator
from heat_k8s_hook.tokenreview.server import answer


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


class Resp:
    def __init__(self, status, doc=None):
        self.status_code, self._doc = status, doc or {}

    def json(self):
        return self._doc


class FakeSession:
    """GET /auth/tokens answers the token body of a known token, 404 otherwise; GET
    /users/{id}/groups answers the groups. Counts every call by path."""

    def __init__(self, tokens, groups):
        self.tokens, self.group_names, self.calls = tokens, groups, []

    def get(self, path, headers=None, **_):
        self.calls.append(path.split("?")[0])
        if path.startswith("/auth/tokens"):
            body = self.tokens.get(headers["X-Subject-Token"])
            return Resp(200, {"token": body}) if body else Resp(404)
        user_id = path.split("/")[2]
        return Resp(200, {"groups": [{"name": g} for g in self.group_names.get(user_id, [])]})


def body(user_id="u1", project_id="p1"):
    return {"user": {"id": user_id, "name": f"name-{user_id}", "domain": {"id": "default"}},
            "project": {"id": project_id, "name": "demo", "domain": {"id": "default"}},
            "roles": [{"name": "member"}], "expires_at": "2999-01-01T00:00:00.000000Z"}


@pytest.fixture
def config(tmp_path):
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    return parse_config({"tls_cert_file": str(cert), "tls_key_file": str(cert),
                         "keystone": {"auth_url": "http://k/v3", "password": "pw"}})


def validator(config, session, clock):
    return Validator(config, session, TokenCache(30, 100, clock))


def test_a_new_token_of_a_known_user_costs_one_call(config):
    session = FakeSession({"t1": body(), "t2": body()}, {"u1": ["ops"]})
    v = validator(config, session, Clock())
    stats = {}
    user, cached = v.validate("t1", stats)
    assert (cached, stats["keystone_calls"], user.groups) == (False, 2, ("ops", "p1"))
    stats = {}
    user, cached = v.validate("t2", stats)   # another token, same user: its groups are known
    assert (cached, stats["keystone_calls"], user.groups) == (False, 1, ("ops", "p1"))
    stats = {}
    assert v.validate("t1", stats)[1] is True and stats.get("keystone_calls", 0) == 0
    assert session.calls == ["/auth/tokens", "/users/u1/groups", "/auth/tokens"]


def test_groups_are_asked_again_after_the_ttl(config):
    clock = Clock()
    session = FakeSession({"t1": body(), "t2": body()}, {"u1": ["ops"]})
    v = validator(config, session, clock)
    v.validate("t1")
    session.group_names["u1"] = ["ops", "admins"]   # a group added in Keystone
    clock.t += 30
    user, _ = v.validate("t2")
    assert user.groups == ("ops", "admins", "p1")
    assert session.calls.count("/users/u1/groups") == 2


def test_a_rejected_token_is_asked_every_time_and_caches_nothing(config):
    session = FakeSession({}, {})
    v = validator(config, session, Clock())
    for _ in range(2):
        stats = {}
        with pytest.raises(Rejected):
            v.validate("bad", stats)
        assert stats["keystone_calls"] == 1
    assert len(v.cache) == 0 and len(v.groups) == 0


def test_cache_off_means_groups_off_too(tmp_path):
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    cfg = parse_config({"tls_cert_file": str(cert), "tls_key_file": str(cert), "cache_ttl": 0,
                        "keystone": {"auth_url": "http://k/v3", "password": "pw"}})
    session = FakeSession({"t1": body(), "t2": body()}, {"u1": []})
    v = Validator(cfg, session, TokenCache(cfg.cache_ttl, 10, Clock()))
    v.validate("t1")
    v.validate("t2")
    assert session.calls.count("/users/u1/groups") == 2


def test_the_keystone_pool_holds_the_servers_concurrency(config):
    session = keystone.make_session(config)
    adapter = session.session.get_adapter("http://keystone.example/v3")
    assert adapter._pool_maxsize == keystone.POOL_SIZE >= 50
    assert session.session.get_adapter("https://keystone.example/v3")._pool_maxsize == \
        keystone.POOL_SIZE


def test_the_log_line_counts_keystone_calls(config, caplog):
    caplog.set_level(logging.INFO)
    session = FakeSession({"tok-CANARY": body()}, {"u1": []})
    v = validator(config, session, Clock())
    doc = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
           "spec": {"token": "tok-CANARY"}}
    for _ in range(2):
        status, out = answer(v, json.dumps(doc).encode())
        assert status == 200 and out["status"]["authenticated"] is True
    first, second = [r.getMessage() for r in caplog.records]
    assert "name-u1" in first and "[2 Keystone calls " in first and first.endswith(" ms]")
    assert "(cached) [0 Keystone calls 0.0 ms, " in second
    assert "CANARY" not in caplog.text
