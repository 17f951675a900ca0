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

from heat_k8s_hook import inventory, steps
from heat_k8s_hook.errors import HookError, InvalidInput
from heat_k8s_hook.report import MASK

DEPLOYED_DIR = "/var/lib/heat-config/deployed"
HOOK_PATHS = ("/var/lib/heat-config/hooks/kubectl",)


class Planning(NamedTuple):
    dep: Any
    ctx: Any
    run_ctx: Any
    facts: steps.Facts
    plan: list


def _print_json(data) -> None:
    print(json.dumps(data, indent=2, default=str))


def load(path: str, action: Optional[str] = None, args=None):
    """The deployment JSON at `path` (`-`: stdin), with the CLI's overrides applied."""
    from heat_k8s_hook.deployment import load_deployment
    text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    dep = load_deployment(text)
    overrides = {k: getattr(args, k, None) for k in ("kubeconfig", "context", "timeout")}
    overrides = {k: v for k, v in overrides.items() if v}
    if overrides:
        dep = dataclasses.replace(dep, options=dataclasses.replace(dep.options, **overrides))
    if action:
        dep = dataclasses.replace(dep, action=action)
    return dep


def _context(args, view=None, quiet: bool = False):
    from heat_k8s_hook.pipeline import Context, connect_default
    progress = (lambda line: None) if quiet else (lambda line: print(line, file=sys.stderr,
                                                                      flush=True))
    return Context(connect=connect_default, progress=progress, emit=view)


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

    from heat_k8s_hook.pipeline import rendered
    dep = load(args.deployment, "CREATE", args)
    docs = [masked(dict(m.obj)) for m in rendered(dep, _context(args))]
    if args.output == "json":
        _print_json(docs)
    else:
        sys.stdout.write(yaml.safe_dump_all(docs, sort_keys=False))
    return 0


@contextlib.contextmanager
def planned(args, action: Optional[str] = None) -> Iterator[Planning]:
    """The deployment, its run context, facts and plan, without changing anything."""
    from heat_k8s_hook.pipeline import open_run, plan_for, rendered
    dep = load(args.deployment, action, args)
    if dep.action not in ("CREATE", "UPDATE", "DELETE"):
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
        _print_json({"deployment": dep.identity, "action": dep.action,
                     "steps": [steps.as_dict(s) for s in plan]})
    else:
        print(f"plan of {dep.action} {dep.identity}:")
        for index, step in enumerate(plan, 1):
            print(f"{index:3}. {steps.describe(step)}")
    return 0


def _diff_one(run_ctx, item, facts, ctx) -> dict:
    from heat_k8s_hook.diff import unified
    from heat_k8s_hook.plan import unchanged
    live = run_ctx.live.get(item.ref.key)
    if unchanged(item.body, live):
        return {"object": str(item.ref), "change": "unchanged", "diff": ""}
    if item.resource is None:  # its CRD is created by this config: the server cannot check it
        text = unified(str(item.ref), None, item.body)
        return {"object": str(item.ref), "change": "create", "diff": ctx.mask(text),
                "note": "custom resource of a CRD in this config: not dry-run"}
    stand_in = inventory.NAMESPACE if item.ref.namespace in facts.missing_namespaces else None
    if stand_in:
        run_ctx.inventory.ensure_namespace()
    answer = run_ctx.applier.dry_run_one(item, stand_in)
    if stand_in:
        answer["metadata"]["namespace"] = item.ref.namespace
    text = unified(str(item.ref), live, answer)
    change = "create" if live is None else ("configure" if text else "unchanged")
    return {"object": str(item.ref), "change": change, "diff": ctx.mask(text)}


def _bind_served(run_ctx) -> None:
    """Custom resources of a CRD in the config whose CRD is already served: diff them too."""
    from heat_k8s_hook.cluster import UnknownKind
    for item in run_ctx.items.values():
        if item.resource is None:
            try:
                item.resource = run_ctx.cluster.resource(item.ref.api_version, item.ref.kind)
            except UnknownKind:
                continue
            run_ctx.live.update(run_ctx.applier.observe([item]))


def cmd_diff(args) -> int:
    """A real server-side dry-run of every object against the live one; prune candidates."""
    from heat_k8s_hook import plan as plan_rules
    with planned(args, "UPDATE") as p:
        dep, facts = p.dep, p.facts
        _bind_served(p.run_ctx)
        rows = [_diff_one(p.run_ctx, p.run_ctx.items[o.ref.key], facts, p.ctx)
                for o in facts.objects]
    prune = [str(r) for r in plan_rules.to_prune(facts.previous, [o.ref for o in facts.objects])]
    if not dep.options.prune:
        prune = []
    if args.output == "json":
        _print_json({"deployment": dep.identity, "objects": rows, "prune": prune})
        return 0
    for row in rows:
        print(f"{row['object']}: {row['change']}")
        if row["diff"]:
            sys.stdout.write(row["diff"])
    for ref in prune:
        print(f"{ref}: prune (no longer in the config)")
    return 0


# -- apply, delete, replay --------------------------------------------------------------------

def cmd_run(args, action: Optional[str]) -> int:
    from heat_k8s_hook.pipeline import execute
    dep = load(args.deployment, action, args)
    if action is None and dep.action not in ("CREATE", "UPDATE"):
        dep = dataclasses.replace(dep, action="UPDATE")
    tty = sys.stderr.isatty() and not args.plain
    if tty:
        from heat_k8s_hook.cli_view import LiveView
        ctx = _context(args, quiet=True)
        with LiveView(f"{dep.action} {dep.identity}", sys.stderr, mask=ctx.mask) as view:
            ctx.emit = view
            result = execute(dep, ctx)
        if result.status_code:
            print(result.stderr[-1], file=sys.stderr)
    else:
        ctx = _context(args)
        result = execute(dep, ctx)
    if args.output == "json":
        _print_json(result.as_dict(ctx.mask))
    else:
        for line in result.stdout:
            print(ctx.mask(line))
        for key, value in result.outputs.items():
            print(f"output {key} = {ctx.mask(json.dumps(value))}")
    return result.status_code


def hook_command(explicit: Optional[str]) -> list:
    """The hook as 55-heat-config finds it, else this package's own."""
    for path in ([explicit] if explicit else list(HOOK_PATHS)):
        if path and os.access(path, os.X_OK):
            return [path]
    if explicit:
        raise InvalidInput(f"hook {explicit} is not an executable file")
    return [sys.executable, "-m", "heat_k8s_hook.hook"]


def cmd_replay(args) -> int:
    """Run the hook on a deployed deployment as 55-heat-config does: same stdin, same argv."""
    path = args.file
    if not os.path.exists(path) and os.path.exists(os.path.join(DEPLOYED_DIR, path + ".json")):
        path = os.path.join(DEPLOYED_DIR, path + ".json")
    with open(path, encoding="utf-8") as handle:
        c = json.load(handle)
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
        _print_json(result)
    else:
        sys.stdout.write(result.get("deploy_stdout", ""))
        print(f"deploy_status_code {result.get('deploy_status_code')}")
    return int(result.get("deploy_status_code") or 0)


# -- status, list -------------------------------------------------------------------------------

def _connect_for(args):
    from heat_k8s_hook.deployment import Options
    from heat_k8s_hook.pipeline import connect_default
    return connect_default(Options(kubeconfig=args.kubeconfig, context=args.context))


def _target(args):
    """(cluster, identity, parent, wait_rules, grace) for a deployment file or an identity."""
    from heat_k8s_hook.inventory_client import InventoryClient
    from heat_k8s_hook.observe import find_parent, identity_of
    from heat_k8s_hook.pipeline import connect_default
    if args.target == "-" or os.path.isfile(args.target):
        dep = load(args.target, None, args)
        cluster = connect_default(dep.options)
        parent = InventoryClient(cluster, "heat-k8s-hook").get(inventory.parent_name(dep.slug))
        return cluster, dep.identity, parent, dep.options.wait_rules, \
            dep.options.unschedulable_grace
    cluster = _connect_for(args)
    parent = find_parent(InventoryClient(cluster, "heat-k8s-hook"), args.target)
    return cluster, identity_of(parent) if parent else args.target, parent, {}, 15.0


def _status_rows(cluster, parent, wait_rules, grace) -> list:
    from heat_k8s_hook.observe import Judge
    judge = Judge(cluster, datetime.now(timezone.utc), wait_rules, grace)
    return judge.rows(inventory.members_of(parent))


def _status_code(rows) -> int:
    if any(r.status == "failed" for r in rows):
        return 6
    return 0 if all(r.status == "ready" for r in rows) else 1


def cmd_status(args) -> int:
    cluster, identity, parent, wait_rules, grace = _target(args)
    if parent is None:
        if args.output == "json":
            _print_json({"deployment": identity, "members": []})
        else:
            print(f"deployment {identity}: no objects (never applied, or deleted)")
        return 0
    if args.watch:
        from heat_k8s_hook.cli_status import watch
        return watch(args, identity, lambda: _status_rows(cluster, parent, wait_rules, grace),
                     _status_code)
    rows = _status_rows(cluster, parent, wait_rules, grace)
    if args.output == "json":
        _print_json({"deployment": identity, "members": [r.as_dict() for r in rows]})
    else:
        for row in rows:
            print(row.line())
    return _status_code(rows)


def cmd_list(args) -> int:
    from heat_k8s_hook.inventory_client import InventoryClient
    from heat_k8s_hook.observe import identity_of, summary
    cluster = _connect_for(args)
    out = []
    for parent in InventoryClient(cluster, "heat-k8s-hook").all():
        identity = identity_of(parent)
        members = inventory.members_of(parent)
        rows = _status_rows(cluster, parent, {}, 15.0)
        stack, _, resource = identity.rpartition("/")
        out.append({"identity": identity, "stack": stack.split("/")[0], "stack_id": stack,
                    "resource": resource, "inventory": parent["metadata"]["name"],
                    "objects": len(members), "readiness": summary(rows)})
    if args.output == "json":
        _print_json(out)
        return 0
    width = max([len(d["stack_id"]) for d in out] + [5])
    print(f"{'STACK':{width}}  {'RESOURCE':16} {'OBJECTS':>7}  READINESS")
    for d in out:
        print(f"{d['stack_id']:{width}}  {d['resource']:16} {d['objects']:>7}  {d['readiness']}")
    return 0

