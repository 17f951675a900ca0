"""The TokenReview webhook's pure parts (issue 13): mapping, cache, configuration, answers.

The mapping tables are k8s-keystone-auth's `AuthenticateToken` (cloud-provider-openstack
pkg/identity/keystone/authenticator.go) written as data. Keystone itself is exercised in
tests/e2e/test_tokenreview.py. Broken on purpose once each: the domain-id check in
`stack_owner_project` (test_owner_group_only_in_the_stack_domain went red on the look-alike
rows), the owner group never appended (its Heat-name rows went red), the project-id group
dropped (11 tests red), the expiry cap in `TokenCache.put` (test_cache_never_outlives_the_token
went red).
"""
import json
import logging

import pytest

from heat_k8s_hook.tokenreview import mapping
from heat_k8s_hook.tokenreview.cache import TokenCache, token_key
from heat_k8s_hook.tokenreview.config import ConfigError, parse_config
from heat_k8s_hook.tokenreview.keystone import Rejected, Unavailable
from heat_k8s_hook.tokenreview.server import answer

OWNER = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
STACK = "7d1f2e3c-4b5a-6978-8a9b-0c1d2e3f4a5b"
STACK_DOMAIN = "5c0ffee0000000000000000000000000"


def token(project_name="demo", project_domain="default", project_id="p1", roles=("member",)):
    return {
        "user": {"id": "u1", "name": "alice", "domain": {"id": "default", "name": "Default"}},
        "project": {"id": project_id, "name": project_name,
                    "domain": {"id": project_domain, "name": "whatever"}},
        "roles": [{"id": f"r-{r}", "name": r} for r in roles],
        "expires_at": "2099-01-01T00:00:00.000000Z",
    }


def test_mapping_is_k8s_keystone_auths():
    user = mapping.user_from_token(token(roles=("member", "reader")), ["devs", "ops"], None)
    assert user.as_json() == {
        "username": "alice", "uid": "u1", "groups": ["devs", "ops", "p1"],
        "extra": {
            "alpha.kubernetes.io/identity/roles": ["member", "reader"],
            "alpha.kubernetes.io/identity/project/id": ["p1"],
            "alpha.kubernetes.io/identity/project/name": ["demo"],
            "alpha.kubernetes.io/identity/user/domain/id": ["default"],
            "alpha.kubernetes.io/identity/user/domain/name": ["Default"],
        }}


@pytest.mark.parametrize("name, domain, configured, owner", [
    (f"{OWNER}-{STACK}"[:64], STACK_DOMAIN, STACK_DOMAIN, OWNER),        # Heat's own name
    (f"{OWNER}-{STACK}", STACK_DOMAIN, STACK_DOMAIN, OWNER),             # uncut
    (f"{OWNER}-{STACK}"[:64], "default", STACK_DOMAIN, None),            # look-alike elsewhere
    (f"{OWNER}-{STACK}"[:64], "heat", STACK_DOMAIN, None),               # domain *name* heat
    (f"{OWNER}-{STACK}"[:64], STACK_DOMAIN, None, None),                 # no stack domain set
    ("demo", STACK_DOMAIN, STACK_DOMAIN, None),                          # not a stack name
    (f"{OWNER[:31]}-{STACK}", STACK_DOMAIN, STACK_DOMAIN, None),          # 31 hex: not an id
    (f"{OWNER.upper()}-{STACK}", STACK_DOMAIN, STACK_DOMAIN, None),       # not Keystone's form
    (f"{OWNER}-{STACK} x", STACK_DOMAIN, STACK_DOMAIN, None),             # trailing junk
    (f"{OWNER}", STACK_DOMAIN, STACK_DOMAIN, None),                       # no stack part
])
def test_owner_group_only_in_the_stack_domain(name, domain, configured, owner):
    tok = token(project_name=name, project_domain=domain, project_id="sp1",
                roles=("heat_stack_user",))
    user = mapping.user_from_token(tok, [], configured)
    if owner:
        assert user.groups == ("sp1", owner)
        assert user.extra[mapping.STACK_OWNER] == [owner]
    else:
        assert user.groups == ("sp1",)
        assert mapping.STACK_OWNER not in user.extra


def test_unscoped_token_is_refused():
    tok = token()
    del tok["project"]
    with pytest.raises(ValueError, match="not scoped to a project"):
        mapping.user_from_token(tok, [], None)


@pytest.mark.parametrize("body, field", [
    (b"{", "request body"),
    (b"[]", "request body"),
    (b'{"apiVersion": "authentication.k8s.io/v2", "kind": "TokenReview"}', "apiVersion"),
    (b'{"apiVersion": "authentication.k8s.io/v1", "kind": "SubjectAccessReview"}', "kind"),
    (b'{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {}}',
     "spec.token"),
    (b'{"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": 5}}',
     "spec.token"),
])
def test_bad_reviews_name_the_field(body, field):
    with pytest.raises(mapping.BadReview) as err:
        mapping.parse_review(body)
    assert str(err.value).startswith(field)


@pytest.mark.parametrize("version", ["v1", "v1beta1"])
def test_both_versions_parse_and_answer_in_kind(version):
    body = json.dumps({"apiVersion": f"authentication.k8s.io/{version}", "kind": "TokenReview",
                       "spec": {"token": "tok"}}).encode()
    review = mapping.parse_review(body)
    assert review.api_version == f"authentication.k8s.io/{version}"
    assert "tok" not in repr(review)
    out = mapping.review_response(review.api_version, None, "no")
    assert out == {"apiVersion": f"authentication.k8s.io/{version}", "kind": "TokenReview",
                   "status": {"authenticated": False, "error": "no"}}


class Clock:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def test_cache_keeps_for_ttl_under_a_hash():
    clock = Clock()
    cache = TokenCache(30, 10, clock)
    cache.put("secret-token", "u")
    assert cache.get("secret-token") == "u"
    assert "secret-token" not in repr(cache._entries)
    assert token_key("secret-token") in cache._entries
    clock.t += 29.9
    assert cache.get("secret-token") == "u"
    clock.t += 0.2
    assert cache.get("secret-token") is None


def test_cache_never_outlives_the_token():
    clock = Clock()
    cache = TokenCache(30, 10, clock)
    cache.put("t", "u", expires_at=clock.t + 5)
    clock.t += 5
    assert cache.get("t") is None
    cache.put("t", "u", expires_at=clock.t - 1)  # already expired: not kept at all
    assert len(cache) == 0


def test_cache_is_bounded_and_can_be_off():
    clock = Clock()
    cache = TokenCache(30, 2, clock)
    for t in ("a", "b", "c"):
        cache.put(t, t)
    assert cache.get("a") is None and cache.get("c") == "c"
    off = TokenCache(0, 10, clock)
    off.put("a", "a")
    assert off.get("a") is None


def _doc(tmp_path, **over):
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    doc = {"listen": "127.0.0.1:9443", "tls_cert_file": str(cert), "tls_key_file": str(cert),
           "keystone": {"auth_url": "http://k/v3", "username": "svc", "password": "pw-CANARY"}}
    doc.update(over)
    return doc


def test_config_defaults(tmp_path):
    cfg = parse_config(_doc(tmp_path))
    assert (cfg.host, cfg.port, cfg.cache_ttl, cfg.keystone["auth_type"]) == \
        ("127.0.0.1", 9443, 30.0, "password")
    assert "pw-CANARY" not in repr(cfg)


@pytest.mark.parametrize("over, field", [
    ({"listen": "nowhere"}, "listen"),
    ({"tls_cert_file": "/no/such"}, "tls_cert_file"),
    ({"tls_key_file": None}, "tls_key_file"),
    ({"cache_ttl": -1}, "cache_ttl"),
    ({"cache_ttl": "30"}, "cache_ttl"),
    ({"keystone": "x"}, "keystone"),
    ({"keystone": {"password": "pw-CANARY"}}, "keystone.auth_url"),
    ({"keystone": {"auth_url": "u", "password": ["pw-CANARY"]}}, "keystone.password"),
    ({"keystone": {"auth_url": "u", "interface": "private"}}, "keystone.interface"),
    ({"stack_user_domain_id": ""}, "stack_user_domain_id"),
])
def test_config_errors_name_the_field_not_the_value(tmp_path, over, field):
    with pytest.raises(ConfigError) as err:
        parse_config(_doc(tmp_path, **over))
    assert str(err.value).startswith(field) and "CANARY" not in str(err.value)


class FakeValidator:
    def __init__(self, outcome):
        self.outcome = outcome

    def validate(self, tok, stats=None):
        if isinstance(self.outcome, Exception):
            raise self.outcome
        return self.outcome, False


@pytest.mark.parametrize("outcome, authenticated", [
    (mapping.User("alice", "u1", ("p1",), {}), True),
    (Rejected("Keystone does not know the token"), False),
    (Unavailable("Keystone answered 503"), False),
])
def test_answers_never_echo_the_token(caplog, outcome, authenticated):
    caplog.set_level(logging.DEBUG)
    body = json.dumps({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                       "spec": {"token": "tok-CANARY"}}).encode()
    status, doc = answer(FakeValidator(outcome), body)
    assert status == 200 and doc["status"]["authenticated"] is authenticated
    assert "CANARY" not in json.dumps(doc) and "CANARY" not in caplog.text
