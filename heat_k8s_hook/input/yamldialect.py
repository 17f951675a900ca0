"""The one YAML dialect of configs: what kubectl accepts, read with limits, errors without text.

- YAML 1.1 core scalars as kubectl reads them: strings, ints, floats, booleans, null. Values
  that look like timestamps stay strings (kubectl keeps `2024-01-01` as text), as do
  base-60 numbers (`22:22`).
- Empty values (`labels:`) are null; render.py treats a null map as absent, as kubectl does.
- Merge keys (`<<: *base`) and anchors/aliases work; each alias use and each value it expands
  to counts against the limits, and an alias inside its own anchor is refused.
- Refused, at their line and column: duplicate keys (the API server's strict decoding refuses
  duplicate fields; kubectl's YAML-to-JSON step would keep the last silently), keys that are maps or
  lists, tags other than the core ones (`!!binary`, `!!set`, `!!timestamp`, `!custom`, ...),
  `.inf`/`.nan`, integers outside 64 bits.
- Error messages carry a line, a column and a fixed phrase; never a token of the input, which
  may hold a password that a template put there with `str_replace`.

Parsing runs in libyaml (C) when available. Composing runs in libyaml too when the text cannot
nest deeper than its recursion allows (`_depth_bound`), the limits then counted on the node tree
afterwards (`_Tally`); anything that tree refuses or cannot tell is read again by PyYAML's
composer, extended to count as it goes, which says why in its words: results and messages are
those of the pure-Python path (tests/unit/test_yamlfast.py compares the two).
"""
from __future__ import annotations

import functools
import math
import re

import yaml
from yaml.composer import Composer
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.events import AliasEvent, MappingStartEvent, ScalarEvent, SequenceStartEvent
from yaml.nodes import MappingNode, ScalarNode, SequenceNode
from yaml.resolver import Resolver

from heat_k8s_hook.errors import InvalidInput
from heat_k8s_hook.input import yamlfast
from heat_k8s_hook.input.limits import LimitExceeded, Limits
from heat_k8s_hook.input.yamlfast import encodable as _encodable

try:
    from yaml.cyaml import CParser as _Parser
    _CParser = _Parser
except ImportError:  # PyYAML without libyaml (tests/unit/test_yamlfast.py runs it so)
    _CParser = None
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, Parser):  # type: ignore[no-redef]
        def __init__(self, stream):
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)

_TAG = "tag:yaml.org,2002:"
_INT = re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)"
                  r"|[-+]?0x[0-9a-fA-F_]+)$")
_FLOAT = re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                    r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$")  # go-yaml's, as kubectl
_INT64 = 2 ** 63

# PyYAML's and libyaml's problems (fixed texts, matched by prefix) -> what we say instead.
_PHRASES = (
    ("mapping values are not allowed", "a 'key: value' is not allowed here (indentation?)"),
    ("could not find expected ':'", "a key without ':'"),
    ("did not find expected key", "a key was expected here (indentation?)"),
    ("did not find expected node content", "a value was expected here"),
    ("did not find expected ',' or ']'", "a '[' list is not closed"),
    ("did not find expected ',' or '}'", "a '{' map is not closed"),
    ("did not find expected '-' indicator", "a '- ' list entry was expected here"),
    ("did not find expected <document start>", "a document must start with '---' here"),
    ("block sequence entries are not allowed", "a '- ' list entry is not allowed here"),
    ("found unexpected end of stream", "the text ends inside a quoted string"),
    ("found character that cannot start any token", "a character that cannot start a value"),
    ("found a tab character", "a tab where indentation is expected"),
    ("found undefined alias", "an alias (*name) without its anchor (&name)"),
    ("found duplicate anchor", "an anchor (&name) defined twice"),
    ("found unknown escape character", "an unknown escape in a double-quoted string"),
    ("found invalid Unicode character escape", "an escape that is not Unicode"),
    ("found unexpected ':'", "an unexpected ':'"),
    ("found unexpected document", "an unexpected '---' or '...'"),
    ("control characters are not allowed", "a control character"),
    ("expected a mapping for merging", "'<<' must merge a map or a list of maps"),
    ("expected a mapping", "a map was expected here"),
    ("expected a sequence", "a list was expected here"),
    ("expected a scalar", "a plain value was expected here"),
)
_BY_CLASS = (
    (yaml.reader.ReaderError, "a character that is not allowed in YAML"),
    (yaml.scanner.ScannerError, "a token cannot be read here (quotes, indentation?)"),
    (yaml.parser.ParserError, "the structure is broken here (indentation, brackets?)"),
    (yaml.composer.ComposerError, "an anchor or alias is wrong here"),
    (yaml.constructor.ConstructorError, "a value cannot be read here"),
)


class DialectError(yaml.MarkedYAMLError):
    """Something our dialect refuses, at a mark; `phrase` is said as is."""

    def __init__(self, phrase: str, mark):
        super().__init__(problem=phrase, problem_mark=mark)
        self.phrase = phrase


class _Resolver(Resolver):
    """YAML 1.1 resolution without timestamps and base-60 numbers (they stay strings)."""

    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers
                if tag not in (_TAG + "timestamp", _TAG + "int", _TAG + "float")]
        for first, resolvers in Resolver.yaml_implicit_resolvers.items()}


_Resolver.add_implicit_resolver(_TAG + "int", _INT, list("-+0123456789"))
_Resolver.add_implicit_resolver(_TAG + "float", _FLOAT, list("-+0123456789."))

_ALLOWED = ("str", "int", "float", "bool", "null", "map", "seq")


class _Constructor(SafeConstructor):
    yaml_constructors = {tag: fn for tag, fn in SafeConstructor.yaml_constructors.items()
                         if tag in tuple(_TAG + t for t in _ALLOWED)}

    def construct_undefined(self, node):
        raise DialectError(f"the tag is not supported (only {', '.join(_ALLOWED)})",
                           node.start_mark)

    def construct_object(self, node, deep=False):
        try:
            return super().construct_object(node, deep)
        except (ValueError, KeyError, TypeError, OverflowError, AttributeError):
            raise DialectError("a value that does not match its tag", node.start_mark) from None

    def construct_yaml_int(self, node):
        if len(node.value) > 40:
            raise DialectError("an integer outside 64 bits", node.start_mark)
        value = super().construct_yaml_int(node)
        if not -_INT64 <= value < _INT64:
            raise DialectError("an integer outside 64 bits", node.start_mark)
        return value

    def construct_yaml_float(self, node):
        value = super().construct_yaml_float(node)
        if not math.isfinite(value):
            raise DialectError("a number that is not finite (.inf, .nan)", node.start_mark)
        return value

    def construct_mapping(self, node, deep=False):
        if not isinstance(node, MappingNode):
            raise DialectError("a map was expected here", node.start_mark)
        _check_keys(node)
        self.flatten_mapping(node)
        mapping = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node)
            mapping[key if isinstance(key, str) else key_node.value] = \
                self.construct_object(value_node, deep=deep)
        return mapping


def _check_keys(node: MappingNode) -> None:
    """Plain, unique keys; and so in the maps a merge key (`<<`) brings in when they are written
    inline (`<<: {a: 1}`, `<<: [{a: 1}]`): flatten_mapping copies their keys into this map
    without building them as maps of their own, so nothing else would check them. The keys
    merged in may repeat this map's own (the map's own win: YAML's merge)."""
    seen = set()
    for key_node, value_node in node.value:
        if key_node.tag == _TAG + "merge":
            merged = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            for item in merged:
                if isinstance(item, MappingNode):
                    _check_keys(item)
            continue
        if not isinstance(key_node, ScalarNode):
            raise DialectError("a key must be a plain value, not a map or list",
                               key_node.start_mark)
        if key_node.value in seen:
            raise DialectError("a duplicate key", key_node.start_mark)
        seen.add(key_node.value)


_Constructor.add_constructor(_TAG + "int", _Constructor.construct_yaml_int)
_Constructor.add_constructor(_TAG + "float", _Constructor.construct_yaml_float)
_Constructor.add_constructor(None, _Constructor.construct_undefined)


class _Loader(Composer, _Parser, _Constructor, _Resolver):
    """libyaml's parser, PyYAML's composer counting aliases, expansion and depth as it goes."""

    def __init__(self, stream: str, limits: Limits, what: str):
        _Parser.__init__(self, stream)
        Composer.__init__(self)
        _Constructor.__init__(self)
        _Resolver.__init__(self)
        self.limits, self.what = limits, what
        self.depth = self.aliases = self.nodes = self.chars = 0
        self.sizes: dict = {}
        self.open: set = set()

    def _count(self, nodes: int, chars: int) -> None:
        self.nodes += nodes
        self.chars += chars
        if self.nodes > self.limits.max_nodes:
            raise LimitExceeded(f"{self.what}: values after expanding aliases", "max_nodes",
                                self.limits)
        if self.chars > self.limits.max_rendered_bytes:
            raise LimitExceeded(f"{self.what}: text after expanding aliases",
                                "max_rendered_bytes", self.limits)

    def compose_node(self, parent, index):
        if self.check_event(AliasEvent):
            event = self.peek_event()
            if event.anchor in self.open:
                raise DialectError("an alias inside its own anchor (a loop)", event.start_mark)
            self.aliases += 1
            if self.aliases > self.limits.max_aliases:
                raise LimitExceeded(f"{self.what}: alias uses", "max_aliases", self.limits)
            self._count(*self.sizes.get(event.anchor, (1, 0)))
            return super().compose_node(parent, index)
        event = self.peek_event()
        nested = isinstance(event, (MappingStartEvent, SequenceStartEvent))
        self.depth += nested
        if self.depth > self.limits.max_depth:
            raise LimitExceeded(f"{self.what}: nesting depth", "max_depth", self.limits)
        if isinstance(event, ScalarEvent) and event.style == '"' and not _encodable(event.value):
            raise DialectError("an escape that is not Unicode (a lone surrogate)",
                               event.start_mark)
        before = (self.nodes, self.chars)
        self._count(1, len(getattr(event, "value", "") or ""))
        if event.anchor is not None:
            self.open.add(event.anchor)
        node = super().compose_node(parent, index)
        if event.anchor is not None:
            self.open.discard(event.anchor)
            self.sizes[event.anchor] = (self.nodes - before[0], self.chars - before[1])
        self.depth -= nested
        return node


if _CParser is not None:
    class _CLoader(_CParser, _Constructor, _Resolver):
        """libyaml's parser and composer; a tag resolved once per distinct (kind, text, style):
        the cache is functools' (in C), so a repeated key or value costs no Python call."""

        def __init__(self, stream: str):
            _CParser.__init__(self, stream)
            _Constructor.__init__(self)
            _Resolver.__init__(self)
            self.resolve = functools.lru_cache(maxsize=None)(super().resolve)

        def descend_resolver(self, parent, index):  # no path resolvers: nothing to track
            return None

        def ascend_resolver(self):
            return None


def _phrase(exc: yaml.YAMLError) -> str:
    if isinstance(exc, DialectError):
        return exc.phrase
    # the problem, else the context (an anchor defined twice: "found duplicate anchor" is the
    # context, "second occurrence" the problem)
    for said in (getattr(exc, "problem", ""), getattr(exc, "context", "")):
        said = str(said or "")
        for prefix, phrase in _PHRASES:
            if said.startswith(prefix):
                return phrase
    return next((phrase for cls, phrase in _BY_CLASS if isinstance(exc, cls)), "invalid YAML")


def _where(exc: yaml.YAMLError, text: str) -> str:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        return f" at line {mark.line + 1}, column {mark.column + 1}"
    position = getattr(exc, "position", None)
    if isinstance(position, int):
        before = text[:position]
        return f" at line {before.count(chr(10)) + 1}, column {position - before.rfind(chr(10))}"
    return ""


def load_documents(text: str, what: str = "config", limits: Limits = Limits()) -> list:
    """All documents of a YAML stream in our dialect; InvalidInput names only line and column."""
    fast = yamlfast.documents(text, limits, _CLoader if _CParser is not None else None)
    if fast is not None:
        return fast
    try:
        loader = _Loader(text, limits, what)
    except UnicodeEncodeError:  # libyaml takes UTF-8: a lone surrogate cannot be encoded
        raise InvalidInput(f"{what}: text that is not Unicode (a lone surrogate)") from None
    docs: list = []
    try:
        while loader.check_data():
            if len(docs) >= limits.max_documents:
                raise LimitExceeded(f"{what}: documents", "max_documents", limits)
            docs.append(loader.get_data())
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{what}: invalid YAML{_where(exc, text)}: {_phrase(exc)}") from None
    except RecursionError:
        raise LimitExceeded(f"{what}: nesting depth", "max_depth", limits) from None
    finally:
        loader.dispose()
    return docs


__all__ = ["ConstructorError", "DialectError", "load_documents"]
