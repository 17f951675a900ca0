"""yamldialect.py's counting composer at its exact depth limit (docs/testing.md, "Mutation
testing"; run e's survivor compose_node 36): a config nested exactly max_depth deep is read,
one level more is refused, as libyaml's path and the tally do."""
from __future__ import annotations

import pytest

from heat_k8s_hook.errors import InvalidInput
from heat_k8s_hook.input import yamldialect
from heat_k8s_hook.input.limits import Limits


@pytest.fixture
def counting(monkeypatch):
    monkeypatch.setattr(yamldialect, "_CParser", None)   # no fast path: `_Loader` reads all

    def load(text: str, limits: Limits = Limits()) -> list:
        return yamldialect.load_documents(text, "config", limits)
    return load


def test_the_counting_composer_reads_a_config_exactly_max_depth_deep(counting):
    text = "a: [[{b: [x]}]]\n"                   # the map, two lists, a map, a list: 5 deep
    assert counting(text, Limits(max_depth=5)) == [{"a": [[{"b": ["x"]}]]}]
    with pytest.raises(InvalidInput) as caught:
        counting(text, Limits(max_depth=4))
    assert str(caught.value) == "config: nesting depth: refused, more than 4 (limit max_depth)"


def test_a_text_the_fast_path_leaves_is_read_to_exactly_max_depth():
    """A quoted run of 5,000 '[' puts the depth bound past what libyaml composes: the
    counting composer reads the text, and reads it to exactly max_depth."""
    text = 'q: "' + "[" * 5000 + '"\nm: {a: [b]}\n'    # the map, a map, a list: 3 deep
    assert yamldialect.load_documents(text, "config", Limits(max_depth=3)) == \
        [{"q": "[" * 5000, "m": {"a": ["b"]}}]
    with pytest.raises(InvalidInput, match="limit max_depth"):
        yamldialect.load_documents(text, "config", Limits(max_depth=2))
