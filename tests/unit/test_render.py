"""Rendering: YAML documents, Lists, structured configs and structural get_input."""
import pytest

from heat_k8s_hook.errors import InvalidInput
from heat_k8s_hook.render import render

CM = """
apiVersion: v1
kind: ConfigMap
metadata:
  name: {name}
data:
  key: {value}
"""


def test_multi_document_and_inputs_are_typed():
    config = CM.format(name="a", value="{get_input: greeting}") + "---\n" + """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: {get_input: replicas}
"""
    ms = render(config, {"greeting": "hello: world", "replicas": 3})
    assert [m.index for m in ms] == [1, 2]
    assert ms[0].obj["data"]["key"] == "hello: world"   # a value cannot break the structure
    assert ms[1].obj["spec"]["replicas"] == 3


def test_list_kind_is_expanded():
    config = {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}}]}
    import yaml
    assert [m.name for m in render(yaml.safe_dump(config), {})] == ["a", "b"]


def test_structured_config_manifests():
    config = {"manifests": [{"apiVersion": "v1", "kind": "ConfigMap",
                             "metadata": {"name": {"get_input": "name"}}}]}
    assert render(config, {"name": "cfg"})[0].name == "cfg"


def test_substitution_is_a_copy():
    value = {"a": [1]}
    ms = render({"manifests": [{"apiVersion": "v1", "kind": "ConfigMap",
                                "metadata": {"name": "x"}, "data": {"get_input": "v"}}]},
                {"v": value})
    ms[0].obj["data"]["a"].append(2)
    assert value == {"a": [1]}


@pytest.mark.parametrize("config,needle", [
    ("a: [", "invalid YAML at line"),
    ("- 1\n- 2", "document 1: expected a Kubernetes object"),
    ("kind: ConfigMap\nmetadata: {name: x}", "document 1 (ConfigMap x): missing apiVersion"),
    ("apiVersion: v1\nkind: ConfigMap\nmetadata: {}", "missing metadata.name"),
    ("apiVersion: v1\nkind: Pod\nmetadata: {generateName: x-}", "generateName"),
    (CM.format(name="a", value="{get_input: nope}"), "document 1 (ConfigMap a): unknown input 'nope'"),
    (CM.format(name="a", value="1") + "---" + CM.format(name="a", value="2"),
     "document 2 (ConfigMap a): duplicate of document 1"),
    (42, "config: expected YAML text"),
])
def test_bad_config(config, needle):
    with pytest.raises(InvalidInput) as exc:
        render(config, {"known": 1})
    assert needle in str(exc.value)


def test_yaml_error_does_not_echo_the_text():
    with pytest.raises(InvalidInput) as exc:
        render("password: hunter22\n  bad: [", {})
    assert "hunter22" not in str(exc.value)


def test_empty_documents_are_ignored():
    assert render("---\n---\n", {}) == []
