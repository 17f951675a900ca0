"""libyaml's composer (yamldialect's fast path) against the counting composer (the pure-Python
path, forced by taking libyaml's parser away): the same documents, the same errors, the same
limits, on the real manifests corpus, the fuzzer's hostile texts and generated ones.

Checked that it can fail (each broken on purpose, tests red, restored): `_Tally` no longer
counting an alias as its anchor's expansion (the bombs passed under tight limits); the
resolver cache keyed on the text alone (`'1'` and `1` the same tag); `_depth_bound` without
the line's leading '-' (the fuzzer's 30,000 nested `- ` crashed the process). Without libyaml
yamldialect's pure-Python parser class called its own __init__ (a TypeError on every config):
`test_without_libyaml_the_same_documents` was red until that was fixed.
"""
import json
import pathlib
import subprocess
import sys

import pytest
import yaml
from fuzzing import _HOSTILE_YAML, _bomb, _yaml_text
from hypothesis import HealthCheck, given, seed, settings

from heat_k8s_hook.errors import InvalidInput
from heat_k8s_hook.input import yamldialect, yamlfast
from heat_k8s_hook.input.limits import Limits

CORPUS = pathlib.Path("/work/shared/corpora/real-manifests")
TIGHT = Limits(max_aliases=20, max_nodes=300, max_depth=6, max_documents=3,
               max_rendered_bytes=2_000)
MORE = [
    "a: &x {b: 1}\nc: *x\nd: [*x, *x]\n", "base: &b {x: 1}\nm:\n  <<: *b\n  y: 2\n",
    "m:\n  <<: [{x: 1}, {y: 2}]\n", "x: &a\n  y: *a\n", "- &a [1]\n- *a\n", "a: \"\\ud800\"\n",
    "a: '1'\nb: 1\nc: \"1\"\nd: !!str 1\n", "on: yes\noff: No\n", "a: 0o17\nb: 017\nc: 0x_1\n",
    "a: 22:22\nb: 2024-01-01\n", "a:\n\n", "a: ~\nb: null\n", "- - - - - - - x\n",
    "a:\n- b\n- c\n", "? - a\n: b\n", "{a: [b: c]}\n", "\r- \r  - \r    - x\r", "---\n...\n",
    "- " * 2_000 + "x", "? " * 2_000 + "x", "[a: " * 1_200, "{a: " * 2_000 + "}" * 2_000,
    "a:\n" + "".join(" " * i + "b:\n" for i in range(1, 2_000)), "\u2028- " * 5, "a: 1\n" * 3,
]


def both(text: str, limits: Limits = Limits()) -> tuple:
    """(fast path's answer, counting composer's answer): documents or the error's message."""
    def answer():
        try:
            return ("docs", yamldialect.load_documents(text, "config", limits))
        except InvalidInput as exc:
            return ("error", str(exc))
    fast = answer()
    saved = yamldialect._CParser
    yamldialect._CParser = None
    try:
        slow = answer()
    finally:
        yamldialect._CParser = saved
    return fast, slow


def test_libyaml_is_there():
    assert yaml.__with_libyaml__, "PyYAML without libyaml: the fast path is not tested"
    assert yamldialect._CParser is not None


def test_the_fast_path_is_taken_on_real_manifests():
    texts = sorted(CORPUS.glob("*.yaml"))
    assert len(texts) >= 5, f"corpus missing at {CORPUS}"
    for path in texts:
        text = path.read_text()
        assert yamlfast.documents(text, Limits(), yamldialect._CLoader) is not None, path.name


@pytest.mark.parametrize("limits", [Limits(), TIGHT], ids=["default", "tight"])
def test_corpus_same_answer(limits):
    for path in sorted(CORPUS.glob("*.yaml")):
        fast, slow = both(path.read_text(), limits)
        assert fast == slow, path.name


@pytest.mark.parametrize("limits", [Limits(), TIGHT], ids=["default", "tight"])
def test_hostile_same_answer(limits):
    for text in _HOSTILE_YAML + MORE + [_bomb(3, 4), _bomb(5, 3)]:
        fast, slow = both(text, limits)
        assert fast == slow, text[:60]


def test_bounds_hold_on_deep_text():
    """The bound is above the real depth (the C composer would recurse past its stack)."""
    for text in MORE + _HOSTILE_YAML:
        try:
            docs = yamldialect.load_documents(text, "config", Limits(max_depth=100_000))
        except InvalidInput:
            continue
        assert _depth(docs) <= yamlfast.depth_bound(text), text[:60]


def _depth(value, seen=None) -> int:
    seen = set() if seen is None else seen
    if not isinstance(value, (dict, list)) or id(value) in seen:
        return 0
    seen = seen | {id(value)}
    children = value.values() if isinstance(value, dict) else value
    return 1 + max((_depth(c, seen) for c in children), default=0)


@seed(20261205)
@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=_yaml_text())
def test_generated_same_answer(text):
    for limits in (Limits(), TIGHT):
        fast, slow = both(text, limits)
        assert fast == slow


NO_LIBYAML = """
import json, sys
sys.modules["yaml._yaml"] = None  # PyYAML as installed without libyaml
import yaml
from heat_k8s_hook.input import yamldialect
assert not yaml.__with_libyaml__ and yamldialect._CParser is None
print(json.dumps([yamldialect.load_documents(open(p).read()) for p in sys.argv[1:]]))
"""


def test_without_libyaml_the_same_documents():
    """PyYAML without libyaml (its pure-Python parser, no fast path) reads the corpus alike."""
    paths = [str(p) for p in sorted(CORPUS.glob("*.yaml")) if p.stat().st_size < 100_000]
    assert len(paths) >= 5, f"corpus missing at {CORPUS}"
    done = subprocess.run([sys.executable, "-c", NO_LIBYAML, *paths], capture_output=True,
                          text=True, timeout=300, cwd=pathlib.Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    expected = [yamldialect.load_documents(pathlib.Path(p).read_text()) for p in paths]
    assert json.loads(done.stdout) == json.loads(json.dumps(expected))
