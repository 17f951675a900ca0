"""One way to validate configs (schema.py): the four configs share one unknown-key rule and one
error format that names the field by its path and never echoes the value.

The four: the deployment's `options` (code 2), the operator's hook.yaml and its `keystone`
map (code 9), the TokenReview webhook's file (its ConfigError, exit 2). Seen red by making
`schema.label` return the key as given (the masking tests), by dropping the key in
`Invalid.under` (the path tests) and by setting `rest` on the webhook's CONFIG record (the
webhook's unknown key was accepted before this mechanism).
"""
from __future__ import annotations

import re

import pytest

from heat_k8s_hook import schema
from heat_k8s_hook.config.settings import parse_settings
from heat_k8s_hook.errors import InvalidInput, Misconfigured
from heat_k8s_hook.input.deployment import KNOWN_OPTIONS, parse_options
from heat_k8s_hook.schema import Field, Invalid, Record, Where, check
from heat_k8s_hook.tokenreview.config import ConfigError, parse_config

SECRET = "Zq9-canary-s3cr3t"
HOOK_YAML = "/etc/heat-k8s-hook/hook.yaml"
KS = {"server": "https://api.example:6443", "certificate_authority": "/etc/k/ca.crt",
      "identity": "heat_signal"}


def _webhook_doc(tmp_path, **over) -> dict:
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    doc = {"tls_cert_file": str(cert), "tls_key_file": str(cert),
           "keystone": {"auth_url": "http://k/v3", "username": "svc", "password": SECRET}}
    doc.update(over)
    return doc


def _refusal(config: str, tmp_path, over: dict) -> Exception:
    """The error one of the four configs raises for a document with `over` merged in."""
    if config == "options":
        call, error = lambda: parse_options(over), InvalidInput
    elif config == "hook.yaml":
        call, error = lambda: parse_settings(over, HOOK_YAML), Misconfigured
    elif config == "keystone":
        call, error = lambda: parse_settings({"keystone": dict(KS, **over)}, HOOK_YAML), \
            Misconfigured
    else:
        call, error = lambda: parse_config(_webhook_doc(tmp_path, **over)), ConfigError
    with pytest.raises(error) as info:
        call()
    return info.value


def _text(exc: Exception) -> str:
    return getattr(exc, "message", None) or str(exc)


# where each config's unknown key is reported, and the noun it lists keys with
UNKNOWN = [
    ("options", "options", "option"),
    ("hook.yaml", f"settings {HOOK_YAML}", "setting"),
    ("keystone", f"settings {HOOK_YAML}: keystone", "key"),
    ("webhook", "config", "key"),
]


@pytest.mark.parametrize("config, where, noun", UNKNOWN)
def test_an_unknown_key_is_refused_the_same_way_in_all_four(config, where, noun, tmp_path):
    message = _text(_refusal(config, tmp_path, {"colour": 1, "aardvark": 2}))
    head = f"{where}: unknown {noun}(s) aardvark, colour; known {noun}s: "
    assert message.startswith(head), message
    known = message[len(head):].split(", ")
    assert known == sorted(known) and "colour" not in known and len(known) > 2


@pytest.mark.parametrize("config, where, noun", UNKNOWN)
def test_a_key_that_is_not_a_name_is_not_echoed_in_any_of_the_four(config, where, noun, tmp_path):
    message = _text(_refusal(config, tmp_path, {SECRET + " \n": 1}))
    assert message.startswith(f"{where}: unknown {noun}(s) (a key that is not a name); ")
    assert SECRET not in message and "\n" not in message


def test_the_webhook_refuses_a_misspelt_key_it_used_to_ignore(tmp_path):
    """`cache_tll: 0` was ignored silently (tokens cached for 30 s); now refused, named."""
    message = str(_refusal("webhook", tmp_path, {"cache_tll": 0}))
    assert message.startswith("config: unknown key(s) cache_tll; known keys: cache_size, ")
    assert "cache_ttl" in message


@pytest.mark.parametrize("config, over, field", [
    ("options", {"wait": SECRET}, "option wait: expected true or false, got text"),
    ("options", {"timeout": SECRET}, "option timeout: expected a number of seconds"),
    ("options", {"secret_inputs": SECRET}, "option secret_inputs: expected a list"),
    ("hook.yaml", {"default_kubeconfig": SECRET}, f"settings {HOOK_YAML}: default_kubeconfig: "
                                                  "expected an absolute path"),
    ("hook.yaml", {"max_timeout": SECRET}, f"settings {HOOK_YAML}: max_timeout: expected a "
                                           "number greater than 0"),
    ("keystone", {"server": f"http://{SECRET}"}, f"settings {HOOK_YAML}: keystone.server: "
                                                 "expected an https:// URL"),
    ("keystone", {"identity": SECRET}, f"settings {HOOK_YAML}: keystone.identity: expected one "
                                       "of heat_signal, clouds_yaml"),
    ("webhook", {"listen": SECRET}, "listen: expected HOST:PORT"),
    ("webhook", {"cache_ttl": SECRET}, "cache_ttl: expected a number >= 0"),
    ("webhook", {"user_agent": [SECRET]}, "user_agent: expected a non-empty string, got a list"),
])
def test_a_wrong_type_names_the_field_never_the_value(config, over, field, tmp_path):
    message = _text(_refusal(config, tmp_path, over))
    assert message.startswith(field), message
    assert SECRET not in message


@pytest.mark.parametrize("config, over, field", [
    ("options", {"wait_rules": {"apps/Deployment": SECRET.encode()}},
     "option wait_rules.apps/Deployment: expected a condition type"),
    ("options", {"outputs": {"ip": SECRET}}, "option outputs.ip: expected \"Kind/name:"),
    ("options", {"secret_inputs": ["a", 7]}, "option secret_inputs item 2: expected a non-empty"),
    ("options", {"outputs": {SECRET + "\n": "x"}},
     "option outputs.(a key that is not a name): expected"),
    ("hook.yaml", {"limits": {"max_depth": 2.5}}, f"settings {HOOK_YAML}: limits.max_depth: "
                                                  "expected a whole number greater than 0"),
    ("hook.yaml", {"kubeconfig_dirs": ["/a", SECRET]}, f"settings {HOOK_YAML}: kubeconfig_dirs "
                                                       "item 2: expected an absolute path"),
    ("keystone", {"auth_url": ""}, f"settings {HOOK_YAML}: keystone.auth_url: expected a "
                                   "non-empty string"),
    ("keystone", {"identity": "clouds_yaml"}, f"settings {HOOK_YAML}: keystone.cloud: missing"),
    ("webhook", {"keystone": {"auth_url": "u", "password": [SECRET]}},
     "keystone.password: expected a string, got a list"),
    ("webhook", {"keystone": {"auth_url": "u", "timeout": 0}}, "keystone.timeout: expected a "
                                                               "number >= 1"),
    ("webhook", {"keystone": {"password": SECRET}}, "keystone.auth_url: missing"),
])
def test_nested_fields_are_named_by_their_path(config, over, field, tmp_path):
    message = _text(_refusal(config, tmp_path, over))
    assert message.startswith(field), message
    assert SECRET not in message


def test_each_config_keeps_its_error_class_and_code(tmp_path):
    assert _refusal("options", tmp_path, {"wait": 3}).code == 2
    assert _refusal("hook.yaml", tmp_path, {"max_timeout": 0}).code == 9
    assert _refusal("keystone", tmp_path, {"server": 1}).code == 9
    assert isinstance(_refusal("webhook", tmp_path, {"cache_size": 0}), ConfigError)


def test_the_options_record_is_the_options_dataclass():
    """Names and defaults come from Options: a field added there without a converter, or a
    converter without a field, fails here."""
    import dataclasses

    from heat_k8s_hook.input.deployment import OPTIONS, Options
    assert KNOWN_OPTIONS == tuple(sorted(f.name for f in dataclasses.fields(Options)))
    assert OPTIONS.known == KNOWN_OPTIONS
    defaults = {f.name: f.default for f in OPTIONS.fields if f.default is not schema.ABSENT}
    assert defaults["timeout"] == 600.0 and defaults["wait"] is True
    assert parse_options({}) == parse_options(None)


# --- the mechanism alone ------------------------------------------------------------------------

PLAIN = Record((Field("a", schema.text, required=True), Field("b", schema.number(0), 1.0),
                Field("inner", Record((Field("c", schema.one_of(("x", "y"))),))),
                Field("items", schema.list_of(schema.text, "a list of names"))),
               noun="thing")
WHERE = Where("plain.yaml", "plain.yaml: ")


def _message(raw) -> str:
    with pytest.raises(ValueError) as info:
        check(PLAIN, raw, WHERE, ValueError)
    return str(info.value)


def test_the_mechanism_fills_defaults_and_leaves_null_as_absent():
    assert check(PLAIN, {"a": "n", "b": None}, WHERE, ValueError) == {"a": "n", "b": 1.0}
    assert check(PLAIN, {"a": "n", "inner": {"c": "y"}}, WHERE, ValueError) == \
        {"a": "n", "b": 1.0, "inner": {"c": "y"}}


@pytest.mark.parametrize("raw, message", [
    ([1], "plain.yaml: expected a map, got a list"),
    ({}, "plain.yaml: a: missing"),
    ({"a": None}, "plain.yaml: a: missing"),
    ({"a": "n", "zz": 1, "c": 2}, "plain.yaml: unknown thing(s) c, zz; known things: a, b, "
                                  "inner, items"),
    ({"a": "n", "inner": {"c": "z", "d": 1}}, "plain.yaml: inner: unknown key(s) d; known "
                                              "keys: c"),
    ({"a": "n", "inner": {"c": "z"}}, "plain.yaml: inner.c: expected one of x, y"),
    ({"a": "n", "items": ["p", "q", " "]}, "plain.yaml: items item 3: expected a non-empty "
                                            "string, got text"),
    ({"a": "n", "b": float("nan")}, "plain.yaml: b: expected a number >= 0"),
    ({"a": "n", "b": True}, "plain.yaml: b: expected a number >= 0"),
])
def test_the_one_message_format(raw, message):
    assert _message(raw) == message


def test_a_record_with_rest_takes_undeclared_keys_through_its_converter():
    open_map = Record((Field("a", schema.text),), rest=schema.number(0))
    assert open_map({"a": "x", "k": 2}) == {"a": "x", "k": 2.0}
    with pytest.raises(Invalid) as info:
        open_map({"k": "v"})
    assert info.value.path == ("k",) and info.value.problem == "expected a number >= 0"


def test_kinds_are_said_without_the_value():
    said = [schema.kind(v) for v in (None, True, 3, 2.5, SECRET, {}, [], b"x")]
    assert said == ["null", "a boolean", "a number", "a number", "text", "a map", "a list",
                    "bytes"]
    assert re.fullmatch(r"[a-z ]+", " ".join(said))


def test_the_first_error_is_a_missing_field_then_the_values_in_the_order_written():
    """As the hand-written checks did: one message, for the first problem as written."""
    with pytest.raises(InvalidInput, match="^option wait: "):
        parse_options({"wait": "x", "timeout": "y"})
    with pytest.raises(InvalidInput, match="^option timeout: "):
        parse_options({"timeout": "y", "wait": "x"})
    with pytest.raises(ValueError, match="^plain.yaml: a: missing$"):
        check(PLAIN, {"b": "not a number"}, WHERE, ValueError)
