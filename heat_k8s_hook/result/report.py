"""The heat-config result: change set and diagnostics into one JSON object, secrets masked.

Pure. heat-config-notify signals this dict to Heat; `openstack software deployment show`
displays `deploy_stderr`, so every line there is written for the operator. Secrets are masked
on the final text of each field (after formatting, before truncation), in every spelling a
message can give them: as is, whitespace-collapsed, line by line, JSON/repr-escaped, base64.
"""
from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator, Mapping, Optional

from jsonpath_ng import parse as jsonpath_parse
from jsonpath_ng.jsonpath import Child, Fields, Index, Root, This

from heat_k8s_hook.errors import InvalidInput

MAX_FIELD_BYTES = 256 * 1024      # stdout and stderr each; the whole result stays far under 950 KB
MASK = "******"
MAX_MESSAGE = 2000    # characters of one error message, cut after masking
MIN_SECRET = 3      # shorter values are not masked (they would blank out ordinary words)
MAX_SCAN_PREFIXES = 256   # more distinct prefixes: the plain scan (a bigger regex is no faster)
MIN_LINE = 6        # lines of a multi-line secret at least this long are masked on their own
B64_WIDTHS = (64, 76)   # PEM and MIME line wrapping of base64
RESERVED = frozenset({"deploy_stdout", "deploy_stderr", "deploy_status_code", "error_output"})
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
SECRET_PATHS = (("data",), ("stringData",), ("metadata", "annotations", LAST_APPLIED))


def _base64_forms(data: bytes) -> list:
    flat = base64.b64encode(data).decode()
    wrapped = ["\n".join(flat[i:i + w] for i in range(0, len(flat), w))
               for w in B64_WIDTHS if len(flat) > w]
    return [flat] + wrapped


def _escaped(text: str) -> list:
    once = json.dumps(text)[1:-1]
    return [text, once, json.dumps(once)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1],
            repr(text)[1:-1]]


def spellings(secret: str) -> set:
    """Every form in which `secret` can reach a message (see the module docstring)."""
    forms = set()
    for base in [secret] + _base64_forms(secret.encode("utf-8", "surrogatepass")):
        for text in _escaped(base):
            forms.update((text, " ".join(text.split())))
            lines = text.splitlines()
            if len(lines) > 1:
                forms.update(line.strip() for line in lines if len(line.strip()) >= MIN_LINE)
    return {f for f in forms if len(f) >= MIN_SECRET}


def _leaves(value: Any) -> Iterator[str]:
    """A typed input value as the strings it can print as (leaves, JSON, Python text)."""
    if isinstance(value, str):
        yield value
        return
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _leaves(item)
    if isinstance(value, (Mapping, list, tuple)):
        yield json.dumps(value)
        yield json.dumps(value, separators=(",", ":"))
    yield str(value)


class Masker:
    """Replaces every known secret value, in all its spellings, in text.

    Forms are indexed by their first MIN_SECRET characters and matched longest first in one
    left-to-right scan: linear in the text, whatever the number of secrets (a regex alternation
    of thousands of forms is not). With few distinct prefixes (a deployment's handful of
    secrets) a regex of them, a trie, finds the next position worth a look in C, so a 10,000-
    line change set is not walked character by character in Python (0.3-0.5 s, twice per run).
    """

    def __init__(self, secrets: Iterable[Any] = ()):
        self.secrets: set = set()
        self._forms: set = set()
        self._index: dict = {}   # first MIN_SECRET characters -> forms, longest first
        self._unsorted: set = set()
        self._scan = None   # re.Pattern of the prefixes when they are few (_prefix_regex)
        self._lock = threading.Lock()   # the watchdog thread masks while the run may add
        self.add(secrets)

    def add(self, values: Iterable[Any]) -> None:
        with self._lock:
            self._add(values)

    def _add(self, values: Iterable[Any]) -> None:
        for value in values:
            for text in _leaves(value):
                if len(text) >= MIN_SECRET and text not in self.secrets:
                    self.secrets.add(text)
                    for form in spellings(text) - self._forms:
                        self._forms.add(form)
                        self._index.setdefault(form[:MIN_SECRET], []).append(form)
                        self._unsorted.add(form[:MIN_SECRET])

    def __call__(self, text: str) -> str:
        if not self._index or not text:
            return text
        with self._lock:
            return self._replace(text)

    def _replace(self, text: str) -> str:
        if self._unsorted:
            while self._unsorted:
                self._index[self._unsorted.pop()].sort(key=len, reverse=True)
            self._scan = _prefix_regex(self._index) if len(self._index) <= MAX_SCAN_PREFIXES \
                else None
        lookup, out, start, i, end = self._index.get, [], 0, 0, len(text) - MIN_SECRET
        search = self._scan.search if self._scan is not None else None
        while i <= end:
            if search is not None:  # skip to the next position where a prefix starts
                hit = search(text, i)
                if hit is None:
                    break
                i = hit.start()
            for form in lookup(text[i:i + MIN_SECRET], ()):
                if text.startswith(form, i):
                    out += [text[start:i], MASK]
                    i = start = i + len(form)
                    break
            else:
                i += 1
        return "".join(out) + text[start:] if out else text

    def value(self, value: Any) -> Any:
        """A JSON value with every string masked; wholly masked if a secret spans its text."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, Mapping):
            masked: Any = {self(str(k)): self.value(v) for k, v in value.items()}
        elif isinstance(value, list):
            masked = [self.value(v) for v in value]
        elif isinstance(value, bool) or value is None:
            return value
        else:
            masked = value if self(str(value)) == str(value) else MASK
        text = json.dumps(masked)
        return masked if self(text) == text else MASK


def _prefix_regex(prefixes: Iterable[str]) -> "re.Pattern":
    """A regex matching exactly the given MIN_SECRET-character strings, as a trie (first
    character, then second, then a class of thirds): the engine rejects a position in a few
    comparisons, where an alternation of the strings would try each one."""
    tree: dict = {}
    for p in prefixes:
        tree.setdefault(p[0], {}).setdefault(p[1], set()).add(p[2])

    def one_of(alternatives: list) -> str:
        return alternatives[0] if len(alternatives) == 1 else f"(?:{'|'.join(alternatives)})"
    return re.compile("|".join(
        re.escape(c0) + one_of([re.escape(c1) + one_of([re.escape(c) for c in sorted(c2s)])
                                for c1, c2s in sorted(sub.items())])
        for c0, sub in sorted(tree.items())), re.DOTALL)


def secret_values(obj: Mapping) -> list:
    """Every value of a Secret manifest, as written and decoded (Masker adds base64 forms)."""
    if obj.get("kind") != "Secret":
        return []
    values: list = []
    for value in _dict_values(obj.get("stringData")):
        values.append(value)
    for value in _dict_values(obj.get("data")):
        text = str(value)
        values.append(text)
        try:
            values.append(base64.b64decode("".join(text.split()), validate=True).decode())
        except (binascii.Error, UnicodeDecodeError, ValueError):
            pass
    return values


def _dict_values(value: Any) -> list:
    return list(value.values()) if isinstance(value, Mapping) else []


def truncate(text: str, limit: int = MAX_FIELD_BYTES) -> str:
    """Keep the head and the tail (where the cause is) of an over-long field, with a marker."""
    data = text.encode()
    if len(data) <= limit:
        return text
    keep = limit // 2 - 64
    head = data[:keep].decode(errors="ignore")
    tail = data[-keep:].decode(errors="ignore")
    return f"{head}\n... [truncated {len(data) - 2 * keep} bytes] ...\n{tail}"


def shorten(text: str, limit: int = MAX_MESSAGE) -> str:
    """One message cut to `limit` characters; only ever applied to text already masked."""
    return text if len(text) <= limit else text[:limit] + f" ... [{len(text) - limit} more]"


def _field(lines: list, mask: Masker) -> str:
    """One text field of the result: joined, masked as a whole, then cut to size."""
    return truncate(mask("\n".join(lines) + ("\n" if lines else "")))


@dataclass
class Result:
    """What the hook answers; `as_dict` is the only thing ever written to stdout."""

    status_code: int = 0
    stdout: list = field(default_factory=list)
    stderr: list = field(default_factory=list)
    outputs: dict = field(default_factory=dict)

    def as_dict(self, mask: Masker | None = None) -> dict:
        mask = mask or Masker()
        result = {
            "deploy_stdout": _field(self.stdout, mask),
            "deploy_stderr": _field(self.stderr, mask),
            "deploy_status_code": self.status_code,
        }
        for key, value in self.outputs.items():
            if key not in RESERVED:
                result[key] = mask.value(value)
        return result


def error_result(code: int, message: str, stderr: Iterable[str] = (),
                 mask: Masker | None = None) -> dict:
    """The answer for a run that ends before (or outside) the pipeline: its lines and the error."""
    return Result(code, [], list(stderr) + [f"ERROR: {message}"]).as_dict(mask)


def compile_jsonpath(template: str) -> Any:
    """kubectl's `{.a.b[0].c}` template as a jsonpath-ng expression."""
    inner = template.strip()
    if not (inner.startswith("{") and inner.endswith("}")):
        raise InvalidInput(f"JSONPath {template!r} must be wrapped in braces, e.g. {{.spec.clusterIP}}")
    inner = inner[1:-1].strip()
    if inner.startswith("range") or "{" in inner:
        raise InvalidInput(f"JSONPath {template!r}: only a single {{...}} path is supported")
    expression = "$" + inner if inner.startswith((".", "[")) else "$." + inner
    try:
        return jsonpath_parse(expression)
    except Exception as exc:  # jsonpath-ng raises JsonPathParserError and lexer errors
        raise InvalidInput(f"JSONPath {template!r} cannot be parsed: {exc}") from None


def _segments(path: Any) -> Optional[tuple]:
    """A match's full path as keys and indices from the object's root; None if not plain."""
    if isinstance(path, (Root, This)):
        return ()
    if isinstance(path, Fields) and len(path.fields) == 1:
        return (path.fields[0],)
    if isinstance(path, Index):
        indices = getattr(path, "indices", None) or (getattr(path, "index", None),)
        return tuple(indices) if len(indices) == 1 else None
    if isinstance(path, Child):
        left, right = _segments(path.left), _segments(path.right)
        if left is None or right is None:
            return None
        return right if isinstance(path.right, Root) else left + right
    return None


def _touches_secret_data(segments: Optional[tuple]) -> bool:
    """True if a value at `segments` of a Secret lies under, or contains, its data."""
    if segments is None:
        return True
    return any(segments[:len(p)] == p or p[:len(segments)] == segments for p in SECRET_PATHS)


def read_output(name: str, jsonpath: str, obj: Mapping) -> Any:
    """The value an output's JSONPath selects in a live object (never Secret data).

    The path is evaluated first; if any value it selects in a Secret lies under `data` or
    `stringData` (or the last-applied annotation), or contains them, the output is refused,
    whatever the spelling: `{.data.x}`, `{['data']}`, `{..token}`, `{.*}`, `{$}`.
    """
    try:
        matches = compile_jsonpath(jsonpath).find(obj)
        # jsonpath-ng 1.8 (what pip gives Python 3.9) returns a match it cannot follow
        # for `parent` at the root: its full path and value raise then, so read them here
        found = [(m.value, _segments(m.full_path)) for m in matches]
    except InvalidInput as exc:
        raise InvalidInput(f"output {name}: {exc.message}") from None
    except Exception as exc:  # jsonpath-ng asserts on some paths, e.g. `parent` at the root
        raise InvalidInput(f"output {name}: JSONPath {jsonpath!r} cannot be evaluated "
                           f"({type(exc).__name__})") from None
    if obj.get("kind") == "Secret" and any(_touches_secret_data(seg) for _, seg in found):
        raise InvalidInput(f"output {name}: refused: its JSONPath selects Secret data "
                           "(outputs never read Secret data: data, stringData, the "
                           "last-applied annotation)")
    values = [value for value, _ in found]
    if not values:
        return None
    return values[0] if len(values) == 1 else values
