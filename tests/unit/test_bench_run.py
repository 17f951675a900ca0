"""bench/run's report table: every tool's figures stay in that tool's column.

Breaking it on purpose (done once, went red): the ideal client's row as it was before, with its
apply phase under `kubectl` and its API requests under `helm`.
"""
import importlib.machinery
import importlib.util

from tests_paths import ROOT


def load_run():
    loader = importlib.machinery.SourceFileLoader("bench_run", str(ROOT / "bench" / "run"))
    spec = importlib.util.spec_from_loader("bench_run", loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def test_each_tools_figures_are_in_its_own_column():
    run = load_run()
    s = run.summary
    tool = {"apply": s([1.0]), "apply_self": s([1.0]), "total": s([2.0]), "floor": s([2.0]),
            "after_floor": s([0.1]), "maxrss_mb": s([50]), "failed_runs": []}
    report = {"apply_ready": {"500": {
        "objects": 500,
        "hook": dict(tool, writes=s([503]), dry_run=s([500])),
        "kubectl": dict(tool, apply=s([3.0]), writes=s([501]), dry_run=s([0])),
        "helm": dict(tool, apply=s([4.0]), writes=s([504]), dry_run=s([0])),
        "ideal": {"apply": s([0.5]), "writes": s([502]), "dry_run": s([499])},
        "ratio_apply": s([3.0]), "ratio_total": s([1.0]), "ratio_helm_apply": s([4.0]),
        "ratio_helm_total": s([1.0]), "hook_over_ideal_apply": s([2.0]),
    }}}
    lines = run.table(report).splitlines()
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    rows = {r[0]: dict(zip(header, r)) for r in
            ([c.strip() for c in line.strip("|").split("|")] for line in lines[2:])}
    apply = rows["N=500 apply phase (start -> last object seen)"]
    assert (apply["hook"], apply["kubectl"], apply["helm"], apply["ideal"]) == \
        ("1.00s", "3.00s", "4.00s", "0.50s")
    assert apply["hook/ideal"] == "2.00x"
    api = rows["N=500 API writes / dry-run requests per run"]
    assert (api["hook"], api["kubectl"], api["helm"], api["ideal"]) == \
        ("503 / 500", "501 / 0", "504 / 0", "502 / 499")
    assert all(len(r) == len(header) for r in rows.values())
