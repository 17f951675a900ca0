"""deployment.py's survivors of the mutation run (docs/testing.md): which option values are
taken and what each refusal says, typed inputs (Number, Boolean, CommaDelimitedList), the slug's
shape, the secret values, the depth limit's message."""
from __future__ import annotations

import re

import pytest

from heat_k8s_hook.errors import InvalidInput
from heat_k8s_hook.input.deployment import (
    ACTIONS,
    KNOWN_OPTIONS,
    Options,
    decode_input,
    load_deployment,
    parse_deployment,
    parse_options,
    slug_for,
)
from heat_k8s_hook.input.limits import Limits


def refused(options) -> str:
    with pytest.raises(InvalidInput) as caught:
        parse_options(options)
    return str(caught.value)


# -- options --------------------------------------------------------------------------------------

def test_options_may_be_empty_text_or_json_text():
    assert parse_options("") == Options()
    assert parse_options('{"prune": false}') == Options(prune=False)


def test_options_that_are_not_a_map_say_what_they_are():
    assert refused("{nope") == "options: expected a map, got text that is not JSON"
    assert refused([]) == "options: expected a map, got a list"


def test_unknown_options_are_each_named_with_the_known_ones():
    assert refused({"colour": 1, "size": 2, "timeout": 5}) == (
        f"options: unknown option(s) colour, size; known options: {', '.join(KNOWN_OPTIONS)}")


@pytest.mark.parametrize("text, value", [
    ("true", True), ("TRUE", True), ("yes", True), ("YES", True), ("1", True),
    ("false", False), ("FALSE", False), ("no", False), ("NO", False), ("0", False)])
def test_a_boolean_option_takes_each_spelling(text, value):
    assert parse_options({"prune": text}).prune is value
    assert parse_options({"wait": text}).wait is value


def test_a_boolean_option_that_is_not_one_says_what_it_got():
    assert refused({"wait": 3}) == "option wait: expected true or false, got a number"


def test_a_namespace_option_is_a_string_of_at_most_63_characters():
    assert parse_options({"namespace": "a" * 63}).namespace == "a" * 63
    for bad in ("a" * 64, 5):
        assert refused({"namespace": bad}) == \
            "option namespace: expected a namespace name (a DNS-1123 label)"


def test_a_text_option_is_a_non_empty_string():
    for bad in ("", 5):
        assert refused({"kubeconfig": bad}) == "option kubeconfig: expected a non-empty string"


def test_an_output_that_is_not_text_is_refused_with_the_form_expected():
    assert refused({"outputs": {"ip": 5}}) == (
        'option outputs.ip: expected "Kind/name:{.json.path}" (or "Kind/namespace/name:{...}"), '
        'e.g. "Service/web:{.spec.clusterIP}"')
    assert refused({"outputs": ["Service/web:{.spec.clusterIP}"]}) == \
        'option outputs: expected a map of output name to "Kind/name:{.path}"'


def test_wait_rules_that_are_not_a_map_are_refused():
    assert refused({"wait_rules": ["example.com/Widget"]}) == \
        'option wait_rules: expected a map of "group/Kind" to a condition type'


def test_secret_inputs_are_a_list_of_names():
    assert refused({"secret_inputs": "db_password"}) == \
        "option secret_inputs: expected a list of input names"
    assert refused({"secret_inputs": [5]}).startswith("option secret_inputs")
    assert parse_options({"secret_inputs": ["db_password"]}).secret_inputs == ("db_password",)


def test_an_application_name_takes_upper_case_and_refuses_other_values():
    assert parse_options({"application": "Web.App_1"}).application == "Web.App_1"
    for bad in (5, "-web"):
        assert refused({"application": bad}) == \
            "option application: expected a name (letters, digits, '_', '.', '-')"


def test_a_choice_option_takes_its_choices_only():
    assert parse_options({"group_delete": "last"}).group_delete == "last"
    assert parse_options({"suspend": "none"}).suspend == "none"
    assert refused({"group_delete": "all"}) == "option group_delete: expected one of any, last"


# -- typed inputs ---------------------------------------------------------------------------------

def test_a_number_input_keeps_integers_and_floats_apart():
    for text, value, kind in (("5", 5, int), ("2.0", 2.0, float), ("2.5", 2.5, float),
                              ("1e3", 1000, int)):
        decoded = decode_input("n", "Number", text)
        assert (decoded, type(decoded)) == (value, kind), text
    big = decode_input("n", "Number", 1e20)   # a JSON float stays what it is
    assert (big, type(big)) == (1e20, float)


def test_a_number_input_that_is_a_boolean_or_not_a_number_is_refused():
    for bad in (True, "five"):
        with pytest.raises(InvalidInput) as caught:
            decode_input("n", "Number", bad)
        assert str(caught.value) == "input n: type Number but its value is not a number"


def test_a_boolean_input_that_is_not_one_is_refused():
    with pytest.raises(InvalidInput) as caught:
        decode_input("flag", "Boolean", "maybe")
    assert str(caught.value) == "input flag: type Boolean but its value is not a boolean"


def test_a_comma_delimited_list_in_json_keeps_its_commas():
    assert decode_input("l", "CommaDelimitedList", '["a", "b,c"]') == ["a", "b,c"]
    assert decode_input("l", "CommaDelimitedList", "a, b") == ["a", "b"]
    assert decode_input("l", "CommaDelimitedList", "") == []


# -- the deployment -------------------------------------------------------------------------------

def dep(inputs: list) -> dict:
    return {"id": "abc", "name": "d1", "group": "kubectl", "config": "", "options": None,
            "inputs": inputs, "outputs": []}


def refused_deployment(raw) -> str:
    with pytest.raises(InvalidInput) as caught:
        parse_deployment(raw)
    return str(caught.value)


def test_a_deployment_that_is_not_an_object_or_has_no_input_list_is_refused():
    assert refused_deployment([]) == "deployment: expected a JSON object, got list"
    assert refused_deployment(dict(dep([]), inputs="x")) == "deployment: inputs must be a list"
    assert refused_deployment(dict(dep([]), outputs="x")) == "deployment: outputs must be a list"


def test_an_input_without_a_name_is_refused_by_its_position():
    assert refused_deployment(dep(["x"])) == "deployment: input 1 has no name"
    assert refused_deployment(dep([{"name": "a", "value": 1}, {"value": 1}])) == \
        "deployment: input 2 has no name"


def full(**changes) -> dict:
    raw = {"id": "abc", "name": "d1", "group": "other", "config": {"k": [1]},
           "options": {"prune": False},
           "inputs": [{"name": "deploy_action", "value": "update"},
                      {"name": "deploy_stack_id", "value": "st/1"},
                      {"name": "deploy_resource_name", "value": "res"},
                      {"name": "deploy_server_id", "value": "srv"},
                      {"name": "n", "type": "Number", "value": "5"},
                      {"name": "s", "value": "x"}],
           "outputs": [{"name": "ip"}, "junk", {"name": 5}, {"description": "no name"}]}
    raw.update(changes)
    return raw


def test_every_field_of_a_deployment_is_read():
    d = parse_deployment(full())
    assert (d.id, d.name, d.group, d.action, d.config) == ("abc", "d1", "other", "UPDATE",
                                                           {"k": [1]})
    assert d.options == Options(prune=False)
    assert d.inputs == {"deploy_action": "update", "deploy_stack_id": "st/1",
                        "deploy_resource_name": "res", "deploy_server_id": "srv", "n": 5,
                        "s": "x"}
    assert d.input_types == {"deploy_action": "String", "deploy_stack_id": "String",
                             "deploy_resource_name": "String", "deploy_server_id": "String",
                             "n": "Number", "s": "String"}
    assert d.declared_outputs == ("ip",)
    assert (d.stack_id, d.resource_name, d.server_id) == ("st/1", "res", "srv")


def test_a_deployment_without_deploy_inputs_or_group_takes_the_defaults():
    d = parse_deployment(dep([]))
    assert (d.group, d.action, d.stack_id, d.resource_name, d.server_id) == (
        "kubectl", "CREATE", "", "", "")
    assert parse_deployment(dict(dep([]), group=None)).group == "kubectl"


def test_the_generation_follows_config_options_user_inputs_and_action_only():
    base = parse_deployment(full()).generation
    assert parse_deployment(full(id="other-id")).generation == base
    member = full()
    member["inputs"] = [dict(i, value="srv-2") if i["name"] == "deploy_server_id" else i
                        for i in member["inputs"]]
    assert parse_deployment(member).generation == base     # per-member inputs: shared
    changed = [full(config={"k": [2]}), full(options={"prune": True})]
    other_input = full()
    other_input["inputs"] = [dict(i, value="y") if i["name"] == "s" else i
                             for i in other_input["inputs"]]
    created = full()
    created["inputs"] = [dict(i, value="CREATE") if i["name"] == "deploy_action" else i
                         for i in created["inputs"]]
    for raw in changed + [other_input, created]:
        assert parse_deployment(raw).generation != base


def test_an_action_that_is_not_known_or_not_text_is_refused_with_the_known_ones():
    for bad in ("nope", 5):
        assert refused_deployment(dep([{"name": "deploy_action", "value": bad}])) == \
            f"input deploy_action is not one of {', '.join(sorted(ACTIONS))}"


def test_an_inputs_messages_name_it_or_its_position():
    assert refused_deployment(dep([{"name": "a", "type": 5}])) == \
        "deployment: input a: type must be a string"
    assert refused_deployment(dep([{"name": "n", "type": "Number", "value": "five"}])) == \
        "input n: type Number but its value is not a number"
    assert refused_deployment(dep([{"name": "a"}, {"name": "bad name!", "type": "Number",
                                                   "value": "five"}])) == \
        "input 2: type Number but its value is not a number"


def test_an_empty_secret_is_no_secret_value():
    d = parse_deployment(dep([{"name": "deploy_password", "value": ""},
                              {"name": "deploy_signal_id", "value": "s3cr3t"}]))
    assert d.secret_values() == ["s3cr3t"]


def test_the_depth_limit_is_named_in_its_refusal():
    text = "[" * 6 + "]" * 6
    with pytest.raises(InvalidInput) as caught:
        load_deployment(text, Limits(max_depth=5))
    assert str(caught.value) == "stdin: nesting depth: refused, more than 5 (limit max_depth)"


# -- the slug -------------------------------------------------------------------------------------

SLUG = re.compile(r"^(?P<base>[a-z0-9-]*)-(?P<digest>[0-9a-f]{10})$")


def base_of(slug: str) -> str:
    match = SLUG.fullmatch(slug)
    assert match, slug
    return match["base"]


def test_a_slug_is_the_stack_and_label_then_ten_hex_digits_of_the_identity():
    assert base_of(slug_for("mystack/1234", "web", "mystack/1234/web")) == "mystack-web"
    assert base_of(slug_for("", "web", "web")) == "web"            # no stack: the label alone
    assert slug_for("s", "web", "one") != slug_for("s", "web", "two")


def test_a_slug_without_a_readable_base_is_heat():
    assert base_of(slug_for("", "", "x")) == "heat"
    assert base_of(slug_for("", "!!!", "x")) == "heat"


def test_a_slugs_base_is_cut_to_40_characters_without_a_dash_at_either_end():
    assert base_of(slug_for("", "a" * 45, "x")) == "a" * 40
    assert base_of(slug_for("", "-" + "a" * 45, "x")) == "a" * 40     # leading dash first
    assert base_of(slug_for("s", "a" * 37 + "-bbbb", "x")) == "s-" + "a" * 37  # cut at a dash
