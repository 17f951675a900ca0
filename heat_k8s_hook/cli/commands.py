"""The CLI's subcommands. Each goes through the pipeline's plan and runner (`open_run`,
`plan_for`, `execute`) or the read-only `observe` module: no pipeline code is copied here."""
from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import subprocess
import sys
from datetime import datetime, timezone
from typing import Any, Iterator, NamedTuple, Optional

from heat_k8s_hook import names
from heat_k8s_hook.engine import inventory, steps
from heat_k8s_hook.errors import ApplyRejected, HookError, InvalidInput
from heat_k8s_hook.result.report import MASK

DEPLOYED_DIR = "/var/lib/heat-config/deployed"
HOOK_PATHS = ("/var/lib/heat-config/hooks/kubectl",)


class Planning(NamedTuple):
    dep: Any
    ctx: Any
    run_ctx: Any
    facts: steps.Facts
    plan: list


def out(args, text: str, stream=None) -> None:
    """Every line the CLI prints goes through the masker, as the hook's result does."""
    print(args.mask(text), file=stream or sys.stdout, flush=True)


def _print_json(args, data) -> None:
    out(args, json.dumps(args.mask.value(data), indent=2, default=str))


def load(path: str, action: Optional[str] = None, args=None):
    """The deployment at `path` (`-`: stdin) within the operator's settings, with the CLI's
    overrides (--kubeconfig is the operator's own); its secrets taught to `args.mask` first."""
    from heat_k8s_hook.config.settings import check_options, load_settings
    from heat_k8s_hook.input.deployment import load_deployment
    settings = load_settings()
    limit = settings.limits.max_stdin_bytes + 1  # bytes, decoded strictly by load_deployment
    if path == "-":
        data = sys.stdin.buffer.read(limit)
    else:
        with open(path, "rb") as f:
            data = f.read(limit)
    dep = load_deployment(data, settings.limits)
    _learn_secrets(dep, args.mask, settings.limits)
    dep = dataclasses.replace(dep, options=check_options(dep.options, settings,
                                                         getattr(args, "kubeconfig", None)))
    overrides = {k: getattr(args, k, None) for k in ("context", "timeout")}
    overrides = {k: v for k, v in overrides.items() if v}
    if overrides:
        dep = dataclasses.replace(dep, options=dataclasses.replace(dep.options, **overrides))
    if action:
        dep = dataclasses.replace(dep, action=action)
    args.settings = settings
    return dep


def _learn_secrets(dep, mask, limits) -> None:
    from heat_k8s_hook.input.render import render
    from heat_k8s_hook.result.report import secret_values
    mask.add(dep.secret_values())
    try:
        for m in render(dep.config, dep.inputs, limits):
            mask.add(secret_values(m.obj))
    except HookError:
        pass  # the command itself reports why the config does not render


def _context(args, view=None, quiet: bool = False):
    import functools

    from heat_k8s_hook.engine.pipeline import Context, connect_default
    progress = (lambda line: None) if quiet else (lambda line: out(args, line, sys.stderr))
    return Context(connect=functools.partial(connect_default, settings=args.settings),
                   progress=progress, emit=view, mask=args.mask, settings=args.settings)


# -- render, plan, diff ---------------------------------------------------------------------

def masked(obj: dict) -> dict:
    """A Secret with every value replaced by the mask (render prints no Secret value)."""
    if obj.get("kind") != "Secret":
        return obj
    out = dict(obj)
    for key in ("data", "stringData"):
        if isinstance(out.get(key), dict):
            out[key] = {k: MASK for k in out[key]}
    return out


def cmd_render(args) -> int:
    import yaml

    from heat_k8s_hook.engine.pipeline import rendered
    dep = load(args.deployment, "CREATE", args)
    docs = [args.mask.value(masked(dict(m.obj))) for m in rendered(dep, _context(args))]
    if args.output == "json":
        _print_json(args, docs)
    else:
        sys.stdout.write(args.mask(yaml.safe_dump_all(docs, sort_keys=False)))
    return 0


@contextlib.contextmanager
def planned(args, action: Optional[str] = None) -> Iterator[Planning]:
    """The deployment, its run context, facts and plan, without changing anything."""
    from heat_k8s_hook.engine.pipeline import open_run, plan_for, rendered
    dep = load(args.deployment, action, args)
    if dep.action not in ("CREATE", "UPDATE", "DELETE", "SUSPEND", "RESUME"):
        dep = dataclasses.replace(dep, action="UPDATE")
    ctx = _context(args, quiet=True)
    manifests = rendered(dep, ctx)
    with open_run(dep, ctx, lambda event: None, manifests) as run_ctx:
        facts, plan = plan_for(run_ctx, manifests)
        yield Planning(dep, ctx, run_ctx, facts, plan)


def cmd_plan(args) -> int:
    with planned(args, args.action) as p:
        dep, plan = p.dep, p.plan
    if args.output == "json":
        _print_json(args, {"deployment": dep.identity, "action": dep.action,
                           "steps": [steps.as_dict(s) for s in plan]})
    else:
        out(args, f"plan of {dep.action} {dep.identity}:")
        for index, step in enumerate(plan, 1):
            out(args, f"{index:3}. {steps.describe(step)}")
    return 0


def _diff_one(run_ctx, item, facts, ctx) -> dict:
    from heat_k8s_hook.engine.diff import unified
    from heat_k8s_hook.engine.drift import unchanged
    live = run_ctx.live.get(item.ref.key)
    if unchanged(item.body, live):
        return {"object": str(item.ref), "change": "unchanged", "diff": ""}
    if item.resource is None:  # its CRD is created by this config: the server cannot check it
        text = unified(str(item.ref), None, item.body)
        return {"object": str(item.ref), "change": "create", "diff": ctx.mask(text),
                "note": "custom resource of a CRD in this config: not dry-run"}
    stand_in = run_ctx.inventory.namespace if item.ref.namespace in facts.missing_namespaces else None
    if stand_in:
        run_ctx.inventory.ensure_namespace()
    try:
        answer = run_ctx.applier.dry_run_one(item, stand_in)
    except ApplyRejected as exc:  # shown with the others: every problem at once
        return {"object": str(item.ref), "change": "rejected", "diff": "",
                "error": ctx.mask(exc.message)}
    if stand_in:
        answer["metadata"]["namespace"] = item.ref.namespace
    text = unified(str(item.ref), live, answer)
    change = "create" if live is None else ("configure" if text else "unchanged")
    return {"object": str(item.ref), "change": change, "diff": ctx.mask(text)}


def _bind_served(run_ctx) -> None:
    """Custom resources of a CRD in the config whose CRD is already served: diff them too."""
    from heat_k8s_hook.kube.cluster import UnknownKind
    for item in run_ctx.items.values():
        if item.resource is None:
            try:
                item.resource = run_ctx.cluster.resource(item.ref.api_version, item.ref.kind)
            except UnknownKind:
                continue
            run_ctx.live.update(run_ctx.applier.observe([item]))


def cmd_diff(args) -> int:
    """A real server-side dry-run of every object against the live one; prune candidates."""
    from heat_k8s_hook.engine import plan as plan_rules
    with planned(args, "UPDATE") as p:
        dep, facts = p.dep, p.facts
        _bind_served(p.run_ctx)
        rows = [_diff_one(p.run_ctx, p.run_ctx.items[o.ref.key], facts, p.ctx)
                for o in facts.objects]
    prune = [str(r) for r in plan_rules.to_prune(facts.previous, [o.ref for o in facts.objects])]
    if not dep.options.prune:
        prune = []
    code = ApplyRejected.code if any(r["change"] == "rejected" for r in rows) else 0
    if args.output == "json":
        _print_json(args, {"deployment": dep.identity, "objects": rows, "prune": prune})
        return code
    for row in rows:
        out(args, f"{row['object']} {row['change']}" + (f": {row['error']}" if "error" in row
                                                        else ""))
        if row["diff"]:
            sys.stdout.write(args.mask(row["diff"]))
    for ref in prune:
        out(args, f"{ref} prune (no longer in the config)")
    return code


# -- apply, delete, replay --------------------------------------------------------------------

def cmd_run(args, action: Optional[str]) -> int:
    from heat_k8s_hook.engine.pipeline import execute
    dep = load(args.deployment, action, args)
    if action is None and dep.action not in ("CREATE", "UPDATE"):
        dep = dataclasses.replace(dep, action="UPDATE")
    tty = sys.stderr.isatty() and not args.plain
    if tty:
        from heat_k8s_hook.cli.view import LiveView
        ctx = _context(args, quiet=True)
        with LiveView(f"{dep.action} {dep.identity}", sys.stderr, mask=ctx.mask) as view:
            ctx.emit = view
            result = execute(dep, ctx)
        if result.status_code:
            out(args, result.stderr[-1], sys.stderr)
    else:
        ctx = _context(args)
        result = execute(dep, ctx)
    if args.output == "json":
        out(args, json.dumps(result.as_dict(args.mask), indent=2))
    else:
        for line in result.stdout:
            out(args, line)
        for key, value in result.outputs.items():
            out(args, f"output {key} = {json.dumps(args.mask.value(value))}")
    return result.status_code


def hook_command(explicit: Optional[str]) -> list:
    """The hook as 55-heat-config finds it, else this package's own."""
    for path in ([explicit] if explicit else list(HOOK_PATHS)):
        if path and os.access(path, os.X_OK):
            return [path]
    if explicit:
        raise InvalidInput(f"hook {explicit} is not an executable file")
    return [sys.executable, "-m", "heat_k8s_hook.entry.hook"]


def cmd_replay(args) -> int:
    """Run the hook on a deployed deployment as 55-heat-config does: same stdin, same argv."""
    path = args.file
    if not os.path.exists(path) and os.path.exists(os.path.join(DEPLOYED_DIR, path + ".json")):
        path = os.path.join(DEPLOYED_DIR, path + ".json")
    with open(path, encoding="utf-8") as handle:
        try:
            c = json.load(handle)
        except ValueError as exc:
            raise InvalidInput(f"{path}: not a deployed deployment (JSON): {exc}") from None
    try:  # its secrets, so that nothing printed here shows them
        load(path, None, args)
    except HookError:
        pass
    if args.action:
        for item in c.get("inputs") or []:
            if item.get("name") == "deploy_action":
                item["value"] = args.action
    proc = subprocess.run(hook_command(args.hook), input=json.dumps(c).encode("utf-8", "replace"),
                          stdout=subprocess.PIPE)   # its progress goes to our stderr
    try:
        result = json.loads(proc.stdout)
    except ValueError:
        raise HookError(f"the hook answered no JSON (exit {proc.returncode})") from None
    if args.output == "json":
        _print_json(args, result)
    else:
        sys.stdout.write(args.mask(str(result.get("deploy_stdout", ""))))
        out(args, f"deploy_status_code {result.get('deploy_status_code')}")
    return int(result.get("deploy_status_code") or 0)


# -- status, list -------------------------------------------------------------------------------

def _connect_for(args):
    """The operator's own credentials (--kubeconfig, $KUBECONFIG, the settings' default)."""
    from heat_k8s_hook.config.settings import load_settings
    from heat_k8s_hook.engine.pipeline import connect_default
    from heat_k8s_hook.input.deployment import Options
    return connect_default(Options(kubeconfig=args.kubeconfig, context=args.context),
                           load_settings())


def _target(args):
    """(cluster, identity, parent, wait_rules, grace) for a deployment file or an identity."""
    from heat_k8s_hook.engine.inventory_client import InventoryClient
    from heat_k8s_hook.engine.observe import find_parent, identity_of
    from heat_k8s_hook.engine.pipeline import connect_default
    if args.target == "-" or os.path.isfile(args.target):
        dep = load(args.target, None, args)
        cluster = connect_default(dep.options, args.settings)
        from heat_k8s_hook.config.keystone_settings import records_namespace
        where = records_namespace(dep.options.namespace, args.settings.keystone, inventory.NAMESPACE)
        parent = InventoryClient(cluster, "heat-k8s-hook", namespace=where).get(
            names.parent_name(dep.slug))
        return cluster, dep.identity, parent, dep.options.wait_rules, \
            dep.options.unschedulable_grace
    cluster = _connect_for(args)
    parent = find_parent(InventoryClient(cluster, "heat-k8s-hook"), args.target)
    judge = inventory.judge_options(parent)   # as the hook judged it (recorded at apply)
    return cluster, identity_of(parent) if parent else args.target, parent, \
        judge.get("wait_rules") or {}, float(judge.get("unschedulable_grace") or 15.0)


def _status_rows(cluster, parent, wait_rules, grace) -> list:
    from heat_k8s_hook.engine.observe import LiveJudge
    judge = LiveJudge(cluster, datetime.now(timezone.utc), wait_rules, grace)
    return judge.rows(inventory.members_of(parent))


def _status_code(rows) -> int:
    if any(r.status == "failed" for r in rows):
        return 6
    return 0 if all(r.status == "ready" for r in rows) else 1


def cmd_status(args) -> int:
    cluster, identity, parent, wait_rules, grace = _target(args)
    if parent is None:
        if args.output == "json":
            _print_json(args, {"deployment": identity, "members": []})
        else:
            out(args, f"deployment {identity}: no objects (never applied, or deleted)")
        return 0
    if args.watch:
        from heat_k8s_hook.cli.status import watch
        return watch(args, identity, lambda: _status_rows(cluster, parent, wait_rules, grace),
                     _status_code)
    rows = _status_rows(cluster, parent, wait_rules, grace)
    from heat_k8s_hook.ha.lease import holder_line
    held = holder_line(cluster, parent)
    if args.output == "json":
        _print_json(args, {"deployment": identity, "members": [r.as_dict() for r in rows],
                           "lease": held})
    else:
        for row in rows:
            out(args, row.line())
        if held:
            out(args, held)
    return _status_code(rows)


def cmd_list(args) -> int:
    from heat_k8s_hook.engine.inventory_client import InventoryClient
    from heat_k8s_hook.engine.observe import identity_of, summary
    cluster = _connect_for(args)
    found = []
    for parent in InventoryClient(cluster, "heat-k8s-hook").all():
        identity = identity_of(parent)
        members = inventory.members_of(parent)
        judge = inventory.judge_options(parent)
        rows = _status_rows(cluster, parent, judge.get("wait_rules") or {},
                            float(judge.get("unschedulable_grace") or 15.0))
        stack, _, resource = identity.rpartition("/")
        found.append({"identity": identity, "stack": stack.split("/")[0], "stack_id": stack,
                    "resource": resource, "inventory": parent["metadata"]["name"],
                    "objects": len(members), "readiness": summary(rows)})
    if args.output == "json":
        _print_json(args, found)
        return 0
    width = max([len(d["stack_id"]) for d in found] + [5])
    out(args, f"{'STACK':{width}}  {'RESOURCE':16} {'OBJECTS':>7}  READINESS")
    for d in found:
        out(args, f"{d['stack_id']:{width}}  {d['resource']:16} {d['objects']:>7}  "
                  f"{d['readiness']}")
    return 0


def cmd_settings(args) -> int:
    """Print the operator settings in effect (checked), or the defaults to write a new file."""
    import yaml

    from heat_k8s_hook.config import settings as st
    if args.defaults:
        prefix = (args.prefix or "").rstrip("/")
        current = st.Settings(kubeconfig_dirs=tuple(prefix + d for d in st.DEFAULT_KUBECONFIG_DIRS),
                              default_kubeconfig=prefix + st.DEFAULT_KUBECONFIG)
    else:
        current = st.load_settings()
    if args.output == "json":
        _print_json(args, current.as_dict())
        return 0
    sys.stdout.write(f"# heat-k8s-hook operator settings ({st.DEFAULT_PATH}, or "
                     f"${st.ENV_VAR}); README: Operator settings\n")
    sys.stdout.write(yaml.safe_dump(current.as_dict(), sort_keys=False))
    return 0

