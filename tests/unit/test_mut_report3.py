"""result/report.py's survivors of mutation run f (docs/testing.md)."""
from __future__ import annotations

import pytest

from heat_k8s_hook.errors import InvalidInput
from heat_k8s_hook.result.report import MASK, Masker, compile_jsonpath


@pytest.mark.parametrize("secret,number", [("inf", float("inf")), ("nan", float("nan"))])
def test_a_number_whose_text_is_a_secret_is_masked(secret, number):
    """Kills Masker.value 12 (a number never masked by its own text). For these two its JSON
    text (`Infinity`, `NaN`) does not contain the secret, so only the check of str(value)
    catches them. (The hook's inputs and the API server never carry them: strictjson and
    the YAML dialect refuse non-finite numbers; Masker.value is pure and says "every".)"""
    m = Masker([secret])
    assert m.value(number) == MASK
    assert m.value([number]) == [MASK]
    assert m.value({"k": number}) == {"k": MASK}


def test_a_path_starting_with_a_bracket_is_parsed_from_the_root_itself():
    """Kills compile_jsonpath 27 (`[` no longer recognised: `{[...]}` parsed as `$.[...]`).
    jsonpath-ng builds the same tree for both, but the position in its error is the one of
    the text it was given, and the message reaches Heat."""
    assert repr(compile_jsonpath("{[0].a}")) == repr(compile_jsonpath("{.[0].a}"))
    with pytest.raises(InvalidInput) as err:
        compile_jsonpath("{[?(@.a)]}")
    assert str(err.value).endswith(
        "JSONPath '{[?(@.a)]}' cannot be parsed: Error on line 1, col 2: Unexpected character: ?")
