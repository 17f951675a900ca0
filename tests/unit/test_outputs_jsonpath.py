"""Outputs' JSONPath: whatever the template writes, a wrong path is code 2 naming the output,
never 70 (issue 26: `{.`parent`}` made jsonpath-ng raise AssertionError)."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from wiring import deployment, through_hook, through_pipeline

from heat_k8s_hook.errors import InvalidInput
from heat_k8s_hook.result.report import read_output

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: web}\ndata: {k: SECRETVALUE-1234}\n"
OBJ = {"kind": "ConfigMap", "metadata": {"name": "web"}, "data": {"k": "v", "l": [1, 2]}}


@pytest.mark.parametrize("path", ["{.`parent`}", "{`parent`}", "{.data.`parent`.`parent`}",
                                  "{.`foo`}", "{.[}", "{.a[?(@.b}"])
def test_a_path_that_cannot_be_evaluated_is_code_2_naming_the_output(path):
    with pytest.raises(InvalidInput) as caught:
        read_output("addr", path, OBJ)
    assert caught.value.message.startswith("output addr: ")


def test_parent_through_the_pipeline_is_code_2_before_any_object(monkeypatch):
    dep = deployment(CM, {"outputs": {"addr": "ConfigMap/web:{.`parent`}"}})
    answer, api = through_pipeline(dep)
    assert answer["deploy_status_code"] == 2
    assert "output addr:" in answer["deploy_stderr"]
    assert "SECRETVALUE" not in str(answer)
    assert not [w for w in api.writes if "/configmaps/web" in w]


def test_parent_through_hook_main_is_code_2(monkeypatch):
    dep = deployment(CM, {"outputs": {"addr": "ConfigMap/web:{.`parent`}"}})
    answer, code, _err, _api = through_hook(monkeypatch, dep)
    assert code == 2 == answer["deploy_status_code"]
    assert "output addr:" in answer["deploy_stderr"]


_PIECES = st.sampled_from([".", "..", "*", "[0]", "[-1]", "[*]", "[0:2]", "['k']", '["k"]',
                           "`parent`", "`this`", "`len`", "`sub(/a/, b)`", "data", "k", "l",
                           "metadata", "name", "[?(@.x)]", "[?(@ > 1)]", "|", "&", "where",
                           "(", ")", "[", "]", "{", "}", "$", "@", " ", "'", '"', "\\", ",",
                           "+", "-", "=", "~", "`", "1", "0x", "\u00e9"])
_PATHS = st.one_of(st.lists(_PIECES, max_size=8).map(lambda p: "{" + "".join(p) + "}"),
                   st.text(max_size=20), st.text(max_size=20).map(lambda t: "{" + t + "}"))


@seed(26)
@settings(max_examples=400, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(_PATHS)
def test_no_output_path_gives_anything_but_a_value_or_code_2(path):
    """Fuzzed JSONPath templates against a ConfigMap and a Secret: a value or InvalidInput."""
    for obj in (OBJ, dict(OBJ, kind="Secret")):
        try:
            read_output("o", path, obj)
        except InvalidInput as exc:
            assert exc.message.startswith("output o: ")


@pytest.mark.parametrize("path", ["{.spec", ".spec}", ".spec", "spec"])
def test_a_path_not_wrapped_in_braces_says_so(path):
    with pytest.raises(InvalidInput, match=r"output o: JSONPath .* must be wrapped in braces"):
        read_output("o", path, OBJ)


def test_the_evaluation_error_names_the_output_path_and_cause():
    with pytest.raises(InvalidInput) as caught:
        read_output("addr", "{.`parent`}", OBJ)
    # jsonpath-ng 1.17 asserts; 1.8 (pip's choice on Python 3.9) fails reading the match
    assert caught.value.message in (
        f"output addr: JSONPath '{{.`parent`}}' cannot be evaluated ({cause})"
        for cause in ("AssertionError", "AttributeError"))


SPEC = {"kind": "Service", "spec": {"a": 1, "b": [5, 6]}}


@pytest.mark.parametrize("path,value", [
    ("{.spec.a}", 1), ("{ .spec.a }", 1), (" {.spec.a} ", 1), ("{spec.a}", 1),
    ("{['spec']['a']}", 1), ("{.spec.b[1]}", 6), ("{.spec.b}", [5, 6])])
def test_kubectl_spellings_of_a_path(path, value):
    assert read_output("o", path, SPEC) == value


@pytest.mark.parametrize("path", ["{range .spec.b[*]}{.x}{end}", "{.spec.a}{.spec.b}",
                                  "{ range .spec }"])
def test_only_a_single_path_is_supported(path):
    with pytest.raises(InvalidInput, match=r"output o: JSONPath .* only a single \{\.\.\.\} path"):
        read_output("o", path, SPEC)


def test_the_parse_error_is_named():
    with pytest.raises(InvalidInput) as caught:
        read_output("o", "{.`foo`}", OBJ)
    assert caught.value.message == ("output o: JSONPath '{.`foo`}' cannot be parsed: "
                                    "Unknown named operator `foo` at 1:6")
