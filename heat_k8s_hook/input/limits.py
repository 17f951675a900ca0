"""Resource limits checked while a deployment is read, before any work is done.

Each limit bounds what one hostile deployment can cost the controller: stdin size, YAML alias
use and expansion, nesting depth, document count and the size of what is rendered. They are
checked while parsing (the YAML composer counts aliases, expanded nodes and depth as it goes),
so an alias bomb of a few hundred bytes or a 100k-deep nesting is refused in milliseconds.
The operator may change them (heat_k8s_hook/config/settings.py); templates cannot.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from heat_k8s_hook.errors import InvalidInput


@dataclass(frozen=True)
class Limits:
    """Defaults fit configs far larger than a Heat template can carry (512 KiB by default)."""

    max_stdin_bytes: int = 8 * 1024 * 1024      # the deployment JSON as delivered
    max_aliases: int = 10_000                   # YAML alias uses (*name) in one config
    max_nodes: int = 250_000                    # values after aliases and get_input expand
    max_depth: int = 100                        # maps and lists nested inside each other
    max_documents: int = 1_000                  # YAML documents (and List items) in a config
    max_rendered_bytes: int = 32 * 1024 * 1024  # all rendered objects, as JSON

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"limit {f.name} must be a positive integer")


class LimitExceeded(InvalidInput):
    """A deployment larger or deeper than a limit allows (code 2, like any bad input)."""

    def __init__(self, what: str, limit_name: str, limits: Limits):
        super().__init__(f"{what}: refused, more than {getattr(limits, limit_name)} "
                         f"(limit {limit_name})")


def depth_exceeds(value: object, max_depth: int) -> bool:
    """True when maps/lists nest deeper than max_depth (iterative: no recursion limit)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children
                     if isinstance(child, (dict, list)))
    return False


def count_nodes(value: object, stop_at: int) -> tuple:
    """(values, characters of text) in a decoded tree; counting stops past stop_at values."""
    count, chars, stack = 0, 0, [value]
    while stack and count <= stop_at:
        item = stack.pop()
        count += 1
        if isinstance(item, str):
            chars += len(item)
        elif isinstance(item, dict):
            chars += sum(len(k) for k in item if isinstance(k, str))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return count, chars
