"""yamlfast.py's tally (docs/testing.md, "Mutation testing"; run e's `_Tally.visit` survivors
30, 32, 36, 37): a key that is a list (allowed when tagged !!merge: its value is merged, the
key dropped) counts one level deeper than its map, as the counting composer counts it; a node
inside itself is a loop at once, whatever max_depth allows."""
from __future__ import annotations

import pytest

from heat_k8s_hook.errors import InvalidInput
from heat_k8s_hook.input import yamldialect, yamlfast
from heat_k8s_hook.input.limits import Limits

MERGE_KEY = "? !!merge [[x]]\n: {a: 1}\n"   # the map; its key: a list in a list (2, 3 deep)


def fast(text: str, **limits):
    return yamlfast.documents(text, Limits(**limits), yamldialect._CLoader)


def test_a_merge_key_that_is_a_list_counts_its_depth_exactly():
    assert fast(MERGE_KEY, max_depth=3) == [{"a": 1}]
    assert fast(MERGE_KEY, max_depth=2) is None


def test_the_counting_composer_counts_that_key_alike(monkeypatch):
    monkeypatch.setattr(yamldialect, "_CParser", None)
    assert yamldialect.load_documents(MERGE_KEY, "config", Limits(max_depth=3)) == [{"a": 1}]
    with pytest.raises(InvalidInput, match="limit max_depth"):
        yamldialect.load_documents(MERGE_KEY, "config", Limits(max_depth=2))


def test_a_node_inside_itself_is_a_loop_at_once_not_when_the_depth_runs_out():
    node = yamldialect._CLoader("a: &x [*x]\n").get_single_node()
    looped = node.value[0][1]
    assert looped.value[0] is looped              # libyaml composes the loop as it is
    tally = yamlfast._Tally(Limits(max_depth=1_000_000))
    with pytest.raises(yamlfast._Fallback):       # not a RecursionError, max_depth levels on
        tally.document(node)
