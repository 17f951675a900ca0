"""Offline verdicts: the readiness rules applied to a dump of objects, without a cluster.

`heat-k8s-hook readiness FILE` and `python -m heat_k8s_hook.readiness FILE` (`-` for stdin)
read YAML or JSON (several documents, a List, `kubectl get -o yaml` output) and print one line
per object. Exit code 0 when every object is ready, 1 otherwise, 2 for unreadable input.
"""
from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timezone

from heat_k8s_hook.readiness.judge import judge
from heat_k8s_hook.readiness.rules import Status, group_kind, parse_time

EVENT_KINDS = frozenset({"Event", "events.k8s.io/Event"})
EXIT_READY = 0
EXIT_NOT_READY = 1
EXIT_UNREADABLE = 2


class UnreadableInput(Exception):
    """The input is not YAML/JSON Kubernetes objects; the message is one line for a person."""


@dataclass(frozen=True)
class ObjectVerdict:
    kind: str
    namespace: str | None
    name: str
    status: str
    message: str

    def line(self) -> str:
        ref = "/".join(p for p in (self.kind, self.namespace, self.name) if p)
        return f"{ref}: {self.status}: {self.message}"


def load_objects(text: str, source: str = "input") -> list[Mapping]:
    """Every object in the text, with List documents (`kind: ...List`, `items`) flattened."""
    documents = _parse(text, source)
    objects: list[Mapping] = []
    for index, doc in enumerate(documents, start=1):
        if doc is None:
            continue
        objects.extend(_flatten(doc, f"{source}: document {index}"))
    return objects


def _parse(text: str, source: str) -> list:
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            return [json.loads(text)]
        except ValueError:
            pass  # not JSON after all (flow-style YAML); let YAML explain what is wrong
    import yaml  # only the CLI needs it; the rules stay standard-library only

    try:
        return list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise UnreadableInput(f"{source}: not YAML or JSON{where}: {problem}") from exc


def _flatten(doc: object, where: str) -> Iterator[Mapping]:
    if isinstance(doc, list):
        for i, item in enumerate(doc):
            yield from _flatten(item, f"{where} item {i}")
        return
    if not isinstance(doc, Mapping):
        raise UnreadableInput(f"{where}: expected an object, got {type(doc).__name__}")
    kind = doc.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(doc.get("items"), list):
        yield from _flatten(doc["items"], where)
        return
    yield doc


def _identity(obj: Mapping) -> tuple[str, str | None, str]:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    kind = obj.get("kind") if isinstance(obj.get("kind"), str) else "<no kind>"
    namespace = meta.get("namespace") if isinstance(meta.get("namespace"), str) else None
    name = meta.get("name") if isinstance(meta.get("name"), str) else "<unnamed>"
    return kind, namespace or None, name


def verdicts(objects: Sequence[Mapping], now: datetime,
             wait_rules: Mapping[str, str] | None = None,
             unschedulable_grace: float = 15.0) -> list[ObjectVerdict]:
    """One verdict per object by the one judge; pods and Events in the same input explain
    why a workload is not ready (Events themselves get no verdict)."""
    pods = [o for o in objects if isinstance(o, Mapping) and group_kind(o) == "Pod"]
    events = [o for o in objects if group_kind(o) in EVENT_KINDS]
    results = []
    for obj in objects:
        if group_kind(obj) in EVENT_KINDS:
            continue
        verdict = judge(obj, now, pods, events, wait_rules=wait_rules,
                        unschedulable_grace=unschedulable_grace)
        kind, namespace, name = _identity(obj)
        results.append(ObjectVerdict(kind, namespace, name, verdict.status.value,
                                     verdict.message))
    return results


def _wait_rule(text: str) -> tuple[str, str]:
    key, sep, condition = text.partition("=")
    if not sep or "/" not in key or not condition:
        raise argparse.ArgumentTypeError(
            f"expected GROUP/KIND=CONDITION (e.g. example.com/Widget=Synced), got {text!r}")
    return key, condition


def _time(text: str) -> datetime:
    when = parse_time(text)
    if when is None:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {text!r}")
    return when


def _grace(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value < 0:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}")
    return value


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog or "python -m heat_k8s_hook.readiness",
        description="Print the readiness of each Kubernetes object in a YAML or JSON dump. "
                    "Exit code 0 when every object is ready, 1 otherwise, 2 for unreadable "
                    "input.")
    parser.add_argument("file", metavar="FILE",
                        help="YAML or JSON: several documents, a List, or `kubectl get -o "
                             "yaml` output; - for stdin")
    parser.add_argument("--output", "-o", choices=("text", "json"), default="text",
                        help="one line per object (text) or a JSON list (json)")
    parser.add_argument("--now", type=_time, default=None,
                        help="the time to judge at, ISO 8601 (default: now), for "
                             "reproducible verdicts")
    parser.add_argument("--wait-rule", type=_wait_rule, action="append", default=[],
                        metavar="GROUP/KIND=CONDITION",
                        help="the condition that means ready for a custom kind (repeatable)")
    parser.add_argument("--unschedulable-grace", type=_grace, default=15.0, metavar="SECONDS",
                        help="how long a pod may stay Unschedulable before it fails "
                             "(default: 15)")
    return parser


def _read(path: str, stdin: Iterable[str] | None = None) -> str:
    if path == "-":
        return "".join(stdin if stdin is not None else sys.stdin)
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except OSError as exc:
        raise UnreadableInput(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise UnreadableInput(f"{path}: not UTF-8 text: {exc.reason}") from exc


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """Run the offline verdict CLI; returns the exit code."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    source = "stdin" if args.file == "-" else args.file
    try:
        objects = load_objects(_read(args.file), source)
    except UnreadableInput as exc:
        print(f"{parser.prog}: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    now = args.now or datetime.now(timezone.utc)
    results = verdicts(objects, now, dict(args.wait_rule), args.unschedulable_grace)
    if args.output == "json":
        print(json.dumps([asdict(r) for r in results], indent=2))
    else:
        for result in results:
            print(result.line())
    ready = all(r.status == Status.READY.value for r in results)
    return EXIT_READY if ready else EXIT_NOT_READY
