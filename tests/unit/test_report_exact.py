"""The result's text functions pinned exactly (issue 26: mutants of truncate, shorten, _field,
error_result, secret_values and the Secret-data check of outputs survived the unit suite)."""
from __future__ import annotations

import base64

import pytest

from heat_k8s_hook.errors import InvalidInput
from heat_k8s_hook.result.report import (
    Masker,
    Result,
    error_result,
    read_output,
    secret_values,
    shorten,
    spellings,
    truncate,
)


def test_truncate_keeps_head_and_tail_with_the_count_cut():
    text = "a" * 1000 + "b" * 1000
    assert truncate(text, 512) == "a" * 192 + "\n... [truncated 1616 bytes] ...\n" + "b" * 192
    assert truncate("x" * 512, 512) == "x" * 512


def test_truncate_drops_a_character_cut_in_half():
    text = "\u00e9" * 300            # 2 bytes each; keep = 202 // 2 - 64 = 37 bytes
    assert truncate(text, 202) == "\u00e9" * 18 + "\n... [truncated 526 bytes] ...\n" + \
        "\u00e9" * 18


def test_shorten_cuts_to_the_limit_and_counts_the_rest():
    assert shorten("x" * 2001) == "x" * 2000 + " ... [1 more]"
    assert shorten("x" * 2000) == "x" * 2000
    assert shorten("abcdef", 4) == "abcd ... [2 more]"


def test_fields_end_with_a_newline_only_when_there_are_lines():
    assert Result(0, ["a", "b"], []).as_dict() == {
        "deploy_stdout": "a\nb\n", "deploy_stderr": "", "deploy_status_code": 0}


def test_error_result_is_its_lines_then_the_error():
    assert error_result(5, "boom", ["l1"]) == {
        "deploy_stdout": "", "deploy_stderr": "l1\nERROR: boom\n", "deploy_status_code": 5}


def test_secret_values_as_written_and_decoded_only_when_valid_base64():
    written = base64.b64encode(b"secret-value").decode()
    secret = {"kind": "Secret", "stringData": {"s": "plain-one"},
              "data": {"a": written, "b": "not base64!", "c": written + "!!"}}
    assert secret_values(secret) == ["plain-one", written, "secret-value", "not base64!",
                                     written + "!!"]
    assert secret_values(dict(secret, kind="ConfigMap")) == []


def test_a_path_of_several_fields_in_a_secret_is_refused():
    secret = {"kind": "Secret", "type": "Opaque", "data": {"k": "djE="}}
    with pytest.raises(InvalidInput) as caught:
        read_output("o", "{['data','type']}", secret)
    assert caught.value.message == (
        "output o: refused: its JSONPath selects Secret data (outputs never read Secret data: "
        "data, stringData, the last-applied annotation)")
    assert read_output("o", "{.type}", secret) == "Opaque"


@pytest.mark.parametrize("secret", ["p\u00e4ss-w\u00f6rd", 'quote"and\\slash', "tab\there",
                                    'p\u00e4"ss-w\u00f6rd', "it's-a\tkey"])
def test_escaped_spellings_are_masked_whole(secret):
    """Each spelling is replaced entirely: not a character of it is left at either end."""
    import json
    m = Masker([secret])
    forms = {json.dumps(secret), json.dumps(json.dumps(secret)),
             json.dumps(secret, ensure_ascii=False), repr(secret)}
    for text in forms:
        inner = text[1:-1]
        if text.startswith('"\\"'):   # the JSON of the JSON: its inner quotes are escaped
            inner = text[3:-3]
        assert m(inner) == "******", (text, m(inner))
    assert secret in spellings(secret)


def test_lines_of_a_multiline_secret_and_the_shortest_lengths():
    m = Masker(["line-one-x\nline-two-y\nline-3-zz", "abcdef\nghijkl", "abc"])
    assert m("line-two-y") == "******" and m("abcdef") == "******" and m("abc") == "******"
    assert Masker(["ab"])("ab") == "ab"
    lone = "\udfffs3cret"   # a lone surrogate (strictjson refuses it; Masker must not crash)
    assert Masker([lone])(f"x {lone} y") == "x ****** y"


def test_an_indexed_path_outside_data_is_readable_in_a_secret():
    secret = {"kind": "Secret", "metadata": {"finalizers": ["f1", "f2"]}, "data": {"k": "djE="}}
    assert read_output("o", "{.metadata.finalizers[0]}", secret) == "f1"
    assert read_output("o", "{.metadata.finalizers[1]}", secret) == "f2"
    with pytest.raises(InvalidInput):
        read_output("o", "{.data.*}", secret)


def test_segments_of_paths_that_are_not_plain():
    from jsonpath_ng.jsonpath import Child, Fields, Root

    from heat_k8s_hook.result.report import _segments, _touches_secret_data
    assert _segments(Child(Fields("a", "b"), Fields("c"))) is None
    assert _segments(Child(Fields("c"), Fields("a", "b"))) is None
    assert _segments(Child(Fields("data"), Root())) == ()
    assert _segments(Child(Fields("data"), Fields("k"))) == ("data", "k")
    assert _touches_secret_data(None) is True


def test_value_masks_numbers_and_keeps_booleans_and_null():
    m = Masker(["12345", "True", "None"])
    assert m.value({"n": 12345, "m": 7, "t": True, "z": None}) == {
        "n": "******", "m": 7, "t": True, "z": None}
    assert m.value(12345) == "******" and m.value(7) == 7 and m.value(True) is True


def test_a_typed_value_is_masked_as_its_leaves_and_its_json():
    import json
    value = {"k": "leaf-value", "n": 12345, "list": ["item-one", "item-two"], "b": True}
    m = Masker([value, True, None])
    assert m(json.dumps(value)) == "******"
    assert m(json.dumps(value, separators=(",", ":"))) == "******"
    assert m("leaf-value item-one item-two 12345") == "****** ****** ****** ******"
    assert m("True None False") == "True None False"


@pytest.mark.parametrize("many", [False, True], ids=["prefix-regex", "plain-scan"])
def test_a_shortest_secret_at_the_very_end_is_masked(many):
    secrets = ["zzz"] + ([f"{i:03d}-secret" for i in range(300)] if many else [])
    m = Masker(secrets)
    assert m("x zzz") == "x ******" and m("zzz") == "******"
    assert m("x 299-secret") == ("x ******" if many else "x 299-secret")


def test_a_longer_secret_added_later_is_still_matched_first():
    m = Masker(["abcdef"])
    assert m("abcdefghij") == "******ghij"
    m.add(["abcdefghij"])
    assert m("abcdefghij") == "******"


def test_a_value_too_short_to_mask_adds_no_spelling():
    m = Masker(["ab"])
    assert m("ab YWI= ab") == "ab YWI= ab" and m.secrets == set()
