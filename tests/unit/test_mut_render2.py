"""render.py's survivors of the second mutation run (docs/testing.md, "Mutation testing"):
the substitution budget at its exact edges, the unknown input's message, `substitute` on its
own budget, a custom resource's 253-character name.

The config is given as a structure (no YAML text), so the budget of `substitute` is the only
count of values: yamldialect does not read it first with the same limits.
"""
from __future__ import annotations

import pytest

from heat_k8s_hook.errors import InvalidInput
from heat_k8s_hook.input.limits import LimitExceeded, Limits
from heat_k8s_hook.input.render import render, substitute


def config_map() -> dict:
    """10 values: the object, "v1", "ConfigMap", metadata, "c", data, the list, the get_input
    map, the input's value "abc" and "x". 47 characters: the keys apiVersion, kind, metadata,
    data (26), "v1" (2), "ConfigMap" (9), "name" (4), "c" (1), "k" (1), "abc" (3), "x" (1)."""
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"},
            "data": {"k": [{"get_input": "v"}, "x"]}}


def refusal(limits: Limits) -> str:
    with pytest.raises(LimitExceeded) as caught:
        render([config_map()], {"v": "abc"}, limits)
    return str(caught.value)


def test_the_values_substitution_makes_are_counted_to_the_exact_limit():
    [manifest] = render([config_map()], {"v": "abc"}, Limits(max_nodes=10))
    assert manifest.obj["data"] == {"k": ["abc", "x"]}
    assert refusal(Limits(max_nodes=9)) == "config: values after get_input and aliases " \
        "expand: refused, more than 9 (limit max_nodes)"


def test_the_text_substitution_makes_is_counted_to_the_exact_limit():
    """Rendered as JSON (97 bytes) the object is always longer than its text (47 characters):
    at 47 the text passes and the rendered size refuses; at 46 the text is refused first."""
    assert refusal(Limits(max_rendered_bytes=47)) == "config: rendered objects, in bytes: " \
        "refused, more than 47 (limit max_rendered_bytes)"
    assert refusal(Limits(max_rendered_bytes=46)) == "config: text after get_input and " \
        "aliases expand: refused, more than 46 (limit max_rendered_bytes)"
    assert len(render([config_map()], {"v": "abc"}, Limits(max_rendered_bytes=97))) == 1


def test_substitute_alone_has_the_default_limits():
    value = {"a": [{"get_input": "x"}, "b"], "c": {"get_input": "y"}}
    assert substitute(value, {"x": {"n": [1, 2]}, "y": None}, "document 1") == \
        {"a": [{"n": [1, 2]}, "b"], "c": None}


def test_an_unknown_input_names_the_inputs_there_are_but_not_the_deploy_ones():
    with pytest.raises(InvalidInput) as caught:
        render([config_map()], {"b": 1, "a": "x", "deploy_server_id": "s"}, Limits())
    assert str(caught.value) == "document 1 (ConfigMap c): unknown input 'v' in get_input " \
        "(inputs: a, b)"
    with pytest.raises(InvalidInput) as caught:
        render([config_map()], {"deploy_server_id": "s"}, Limits())
    assert str(caught.value) == "document 1 (ConfigMap c): unknown input 'v' in get_input " \
        "(inputs: none)"


def test_a_custom_resource_name_of_253_characters_and_not_254():
    widget = "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: %s}\n"
    assert render(widget % ("a" * 253), {}, Limits())[0].name == "a" * 253
    with pytest.raises(InvalidInput) as caught:
        render(widget % ("a" * 254), {}, Limits())
    assert str(caught.value) == "document 1 (Widget): metadata.name is not a valid name " \
        "(a path segment: lowercase letters, digits and '-')"


def test_an_unknown_input_name_is_said_to_100_characters():
    doc = config_map()
    doc["data"]["k"][0] = {"get_input": "n" * 150}
    with pytest.raises(InvalidInput) as caught:
        render([doc], {"v": "abc"}, Limits())
    assert str(caught.value) == "document 1 (ConfigMap c): unknown input '" + "n" * 99 + \
        " in get_input (inputs: v)"


def test_a_config_of_nothing_is_no_objects():
    assert render(None, {}, Limits()) == []
    assert render("", {}, Limits()) == []
    assert render("---\n", {}, Limits()) == []


def test_yaml_text_is_read_with_the_limits_and_named_by_where_it_came_from():
    def said(config) -> str:
        with pytest.raises(InvalidInput) as caught:
            render(config, {}, Limits(max_documents=1))
        return str(caught.value)
    bad = "a: 1\n b: 2\n"
    assert said(bad) == "config: invalid YAML at line 2, column 3: a 'key: value' is not " \
        "allowed here (indentation?)"
    assert said({"manifests": bad}) == "config.manifests: invalid YAML at line 2, column 3: " \
        "a 'key: value' is not allowed here (indentation?)"
    two = "a: 1\n---\nb: 2\n"
    assert said(two) == "config: documents: refused, more than 1 (limit max_documents)"
    assert said({"manifests": two}) == \
        "config.manifests: documents: refused, more than 1 (limit max_documents)"
    one = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"
    assert [m.name for m in render({"manifests": one}, {}, Limits(max_documents=1))] == ["c"]


def test_a_config_of_another_type_is_refused_by_its_type_name():
    def said(config) -> str:
        with pytest.raises(InvalidInput) as caught:
            render(config, {}, Limits())
        return str(caught.value)
    assert said({"manifests": 5}) == "config.manifests: expected a list of Kubernetes objects"
    assert said({"manifests": {"kind": "ConfigMap"}}) == \
        "config.manifests: expected a list of Kubernetes objects"
    assert said(42) == "config: expected YAML text or a map with `manifests`, got int"
    assert said(1.5) == "config: expected YAML text or a map with `manifests`, got float"


def test_the_objects_of_a_list_kind_count_to_the_document_limit():
    def cm(name: str) -> dict:
        return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}}
    two = {"apiVersion": "v1", "kind": "List", "items": [cm("a"), cm("b")]}
    assert [m.name for m in render([two], {}, Limits(max_documents=2))] == ["a", "b"]
    with pytest.raises(LimitExceeded) as caught:
        render([two, cm("c")], {}, Limits(max_documents=2))
    assert str(caught.value) == "config: objects: refused, more than 2 (limit max_documents)"


def test_an_empty_document_between_objects_is_skipped_not_the_end():
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: %s}\n"
    text = cm % "a" + "---\n---\n# nothing\n---\n" + cm % "b"
    assert [(m.index, m.name) for m in render(text, {}, Limits())] == [(1, "a"), (2, "b")]
    docs = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n}} for n in "ab"]
    assert [m.name for m in render([docs[0], None, docs[1]], {}, Limits())] == ["a", "b"]
