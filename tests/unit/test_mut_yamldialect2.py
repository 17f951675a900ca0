"""yamldialect.py's survivors of the second mutation run (docs/testing.md, "Mutation testing").

libyaml composes most texts now (yamlfast.py); the counting composer (`_Loader`) reads only
what the fast path refuses or cannot tell. Its limits are therefore reached here on purpose:
`counting` takes libyaml's composer away (as PyYAML without libyaml: every text to `_Loader`),
`pure` also gives `_Loader` PyYAML's pure-Python parser, the one place a lone-surrogate escape
(`"\\ud800"`) gets through parsing to the composer's own check. An alias without its anchor
reaches the counting composer on the ordinary path (libyaml's composer refuses it). `_where` and
`_phrase`'s fallbacks (an error with only a context mark, or of no known class) are called
directly: no input of PyYAML 6 or libyaml raises one.
"""
from __future__ import annotations

import pytest
import yaml
from yaml.error import Mark
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.scanner import Scanner

from heat_k8s_hook.errors import InvalidInput
from heat_k8s_hook.input import yamldialect, yamlfast
from heat_k8s_hook.input.limits import LimitExceeded, Limits

_COUNTING = yamldialect._Loader


class _PureLoader(Reader, Scanner, Parser, _COUNTING):
    """The counting composer over PyYAML's pure-Python parser (its events, its checks)."""

    def __init__(self, stream, limits, what):
        _COUNTING.__init__(self, stream, limits, what)
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)


@pytest.fixture
def counting(monkeypatch):
    monkeypatch.setattr(yamldialect, "_CParser", None)   # no fast path: `_Loader` reads all

    def load(text: str, limits: Limits = Limits()) -> list:
        return yamldialect.load_documents(text, "config", limits)
    return load


@pytest.fixture
def pure(monkeypatch, counting):
    monkeypatch.setattr(yamldialect, "_Loader", _PureLoader)
    return counting


def load(text: str, limits: Limits = Limits()) -> list:
    """The ordinary path: libyaml's composer first, the counting composer when it must."""
    return yamldialect.load_documents(text, "config", limits)


def message(load, text: str, limits: Limits = Limits()) -> str:
    with pytest.raises(InvalidInput) as caught:
        load(text, limits)
    return str(caught.value)


def test_the_counting_composers_node_and_text_limits_are_exact(counting):
    # "ab: cd" is three values (the map, its key, its value) and four characters of text
    assert counting("ab: cd", Limits(max_nodes=3)) == [{"ab": "cd"}]
    assert message(counting, "ab: cd", Limits(max_nodes=2)) == \
        "config: values after expanding aliases: refused, more than 2 (limit max_nodes)"
    assert counting("ab: cd", Limits(max_rendered_bytes=4)) == [{"ab": "cd"}]
    assert message(counting, "ab: cd", Limits(max_rendered_bytes=3)) == \
        "config: text after expanding aliases: refused, more than 3 (limit max_rendered_bytes)"


def test_the_counting_composers_alias_limit_is_exact(counting):
    text = "a: &a x\nb: [*a, *a]\n"            # two alias uses
    assert counting(text, Limits(max_aliases=2)) == [{"a": "x", "b": ["x", "x"]}]
    with pytest.raises(LimitExceeded) as caught:
        counting(text, Limits(max_aliases=1))
    assert str(caught.value) == "config: alias uses: refused, more than 1 (limit max_aliases)"


def test_an_alias_counts_as_the_values_and_text_its_anchor_expanded_to(counting):
    """Values: the map, "a", the list, 1, 2, "b", and the alias as its anchor's 3 = 9.
    Text: "a", "1", "2", "b" and the alias's "1" "2" = 6. The anchor is not the first value,
    so its size is taken from where it started (2 values, 1 character before it)."""
    text = "a: &a [1, 2]\nb: *a\n"
    docs = [{"a": [1, 2], "b": [1, 2]}]
    assert counting(text, Limits(max_nodes=9)) == docs
    assert message(counting, text, Limits(max_nodes=8)) == \
        "config: values after expanding aliases: refused, more than 8 (limit max_nodes)"
    assert counting(text, Limits(max_rendered_bytes=6)) == docs
    assert message(counting, text, Limits(max_rendered_bytes=5)) == \
        "config: text after expanding aliases: refused, more than 5 (limit max_rendered_bytes)"
    # libyaml's composer and its tally say the same at the same edges
    assert yamldialect.load_documents(text, "config", Limits(max_nodes=9,
                                                             max_rendered_bytes=6)) == docs


def test_an_alias_without_its_anchor_counts_one_value_and_no_text():
    """libyaml refuses the alias, the counting composer reads the text again: the map, "k", "x"
    and "v" are 4 values and 3 characters, the alias one value more and no text; then the
    missing anchor is what is said, not a limit."""
    text = "k: x\nv: *a\n"
    said = "config: invalid YAML at line 2, column 4: an alias (*name) without its anchor (&name)"
    assert message(load, text, Limits(max_nodes=5)) == said
    assert message(load, text, Limits(max_rendered_bytes=3)) == said
    assert message(load, text, Limits(max_nodes=4)) == \
        "config: values after expanding aliases: refused, more than 4 (limit max_nodes)"


def test_a_lone_surrogate_escape_is_refused_by_the_counting_composer(pure):
    """PyYAML's own scanner reads `"\\ud800"` as a lone surrogate (libyaml refuses it as it
    scans); the counting composer refuses it at the quoted value, never passing it on."""
    assert message(pure, 'a: 1\nb: "x\\ud800"\n') == \
        "config: invalid YAML at line 2, column 4: an escape that is not Unicode (a lone surrogate)"
    assert message(pure, "- \"\\udfff\"\n") == \
        "config: invalid YAML at line 1, column 3: an escape that is not Unicode (a lone surrogate)"
    # the same parser, other texts: read as with libyaml
    assert pure('a: "x\\u00e9"\nb: \'y\'\nc: z\n') == [{"a": "x\u00e9", "b": "y", "c": "z"}]


def test_libyaml_refuses_a_lone_surrogate_escape_as_it_scans():
    assert message(load, 'a: 1\nb: "x\\ud800"\n') == \
        "config: invalid YAML at line 2, column 8: an escape that is not Unicode"


def test_a_dialect_error_reads_as_any_marked_yaml_error():
    """DialectError is exported: its problem is its phrase, as its text says with the mark."""
    with pytest.raises(yaml.MarkedYAMLError) as caught:
        yamldialect._Loader("a: 1\na: 2\n", Limits(), "config").get_data()
    assert isinstance(caught.value, yamldialect.DialectError)
    assert caught.value.problem == caught.value.phrase == "a duplicate key"
    assert str(caught.value) == 'a duplicate key\n  in "<unicode string>", line 2, column 1'
    made = yamldialect.DialectError("a map was expected here", Mark("x", 7, 1, 3, None, None))
    assert (made.problem, made.phrase) == ("a map was expected here", "a map was expected here")


def test_where_falls_back_to_the_context_mark_then_the_position_then_nothing():
    text = "a: 1\nbb: 2\ncc: [\n"
    context_only = yaml.MarkedYAMLError(context="while parsing a flow sequence",
                                        context_mark=Mark("x", 14, 2, 4, None, None))
    assert yamldialect._where(context_only, text) == " at line 3, column 5"
    both = yaml.MarkedYAMLError(context="c", context_mark=Mark("x", 0, 0, 0, None, None),
                                problem="p", problem_mark=Mark("x", 6, 1, 1, None, None))
    assert yamldialect._where(both, text) == " at line 2, column 2"
    reader = yaml.reader.ReaderError("x", 12, 1, "utf-8", "special characters are not allowed")
    assert yamldialect._where(reader, text) == " at line 3, column 2"
    assert yamldialect._where(yaml.YAMLError("no mark"), text) == ""
    assert yamldialect._where(yaml.MarkedYAMLError(), text) == ""


def test_an_error_of_no_known_kind_is_said_to_be_invalid_yaml():
    assert yamldialect._phrase(yaml.YAMLError("something")) == "invalid YAML"
    assert yamldialect._phrase(yaml.MarkedYAMLError(problem="not a known problem")) == \
        "invalid YAML"
    assert yamldialect._phrase(yaml.MarkedYAMLError(problem="found undefined alias 'x'")) == \
        "an alias (*name) without its anchor (&name)"
    assert yamldialect._phrase(yaml.composer.ComposerError(problem="other")) == \
        "an anchor or alias is wrong here"


class _Spy:
    """yamlfast.documents and `_Loader` as load_documents calls them, noted."""

    def __init__(self, monkeypatch):
        self.asked, self.loaders = [], []
        real_documents, real_loader = yamlfast.documents, yamldialect._Loader

        def documents(text, limits, loader_class):
            self.asked.append((text, limits, loader_class))
            return real_documents(text, limits, loader_class)

        def loader(text, limits, what):
            self.loaders.append((text, limits, what))
            return real_loader(text, limits, what)
        monkeypatch.setattr(yamlfast, "documents", documents)
        monkeypatch.setattr(yamldialect, "_Loader", loader)


def test_a_text_libyaml_composes_within_the_limits_is_not_read_again(monkeypatch):
    spy = _Spy(monkeypatch)
    limits = Limits(max_nodes=50)
    assert yamldialect.load_documents("a: [1, 2]\n", "config", limits) == [{"a": [1, 2]}]
    assert spy.asked == [("a: [1, 2]\n", limits, yamldialect._CLoader)]
    assert spy.loaders == []
    # refused by the fast path: read again by the counting composer, which says why
    with pytest.raises(LimitExceeded):
        yamldialect.load_documents("a: [1, 2]\n", "manifests", Limits(max_nodes=3))
    assert spy.loaders == [("a: [1, 2]\n", Limits(max_nodes=3), "manifests")]


def test_without_libyaml_the_fast_path_is_given_no_loader(monkeypatch):
    monkeypatch.setattr(yamldialect, "_CParser", None)
    spy = _Spy(monkeypatch)
    assert yamldialect.load_documents("a: 1\n") == [{"a": 1}]
    assert spy.asked == [("a: 1\n", Limits(), None)]
    assert spy.loaders == [("a: 1\n", Limits(), "config")]


def test_a_text_that_is_not_unicode_is_refused_before_it_is_read():
    with pytest.raises(InvalidInput) as caught:
        yamldialect.load_documents("a: \ud800\n", "config.manifests")
    assert str(caught.value) == "config.manifests: text that is not Unicode (a lone surrogate)"


def test_two_merge_keys_in_one_map_are_both_merged_not_duplicate_keys():
    """kubectl's go-yaml (v2, sigs.k8s.io/yaml) merges each `<<` of a map in turn; the
    duplicate-key check is for the other keys."""
    text = "a: &a {x: 1}\nb: &b {y: 2}\nm:\n  <<: *a\n  <<: *b\n  z: 3\n"
    expected = [{"a": {"x": 1}, "b": {"y": 2}, "m": {"x": 1, "y": 2, "z": 3}}]
    assert load(text) == expected
    assert message(load, text + "  z: 4\n") == \
        "config: invalid YAML at line 7, column 3: a duplicate key"


def test_a_config_nested_deep_within_max_depth_is_read():
    """libyaml composes it and the constructor builds it level by level (not recursively):
    250 nested lists, and 250 nested maps, under a max_depth of 1000."""
    lists = load("[" * 250 + "x" + "]" * 250, Limits(max_depth=1000))
    maps = load("{a: " * 250 + "x" + "}" * 250, Limits(max_depth=1000))
    for value, kind in ((lists[0], list), (maps[0], dict)):
        for _ in range(250):
            assert isinstance(value, kind)
            value = value[0] if kind is list else value["a"]
        assert value == "x"


@pytest.mark.parametrize("with_libyaml", [True, False])
def test_an_anchor_defined_twice_is_said_so(with_libyaml, monkeypatch):
    """PyYAML and libyaml put "found duplicate anchor" in the error's context, not its problem
    ("second occurrence"): the phrase is looked up in both, and the anchor's name is not said."""
    if not with_libyaml:
        monkeypatch.setattr(yamldialect, "_CParser", None)
    text = "a: &secretname 1\nb: &secretname 2\n"
    said = message(load, text, Limits())
    assert said == "config: invalid YAML at line 2, column 4: an anchor (&name) defined twice"
    assert "secretname" not in said
