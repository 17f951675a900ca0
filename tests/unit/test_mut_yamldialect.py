"""yamldialect.py's survivors of the mutation run (docs/testing.md, "Mutation testing"):
integers at the 64-bit and 40-character edges, floats, tags, and where an error is said to be
(line and column, counted from 1, of a fixed input)."""
from __future__ import annotations

import pytest

from heat_k8s_hook.errors import InvalidInput
from heat_k8s_hook.input.limits import LimitExceeded, Limits
from heat_k8s_hook.input.yamldialect import load_documents

INT64 = 2 ** 63


def refused(text: str) -> str:
    with pytest.raises(InvalidInput) as err:
        load_documents(text)
    return err.value.message


def test_integers_at_the_64_bit_edges():
    assert load_documents(f"a: {-INT64}") == [{"a": -INT64}]
    assert load_documents(f"a: {INT64 - 1}") == [{"a": INT64 - 1}]
    assert refused(f"a: {INT64}") == "config: invalid YAML at line 1, column 4: an integer " \
        "outside 64 bits"
    assert refused(f"a: {-INT64 - 1}") == "config: invalid YAML at line 1, column 4: an " \
        "integer outside 64 bits"


def test_an_integer_of_40_characters_is_read_and_of_41_refused_unread():
    forty = "+" + "0" * 38 + "1"        # octal 1, as YAML 1.1 reads a leading 0
    assert len(forty) == 40 and load_documents(f"a: {forty}") == [{"a": 1}]
    forty_one = "+" + "0" * 39 + "1"
    assert refused(f"a: {forty_one}") == "config: invalid YAML at line 1, column 4: an " \
        "integer outside 64 bits"


def test_floats_are_read_and_only_finite_ones():
    assert load_documents("x: 1.5\ny: -2e3") == [{"x": 1.5, "y": -2000.0}]
    for bad in (".inf", "-.inf", ".nan"):
        assert refused(f"x: 1.5\ny: {bad}") == "config: invalid YAML at line 2, column 4: a " \
            "number that is not finite (.inf, .nan)"


def test_a_tag_outside_the_dialect_names_the_ones_allowed():
    assert refused("a: !custom x") == "config: invalid YAML at line 1, column 4: the tag is " \
        "not supported (only str, int, float, bool, null, map, seq)"


def test_a_character_not_allowed_is_placed_by_its_line_and_column():
    # \x01 is the fifth character of the third line
    assert refused("a: 1\nb: 2\ncc: \x01\n") == "config: invalid YAML at line 3, column 5: a " \
        "character that is not allowed in YAML"
    assert refused("\x01") == "config: invalid YAML at line 1, column 1: a character that is " \
        "not allowed in YAML"


def test_a_map_tag_on_a_plain_value_is_refused_where_it_stands():
    assert refused("a: !!map x") == "config: invalid YAML at line 1, column 4: a map was " \
        "expected here"
    assert refused("a: [1, !!map x]") == "config: invalid YAML at line 1, column 8: a map was " \
        "expected here"


def test_a_duplicate_key_after_a_merge_key_is_still_refused():
    assert load_documents("a: &a {x: 1}\nm:\n  <<: *a\n  y: 1\n") == \
        [{"a": {"x": 1}, "m": {"x": 1, "y": 1}}]
    assert refused("a: &a {x: 1}\nm:\n  <<: *a\n  y: 1\n  y: 2\n") == \
        "config: invalid YAML at line 5, column 3: a duplicate key"


def test_a_key_must_be_a_plain_value_of_a_supported_tag():
    assert refused("a: 1\n{b: 1}: x\n") == "config: invalid YAML at line 2, column 1: a key " \
        "must be a plain value, not a map or list"
    assert refused("a: 1\n!custom k: 1\n") == "config: invalid YAML at line 2, column 1: the " \
        "tag is not supported (only str, int, float, bool, null, map, seq)"


def test_a_value_that_does_not_match_its_tag_and_an_alias_inside_its_anchor():
    assert refused("a: !!int x") == "config: invalid YAML at line 1, column 4: a value that " \
        "does not match its tag"
    assert refused("a: &a [1, *a]") == "config: invalid YAML at line 1, column 11: an alias " \
        "inside its own anchor (a loop)"


def test_the_node_and_text_limits_are_exact():
    # "ab: cd" is three values (the map, its key, its value) and four characters of text
    assert load_documents("ab: cd", limits=Limits(max_nodes=3)) == [{"ab": "cd"}]
    with pytest.raises(LimitExceeded) as err:
        load_documents("ab: cd", limits=Limits(max_nodes=2))
    assert err.value.message == "config: values after expanding aliases: refused, more than 2 " \
        "(limit max_nodes)"
    assert load_documents("ab: cd", limits=Limits(max_rendered_bytes=4)) == [{"ab": "cd"}]
    with pytest.raises(LimitExceeded):
        load_documents("ab: cd", limits=Limits(max_rendered_bytes=3))


def test_the_alias_limit_is_exact():
    text = "a: &a x\nb: [*a, *a]\n"            # two alias uses
    assert load_documents(text, limits=Limits(max_aliases=2)) == [{"a": "x", "b": ["x", "x"]}]
    with pytest.raises(LimitExceeded) as err:
        load_documents(text, limits=Limits(max_aliases=1))
    assert err.value.message == "config: alias uses: refused, more than 1 (limit max_aliases)"


def test_the_document_limit_is_named_in_its_refusal():
    with pytest.raises(InvalidInput) as caught:
        load_documents("a: 1\n---\nb: 2\n", "config", Limits(max_documents=1))
    assert str(caught.value) == "config: documents: refused, more than 1 (limit max_documents)"


def test_nesting_deeper_than_python_recurses_is_the_depth_limit():
    """5,000 nested lists under a max_depth of 100,000: the composer recurses out of stack
    first (RecursionError), answered as the depth limit, never an internal error."""
    with pytest.raises(InvalidInput) as caught:
        load_documents("[" * 5000 + "]" * 5000, "config", Limits(max_depth=100_000))
    assert str(caught.value) == \
        "config: nesting depth: refused, more than 100000 (limit max_depth)"


def test_the_depth_limit_counts_each_nested_map_and_list():
    text = "a: [[{b: [x]}]]\n"                   # the map, two lists, a map, a list: 5 deep
    assert load_documents(text, limits=Limits(max_depth=5)) == [{"a": [[{"b": ["x"]}]]}]
    with pytest.raises(LimitExceeded) as err:
        load_documents(text, limits=Limits(max_depth=4))
    assert err.value.message == "config: nesting depth: refused, more than 4 (limit max_depth)"
