"""JSON as the hook reads it: strict (no NaN/Infinity, huge numbers or duplicate keys), from
bytes that must be UTF-8, refused by size before any parsing. Pure."""
from __future__ import annotations

import json
import math
import re
from typing import Any

from heat_k8s_hook.errors import InvalidInput
from heat_k8s_hook.input.limits import LimitExceeded, Limits, depth_exceeds

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def is_unicode(value: Any) -> bool:
    """False when a string holds a lone surrogate (a `\\ud800` escape), which no UTF-8 has."""
    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _reject_constant(_text: str) -> Any:
    raise ValueError("NaN and Infinity are not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a number out of range")
    return value


def _short_int(text: str) -> int:
    if len(text.lstrip("-")) > 40:
        raise ValueError("a number out of range")
    return int(text)


def _unique_keys(pairs: list) -> dict:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("a duplicate key")
    return result


def strict_json(text: str) -> Any:
    """json.loads without NaN/Infinity, huge numbers or duplicate keys (ValueError for all)."""
    try:
        value = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float,
                           parse_int=_short_int, object_pairs_hook=_unique_keys)
        if _SURROGATE_ESCAPE.search(text) and not is_unicode(value):
            raise ValueError("a \\u escape that is not Unicode (a lone surrogate)")
        return value
    except RecursionError:
        raise ValueError("nested too deeply") from None


def is_plain(value: Any, max_depth: int = Limits.max_depth) -> bool:
    """True for JSON data (string keys, finite numbers) no deeper than max_depth."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if not all(isinstance(k, str) for k in item):
                return False
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, float) and not math.isfinite(item):
            return False
        elif item is not None and not isinstance(item, (str, int, float)):
            return False
    return not depth_exceeds(value, max_depth) and is_unicode(value)


def read_text(data: bytes | str, what: str, limits: Limits) -> str:
    """Bytes as delivered into text: size first, then strict UTF-8 (never a replacement)."""
    if len(data) > limits.max_stdin_bytes:
        raise LimitExceeded(f"{what}: bytes", "max_stdin_bytes", limits)
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInput(f"{what}: not UTF-8 text (at byte {exc.start + 1})") from None
