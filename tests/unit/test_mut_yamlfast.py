"""yamlfast.py on its own (docs/testing.md, "Mutation testing"): `documents` answers the
documents or None, and test_yamlfast.py's comparisons cannot tell a None the counting composer
then answers alike from the fast path's own answer. Here each case says which it must be:
the tally's figures at their exact limits (alias uses, values and text after aliases expand,
depth, documents), where a text is composed (in the caller's thread up to a depth bound of
1,000, in a "yaml-compose" thread with 1 KiB of stack a level up to 5,000, not at all past
that), the exact bound, and a lone surrogate whatever composer let it through.
"""
from __future__ import annotations

import threading

import pytest
from yaml.composer import Composer
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.scanner import Scanner

from heat_k8s_hook.input import yamldialect, yamlfast
from heat_k8s_hook.input.limits import Limits

MIB = 1 << 20


class _Recording(yamldialect._CLoader):
    """libyaml's loader, noting the thread each text is composed in and each dispose."""

    made: list = []
    disposed: list = []

    def __init__(self, stream):
        _Recording.made.append(threading.current_thread())
        super().__init__(stream)

    def dispose(self):
        _Recording.disposed.append(True)
        super().dispose()


class _PurePython(Reader, Scanner, Parser, Composer, yamldialect._Constructor,
                  yamldialect._Resolver):
    """PyYAML's pure-Python composer: its scanner lets a lone-surrogate escape through."""

    def __init__(self, stream):
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        Parser.__init__(self)
        Composer.__init__(self)
        yamldialect._Constructor.__init__(self)
        yamldialect._Resolver.__init__(self)


@pytest.fixture
def recording():
    _Recording.made, _Recording.disposed = [], []
    return _Recording


def fast(text: str, **limits):
    return yamlfast.documents(text, Limits(**limits), yamldialect._CLoader)


def with_bound(bound: int) -> str:
    """A one-line map whose depth bound is `bound`: 2 * (0 + 1) + the comment's '{' + 1."""
    text = "# " + "{" * (bound - 3) + "\na: 1\n"
    assert yamlfast.depth_bound(text) == bound
    return text


def test_encodable_is_false_for_a_lone_surrogate_only():
    assert yamlfast.encodable("a\u00e9\U0001f600") is True
    assert yamlfast.encodable("") is True
    assert yamlfast.encodable("x\ud800") is False
    assert yamlfast.encodable("\udfff") is False


def test_the_depth_bound_is_exact():
    # leads "" and "  - " (4): 2 * (4 + 1), two '[' (2 * 2), one '{', and 1
    assert yamlfast.depth_bound("a:\n  - [x, [y]]\n  - {b: c}\n") == 16
    assert yamlfast.depth_bound("") == 3
    assert yamlfast.depth_bound("x") == 3
    assert yamlfast.depth_bound("- - x\n") == 2 * (4 + 1) + 1
    assert yamlfast.depth_bound("[[[") == 2 * 1 + 6 + 1
    assert yamlfast.depth_bound("{{") == 2 * 1 + 2 + 1


def test_an_alias_of_a_list_counts_as_its_expansion_at_the_exact_limits():
    """Values: the map, "a", the list and its 1, 2 (3), "b", *a (3), "c", *a (3) = 13; text:
    "a", "1", "2", "b", "1", "2", "c", "1", "2" = 9; two alias uses. The anchor starts after
    2 values and 1 character."""
    text = "a: &a [1, 2]\nb: *a\nc: *a\n"
    docs = [{"a": [1, 2], "b": [1, 2], "c": [1, 2]}]
    assert fast(text, max_nodes=13) == docs
    assert fast(text, max_nodes=12) is None
    assert fast(text, max_rendered_bytes=9) == docs
    assert fast(text, max_rendered_bytes=8) is None
    assert fast(text, max_aliases=2) == docs
    assert fast(text, max_aliases=1) is None


def test_an_alias_of_a_plain_value_counts_one_value_and_its_text():
    text = "a: &a xy\nb: *a\n"                 # the map, "a", "xy", "b", *a: 5; 1+2+1+2 = 6
    assert fast(text, max_nodes=5, max_rendered_bytes=6) == [{"a": "xy", "b": "xy"}]
    assert fast(text, max_nodes=4) is None
    assert fast(text, max_rendered_bytes=5) is None


def test_the_depth_limit_counts_each_nested_map_and_list():
    text = "a: [[{b: [x]}]]\n"                   # the map, two lists, a map, a list: 5 deep
    assert fast(text, max_depth=5) == [{"a": [[{"b": ["x"]}]]}]
    assert fast(text, max_depth=4) is None
    assert fast("- [a, [b]]\n- c\n", max_depth=3) == [[["a", ["b"]], "c"]]
    assert fast("- [a, [b]]\n- c\n", max_depth=2) is None


def test_the_documents_are_counted_together_and_to_their_limit():
    text = "a: 1\n---\nb: 2\n"                   # 3 values each
    assert fast(text, max_nodes=6, max_documents=2) == [{"a": 1}, {"b": 2}]
    assert fast(text, max_nodes=5) is None
    assert fast(text, max_documents=1) is None


def test_many_documents_are_composed_though_node_ids_are_reused():
    """Each document's nodes are freed after it; a later node may have the same id(): it is
    neither an alias nor inside itself."""
    text = "".join(f"---\nm{i}: {{k: [v, {{w: x}}]}}\n" for i in range(200))
    assert fast(text) == [{f"m{i}": {"k": ["v", {"w": "x"}]}} for i in range(200)]


def test_what_the_fast_path_cannot_say_is_none():
    assert fast("a: &a [1, *a]\n") is None           # an alias inside its own anchor
    assert fast("a: 1\na: 2\n") is None              # a duplicate key (the constructor's)
    assert fast("a: [\n") is None                    # libyaml's error
    assert fast("a: *x\n") is None                   # an unknown alias
    assert fast('a: "x"\nb: \'y\'\nc: z\n') == [{"a": "x", "b": "y", "c": "z"}]
    assert fast("") == []


def test_a_lone_surrogate_is_refused_whatever_composer_let_it_through():
    assert yamlfast.documents('a: "x\\ud800"\n', Limits(), _PurePython) is None
    assert yamlfast.documents('a: "x\\u00e9"\nb: x\n', Limits(), _PurePython) == \
        [{"a": "x\u00e9", "b": "x"}]


def test_the_loader_is_disposed_and_one_that_cannot_start_is_none(recording):
    assert yamlfast.documents("a: 1\n", Limits(), recording) == [{"a": 1}]
    assert recording.disposed == [True]
    # libyaml takes UTF-8: a text with a lone surrogate cannot even be handed to it
    assert yamlfast.documents("a: \ud800\n", Limits(), recording) is None
    assert recording.disposed == [True]


def test_without_a_loader_nothing_is_composed():
    assert yamlfast.documents("a: 1\n", Limits(), None) is None


def test_where_a_text_is_composed_follows_its_depth_bound(recording):
    assert yamlfast.documents(with_bound(1000), Limits(), recording) == [{"a": 1}]
    assert recording.made == [threading.current_thread()]
    for bound in (1001, 5000):
        recording.made.clear()
        assert yamlfast.documents(with_bound(bound), Limits(), recording) == [{"a": 1}]
        [thread] = recording.made
        assert thread is not threading.current_thread()
        assert (thread.name, thread.daemon) == ("yaml-compose", True)
    recording.made.clear()
    assert yamlfast.documents(with_bound(5001), Limits(), recording) is None
    assert recording.made == []


def test_the_compose_thread_has_1_kib_of_stack_a_level_and_4_mib_more(monkeypatch):
    """Rounded up to whole MiB; the setting is put back once the thread has started."""
    calls = []
    real = threading.stack_size

    def stack_size(*size):
        calls.append(size)
        return real(*size)
    monkeypatch.setattr(threading, "stack_size", stack_size)
    before = real()
    for bound, mib in ((2048, 6), (2049, 7), (1001, 5), (5000, 9)):
        calls.clear()
        assert fast(with_bound(bound)) == [{"a": 1}]
        assert calls == [(mib * MIB,), (before,)]
        assert real() == before
