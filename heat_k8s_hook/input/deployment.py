"""The heat-config deployment delivered on stdin, and its validated options.

Pure: plain data in, frozen dataclasses out. Input *values* never appear in error messages
(any input may be a secret; `deploy_password` and `deploy_signal_id` always are).
"""
from __future__ import annotations

import ast
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from heat_k8s_hook.errors import InvalidInput
from heat_k8s_hook.input.limits import LimitExceeded, Limits, depth_exceeds
from heat_k8s_hook.input.owner import generation
from heat_k8s_hook.input.owner import owner as owner_digest
from heat_k8s_hook.input.strictjson import is_plain, read_text, strict_json
from heat_k8s_hook.names import DNS_LABEL, logical_name, slug_for
from heat_k8s_hook.schema import (
    Invalid,
    Record,
    Where,
    check,
    fields_of,
    kind,
    list_of,
    map_of,
    one_of,
)

SECRET_INPUTS = frozenset({"deploy_password", "deploy_signal_id", "deploy_auth_token"})
ACTIONS = frozenset({"CREATE", "UPDATE", "DELETE", "SUSPEND", "RESUME", "CHECK", "ROLLBACK"})
DEFAULT_TIMEOUT = 600.0
DEFAULT_FIELD_MANAGER = "heat-k8s-hook"

# Kind/name, Kind/namespace/name, group/Kind/name, group/Kind/namespace/name. `A/b/c` is a Kind,
# a namespace and a name, `a/B/c` a group, a Kind and a name: groups and namespaces are lower
# case, a grouped Kind starts with a capital (as every Kind Kubernetes and CRDs define).
_OUTPUT_REF = re.compile(
    r"^(?P<kind>[a-z0-9][a-z0-9.-]*/[A-Z][A-Za-z0-9]*|[A-Za-z][A-Za-z0-9]*)"
    r"/(?:(?P<ns>[a-z0-9.-]+)/)?(?P<name>[a-z0-9.:-]+):(?P<path>\{.+\})$")


@dataclass(frozen=True)
class OutputRef:
    """Where a declared output is read from: one live object and a kubectl-style JSONPath."""

    kind: str            # "Service" or "apps/Deployment"
    namespace: str | None
    name: str
    jsonpath: str        # "{.spec.clusterIP}"


@dataclass(frozen=True)
class Options:
    namespace: str | None = None
    kubeconfig: str | None = None
    context: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    field_manager: str = DEFAULT_FIELD_MANAGER
    force_conflicts: bool = False
    wait: bool = True
    prune: bool = True
    allow_empty: bool = False
    outputs: Mapping[str, OutputRef] = field(default_factory=dict)
    wait_rules: Mapping[str, str] = field(default_factory=dict)
    unschedulable_grace: float = 15.0
    secret_inputs: tuple = ()          # input names masked like deploy_password
    application: str | None = None     # the application identity's name (default: `name`)
    group_delete: str = "any"          # "any" member's DELETE deletes; "last": only the last's
    suspend: str = "scale"             # SUSPEND scales workloads to zero; "none": does nothing


@dataclass(frozen=True)
class Deployment:
    id: str
    name: str
    group: str
    action: str
    config: Any
    options: Options
    inputs: Mapping[str, Any]          # name -> typed value
    input_types: Mapping[str, str]
    declared_outputs: tuple = ()       # names of the SoftwareConfig's outputs
    stack_id: str = ""
    resource_name: str = ""
    server_id: str = ""
    generation: str = ""               # what members of a group share (ha.generation)

    @property
    def application(self) -> str:
        """What the members of a SoftwareDeploymentGroup share: option `application`, else
        the deployment's `name` (Heat: the deployment's `name` property or its config's name)."""
        return self.options.application or logical_name(self.name) or self.resource_name

    @property
    def identity(self) -> str:
        """Stable across CREATE/UPDATE/DELETE (each action gets a new `id`) and shared by
        every member of a group: the stack + the application, or option `application` alone
        (unique within the records namespace; a plain deployment moving into a group keeps it)."""
        if self.options.application:  # named by the template: the same in any stack
            return f"application/{self.options.application}"
        if self.stack_id and self.application:
            return f"{self.stack_id}/{self.application}"
        return self.name or self.id

    @property
    def slug(self) -> str:
        """A DNS-1123 name for the inventory and lease: readable prefix + identity hash."""
        return slug_for(self.stack_id, self.application, self.identity)

    @property
    def legacy_identity(self) -> str:
        """The identity before groups (stack + resource name): its inventory is adopted."""
        if self.stack_id and self.resource_name:
            return f"{self.stack_id}/{self.resource_name}"
        return self.name or self.id

    @property
    def legacy_slug(self) -> str:
        return slug_for(self.stack_id, self.resource_name or self.name, self.legacy_identity)

    @property
    def owner(self) -> str:
        """The deployment *resource* this delivery comes from, as a digest: two resources of
        the same name (a replacement: after a failure, a new `server`, a replace_on_change
        input; a rollback) differ, every action of one resource is the same (owner.py)."""
        return owner_digest(dict(self.inputs, deploy_server_id=self.server_id))

    def secret_values(self) -> list:
        """Input values that must never be printed."""
        names = SECRET_INPUTS | set(self.options.secret_inputs)
        return [v for k, v in self.inputs.items() if k in names and v not in (None, "")]


_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,63}$")   # an input said by its name in a message


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
        return value.lower() in ("true", "yes", "1")
    raise Invalid(f"expected true or false, got {kind(value)}")


def _positive(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise Invalid("expected a number of seconds") from None
    if not number > 0:
        raise Invalid("must be greater than 0")
    if not math.isfinite(number):
        raise Invalid("must be a finite number")
    return number


def _namespace(value: Any) -> str:
    if not isinstance(value, str) or len(value) > 63 or not DNS_LABEL.fullmatch(value):
        raise Invalid("expected a namespace name (a DNS-1123 label)")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise Invalid("expected a non-empty string")
    return value


def _output_ref(value: Any) -> OutputRef:
    match = _OUTPUT_REF.fullmatch(value) if isinstance(value, str) else None
    if not match:
        raise Invalid("expected \"Kind/name:{.json.path}\" (or \"Kind/namespace/name:{...}\"), "
                      "e.g. \"Service/web:{.spec.clusterIP}\"")
    return OutputRef(match["kind"], match["ns"], match["name"], match["path"])


def _condition(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise Invalid("expected a condition type (a non-empty string)")
    return value


def _application(value: Any) -> str:
    if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,252}", value):
        raise Invalid("expected a name (letters, digits, '_', '.', '-')")
    return value


GROUP_DELETE = ("any", "last")
SUSPEND_MODES = ("scale", "none")

# The `options` map, declared (schema.py): names and defaults from Options, checks here.
OPTIONS = Record(fields_of(Options, {
    "namespace": _namespace,
    "kubeconfig": _text,
    "context": _text,
    "timeout": _positive,
    "field_manager": _text,
    "force_conflicts": _bool,
    "wait": _bool,
    "prune": _bool,
    "allow_empty": _bool,
    "outputs": map_of(_output_ref, "a map of output name to \"Kind/name:{.path}\""),
    "wait_rules": map_of(_condition, "a map of \"group/Kind\" to a condition type"),
    "unschedulable_grace": _positive,
    "secret_inputs": list_of(_text, "a list of input names"),
    "application": _application,
    "group_delete": one_of(GROUP_DELETE),
    "suspend": one_of(SUSPEND_MODES),
}), noun="option")
KNOWN_OPTIONS = OPTIONS.known
_WHERE = Where("options", "option ")


def parse_options(raw: Any) -> Options:
    """Validate `options` (null or a map); unknown keys are rejected with the known ones."""
    if raw is None or raw == "":
        return Options()
    if isinstance(raw, str):
        try:
            raw = strict_json(raw)
        except ValueError:
            raise InvalidInput("options: expected a map, got text that is not JSON") from None
    return Options(**check(OPTIONS, raw, _WHERE, InvalidInput))


def _literal(text: str) -> Any:
    """Decode JSON, or Python-literal text that heat-config made of a list/map (never eval)."""
    try:
        return strict_json(text)
    except ValueError:
        pass
    try:
        value = ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise ValueError("not JSON") from None
    if not is_plain(value):
        raise ValueError("not JSON")
    return value


def decode_input(name: str, kind: str, value: Any) -> Any:
    """Turn an input's value into the typed value `get_input` substitutes."""
    kind = (kind or "String").strip()
    if value is None:
        return None
    if kind == "Json":
        if isinstance(value, str):
            try:
                return _literal(value)
            except ValueError:
                raise InvalidInput(f"input {name}: type Json but its value is not JSON") from None
        return value
    if kind == "Number":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return value
        try:
            number = float(str(value))
        except ValueError:
            raise InvalidInput(f"input {name}: type Number but its value is not a number") from None
        if not math.isfinite(number):
            raise InvalidInput(f"input {name}: type Number but its value is not finite")
        return int(number) if number.is_integer() and "." not in str(value) else number
    if kind == "Boolean":
        try:
            return _bool(value)
        except Invalid:
            raise InvalidInput(f"input {name}: type Boolean but its value is not a boolean") from None
    if kind == "CommaDelimitedList":
        if isinstance(value, list):
            return value
        text = str(value)
        if text.startswith("["):
            try:
                decoded = _literal(text)
                if isinstance(decoded, list):
                    return decoded
            except ValueError:
                pass
        return [p.strip() for p in text.split(",")] if text else []
    # String: heat-config stringifies lists/maps with Python's str(); decode those safely.
    if isinstance(value, str) and value[:1] in "[{" and "'" in value:
        try:
            decoded = ast.literal_eval(value)
            if isinstance(decoded, (list, dict)) and is_plain(decoded):
                return decoded
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            pass
    return value


def _field(raw: Mapping, key: str) -> str:
    """A text field of the deployment (Heat sends strings; numbers are taken as text)."""
    value = raw.get(key)
    if value is None or isinstance(value, (str, int)) and not isinstance(value, bool):
        return "" if value is None else str(value)
    raise InvalidInput(f"deployment: {key} must be a string")


def parse_deployment(raw: Any) -> Deployment:
    """Validate the deployment JSON (already decoded) into a Deployment."""
    if not isinstance(raw, Mapping):
        raise InvalidInput(f"deployment: expected a JSON object, got {type(raw).__name__}")
    inputs_raw = raw.get("inputs") or []
    if not isinstance(inputs_raw, list):
        raise InvalidInput("deployment: inputs must be a list")
    inputs: dict = {}
    types: dict = {}
    for i, item in enumerate(inputs_raw):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            raise InvalidInput(f"deployment: input {i + 1} has no name")
        name = item["name"]
        label = name if _NAME.fullmatch(name) else str(i + 1)
        types[name] = item.get("type") or "String"
        if not isinstance(types[name], str):
            raise InvalidInput(f"deployment: input {label}: type must be a string")
        inputs[name] = decode_input(label, types[name], item.get("value"))
    outputs_raw = raw.get("outputs") or []
    if not isinstance(outputs_raw, list):
        raise InvalidInput("deployment: outputs must be a list")
    declared = tuple(o["name"] for o in outputs_raw
                     if isinstance(o, Mapping) and isinstance(o.get("name"), str))
    action = inputs.get("deploy_action") or "CREATE"
    action = action.upper() if isinstance(action, str) else ""
    if action not in ACTIONS:
        raise InvalidInput(f"input deploy_action is not one of {', '.join(sorted(ACTIONS))}")
    return Deployment(
        id=_field(raw, "id"),
        name=_field(raw, "name"),
        group=_field(raw, "group") or "kubectl",
        action=action,
        config=raw.get("config"),
        options=parse_options(raw.get("options")),
        inputs=inputs,
        input_types=types,
        declared_outputs=declared,
        stack_id=str(inputs.get("deploy_stack_id") or ""),
        resource_name=str(inputs.get("deploy_resource_name") or ""),
        server_id=str(inputs.get("deploy_server_id") or ""),
        generation=generation(raw.get("config"), raw.get("options"), inputs_raw, action),
    )


def load_deployment(data: bytes | str, limits: Limits = Limits()) -> Deployment:
    """The deployment JSON from stdin, refused whole when it is too big, deep or not JSON."""
    text = read_text(data, "stdin", limits)
    try:
        raw = strict_json(text)
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"stdin is not a JSON deployment: invalid JSON at line {exc.lineno}, "
                           f"column {exc.colno}") from None
    except ValueError as exc:  # our own checks: fixed texts, never input
        raise InvalidInput(f"stdin is not a JSON deployment: {exc}") from None
    if depth_exceeds(raw, limits.max_depth):
        raise LimitExceeded("stdin: nesting depth", "max_depth", limits)
    return parse_deployment(raw)
