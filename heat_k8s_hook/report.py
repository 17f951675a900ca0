"""The heat-config result: change set and diagnostics into one JSON object, secrets masked.

Pure. heat-config-notify signals this dict to Heat; `openstack software deployment show`
displays `deploy_stderr`, so every line there is written for the operator.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from jsonpath_ng import parse as jsonpath_parse

from heat_k8s_hook.errors import InvalidInput

MAX_FIELD_BYTES = 256 * 1024      # stdout and stderr each; the whole result stays far under 950 KB
MASK = "******"
RESERVED = frozenset({"deploy_stdout", "deploy_stderr", "deploy_status_code", "error_output"})


class Masker:
    """Replaces every known secret value in text; built where the secrets are known."""

    def __init__(self, secrets: Iterable[str] = ()):
        self.secrets = sorted({s for s in secrets if isinstance(s, str) and len(s) >= 3},
                              key=len, reverse=True)

    def add(self, values: Iterable[str]) -> None:
        self.secrets = sorted(set(self.secrets) | {v for v in values if len(v) >= 3},
                              key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            if secret in text:
                text = text.replace(secret, MASK)
        return text


def secret_values(obj: Mapping) -> list:
    """Every value of a Secret manifest, as written and as encoded/decoded."""
    if obj.get("kind") != "Secret":
        return []
    values = []
    for value in (obj.get("stringData") or {}).values():
        text = str(value)
        values += [text, base64.b64encode(text.encode()).decode()]
    for value in (obj.get("data") or {}).values():
        text = str(value)
        values.append(text)
        try:
            values.append(base64.b64decode(text, validate=True).decode())
        except (binascii.Error, UnicodeDecodeError, ValueError):
            pass
    return values


def truncate(text: str, limit: int = MAX_FIELD_BYTES) -> str:
    """Keep the head and the tail (where the cause is) of an over-long field, with a marker."""
    data = text.encode()
    if len(data) <= limit:
        return text
    keep = limit // 2 - 64
    head = data[:keep].decode(errors="ignore")
    tail = data[-keep:].decode(errors="ignore")
    return f"{head}\n... [truncated {len(data) - 2 * keep} bytes] ...\n{tail}"


@dataclass
class Result:
    """What the hook answers; `as_json` is the only thing ever written to stdout."""

    status_code: int = 0
    stdout: list = field(default_factory=list)
    stderr: list = field(default_factory=list)
    outputs: dict = field(default_factory=dict)

    def as_dict(self, mask: Masker | None = None) -> dict:
        mask = mask or Masker()
        result = {
            "deploy_stdout": truncate(mask("\n".join(self.stdout) + ("\n" if self.stdout else ""))),
            "deploy_stderr": truncate(mask("\n".join(self.stderr) + ("\n" if self.stderr else ""))),
            "deploy_status_code": self.status_code,
        }
        for key, value in self.outputs.items():
            if key not in RESERVED:
                result[key] = json.loads(mask(json.dumps(value))) if mask.secrets else value
        return result


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


def read_output(name: str, jsonpath: str, obj: Mapping) -> Any:
    """The value an output's JSONPath selects in a live object (never Secret data)."""
    if obj.get("kind") == "Secret" and any(
            part in jsonpath for part in (".data", ".stringData", "['data']", "[\"data\"]")):
        raise InvalidInput(f"output {name}: outputs never read Secret data")
    matches = [m.value for m in compile_jsonpath(jsonpath).find(obj)]
    if not matches:
        return None
    return matches[0] if len(matches) == 1 else matches
