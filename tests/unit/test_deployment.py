"""The deployment JSON and its options: validation, typed inputs, stable identity."""
import pytest

from heat_k8s_hook.errors import InvalidInput
from heat_k8s_hook.input.deployment import (
    KNOWN_OPTIONS,
    decode_input,
    load_deployment,
    parse_deployment,
    parse_options,
)


def dep(**kw):
    base = {"id": "abc", "name": "d1", "group": "kubectl", "config": "", "options": None,
            "inputs": [], "outputs": []}
    base.update(kw)
    return base


def test_defaults_when_options_null():
    d = parse_deployment(dep())
    assert d.options.timeout == 600 and d.options.wait and d.options.prune
    assert d.options.field_manager == "heat-k8s-hook" and not d.options.force_conflicts
    assert d.action == "CREATE"


def test_unknown_option_lists_known_ones():
    with pytest.raises(InvalidInput) as exc:
        parse_options({"timeout": 5, "colour": "red"})
    assert "colour" in str(exc.value)
    for known in KNOWN_OPTIONS:
        assert known in str(exc.value)


@pytest.mark.parametrize("raw,needle", [
    ({"timeout": "soon"}, "option timeout"),
    ({"timeout": 0}, "greater than 0"),
    ({"wait": "maybe"}, "option wait"),
    ({"outputs": {"ip": "Service/web"}}, "outputs.ip"),
    ({"outputs": ["x"]}, "option outputs"),
    ({"wait_rules": {"example.com/Widget": 3}}, "wait_rules"),
    ("[1, 2]", "options: expected a map"),
])
def test_bad_options(raw, needle):
    with pytest.raises(InvalidInput) as exc:
        parse_options(raw)
    assert needle in str(exc.value)


def test_output_ref_parsing():
    o = parse_options({"outputs": {"ip": "Service/web:{.spec.clusterIP}",
                                   "r": "apps/Deployment/prod/web:{.status.readyReplicas}"}})
    assert (o.outputs["ip"].kind, o.outputs["ip"].name, o.outputs["ip"].namespace) == \
        ("Service", "web", None)
    assert o.outputs["r"].kind == "apps/Deployment" and o.outputs["r"].namespace == "prod"


@pytest.mark.parametrize("kind,value,expected", [
    ("String", "web", "web"),
    ("String", "['a', 'b']", ["a", "b"]),          # heat-config's str() of a list
    ("String", "{'k': 1}", {"k": 1}),
    ("String", "[not python]", "[not python]"),
    ("String", '["json", "stays"]', '["json", "stays"]'),
    ("Number", "3", 3),
    ("Number", "2.5", 2.5),
    ("Number", 4, 4),
    ("Boolean", "true", True),
    ("Boolean", False, False),
    ("Json", '{"a": [1]}', {"a": [1]}),
    ("Json", "{'a': True}", {"a": True}),
    ("Json", {"a": 1}, {"a": 1}),
    ("CommaDelimitedList", "a, b,c", ["a", "b", "c"]),
    ("CommaDelimitedList", ["x"], ["x"]),
])
def test_decode_input(kind, value, expected):
    assert decode_input("i", kind, value) == expected


def test_bad_typed_input_never_echoes_value():
    with pytest.raises(InvalidInput) as exc:
        decode_input("db_password", "Json", "s3cr3t-not-json")
    assert "s3cr3t" not in str(exc.value) and "db_password" in str(exc.value)


def test_literal_eval_never_executes_code():
    value = "__import__('os').system('touch /tmp/pwned')"
    assert decode_input("x", "String", value) == value
    with pytest.raises(InvalidInput):
        decode_input("x", "Json", value)


def test_identity_is_stable_across_actions():
    inputs = [{"name": "deploy_stack_id", "value": "app/1234"},
              {"name": "deploy_resource_name", "value": "web_deployment"}]
    create = parse_deployment(dep(id="one", inputs=inputs + [
        {"name": "deploy_action", "value": "CREATE"}]))
    delete = parse_deployment(dep(id="two", inputs=inputs + [
        {"name": "deploy_action", "value": "DELETE"}]))
    assert create.identity == delete.identity == "app/1234/d1"   # stack + name (issue 15)
    assert create.legacy_identity == "app/1234/web_deployment"   # adopted when found
    assert create.slug == delete.slug
    assert create.slug.startswith("app-d1-")
    assert create.legacy_slug.startswith("app-web-deployment-")
    assert len(create.slug) <= 52


def test_secret_inputs_are_known():
    d = parse_deployment(dep(inputs=[{"name": "deploy_password", "value": "hunter22"},
                                     {"name": "deploy_signal_id", "value": "http://x/?sig=abc"}]))
    assert set(d.secret_values()) == {"hunter22", "http://x/?sig=abc"}


def test_bad_action_and_json():
    with pytest.raises(InvalidInput):
        parse_deployment(dep(inputs=[{"name": "deploy_action", "value": "EXPLODE"}]))
    with pytest.raises(InvalidInput) as exc:
        load_deployment("{nope")
    assert "not a JSON deployment" in str(exc.value)


# --- the bad-input contract: code 2, the field named, the value never -------------------------

SECRET = "Zq9-canary-s3cr3t"


@pytest.mark.parametrize("data,needle", [
    (b'{"config": "\xff\xfe"}', "stdin: not UTF-8 text (at byte 13)"),
    (b"\xef\xbb\xbf{}", "stdin is not a JSON deployment"),
    (b'{"config": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "stdin is not a JSON deployment"),
    (b'{"config": ' + b"[" * 150 + b"]" * 150 + b"}", "limit max_depth"),
    (b'{"config": NaN}', "NaN and Infinity are not JSON"),
    (b'{"config": 1e999}', "a number out of range"),
    (b'{"config": ' + b"9" * 5000 + b"}", "a number out of range"),
    (b'{"config": "", "config": "x"}', "a duplicate key"),
    (b'{"config": "\\ud800"}', "a \\u escape that is not Unicode"),
    (b'{"inputs": [{"name": "deploy_password", "value": "\\udfffx"}]}', "not Unicode"),
    (('{"config": "' + SECRET + '", x}').encode(), "invalid JSON at line 1, column"),
    (b'{"inputs": [{"name": "a", "type": ["Json"], "value": "1"}]}', "input a: type must be a string"),
    (b'{"inputs": {"a": 1}}', "inputs must be a list"),
    (b'{"outputs": 5}', "outputs must be a list"),
    (b'{"id": {"x": 1}}', "deployment: id must be a string"),
    (b'{"options": {"timeout": "inf"}}', "option timeout: must be a finite number"),
    (b'{"options": {"timeout": "nan"}}', "option timeout: must be greater than 0"),
    (b'{"options": {"namespace": "Not_A_Label"}}', "option namespace: expected a namespace name"),
    (b'{"options": "{\\"a\\": ' + b"[" * 5000 + b"]" * 5000 + b'}"}', "options: expected a map"),
    (('{"options": {"' + SECRET + '\\n": 1}}').encode(), "unknown option(s) (a key that is not a name)"),
    (('{"inputs": [{"name": "deploy_action", "value": "' + SECRET + '"}]}').encode(),
     "input deploy_action is not one of"),
    (b'{"inputs": [{"name": "deploy_action", "value": ["CREATE"]}]}', "input deploy_action"),
    ((b'{"inputs": [{"name": "n", "type": "Number", "value": "1e999"}]}'), "not finite"),
    ((b'{"inputs": [{"name": "n", "type": "Number", "value": "nan"}]}'), "not finite"),
    ((b'{"inputs": [{"name": "j", "type": "Json", "value": "{\'a\': {1, 2}}"}]}'),
     "input j: type Json but its value is not JSON"),
    (('{"inputs": [{"name": "j", "type": "Json", "value": "[' + SECRET + '"}]}').encode(),
     "input j: type Json but its value is not JSON"),
])
def test_bad_deployments_are_code_2_without_values(data, needle):
    """Checked red on ac9f771 (before issue 12): non-UTF-8 stdin, 100k-deep JSON, deep JSON
    `options` text, a non-string input `type` and a non-list `outputs` were code 70; NaN,
    1e999, duplicate keys, lone surrogates, non-finite Number inputs, `timeout: inf`, a
    namespace that is no DNS label, a map as `id` and a set in a Json input were accepted; an
    unknown option key and `deploy_action` were echoed."""
    from heat_k8s_hook.input.limits import Limits
    with pytest.raises(InvalidInput) as exc:
        load_deployment(data, Limits())
    assert exc.value.code == 2 and needle in str(exc.value), str(exc.value)
    assert SECRET not in str(exc.value) and "\n" not in str(exc.value)


def test_stdin_size_is_checked_before_parsing():
    from heat_k8s_hook.input.limits import Limits
    with pytest.raises(InvalidInput, match="limit max_stdin_bytes"):
        load_deployment(b'{"config": "' + b"x" * 2000 + b'"}', Limits(max_stdin_bytes=1000))


def test_python_literals_are_json_only():
    """heat-config's str() of lists/maps decodes; sets, bytes, tuples-keys stay text (String)."""
    assert decode_input("s", "String", "{'a': [1, 'b']}") == {"a": [1, "b"]}
    assert decode_input("s", "String", "{'a': {1, 2}}") == "{'a': {1, 2}}"
    assert decode_input("s", "String", "[b'x']") == "[b'x']"


def test_identity_survives_a_replaced_config():
    """Heat replaces a changed SoftwareConfig, and its name gets a new short id: the identity
    (inventory, Lease) must not change with it. Seen red in CI's e2e web UPDATE (nothing was
    pruned) before the short id was dropped."""
    import json

    def dep(name):
        return load_deployment(json.dumps({"config": "", "name": name, "inputs": [
            {"name": "deploy_stack_id", "value": "web/4c9f"},
            {"name": "deploy_resource_name", "value": "deployment"}]}))
    first, replaced = dep("web-web_config-2kqo5zxkzbfa"), dep("web-web_config-a7bcdefgh3xy")
    assert first.identity == replaced.identity and first.slug == replaced.slug
    assert dep("web-other_config-2kqo5zxkzbfa").identity != first.identity


def test_group_delete_defaults_to_any_and_takes_last():
    assert parse_options(None).group_delete == "any"
    assert parse_options({"group_delete": "last"}).group_delete == "last"
    with pytest.raises(InvalidInput) as err:
        parse_options({"group_delete": "s3cr3t-value"})
    assert "group_delete" in err.value.message and "s3cr3t" not in err.value.message
