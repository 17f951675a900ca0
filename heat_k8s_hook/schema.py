"""One way to validate a configuration: each config is declared as data, checked by one rule.

A config is a `Record`: its `Field`s (name, converter, default, whether it is required), how
it names itself in an unknown-key message (`noun`) and any constraint between fields. The
four configs declare one each: the deployment's `options` (input/deployment.py), the
operator's hook.yaml and its `limits` (config/settings.py), the `keystone` map
(config/keystone_settings.py) and the TokenReview webhook's file (tokenreview/config.py).

One unknown-key rule: a key the record does not declare is refused, the refused keys and the
known ones listed sorted, a key that is not a name (`NAME`) said as "(a key that is not a
name)" (a typo may be a secret pasted in the wrong place), unless the record takes undeclared
keys through `rest` (an open map, e.g. keystoneauth1's plugin options).

One error format: `<where><path>: <problem>`, e.g. `option wait_rules.Deployment: expected a
condition type` or `settings /etc/heat-k8s-hook/hook.yaml: keystone.auth_url: expected a
non-empty string`. A converter raises `Invalid(problem)`; the path is added on the way out,
one key per record or map it passes through. A problem says what was expected and at most
the value's kind (`kind`), never the value: any configuration may hold a secret.

Base module: standard library only, pure, cheap to import (the fast path imports the modules
that declare their records), and the only validation code tokenreview/ may share.
"""
from __future__ import annotations

import dataclasses
import math
import re
from typing import Any, Callable, Mapping, Optional

NAME = re.compile(r"^[A-Za-z0-9_./-]{1,63}$")   # a key said as itself ("apps/Deployment")
NOT_A_NAME = "(a key that is not a name)"
ABSENT = object()   # a field without a default: the record leaves it out (the dataclass decides)


class Invalid(ValueError):
    """A value a converter refuses. `problem` never holds the value; `path` is filled on the
    way out (the keys from the config's top down to the field)."""

    def __init__(self, problem: str, path: tuple = ()):
        super().__init__(problem)
        self.problem = problem
        self.path = tuple(path)

    def under(self, key: Any) -> Invalid:
        """The same problem one level up: `key` a map's key, or a list's index (an int)."""
        step = key if isinstance(key, int) and not isinstance(key, bool) else label(key)
        return Invalid(self.problem, (step,) + self.path)


def label(key: Any) -> str:
    """How a key is said in a message: itself when it is a name, else a placeholder."""
    return key if isinstance(key, str) and NAME.fullmatch(key) else NOT_A_NAME


def kind(value: Any) -> str:
    """What a value is, for "got ..." (its kind, never its text)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, Mapping):
        return "a map"
    if isinstance(value, (list, tuple)):
        return "a list"
    return type(value).__name__


class Where:
    """How a config names a place in it: `root` alone for the whole, `prefix` + path for a
    field (`options` / `option timeout`; `settings F` / `settings F: limits.max_depth`)."""

    __slots__ = ("root", "prefix")

    def __init__(self, root: str, prefix: str):
        self.root, self.prefix = root, prefix

    def name(self, path: tuple) -> str:
        if not path:
            return self.root
        said = str(path[0])
        for step in path[1:]:
            said += f" item {step + 1}" if isinstance(step, int) else f".{step}"
        return f"{self.prefix}{said}"

    def message(self, exc: Invalid) -> str:
        return f"{self.name(exc.path)}: {exc.problem}"


def at(where: str) -> Where:
    """A config named `where` whose fields are `where.field` (e.g. `keystone.server`)."""
    return Where(where, f"{where}.")


class Field:
    """One key of a record: its converter (value -> checked value, raises Invalid), its
    default (ABSENT: none, the dataclass built from the record decides), whether required."""

    __slots__ = ("name", "convert", "default", "required")

    def __init__(self, name: str, convert: Callable[[Any], Any], default: Any = ABSENT,
                 required: bool = False):
        self.name, self.convert, self.default, self.required = name, convert, default, required


class Record:
    """A map with declared keys; calling it checks a value and returns the converted dict.

    `what` completes "expected <what>, got <kind>"; `noun` the unknown-key message ("unknown
    <noun>(s) ...; known <noun>s: ..."); `null_is_absent`: `key: null` means the key is not
    given; `rest`: the converter of undeclared keys (None: they are refused); `checks`:
    constraints between fields, each (values) -> None raising Invalid(problem, path).
    """

    def __init__(self, fields: tuple, what: str = "a map", noun: str = "key",
                 null_is_absent: bool = True, rest: Optional[Callable[[Any], Any]] = None,
                 checks: tuple = ()):
        self.fields, self.what, self.noun = tuple(fields), what, noun
        self.null_is_absent, self.rest, self.checks = null_is_absent, rest, tuple(checks)

    @property
    def known(self) -> tuple:
        return tuple(sorted(f.name for f in self.fields))

    def __call__(self, raw: Any) -> dict:
        if not isinstance(raw, Mapping):
            raise Invalid(f"expected {self.what}, got {kind(raw)}")
        if self.rest is None:
            refuse_unknown(raw, self.known, self.noun)
        given = {k: v for k, v in raw.items() if not (v is None and self.null_is_absent)}
        missing = [f.name for f in self.fields if f.required and f.name not in given]
        if missing:   # first, then the values in the order written
            raise Invalid("missing", (missing[0],))
        by_name = {f.name: f for f in self.fields}
        out = {k: _convert(by_name[k].convert if k in by_name else self.rest, k, v)
               for k, v in given.items()}
        for f in self.fields:
            if f.name not in out and f.default is not ABSENT:
                out[f.name] = f.default
        for check in self.checks:
            check(out)
        return out


def _convert(convert: Callable, key: Any, value: Any) -> Any:
    try:
        return convert(value)
    except Invalid as exc:
        raise exc.under(key) from None


def refuse_unknown(raw: Mapping, known: tuple, noun: str = "key") -> None:
    """The one unknown-key rule."""
    unknown = sorted({label(k) for k in raw if k not in known})
    if unknown:
        raise Invalid(f"unknown {noun}(s) {', '.join(unknown)}; known {noun}s: {', '.join(known)}")


def check(record: Callable, raw: Any, where: Where, error: Callable[[str], Exception]) -> Any:
    """`record(raw)`, its Invalid raised as `error` with the one message format."""
    try:
        return record(raw)
    except Invalid as exc:
        raise error(where.message(exc)) from None


def fields_of(cls: type, converters: Mapping[str, Callable]) -> tuple:
    """Fields for the dataclass `cls`'s fields named in `converters`, with its defaults (a
    field without one is required; a default_factory is left to the dataclass)."""
    out = []
    for f in dataclasses.fields(cls):
        if f.name in converters:
            has_default = f.default is not dataclasses.MISSING
            required = not has_default and f.default_factory is dataclasses.MISSING
            out.append(Field(f.name, converters[f.name], f.default if has_default else ABSENT,
                             required))
    return tuple(out)


# --- converters the configs share -----------------------------------------------------------------

def text(value: Any) -> str:
    """A non-empty string (blank counts as empty)."""
    if not isinstance(value, str) or not value.strip():
        raise Invalid(f"expected a non-empty string, got {kind(value)}")
    return value


def number(minimum: float, above: bool = False, whole: bool = False) -> Callable[[Any], float]:
    """A finite number (never a boolean or text) >= minimum (> minimum when `above`)."""
    bound = f"{'greater than' if above else '>='} {minimum:g}"
    said = f"expected a {'whole ' if whole else ''}number {bound}"

    def convert(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) \
                or not math.isfinite(value) or value < minimum or (above and value == minimum):
            raise Invalid(f"expected a number {bound}")
        if whole and not float(value).is_integer():
            raise Invalid(said)
        return int(value) if whole else float(value)
    return convert


def one_of(choices: tuple) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        if value not in choices:
            raise Invalid(f"expected one of {', '.join(choices)}")
        return value
    return convert


def list_of(convert: Callable, what: str, empty: bool = True) -> Callable[[Any], tuple]:
    """A list (non-empty unless `empty`); an item's error names it `item N` (from 1)."""
    def convert_list(value: Any) -> tuple:
        if not isinstance(value, list) or (not value and not empty):
            raise Invalid(f"expected {what}")
        return tuple(_convert(convert, i, v) for i, v in enumerate(value))
    return convert_list


def map_of(convert: Callable, what: str) -> Callable[[Any], dict]:
    """A map of names (text keys) to values; an entry's error names its key."""
    def convert_map(value: Any) -> dict:
        if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
            raise Invalid(f"expected {what}")
        return {k: _convert(convert, k, v) for k, v in value.items()}
    return convert_map
