"""The deployment JSON and its options: validation, typed inputs, stable identity."""
import pytest

from heat_k8s_hook.deployment import (
    KNOWN_OPTIONS,
    decode_input,
    load_deployment,
    parse_deployment,
    parse_options,
)
from heat_k8s_hook.errors import InvalidInput


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
    assert create.identity == delete.identity == "app/1234/web_deployment"
    assert create.slug == delete.slug
    assert create.slug.startswith("app-web-deployment-")
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
