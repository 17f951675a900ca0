"""The operator CLI on the hook's own pipeline.

    heat-k8s-hook render DEPLOYMENT.json        the objects the hook would apply (Secret data masked)
    heat-k8s-hook diff DEPLOYMENT.json          what apply would do to each object
    heat-k8s-hook apply DEPLOYMENT.json         apply and wait, as the hook does (CREATE/UPDATE)
    heat-k8s-hook delete DEPLOYMENT.json        delete what the deployment owns and wait
    heat-k8s-hook status DEPLOYMENT.json        readiness of the deployment's live objects
    heat-k8s-hook readiness FILE                offline verdicts for a dump of objects
    heat-k8s-hook hook                          the heat-config hook itself (stdin -> stdout)
    heat-k8s-hook settings [--defaults]         the operator settings in effect (hook.yaml)

DEPLOYMENT.json is the deployment JSON the hook reads (`-` for stdin), e.g. a file from
/var/lib/heat-config/deployed/. Exit codes are the hook's deploy_status_code values.
"""
from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import sys
from datetime import datetime, timezone
from typing import Optional

from heat_k8s_hook.errors import EXIT_CODES, HookError
from heat_k8s_hook.report import Masker, secret_values


def _load(path: str, action: Optional[str] = None, kubeconfig: Optional[str] = None,
          mask: Optional[Masker] = None):
    """The deployment within the operator's settings; --kubeconfig is the operator's own.

    Its secrets (secret inputs, Secret manifests' values) go into `mask` before anything prints.
    """
    from heat_k8s_hook.deployment import load_deployment
    from heat_k8s_hook.settings import check_options, load_settings
    settings = load_settings()
    limit = settings.limits.max_stdin_bytes + 1  # bytes, decoded strictly by load_deployment
    if path == "-":
        data = sys.stdin.buffer.read(limit)
    else:
        with open(path, "rb") as f:
            data = f.read(limit)
    dep = load_deployment(data, settings.limits)
    if mask is not None:
        _learn_secrets(dep, mask, settings.limits)
    dep = dataclasses.replace(dep, options=check_options(dep.options, settings, kubeconfig))
    if action:
        dep = dataclasses.replace(dep, action=action)
    return dep, settings


def _learn_secrets(dep, mask: Masker, limits) -> None:
    from heat_k8s_hook.render import render
    mask.add(dep.secret_values())
    try:
        for m in render(dep.config, dep.inputs, limits):
            mask.add(secret_values(m.obj))
    except HookError:
        pass  # the command itself reports why the config does not render


def _print(mask: Masker, text: str, stream=None) -> None:
    """Every line the CLI prints goes through the masker, as the hook's result does."""
    print(mask(text), file=stream or sys.stdout)


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
    dep, settings = _load(args.deployment, mask=args.mask)
    manifests = render(dep.config, dep.inputs, settings.limits)
    docs = [args.mask.value(_masked(dict(m.obj))) for m in manifests]
    sys.stdout.write(args.mask(yaml.safe_dump_all(docs, sort_keys=False)))
    return 0


def _session(dep, settings):
    from heat_k8s_hook import inventory
    from heat_k8s_hook.apply import Applier
    from heat_k8s_hook.pipeline import connect_default
    cluster = connect_default(dep.options, settings)
    name = inventory.parent_name(dep.slug)
    applier = Applier(cluster, dep.options.field_manager, dep.options.force_conflicts,
                      inventory.applyset_id(name))
    return cluster, name, applier


def cmd_diff(args) -> int:
    from heat_k8s_hook import plan
    from heat_k8s_hook.render import render
    dep, settings = _load(args.deployment, kubeconfig=args.kubeconfig, mask=args.mask)
    cluster, _name, applier = _session(dep, settings)
    try:
        items = applier.resolve(render(dep.config, dep.inputs, settings.limits),
                                dep.options.namespace)
        live = applier.observe(items)
        for it in items:
            current = live.get(it.ref.key)
            what = "create" if current is None else \
                "unchanged" if plan.unchanged(it.body, current) else "configure"
            _print(args.mask, f"{it.ref} {what}")
    finally:
        applier.close()
    return 0


def cmd_run(args, action: Optional[str]) -> int:
    from heat_k8s_hook.pipeline import Context, connect_default, execute
    dep, settings = _load(args.deployment, action, args.kubeconfig, args.mask)
    if action is None and dep.action not in ("CREATE", "UPDATE"):
        dep = dataclasses.replace(dep, action="UPDATE")
    if args.timeout:
        dep = dataclasses.replace(dep, options=dataclasses.replace(dep.options,
                                                                   timeout=args.timeout))
    ctx = Context(connect=functools.partial(connect_default, settings=settings),
                  progress=lambda line: _print(args.mask, line, sys.stderr), settings=settings,
                  mask=args.mask)
    result = execute(dep, ctx)
    if args.json:
        _print(args.mask, json.dumps(result.as_dict(args.mask), indent=2))
    else:
        for line in result.stdout:
            _print(args.mask, line)
        for key, value in result.outputs.items():
            _print(args.mask, f"output {key} = {json.dumps(args.mask.value(value))}")
    return result.status_code


def cmd_status(args) -> int:
    from heat_k8s_hook import inventory
    from heat_k8s_hook.cluster import ApiError
    from heat_k8s_hook.readiness.rules import Status, object_status
    dep, settings = _load(args.deployment, kubeconfig=args.kubeconfig, mask=args.mask)
    cluster, name, applier = _session(dep, settings)
    applier.close()
    try:
        parent = cluster.get(f"/api/v1/namespaces/{inventory.NAMESPACE}/configmaps/{name}")
    except ApiError as exc:
        if exc.status == 404:
            _print(args.mask, f"deployment {dep.identity}: no objects (never applied, or deleted)")
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
        _print(args.mask, f"{ref}: {status}: {message}")
    return code


def cmd_settings(args) -> int:
    """Print the operator settings in effect (checked), or the defaults to write a new file."""
    import yaml

    from heat_k8s_hook import settings as st
    if args.defaults:
        prefix = (args.prefix or "").rstrip("/")
        current = st.Settings(kubeconfig_dirs=tuple(prefix + d for d in st.DEFAULT_KUBECONFIG_DIRS),
                              default_kubeconfig=prefix + st.DEFAULT_KUBECONFIG)
    else:
        current = st.load_settings()
    sys.stdout.write(f"# heat-k8s-hook operator settings ({st.DEFAULT_PATH}, or "
                     f"${st.ENV_VAR}); README: Operator settings\n")
    sys.stdout.write(yaml.safe_dump(current.as_dict(), sort_keys=False))
    return 0


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
    s = sub.add_parser("settings", help="print the operator settings in effect (checked)")
    s.add_argument("--defaults", action="store_true", help="print the defaults instead")
    s.add_argument("--prefix", help="with --defaults: prefix for the default paths (a --root)")
    return p


def main(argv: Optional[list] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["readiness"]:  # its own parser (offline.py), options and all
        from heat_k8s_hook.readiness.offline import main as offline
        return offline(argv[1:], prog="heat-k8s-hook readiness")
    args = parser().parse_args(argv)
    args.mask = Masker()
    handlers = {
        "render": cmd_render, "diff": cmd_diff, "status": cmd_status,
        "apply": lambda a: cmd_run(a, None), "delete": lambda a: cmd_run(a, "DELETE"),
        "hook": cmd_hook, "settings": cmd_settings,
    }
    try:
        return handlers[args.command](args)
    except HookError as exc:
        _print(args.mask, f"heat-k8s-hook: {exc.message}", sys.stderr)
        return exc.code
    except OSError as exc:
        print(f"heat-k8s-hook: {exc.strerror}: {exc.filename}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
