"""Rendering: YAML documents, Lists, structured configs and structural get_input."""
import pytest

from heat_k8s_hook.errors import InvalidInput
from heat_k8s_hook.input.render import render

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


# --- the YAML dialect (yamldialect.py): what kubectl accepts, and nothing it refuses --------

OBJ = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n"


def test_dialect_keeps_what_kubectl_keeps():
    """Timestamps and base-60 look-alikes stay text; `labels:` with nothing is absent."""
    m = render(OBJ + "  labels:\n  annotations:\ndata:\n  when: 2024-01-01T00:00:00Z\n"
               "  day: 2024-01-01\n  port: 22:22\n  1: one\n  true: yes\n", {})[0]
    assert m.obj["data"] == {"when": "2024-01-01T00:00:00Z", "day": "2024-01-01",
                             "port": "22:22", "1": "one", "true": True}
    assert "labels" not in m.obj["metadata"] and "annotations" not in m.obj["metadata"]


def test_dialect_merge_keys_and_aliases():
    m = render(OBJ + "data:\n  base: &b {x: '1'}\n  copy: *b\n", {})[0]
    assert m.obj["data"]["copy"] == {"x": "1"}


@pytest.mark.parametrize("yaml_text,needle", [
    (OBJ + "data:\n  a: '1'\n  a: '2'\n", "line 7, column 3: a duplicate key"),
    (OBJ + "data:\n  a: !!binary aGk=\n", "line 6, column 6: the tag is not supported"),
    (OBJ + "data: !!set {a}\n", "the tag is not supported"),
    (OBJ + "data:\n  a: !!timestamp 2024-01-01\n", "the tag is not supported"),
    (OBJ + "data:\n  a: !!python/object:os.system x\n", "the tag is not supported"),
    (OBJ + "spec:\n  n: .inf\n", "not finite"),
    (OBJ + "spec:\n  n: .nan\n", "not finite"),
    (OBJ + "spec:\n  n: 1.0e999\n", "not finite"),
    (OBJ + "spec:\n  n: 99999999999999999999\n", "outside 64 bits"),
    (OBJ + "spec:\n  n: " + "9" * 5000 + "\n", "outside 64 bits"),
    (OBJ + "spec:\n  ? [a]\n  : b\n", "a key must be a plain value"),
    (OBJ + "spec: &x\n  self: *x\n", "an alias inside its own anchor"),
    (OBJ + "spec:\n  n: !!int abc\n", "does not match its tag"),
    (OBJ + "spec:\n  n: !!bool maybe\n", "does not match its tag"),
    (OBJ + 'data:\n  a: "\\ud800"\n', "an escape that is not Unicode"),
    (OBJ + "data:\n  a: \ud800\n", "text that is not Unicode"),
])
def test_dialect_refuses_at_line_and_column(yaml_text, needle):
    with pytest.raises(InvalidInput) as exc:
        render(yaml_text, {})
    assert exc.value.code == 2 and needle in str(exc.value)


CANARY = "Zq9-canary-s3cr3t"
BROKEN_SHAPES = [  # each a YAML error with the secret at or next to where it breaks
    f"data: {{p: {CANARY}}}\n  bad: [\n", f"a: '{CANARY}\n", f'a: "{CANARY}\\q"\n',
    f"a: b: {CANARY}\n", f"- {CANARY}\nx: y\n", f"a:\n\t{CANARY}: 1\n", f"{{{CANARY}\n",
    f"[{CANARY}\n", f"a: \"{CANARY}\n", f"a: *{CANARY}\n", f"&{CANARY} a: &{CANARY} b\n",
    f"a: &{CANARY} [*{CANARY}]\n", f"a: !{CANARY} x\n", f"a: !!{CANARY} x\n",
    f"{CANARY}: 1\n{CANARY}: 2\n", f"a: {CANARY}\x01\n", f"%{CANARY} x\n--- a\n",
    f"a: {CANARY}\n b: c\n", f"? {CANARY}\n? {CANARY}\n", f"a: [{CANARY}, &x {CANARY}, *y]\n",
    f"a: !!int {CANARY}\n", f"a: <<{CANARY}\n<<: {CANARY}\n", f"--- {CANARY}\n... x\n",
    f"a: [{CANARY}}}\n", f"a: `{CANARY}`\n", f"a: @{CANARY}\n",
]


@pytest.mark.parametrize("shape", BROKEN_SHAPES)
def test_yaml_errors_never_echo_the_text(shape):
    """Only line, column and a fixed phrase. Checked red against the former loader (PyYAML's
    `problem` in the message): it echoed the canary for both unknown-tag shapes, and `!!int`
    crashed with a ValueError quoting it (code 70)."""
    with pytest.raises(InvalidInput) as exc:
        render(shape, {})
    assert "line" in str(exc.value) and CANARY not in str(exc.value), str(exc.value)


def test_lists_in_lists_are_refused():
    inner = {"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}}]}
    with pytest.raises(InvalidInput, match="a List inside a List"):
        render({"apiVersion": "v1", "kind": "List", "items": [inner]}, {})


@pytest.mark.parametrize("kind,name,ok", [
    ("ConfigMap", "web-1.example", True), ("ConfigMap", "Web", False),
    ("ConfigMap", "a" * 254, False), ("ConfigMap", "a_b", False), ("ConfigMap", "web\n", False),
    ("Namespace", "a.b", False), ("Service", "1web", False), ("Service", "web", True),
    ("ClusterRole", "system:controller:x", True), ("ClusterRole", "a/b", False),
    ("Widget", "..", False), ("Widget", "Any:Thing", True), ("Widget", f"x\n{CANARY}", False),
])
def test_names_are_checked_before_any_request(kind, name, ok):
    doc = {"apiVersion": "v1", "kind": kind, "metadata": {"name": name}}
    if ok:
        assert render([doc], {})[0].name == name
        return
    with pytest.raises(InvalidInput) as exc:
        render([doc], {})
    assert "metadata.name is not a valid name" in str(exc.value) and name not in str(exc.value)


@pytest.mark.parametrize("doc,needle", [
    ({"apiVersion": "../../x", "kind": "ConfigMap", "metadata": {"name": "a"}}, "apiVersion is not valid"),
    ({"apiVersion": "v1", "kind": "Config Map", "metadata": {"name": "a"}}, "kind is not valid"),
    ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "A"}},
     "metadata.namespace is not a valid"),
    ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "labels": {"a": 1}}},
     "metadata.labels must be a map of strings"),
    ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "annotations": []}},
     "metadata.annotations must be a map of strings"),
    ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": "a"}, "metadata must be a map"),
    ({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"},
      "data": {"get_input": {"x": CANARY}}}, "unknown input (a value)"),
])
def test_bad_objects_are_named_not_echoed(doc, needle):
    with pytest.raises(InvalidInput) as exc:
        render([doc], {})
    assert needle in str(exc.value) and CANARY not in str(exc.value)


def test_rendered_limits():
    """get_input and alias expansion count against max_nodes and (text) max_rendered_bytes.
    Checked red: without the composer's text count, a 100-char string aliased twice passed."""
    from heat_k8s_hook.input.limits import Limits
    many = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"},
            "data": {f"k{i}": {"get_input": "big"} for i in range(50)}}
    with pytest.raises(InvalidInput, match="limit max_nodes"):
        render([many], {"big": list(range(1000))}, Limits(max_nodes=10_000))
    with pytest.raises(InvalidInput, match="limit max_rendered_bytes"):
        render([many], {"big": "x" * 1000}, Limits(max_rendered_bytes=10_000))
    with pytest.raises(InvalidInput, match="limit max_documents"):
        render("---\n".join([OBJ] * 3), {}, Limits(max_documents=2))
    with pytest.raises(InvalidInput, match="text after expanding aliases.*max_rendered_bytes"):
        render(OBJ + "data:\n  a: &a '" + "x" * 100 + "'\n  b: *a\n  c: *a\n", {},
               Limits(max_rendered_bytes=250))
    with pytest.raises(InvalidInput, match="text after get_input.*max_rendered_bytes"):
        render([many], {"big": "x" * 1000}, Limits(max_rendered_bytes=20_000))
    with pytest.raises(InvalidInput, match="limit max_aliases"):
        render(OBJ + "data:\n  a: &a '1'\n  b: *a\n  c: *a\n", {}, Limits(max_aliases=1))
