"""yamldialect.py's counting composer at its exact depth limit (docs/testing.md, "Mutation
testing"; run e's survivor compose_node 36): a config nested exactly max_depth deep is read,
one level more is refused, as libyaml's path and the tally do."""
from __future__ import annotations

import pytest
from wiring import deployment, through_hook

from heat_k8s_hook.errors import InvalidInput
from heat_k8s_hook.input import yamldialect
from heat_k8s_hook.input.limits import Limits


def test_the_counting_composer_reads_a_config_exactly_max_depth_deep(monkeypatch):
    monkeypatch.setattr(yamldialect, "_CParser", None)   # no fast path: `_Loader` reads all
    text = "a: [[{b: [x]}]]\n"                   # the map, two lists, a map, a list: 5 deep
    assert yamldialect.load_documents(text, "config", Limits(max_depth=5)) == \
        [{"a": [[{"b": ["x"]}]]}]
    with pytest.raises(InvalidInput) as caught:
        yamldialect.load_documents(text, "config", Limits(max_depth=4))
    assert str(caught.value) == "config: nesting depth: refused, more than 4 (limit max_depth)"


def test_a_text_the_fast_path_leaves_is_read_to_exactly_max_depth():
    """A quoted run of 5,000 '[' puts the depth bound past what libyaml composes: the
    counting composer reads the text, and reads it to exactly max_depth."""
    text = 'q: "' + "[" * 5000 + '"\nm: {a: [b]}\n'    # the map, a map, a list: 3 deep
    assert yamldialect.load_documents(text, "config", Limits(max_depth=3)) == \
        [{"q": "[" * 5000, "m": {"a": ["b"]}}]
    with pytest.raises(InvalidInput, match="limit max_depth"):
        yamldialect.load_documents(text, "config", Limits(max_depth=2))


@pytest.mark.parametrize("text,line", [
    ("m: {<<: {a: 1, a: 2}}\n", 1),
    ("m:\n  <<: [{b: 0}, {a: 1, a: 2}]\n", 2),
    ("m:\n  <<:\n    <<: {a: 1, a: 2}\n", 3),
])
def test_a_duplicate_key_in_a_map_merged_inline_is_refused(text, line):
    """flatten_mapping copies an inline merged map's keys without building it as a map, so the
    duplicate check must look into it (it was accepted, the last value winning)."""
    with pytest.raises(InvalidInput) as caught:
        yamldialect.load_documents(text, "config", Limits())
    assert str(caught.value).startswith(f"config: invalid YAML at line {line}, column ")
    assert str(caught.value).endswith(": a duplicate key")


@pytest.mark.parametrize("text", ["m:\n  <<: {[a]: 1}\n", "m:\n  <<: [{? {k: v} : 1}]\n"])
def test_a_map_or_list_key_in_a_map_merged_inline_is_code_2_not_70(text):
    """It reached dict() as an unhashable key: a TypeError, code 70 for an input."""
    with pytest.raises(InvalidInput) as caught:
        yamldialect.load_documents(text, "config", Limits())
    assert str(caught.value).endswith(": a key must be a plain value, not a map or list")


def test_a_merged_map_may_repeat_the_maps_own_keys():
    """YAML's merge: the map's own keys win over the ones merged in."""
    docs = yamldialect.load_documents("m: {<<: {a: 1, b: 2}, a: 3}\n", "config", Limits())
    assert docs == [{"m": {"a": 3, "b": 2}}]


def test_a_list_key_merged_inline_through_the_hook_is_code_2_and_writes_nothing(monkeypatch):
    config = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\n  labels:\n"
              "    <<: {[a]: 1}\n")
    answer, code, _err, api = through_hook(monkeypatch, deployment(config))
    assert code == 2 == answer["deploy_status_code"]
    assert answer["deploy_stderr"].splitlines()[-1] == (
        "ERROR: config: invalid YAML at line 6, column 10: a key must be a plain value, not a "
        "map or list [phase: render]")
    assert api.writes == []
