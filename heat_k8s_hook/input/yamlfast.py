"""libyaml's composer for yamldialect, with the counting composer's limits taken afterwards.

The C composer builds a document's node tree; `_Tally` walks it and counts what the counting
composer (yamldialect's `_Loader`) counts as it goes: alias uses, values after aliases expand
(an alias counted as its anchor's expansion), their text, nesting depth, documents. Anything
it refuses or cannot tell (a limit, a loop, a lone surrogate, an error of libyaml or of the
constructor, a text that may nest deeper than the C stack allows) answers None, and
yamldialect reads the text again with the counting composer, which says why in its own words:
results and messages are the pure-Python path's (tests/unit/test_yamlfast.py) (pure).
"""
from __future__ import annotations

import re
import threading

from heat_k8s_hook.input.limits import Limits

# The C composer recurses on the C stack, about 250 bytes a level (100,000 nested '[' crash the
# process), and libyaml slows as the square of the depth: a text that may nest deeper than
# _C_INLINE is composed in a thread with a stack of 1 KiB a level; one that may nest deeper
# than _C_DEPTH by the counting composer (None), which stops at max_depth.
_C_INLINE, _C_DEPTH = 1_000, 5_000
# libyaml starts a block collection only where a key or an entry may start: on a line (its
# breaks: LF, CR, NEL, LS, PS), after spaces, tabs, a BOM and the indicators '-', '?' and ':';
# each at a column deeper than the collection around it, an indentless list under a key one
# level more. A flow collection needs a '{', or a '[' (two levels: a single-pair map inside).
_LEAD = re.compile("(?:^|[\r\x85\u2028\u2029])[ \t?:\\-\ufeff]*", re.M)


def depth_bound(text: str) -> int:
    """An upper bound, cheap to take, of how deep maps and lists can nest in the text."""
    lead = max(map(len, _LEAD.findall(text)), default=0)
    return 2 * (lead + 1) + 2 * text.count("[") + text.count("{") + 1


class _Fallback(Exception):
    """The node tree holds what the counting composer must refuse in its own words."""


class _Tally:
    """The counting composer's figures, taken on each document's node tree: a node met again
    is an alias (counted as the values its anchor expanded to); a node inside itself a loop."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.aliases = self.nodes = self.chars = 0
        self.sizes: dict = {}
        self.open: set = set()

    def document(self, node) -> None:
        self.sizes.clear()  # keyed by id(): the nodes of earlier documents may be freed
        self.visit(node, 1)
        limits = self.limits
        if (self.aliases > limits.max_aliases or self.nodes > limits.max_nodes
                or self.chars > limits.max_rendered_bytes):
            raise _Fallback

    def visit(self, node, depth: int) -> None:
        key = id(node)
        if key in self.sizes:
            self.aliases += 1
            nodes, chars = self.sizes[key]
            self.nodes, self.chars = self.nodes + nodes, self.chars + chars
            return
        value = node.value
        if isinstance(value, str):
            if node.style == '"' and not encodable(value):
                raise _Fallback
            self.nodes, self.chars = self.nodes + 1, self.chars + len(value)
            self.sizes[key] = (1, len(value))
            return
        if key in self.open or depth > self.limits.max_depth:
            raise _Fallback
        before = (self.nodes, self.chars)
        self.nodes += 1
        self.open.add(key)
        for item in value:
            if isinstance(item, tuple):
                self.visit(item[0], depth + 1)
                self.visit(item[1], depth + 1)
            else:
                self.visit(item, depth + 1)
        self.open.discard(key)
        self.sizes[key] = (self.nodes - before[0], self.chars - before[1])


def documents(text: str, limits: Limits, loader_class):
    """The documents as libyaml composes them, or None when the counting composer must read
    the text (libyaml missing, deep text, a limit, an error: it says which, in its words)."""
    bound = depth_bound(text) if loader_class is not None else _C_DEPTH + 1
    if bound <= _C_INLINE:
        return _composed(text, limits, loader_class)
    if bound > _C_DEPTH:
        return None
    answer: list = [None]
    previous = threading.stack_size(-(-(bound * 1024 + (4 << 20)) // (1 << 20)) << 20)
    try:
        worker = threading.Thread(target=lambda: answer.__setitem__(0, _composed(text, limits, loader_class)),
                                  name="yaml-compose", daemon=True)
        worker.start()
    finally:
        threading.stack_size(previous)
    worker.join()
    return answer[0]


def _composed(text: str, limits: Limits, loader_class):
    tally, docs, loader = _Tally(limits), [], None
    try:
        loader = loader_class(text)
        while loader.check_node():
            if len(docs) >= limits.max_documents:
                return None
            node = loader.get_node()
            tally.document(node)
            docs.append(loader.construct_document(node))
    except Exception:  # noqa: BLE001 - whatever it is, the counting composer says it
        return None
    finally:
        if loader is not None:
            loader.dispose()
    return docs


def encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
