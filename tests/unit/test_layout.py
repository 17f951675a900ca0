"""The size rules of the code base: functions under 60 lines, modules under 400.

The one exception is `readiness/rules.py`: it is the table of readiness rules (one small pure
function per kind, kstatus's `core.go` layout) plus the pod failure rules they share; splitting
the table across modules would scatter what a reader compares side by side. Each of its
functions still keeps the 60-line limit.
"""
import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "heat_k8s_hook"
LONG_MODULES_ALLOWED = {"readiness/rules.py"}
MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_sizes(path):
    source = path.read_text()
    if str(path.relative_to(PACKAGE)) not in LONG_MODULES_ALLOWED:
        assert source.count("\n") <= 400, f"{path.name}: {source.count(chr(10))} lines"
    long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for node in ast.walk(ast.parse(source))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > 60]
    assert not long, f"{path.name}: functions over 60 lines: {', '.join(long)}"


ARCHITECTURE = PACKAGE.parent / "docs" / "architecture.md"


def test_every_module_is_in_the_architecture_table():
    """docs/architecture.md names every module (its path in the package, or its file name in
    a subpackage's row), so a new module cannot go undocumented."""
    table = ARCHITECTURE.read_text()
    missing = [str(p.relative_to(PACKAGE)) for p in MODULES
               if p.name not in ("__init__.py", "__main__.py")
               and f"`{p.relative_to(PACKAGE).as_posix()}`" not in table
               and not (p.parent != PACKAGE and f"`{p.name}`" in table)]
    assert not missing, f"not in docs/architecture.md: {', '.join(missing)}"


# -- the layering: each package imports only the layers below it -----------------------------

# Lowest first. The base modules are the shared vocabulary (standard library only); a package
# may import its own modules, the base and the packages listed before it, never one after it.
BASE = {"__init__", "errors", "names", "objects", "schema", "timestamps"}
LAYERS = ["input", "config", "kube", "readiness", "result", "ha", "engine", "entry", "cli"]
SEPARATE = {"tokenreview": BASE}   # the webhook runs on its own: the base modules only

# Pure modules: plain data in, plain data out. They import no module of ours that does I/O and
# no library that reaches a network, a process or a thread.
PURE = {"errors.py", "names.py", "objects.py", "schema.py", "timestamps.py",
        "input/deployment.py", "input/render.py", "input/yamldialect.py", "input/yamlfast.py",
        "input/strictjson.py", "input/limits.py", "input/owner.py",
        "config/keystone_settings.py", "config/settings.py",   # (settings: reads its one file)
        "engine/plan.py", "engine/drift.py", "engine/steps.py", "engine/inventory.py",
        "engine/diff.py", "engine/suspend.py", "engine/absence.py",
        "ha/policy.py", "readiness/rules.py", "readiness/judge.py", "readiness/store.py",
        "result/events.py", "result/report.py", "tokenreview/mapping.py"}
IO_LIBRARIES = {"kubernetes", "urllib3", "http", "socket", "ssl", "subprocess", "keystoneauth1",
                "requests", "select"}
ALSO_ALLOWED = {"ha/policy.py": {"socket"}}   # Holder.me() names this host: gethostname only


def _imports(path: pathlib.Path) -> list:
    """(line, dotted module) of every import in the file, at any depth (function-level too);
    a relative import is resolved against the file's package."""
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    package = list(rel.parts[:-1])
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            if module == "heat_k8s_hook":   # from heat_k8s_hook import x: x is a module or a name
                found += [(node.lineno, f"heat_k8s_hook.{a.name}"
                           if (PACKAGE / a.name).is_dir() or (PACKAGE / f"{a.name}.py").exists()
                           else module) for a in node.names]
            else:
                found.append((node.lineno, module))
    return found


def _unit(dotted: str) -> str:
    """The layer unit a dotted name of ours lives in: a package, or a base module."""
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _allowed(unit: str) -> set:
    if unit in SEPARATE:
        return SEPARATE[unit] | {unit}
    if unit in BASE:
        return set(BASE)
    return BASE | set(LAYERS[:LAYERS.index(unit) + 1])


def test_the_layout_is_exactly_the_layers():
    """Every package and top-level module is placed in a layer, so a new one must be placed."""
    units = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in MODULES}
    assert units == BASE | set(LAYERS) | set(SEPARATE)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_each_package_imports_only_the_layers_below_it(path):
    unit = _unit(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
    if path.parent == PACKAGE:
        unit = path.stem
    wrong = [f"line {line}: {module}" for line, module in _imports(path)
             if module.startswith("heat_k8s_hook.") and _unit(module) not in _allowed(unit)]
    assert not wrong, f"{path.relative_to(PACKAGE)} ({unit}) imports above its layer: {wrong}"


@pytest.mark.parametrize("rel", sorted(PURE))
def test_pure_modules_import_no_io(rel):
    ours_pure = {f"heat_k8s_hook.{p.removesuffix('.py').replace('/', '.')}" for p in PURE}
    ours_pure |= {"heat_k8s_hook", "heat_k8s_hook.readiness", "heat_k8s_hook.input",
                  "heat_k8s_hook.engine", "heat_k8s_hook.ha", "heat_k8s_hook.result"}
    io = [f"line {line}: {module}" for line, module in _imports(PACKAGE / rel)
          if (module.startswith("heat_k8s_hook") and module not in ours_pure)
          or module.split(".")[0] in IO_LIBRARIES - ALSO_ALLOWED.get(rel, set())]
    assert not io, f"{rel} is pure but imports: {io}"


def test_the_layering_test_sees_a_violation(tmp_path):
    """The rule itself fails on a module that reaches up (kube importing the engine)."""
    bad = PACKAGE / "kube" / "cluster.py"
    wrong = [m for _, m in _imports(bad) if m.startswith("heat_k8s_hook.")
             and _unit(m) not in _allowed("kube")]
    assert wrong == []
    assert "engine" not in _allowed("kube") and "kube" in _allowed("engine")
    assert _allowed("tokenreview") == BASE | {"tokenreview"}


HEAVY = ("yaml", "kubernetes", "urllib3", "jsonpath_ng", "rich", "tenacity", "keystoneauth1",
         "heat_k8s_hook.readiness", "heat_k8s_hook.engine.pipeline", "heat_k8s_hook.kube.cluster")


def test_the_fast_path_imports_nothing_heavy():
    """The fast re-delivery answers in ~30 ms because importing it loads only the standard
    library and the stdlib-only modules it shares with the full path (seen red with
    `import yaml` added to input/deployment.py)."""
    import subprocess
    import sys
    code = ("import sys, heat_k8s_hook.entry.fastpath, heat_k8s_hook.entry.supervise; "
            f"print([m for m in sys.modules if m.split('.')[0] in {HEAVY!r} or m in {HEAVY!r} "
            f"or any(m.startswith(h + '.') for h in {HEAVY!r})])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=PACKAGE.parent).stdout
    assert out.strip() == "[]", f"the fast path loads: {out.strip()}"
