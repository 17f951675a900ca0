"""The bad-input fuzz harness: hostile deployments, a fake cluster boundary, one checked answer.

Used by tests/unit/test_fuzz.py (a few hundred cases in CI) and bench/fuzz (10,000 and more).
Each case runs the hook's own steps in-process, as `hook.run_hook` does (read stdin bytes,
load_deployment with limits, the operator's check_options, pipeline.execute), against
`fakeapi.FakeApiServer`, which answers like kube-apiserver (404 as NotFound, POST creates,
dry-run, the Lease) so that plausible cases get through coordinate, dry-run and apply; every
non-dry-run write is recorded.
"""
from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass, field, replace
from typing import Optional

import yaml
from fakeapi import FakeApiServer
from hypothesis import strategies as st

from heat_k8s_hook.config.settings import Settings, check_options
from heat_k8s_hook.engine.inventory import NAMESPACE
from heat_k8s_hook.engine.pipeline import Context, execute
from heat_k8s_hook.entry.hook import Answer
from heat_k8s_hook.errors import EXIT_CODES, HookError
from heat_k8s_hook.input.deployment import load_deployment
from heat_k8s_hook.input.limits import Limits
from heat_k8s_hook.result.report import Masker, Result, error_result

CANARY = "CANARY-s3cr3t-7f1d"
FakeCluster = FakeApiServer


@dataclass
class Outcome:
    answers: list                # every JSON line written to stdout
    writes: list                 # non-dry-run writes the fake cluster saw
    crash: str = ""              # a traceback when the run escaped its guard
    seconds: float = 0.0
    problems: list = field(default_factory=list)

    @property
    def code(self) -> Optional[int]:
        return self.answers[0].get("deploy_status_code") if len(self.answers) == 1 else None


def run_case(data: bytes, limits: Limits = Limits()) -> Outcome:
    """One deployment through the hook's steps in-process, with the same guards as run_hook."""
    import io
    out = io.StringIO()
    answer, cluster, crash = Answer(out), FakeCluster(), ""
    started = time.monotonic()
    try:
        dep = load_deployment(data[:limits.max_stdin_bytes + 1], limits)
        dep = replace(dep, options=check_options(dep.options, Settings()))
    except HookError as exc:
        answer.send(error_result(exc.code, exc.message))
    except Exception:  # the hook would answer 70 here: a finding
        crash = traceback.format_exc()
        answer.send(error_result(HookError.code, "internal error"))
    else:
        mask = Masker()
        ctx = Context(connect=lambda _options, **_kw: cluster, progress=lambda _line: None,
                      started=started, mask=mask)
        result = Result()
        try:
            execute(dep, ctx, result)
        except Exception:
            crash = traceback.format_exc()
            result.status_code = HookError.code
        answer.send(result.as_dict(mask))
    answers = [json.loads(line) for line in out.getvalue().splitlines()]
    outcome = Outcome(answers, list(cluster.writes), crash, time.monotonic() - started)
    outcome.problems = problems_of(outcome)
    return outcome


def application_writes(writes: list) -> list:
    """The writes that change the application or its inventory: not the run's bookkeeping
    (the Lease of coordinate.py and the records Namespace, written before the config is
    checked against the cluster, as on a real one)."""
    def bookkeeping(path: str) -> bool:
        return path.startswith("/apis/coordination.k8s.io/") or path == f"/api/v1/namespaces/{NAMESPACE}"
    return [w for w in writes if not bookkeeping(w.split(" ", 1)[1].partition("?")[0])]


def problems_of(outcome: Outcome) -> list:
    """What the bad-input contract forbids in one outcome (empty when it holds)."""
    found = []
    if len(outcome.answers) != 1:
        return [f"{len(outcome.answers)} answers instead of one"]
    result = outcome.answers[0]
    code = result.get("deploy_status_code")
    if outcome.crash or code == HookError.code:
        found.append("code 70 (internal error)")
    if code not in EXIT_CODES:
        found.append(f"undocumented code {code!r}")
    text = str(result.get("deploy_stderr", "")) + str(result.get("deploy_stdout", ""))
    if "Traceback" in text:
        found.append("traceback text in the answer")
    if CANARY in str(result.get("deploy_stderr", "")):
        found.append("the canary secret in deploy_stderr")
    changed = application_writes(outcome.writes)
    if code == 2 and changed:
        found.append(f"code 2 after {len(changed)} cluster write(s): {changed[0]}")
    return found


# --- strategies -------------------------------------------------------------------------------

def _texts(canary: bool = True) -> st.SearchStrategy:
    """Hostile text; the canary only where a secret value may be (names may be echoed)."""
    return st.one_of(st.text(max_size=12), st.sampled_from(
        ["", "web", "Web", "a" * 300, "-x", "x.y", "a/b", "..", "%", "ns\n",
         "2024-01-01", "yes", "\u00e9\u4e2d\U0001f600", "\ud800", "0x1F", "1e999"]
        + [CANARY] * canary))


_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(min_value=2 ** 64),
                     st.floats(), _texts())
values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(_texts(), inner, max_size=4)), max_leaves=12)


def _name() -> st.SearchStrategy:
    return st.one_of(st.sampled_from(["web", "cfg-1", "a.b", "x"]), _texts(),
                     st.builds(lambda v: {"get_input": v}, st.sampled_from(["name", "nope"])))


def _object() -> st.SearchStrategy:
    meta = st.fixed_dictionaries({"name": _name()}, optional={
        "namespace": st.one_of(st.sampled_from(["default", "other"]), _texts()),
        "labels": st.one_of(st.none(), st.dictionaries(_texts(), _texts(), max_size=2), values),
        "annotations": st.one_of(st.none(), st.dictionaries(_texts(), _texts(), max_size=2))})
    return st.fixed_dictionaries({
        "apiVersion": st.one_of(st.sampled_from(["v1", "apps/v1", "x.example.com/v1"]), _texts()),
        "kind": st.one_of(st.sampled_from(
            ["ConfigMap", "Secret", "ServiceAccount", "Namespace", "Service", "Deployment",
             "List", "ConfigMapList", "CustomResourceDefinition"]), _texts()),
        "metadata": st.one_of(meta, values),
    }, optional={"data": st.one_of(st.dictionaries(_texts(), _texts(), max_size=3),
                                   st.just({"k": {"get_input": "secret"}}), values),
                 "items": st.lists(st.deferred(_object), max_size=2),
                 "spec": st.one_of(values, st.fixed_dictionaries({}, optional={
                     "group": values, "names": values, "versions": values, "scope": values}))})


def _bomb(width: int, levels: int) -> str:
    lines = ["a0: &a0 [" + ", ".join(['"lol"'] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


_HOSTILE_YAML = [
    _bomb(9, 12), _bomb(30, 6), "[" * 100_000, "{a: " * 50_000, "- " * 30_000 + "x",
    "a: &x [*x]\n", "a: &s " + "x" * 100_000 + "\nb: [" + ", ".join(["*s"] * 400) + "]\n",
    "a: 1\na: 2\n", "a: !!binary aGk=\n", "a: !!set {x}\n", "a: !!python/name:os.system\n",
    "a: .inf\n", "a: .nan\n", "a: 99999999999999999999999999\n", "? [a]\n: b\n", "a: !!int x\n",
    "a: !!bool maybe\n", "a: 2024-01-01T00:00:00Z\n", "x: \x01\n", "\ufeffa: 1\n",
    "---\n" * 2000, f"data: {{p: {CANARY}}}\n  bad: [\n", f"'{CANARY}\n", f'"{CANARY}\\q"\n',
    f"a: b: {CANARY}\n", f"- {CANARY}\nx: y\n", f"{CANARY}: &a\n  *b\n", f"a:\n\t{CANARY}: 1\n",
    f"{{{CANARY}\n", f"[{CANARY}\n", f"a: |\n {CANARY}\n  b\n", f"!<tag:{CANARY}> x\n",
    f"%YAML 1.1\n%YAML 1.1\n--- {CANARY}\n", f"a: *{CANARY}\n", f"&{CANARY} a: &{CANARY} b\n",
]


def _yaml_text() -> st.SearchStrategy:
    docs = st.lists(_object(), min_size=1, max_size=3).map(
        lambda objs: "---\n".join(yaml.safe_dump(o) for o in objs))
    cut = st.tuples(docs, st.floats(0, 1)).map(lambda t: t[0][:int(len(t[0]) * t[1])])
    spliced = st.tuples(docs, st.sampled_from(_HOSTILE_YAML)).map(lambda t: t[0] + "---\n" + t[1])
    return st.one_of(docs, cut, spliced, st.sampled_from(_HOSTILE_YAML), st.text(max_size=60))


def _config() -> st.SearchStrategy:
    return st.one_of(_yaml_text(), st.fixed_dictionaries({"manifests": st.one_of(
        st.lists(_object(), max_size=3), _yaml_text(), values)}), _object(),
        st.lists(_object(), max_size=3), values)


_OPTION_VALUES = {
    "namespace": st.one_of(st.just("default"), _texts(), values),
    "timeout": st.one_of(st.sampled_from([5, "10", 0, -1, "inf", "nan", 1e308, "x"]), values),
    "wait": st.one_of(st.booleans(), values), "prune": st.one_of(st.booleans(), values),
    "field_manager": st.one_of(st.just("fm"), values),
    "force_conflicts": st.one_of(st.booleans(), values),
    "kubeconfig": st.one_of(st.sampled_from(["/etc/passwd", "relative", "/etc/heat-k8s-hook/x"]),
                            values),
    "outputs": st.one_of(st.just({"o": "ConfigMap/web:{.data.k}"}),
                         st.just({"o": "Secret/web:{..data}"}), values),
    "wait_rules": values, "unschedulable_grace": values, "secret_inputs": values,
    "allow_empty": values, "context": values, "bogus": values,
}


def _options() -> st.SearchStrategy:
    known = st.fixed_dictionaries({}, optional=_OPTION_VALUES)
    return st.one_of(st.none(), known, known.map(json.dumps), values)


def _inputs() -> st.SearchStrategy:
    item = st.fixed_dictionaries({"name": st.one_of(st.sampled_from(
        ["name", "secret", "deploy_action", "deploy_password", "deploy_stack_id"]),
        _texts(canary=False), values)}, optional={
        "type": st.one_of(st.sampled_from(["String", "Number", "Json", "Boolean",
                                           "CommaDelimitedList"]), values),
        "value": st.one_of(st.sampled_from(["web", "CREATE", "UPDATE", "DELETE", "EXPLODE", CANARY,
                                            "[1, 2]", "{'a': {1, 2}}", "1e999", "nan",
                                            "[" * 5000, "{'a': b'x'}", "\udfffx"]), values)})
    base = [{"name": "name", "value": "web"}, {"name": "secret", "value": CANARY},
            {"name": "deploy_password", "value": CANARY}]
    return st.one_of(st.lists(item, max_size=5).map(lambda extra: base + extra),
                     st.lists(item, max_size=3), values)


def _plausible_object() -> st.SearchStrategy:
    """A core object that is nearly right: hostile values where kubectl still takes it."""
    meta = st.fixed_dictionaries({"name": st.sampled_from(["web", "cfg", "a.b", "Web", "x" * 254])},
                                 optional={"labels": st.one_of(st.none(), st.just({"a": "b"}),
                                                               st.just({"a": 1})),
                                           "annotations": st.one_of(st.none(), st.just({})),
                                           "namespace": st.sampled_from(["default", "Bad_NS"])})
    return st.fixed_dictionaries({
        "apiVersion": st.just("v1"),
        "kind": st.sampled_from(["ConfigMap", "Secret", "ServiceAccount", "Namespace", "Service",
                                 "CustomResourceDefinition", "CustomResourceDefinition"]),
        "metadata": meta}, optional={
        "spec": st.sampled_from([5, "x", [1], {"names": [1]}, {"group": ["a"], "names": {"kind": "W"}},
                                 {"versions": 3}, {"group": "example.com", "names": {"kind": "W"},
                                                   "versions": [{"name": ["v1"]}]}]),
        "data": st.one_of(st.dictionaries(st.sampled_from(["k", "when", "n"]), _texts().filter(
            lambda t: "\ud800" not in t), max_size=3), st.just({"k": {"get_input": "secret"}})),
        "stringData": st.just({"pw": {"get_input": "secret"}})})


def _plausible() -> st.SearchStrategy:
    config = st.lists(_plausible_object(), min_size=1, max_size=4).map(
        lambda objs: "---\n".join(yaml.safe_dump(o) for o in objs))
    config = st.one_of(config, st.tuples(config, st.sampled_from(
        ["labels: \n", "when: 2024-01-01\n", "a: 1\na: 2\n", "n: .inf\n"])).map(
        lambda t: t[0].replace("data:\n", "data:\n  " + t[1].replace("\n", "\n  ", 1), 1)))
    options = st.fixed_dictionaries({"timeout": st.just(5)}, optional={
        "outputs": st.sampled_from([{"o": "ConfigMap/web:{.data.k}"}, {"o": "Secret/web:{..data}"},
                                    {"o": "ConfigMap/absent:{.data}"}]),
        "namespace": st.sampled_from(["default", "other", "default", "BAD"]),
        "secret_inputs": st.sampled_from([["secret"], ["nope"], []]),
        "allow_empty": st.booleans(), "prune": st.booleans()})
    action = st.sampled_from(["CREATE", "UPDATE", "DELETE", "SUSPEND"])
    secret = st.sampled_from([CANARY, f"{CANARY}\n{CANARY}", CANARY, "\udfff" + CANARY,
                              CANARY + "\\", CANARY])
    return st.builds(lambda c, o, a, p: {"config": c, "options": o, "inputs": [
        {"name": "secret", "value": CANARY}, {"name": "deploy_password", "value": p},
        {"name": "deploy_action", "value": a}, {"name": "deploy_stack_id", "value": "s/1"},
        {"name": "deploy_resource_name", "value": "r"}]}, config, options, action, secret)


def deployments() -> st.SearchStrategy:
    """Deployment JSON as bytes: mostly well-formed JSON with hostile parts, some raw bytes."""
    dep = st.fixed_dictionaries({"config": _config()}, optional={
        "options": _options(), "inputs": _inputs(), "outputs": values, "id": values,
        "name": values, "group": values})
    encoded = st.one_of(dep, _plausible(), _plausible(), _plausible(), _plausible()).map(
        lambda d: json.dumps(d).encode("utf-8", "surrogatepass"))
    mutated = st.tuples(encoded, st.binary(min_size=1, max_size=4), st.floats(0, 1)).map(
        lambda t: t[0][:int(len(t[0]) * t[2])] + t[1] + t[0][int(len(t[0]) * t[2]):])
    deep = st.integers(50, 200_000).map(lambda n: b'{"config": ' + b"[" * n + b"]" * n + b"}")
    return st.one_of(encoded, encoded, encoded, mutated, st.binary(max_size=64), deep,
                     st.just(b"\xff\xfe{}"), st.just(b'{"config": "", "a": 1, "a": 2}'),
                     st.just(b'{"config": NaN}'), st.just(b"1" * 5000))
