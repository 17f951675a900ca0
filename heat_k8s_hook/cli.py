"""The operator CLI on the hook's own pipeline.

    heat-k8s-hook render DEPLOYMENT.json        the objects the hook would apply (Secret data masked)
    heat-k8s-hook diff DEPLOYMENT.json          what apply would do to each object
    heat-k8s-hook apply DEPLOYMENT.json         apply and wait, as the hook does (CREATE/UPDATE)
    heat-k8s-hook delete DEPLOYMENT.json        delete what the deployment owns and wait
    heat-k8s-hook status DEPLOYMENT.json        readiness of the deployment's live objects
    heat-k8s-hook readiness FILE                offline verdicts for a dump of objects
    heat-k8s-hook hook                          the heat-config hook itself (stdin -> stdout)

DEPLOYMENT.json is the deployment JSON the hook reads (`-` for stdin), e.g. a file from
/var/lib/heat-config/deployed/. Exit codes are the hook's deploy_status_code values.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from datetime import datetime, timezone
from typing import Optional

from heat_k8s_hook.errors import EXIT_CODES, HookError


def _load(path: str, action: Optional[str] = None, kubeconfig: Optional[str] = None):
    from heat_k8s_hook.deployment import load_deployment
    text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()
    dep = load_deployment(text)
    if kubeconfig:
        dep = dataclasses.replace(dep, options=dataclasses.replace(dep.options,
                                                                   kubeconfig=kubeconfig))
    if action:
        dep = dataclasses.replace(dep, action=action)
    return dep


def _masked(obj: dict) -> dict:
    if obj.get("kind") != "Secret":
        return obj
    out = dict(obj)
    for key in ("data", "stringData"):
        if isinstance(out.get(key), dict):
            out[key] = {k: "******" for k in out[key]}
    return out


def cmd_render(args) -> int:
    import yaml

    from heat_k8s_hook.render import render
    dep = _load(args.deployment)
    docs = [_masked(dict(m.obj)) for m in render(dep.config, dep.inputs)]
    sys.stdout.write(yaml.safe_dump_all(docs, sort_keys=False))
    return 0


def _session(dep):
    from heat_k8s_hook import inventory
    from heat_k8s_hook.apply import Applier
    from heat_k8s_hook.pipeline import connect_default
    cluster = connect_default(dep.options)
    name = inventory.parent_name(dep.slug)
    applier = Applier(cluster, dep.options.field_manager, dep.options.force_conflicts,
                      inventory.applyset_id(name))
    return cluster, name, applier


def cmd_diff(args) -> int:
    from heat_k8s_hook import plan
    from heat_k8s_hook.render import render
    dep = _load(args.deployment, kubeconfig=args.kubeconfig)
    cluster, _name, applier = _session(dep)
    try:
        items = applier.resolve(render(dep.config, dep.inputs), dep.options.namespace)
        live = applier.observe(items)
        for it in items:
            current = live.get(it.ref.key)
            what = "create" if current is None else \
                "unchanged" if plan.unchanged(it.body, current) else "configure"
            print(f"{it.ref} {what}")
    finally:
        applier.close()
    return 0


def cmd_run(args, action: Optional[str]) -> int:
    from heat_k8s_hook.pipeline import Context, connect_default, execute
    dep = _load(args.deployment, action, args.kubeconfig)
    if action is None and dep.action not in ("CREATE", "UPDATE"):
        dep = dataclasses.replace(dep, action="UPDATE")
    if args.timeout:
        dep = dataclasses.replace(dep, options=dataclasses.replace(dep.options,
                                                                   timeout=args.timeout))
    ctx = Context(connect=connect_default, progress=lambda line: print(line, file=sys.stderr))
    result = execute(dep, ctx)
    if args.json:
        print(json.dumps(result.as_dict(ctx.mask), indent=2))
    else:
        for line in result.stdout:
            print(ctx.mask(line))
        for key, value in result.outputs.items():
            print(f"output {key} = {json.dumps(value)}")
    return result.status_code


def cmd_status(args) -> int:
    from heat_k8s_hook import inventory
    from heat_k8s_hook.cluster import ApiError
    from heat_k8s_hook.readiness.rules import Status, object_status
    dep = _load(args.deployment, kubeconfig=args.kubeconfig)
    cluster, name, applier = _session(dep)
    applier.close()
    try:
        parent = cluster.get(f"/api/v1/namespaces/{inventory.NAMESPACE}/configmaps/{name}")
    except ApiError as exc:
        if exc.status == 404:
            print(f"deployment {dep.identity}: no objects (never applied, or deleted)")
            return 0
        raise
    now = datetime.now(timezone.utc)
    code = 0
    for ref in inventory.members_of(parent):
        resource = cluster.resource(ref.api_version, ref.kind)
        try:
            obj = cluster.get(resource.path(ref.namespace, ref.name))
            obj.setdefault("kind", ref.kind)
            verdict = object_status(obj, now, dep.options.wait_rules)
            status, message = verdict.status.value, verdict.message
            if verdict.status is not Status.READY:
                code = 1
        except ApiError as exc:
            if exc.status != 404:
                raise
            status, message, code = "missing", "not found", 1
        print(f"{ref}: {status}: {message}")
    return code


def cmd_hook(_args) -> int:
    from heat_k8s_hook.hook import main as hook
    return hook()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="heat-k8s-hook", description=__doc__.split("\n\n")[0],
                                epilog="exit codes: " + "; ".join(
                                    f"{k} {v}" for k, v in sorted(EXIT_CODES.items())),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)

    def with_deployment(name: str, help_text: str):
        s = sub.add_parser(name, help=help_text)
        s.add_argument("deployment", help="deployment JSON file, or - for stdin")
        s.add_argument("--kubeconfig", help="override the deployment's kubeconfig option")
        return s

    sub.add_parser("render", help="print the rendered objects").add_argument("deployment")
    with_deployment("diff", "what apply would do to each object")
    for name, help_text in (("apply", "apply and wait, as the hook does"),
                            ("delete", "delete the deployment's objects and wait")):
        s = with_deployment(name, help_text)
        s.add_argument("--timeout", type=float, help="seconds (default: the deployment's)")
        s.add_argument("--json", action="store_true", help="print the heat-config result JSON")
    with_deployment("status", "readiness of the deployment's live objects")
    r = sub.add_parser("readiness", help="offline verdicts for a dump of objects", add_help=False)
    r.add_argument("rest", nargs=argparse.REMAINDER)
    sub.add_parser("hook", help="run as the heat-config hook (stdin -> stdout)")
    return p


def main(argv: Optional[list] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["readiness"]:  # its own parser (offline.py), options and all
        from heat_k8s_hook.readiness.offline import main as offline
        return offline(argv[1:], prog="heat-k8s-hook readiness")
    args = parser().parse_args(argv)
    handlers = {
        "render": cmd_render, "diff": cmd_diff, "status": cmd_status,
        "apply": lambda a: cmd_run(a, None), "delete": lambda a: cmd_run(a, "DELETE"),
        "hook": cmd_hook,
    }
    try:
        return handlers[args.command](args)
    except HookError as exc:
        print(f"heat-k8s-hook: {exc.message}", file=sys.stderr)
        return exc.code
    except OSError as exc:
        print(f"heat-k8s-hook: {exc.strerror}: {exc.filename}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
