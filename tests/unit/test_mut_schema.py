"""schema.py's survivors of the mutation run (docs/testing.md, "Mutation testing").

number(), one_of(), list_of(), map_of(), fields_of() and Record(...) are factories: the
configs call them at import time, before mutmut switches a mutant on, so a test that only
goes through a config's module-level record never meets the factory's mutants. Every factory
here is called in the test body (parametrize holds plain data only), and each test asserts the
exact problem, the path (one key per level, a list's item counted from 1 when said), the value
returned and its type.
"""
from __future__ import annotations

import dataclasses
import math
from typing import Optional

import pytest

from heat_k8s_hook import schema
from heat_k8s_hook.schema import ABSENT, NOT_A_NAME, Field, Invalid, Record


def refused(convert, value) -> Invalid:
    """The Invalid `convert(value)` raises (any other exception fails the test)."""
    with pytest.raises(Invalid) as info:
        convert(value)
    return info.value


def said(convert, value, where: str = "cfg") -> str:
    """The one message format for `convert(value)`'s refusal, the config named `where`."""
    with pytest.raises(ValueError) as info:
        schema.check(convert, value, schema.at(where), ValueError)
    assert type(info.value) is ValueError
    return str(info.value)


# --- Invalid --------------------------------------------------------------------------------------

def test_an_invalid_is_a_value_error_whose_text_is_its_problem():
    exc = Invalid("expected a number >= 0")
    assert isinstance(exc, ValueError)
    assert str(exc) == "expected a number >= 0" and exc.args == ("expected a number >= 0",)
    assert exc.problem == "expected a number >= 0" and exc.path == ()
    deep = Invalid("missing", ["limits", 2])
    assert deep.path == ("limits", 2) and str(deep) == "missing"


def test_under_adds_one_step_in_front_keeping_an_index_an_int():
    exc = Invalid("p", ("c",)).under(0).under("b")
    assert exc.path == ("b", 0, "c") and exc.problem == "p"
    assert Invalid("p").under(True).path == (NOT_A_NAME,)     # a boolean key is no index
    assert Invalid("p").under("a b").path == (NOT_A_NAME,)


# --- number ---------------------------------------------------------------------------------------

def test_number_takes_its_minimum_and_returns_a_float():
    at_least = schema.number(0)
    for value, expected in ((0, 0.0), (0.0, 0.0), (2, 2.0), (1.5, 1.5), (1e300, 1e300)):
        got = at_least(value)
        assert got == expected and type(got) is float, (value, got)
    assert refused(at_least, -0.5).problem == "expected a number >= 0"
    assert refused(at_least, -1).path == ()


def test_number_above_refuses_its_minimum_and_takes_what_is_above():
    above = schema.number(0, above=True)
    for value in (0.25, 1, 7.5):
        got = above(value)
        assert got == value and type(got) is float
    for value in (0, 0.0, -1):
        assert refused(above, value).problem == "expected a number greater than 0"


def test_number_above_a_fractional_minimum_says_it_with_g():
    above = schema.number(2.5, above=True)
    assert above(2.75) == 2.75
    assert refused(above, 2.5).problem == "expected a number greater than 2.5"
    assert refused(schema.number(10), 9).problem == "expected a number >= 10"


@pytest.mark.parametrize("value", [True, False, "1", None, [1], {"a": 1}, math.nan, math.inf,
                                   -math.inf])
def test_number_refuses_booleans_text_and_what_is_not_finite(value):
    assert refused(schema.number(0), value).problem == "expected a number >= 0"
    assert refused(schema.number(0, whole=True), value).problem == "expected a number >= 0"


def test_a_whole_number_is_returned_as_an_int():
    whole = schema.number(1, whole=True)
    for value in (1, 3, 3.0, 2 ** 40):
        got = whole(value)
        assert got == value and type(got) is int, (value, got)


def test_a_fraction_is_not_a_whole_number():
    whole = schema.number(1, whole=True)
    assert refused(whole, 2.5).problem == "expected a whole number >= 1"
    assert refused(whole, 1.0000001).problem == "expected a whole number >= 1"
    above = schema.number(0, above=True, whole=True)
    assert above(1) == 1 and type(above(1)) is int
    assert refused(above, 0.5).problem == "expected a whole number greater than 0"
    # below the minimum is said as the plain number, whole or not
    assert refused(whole, 0).problem == "expected a number >= 1"
    assert refused(above, 0).problem == "expected a number greater than 0"


def test_a_number_is_whole_only_when_asked():
    plain = schema.number(0)
    assert plain(2.5) == 2.5 and type(plain(2.5)) is float
    assert plain(3) == 3.0 and type(plain(3)) is float


# --- one_of ---------------------------------------------------------------------------------------

def test_one_of_takes_a_choice_as_given_and_lists_the_choices_in_order():
    convert = schema.one_of(("public", "internal", "admin"))
    assert convert("internal") == "internal" and convert("public") == "public"
    for value in ("Public", "", None, 1, ["public"]):
        exc = refused(convert, value)
        assert exc.problem == "expected one of public, internal, admin" and exc.path == ()


# --- list_of --------------------------------------------------------------------------------------

def test_a_list_is_converted_item_by_item_into_a_tuple():
    numbers = schema.list_of(schema.number(0), "a list of numbers")
    got = numbers([1, 2.5, 0])
    assert got == (1.0, 2.5, 0.0) and type(got) is tuple
    assert all(type(item) is float for item in got)
    assert schema.list_of(schema.text, "names")(["a", "b"]) == ("a", "b")


def test_a_list_may_be_empty_unless_told_otherwise():
    assert schema.list_of(schema.text, "a list of names")([]) == ()
    assert schema.list_of(schema.text, "a list of names", empty=True)([]) == ()
    non_empty = schema.list_of(schema.text, "a non-empty list of names", empty=False)
    assert non_empty(["x"]) == ("x",) and non_empty(["x", "y"]) == ("x", "y")
    exc = refused(non_empty, [])
    assert exc.problem == "expected a non-empty list of names" and exc.path == ()


@pytest.mark.parametrize("value", ["ab", "", ("a",), {"a": "b"}, None, 3])
@pytest.mark.parametrize("empty", [True, False])
def test_what_is_not_a_list_is_refused_with_what_was_expected(value, empty):
    convert = schema.list_of(schema.text, "a list of names", empty=empty)
    exc = refused(convert, value)
    assert exc.problem == "expected a list of names" and exc.path == ()


def test_an_items_error_names_it_by_its_index_said_from_1():
    names = schema.list_of(schema.text, "a list of names")
    exc = refused(names, ["a", "b", 3])
    assert exc.path == (2,) and exc.problem == "expected a non-empty string, got a number"
    record = Record((Field("names", names),))
    assert said(record, {"names": ["a", "b", None]}) == \
        "cfg.names item 3: expected a non-empty string, got null"
    assert said(record, {"names": [""]}) == "cfg.names item 1: expected a non-empty string, got text"


# --- map_of ---------------------------------------------------------------------------------------

def test_a_map_is_converted_value_by_value():
    numbers = schema.map_of(schema.number(0), "a map of numbers")
    got = numbers({"a": 1, "b/c": 2.5})
    assert got == {"a": 1.0, "b/c": 2.5} and all(type(v) is float for v in got.values())
    assert list(got) == ["a", "b/c"]
    assert schema.map_of(schema.text, "a map of names")({}) == {}


@pytest.mark.parametrize("value", [["a"], [], "a", None, 1, {1: "x"}, {"a": "x", None: "y"},
                                   {("a",): "x"}])
def test_what_is_not_a_map_of_text_keys_is_refused(value):
    exc = refused(schema.map_of(schema.text, "a map of names"), value)
    assert exc.problem == "expected a map of names" and exc.path == ()


def test_an_entrys_error_names_its_key():
    names = schema.map_of(schema.text, "a map of names")
    exc = refused(names, {"ok": "x", "apps/Deployment": ""})
    assert exc.path == ("apps/Deployment",)
    assert exc.problem == "expected a non-empty string, got text"
    secret = refused(names, {"s3cr3t value!": None})
    assert secret.path == (NOT_A_NAME,) and secret.problem == "expected a non-empty string, got null"
    record = Record((Field("wait", names),))
    assert said(record, {"wait": {"x": 1}}) == "cfg.wait.x: expected a non-empty string, got a number"


# --- fields_of ------------------------------------------------------------------------------------

@dataclasses.dataclass
class Sample:
    name: str
    size: int = 3
    tags: tuple = dataclasses.field(default_factory=tuple)
    note: Optional[str] = None
    unchecked: int = 7      # not in the converters: left out


def _name(value):
    return schema.text(value)


def _size(value):
    return int(schema.number(1, whole=True)(value))


def _tags(value):
    return schema.list_of(schema.text, "a list of tags")(value)


def _note(value):
    return schema.text(value)


CONVERTERS = {"name": _name, "size": _size, "tags": _tags, "note": _note}


def test_fields_of_takes_the_dataclasss_names_defaults_and_required_ones():
    fields = schema.fields_of(Sample, CONVERTERS)
    assert type(fields) is tuple and all(type(f) is Field for f in fields)
    assert [f.name for f in fields] == ["name", "size", "tags", "note"]
    assert [f.convert for f in fields] == [_name, _size, _tags, _note]
    assert fields[0].default is ABSENT and fields[0].required is True      # no default
    assert fields[1].default == 3 and fields[1].required is False
    assert fields[2].default is ABSENT and fields[2].required is False     # default_factory
    assert fields[3].default is None and fields[3].required is False       # a None default


def test_fields_of_only_the_named_fields():
    fields = schema.fields_of(Sample, {"size": _size})
    assert len(fields) == 1
    assert (fields[0].name, fields[0].convert, fields[0].default, fields[0].required) == \
        ("size", _size, 3, False)
    assert schema.fields_of(Sample, {}) == ()


def test_a_record_of_a_dataclasss_fields_builds_it():
    record = Record(schema.fields_of(Sample, CONVERTERS))
    out = record({"name": "web"})
    assert out == {"name": "web", "size": 3, "note": None}      # tags: the dataclass's factory
    assert Sample(**out) == Sample("web", 3, (), None, 7)
    assert record({"name": "web", "size": 5.0, "tags": ["a"], "note": "n"}) == \
        {"name": "web", "size": 5, "tags": ("a",), "note": "n"}
    exc = refused(record, {"size": 2})
    assert exc.problem == "missing" and exc.path == ("name",)
    assert said(record, {"name": "web", "size": 1.5}) == "cfg.size: expected a whole number >= 1"
    assert said(record, {"name": "w", "unchecked": 1}) == \
        "cfg: unknown key(s) unchecked; known keys: name, note, size, tags"


# --- Record ---------------------------------------------------------------------------------------

def _plain() -> Record:
    return Record((Field("a", schema.text, required=True), Field("b", schema.text, "dflt")))


def test_a_records_defaults_say_a_map_and_key_and_null_is_absent():
    record = _plain()
    assert record.what == "a map" and record.noun == "key"
    assert record.null_is_absent is True and record.rest is None and record.checks == ()
    assert refused(record, ["a"]).problem == "expected a map, got a list"
    assert refused(record, "x").problem == "expected a map, got text"
    exc = refused(record, {"zz": 1, "a": "x"})
    assert exc.problem == "unknown key(s) zz; known keys: a, b" and exc.path == ()
    assert record({"a": "x", "b": None}) == {"a": "x", "b": "dflt"}
    assert refused(record, {"a": None}).path == ("a",)


def test_a_records_what_and_noun_are_its_own():
    record = Record((Field("timeout", schema.number(0)), Field("wait", schema.text)),
                    what="the options map", noun="option")
    assert refused(record, None).problem == "expected the options map, got null"
    assert refused(record, {"colour": 1, "Wait": 2}).problem == \
        "unknown option(s) Wait, colour; known options: timeout, wait"


def test_null_is_a_value_when_the_record_says_so():
    record = Record((Field("a", schema.text, "dflt"),), null_is_absent=False)
    exc = refused(record, {"a": None})
    assert exc.path == ("a",) and exc.problem == "expected a non-empty string, got null"
    assert record({}) == {"a": "dflt"}
    keeps_null = Record((Field("a", lambda v: v, "dflt"),), null_is_absent=False)
    assert keeps_null({"a": None}) == {"a": None}
    drops_null = Record((Field("a", lambda v: v, "dflt"),))
    assert drops_null({"a": None}) == {"a": "dflt"}


def test_rest_converts_the_keys_a_record_does_not_declare():
    record = Record((Field("a", schema.text),), rest=schema.number(0))
    got = record({"a": "x", "zz": 2, "not a name": 1})
    assert got == {"a": "x", "zz": 2.0, "not a name": 1.0} and type(got["zz"]) is float
    exc = refused(record, {"a": "x", "zz": "y"})
    assert exc.path == ("zz",) and exc.problem == "expected a number >= 0"


def test_checks_see_the_converted_values_with_defaults_in_order():
    seen = []

    def first(values):
        seen.append(("first", dict(values)))

    def second(values):
        seen.append(("second", dict(values)))
        if values["low"] > values["high"]:
            raise Invalid("must not exceed high", ("low",))

    record = Record((Field("low", schema.number(0), 1.0), Field("high", schema.number(0), 5.0)),
                    checks=[first, second])
    assert record.checks == (first, second)
    assert record({"low": 2}) == {"low": 2.0, "high": 5.0}
    assert seen == [("first", {"low": 2.0, "high": 5.0}), ("second", {"low": 2.0, "high": 5.0})]
    assert said(record, {"low": 9}) == "cfg.low: must not exceed high"


def test_the_first_missing_field_is_said_in_the_declared_order():
    record = Record((Field("b", schema.text, required=True), Field("a", schema.text, required=True),
                     Field("c", schema.text)))
    assert refused(record, {}).path == ("b",)
    assert refused(record, {"b": "x"}).path == ("a",)
    assert refused(record, {"b": None, "a": "x"}).path == ("b",)
    assert refused(record, {"a": "x", "b": "y", "c": ""}).path == ("c",)
    assert record({"b": "x", "a": "y"}) == {"b": "x", "a": "y"}


def test_nested_records_name_each_level():
    inner = Record((Field("d", schema.number(0, above=True)),))
    record = Record((Field("outer", schema.map_of(inner, "a map of maps")),))
    assert said(record, {"outer": {"k": {"d": 0}}}) == "cfg.outer.k.d: expected a number greater than 0"
    assert said(record, [], "settings") == "settings: expected a map, got a list"
    items = Record((Field("l", schema.list_of(inner, "a list of maps")),))
    assert said(items, {"l": [{"d": 1}, {"e": 1}]}) == \
        "cfg.l item 2: unknown key(s) e; known keys: d"


def test_unknown_keys_are_sorted_once_and_not_names_are_masked():
    with pytest.raises(Invalid) as info:
        schema.refuse_unknown({"b": 1, "a": 1, "x y": 1, "p\nq": 1, "k": 1}, ("k", "m"), "option")
    assert info.value.problem == \
        "unknown option(s) (a key that is not a name), a, b; known options: k, m"
    schema.refuse_unknown({"k": 1}, ("k",))
    with pytest.raises(Invalid) as info:
        schema.refuse_unknown({1: 1}, ())
    assert info.value.problem == "unknown key(s) (a key that is not a name); known keys: "


@pytest.mark.parametrize("value, expected", [
    (None, "null"), (True, "a boolean"), (0, "a number"), (0.5, "a number"), ("", "text"),
    ({}, "a map"), ([], "a list"), ((), "a list"), (b"x", "bytes")])
def test_kind_says_what_a_value_is(value, expected):
    assert schema.kind(value) == expected
