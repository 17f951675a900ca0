"""heat-k8s-hook: the operator CLI on the hook's own plan and runner.

    render DEPLOYMENT      the objects the hook would apply (Secret values masked)
    plan DEPLOYMENT        the steps a run would take, in order (nothing is changed)
    diff DEPLOYMENT        server-side dry-run against the live objects: a diff per object
    apply DEPLOYMENT       apply and wait, as the hook does (CREATE/UPDATE)
    delete DEPLOYMENT      delete what the deployment owns and wait until it is gone
    status TARGET          every member's readiness and the cause of anything not ready
    list                   every deployment on the cluster, from the inventories
    replay FILE            re-run a deployed deployment exactly as 55-heat-config does
    readiness FILE         offline verdicts for a dump of objects
    hook                   the heat-config hook itself (stdin -> stdout)
    settings [--defaults]  the operator settings in effect (hook.yaml)

DEPLOYMENT is a deployment JSON as the hook reads it (`-` for stdin), e.g. a file from
/var/lib/heat-config/deployed/. TARGET is such a file, or a deployment's identity
(`<stack id>/<resource>`, as `list` shows it) or part of it.
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional

from heat_k8s_hook.errors import EXIT_CODES, HookError
from heat_k8s_hook.result.report import Masker

STATUS_CODES = "status: 0 every member ready, 1 not yet (or missing), 6 one failed"


def _common(s: argparse.ArgumentParser, cluster: bool = True) -> None:
    s.add_argument("-o", "--output", choices=("text", "json"), default="text",
                   help="text for people (default), json for programs")
    if cluster:
        s.add_argument("--kubeconfig", help="credentials file (default: the deployment's "
                                            "option, $KUBECONFIG, /etc/heat-k8s-hook/kubeconfig)")
        s.add_argument("--context", help="kubeconfig context")


def _add(sub, name: str, help_text: str, cluster: bool = True, **kw) -> argparse.ArgumentParser:
    s = sub.add_parser(name, help=help_text, description=help_text, **kw)
    _common(s, cluster)
    return s


def _run_options(s: argparse.ArgumentParser) -> None:
    s.add_argument("--timeout", type=float, help="seconds (default: the deployment's option)")
    s.add_argument("--plain", action="store_true",
                   help="plain progress lines even on a terminal")
    s.add_argument("--json", dest="output", action="store_const", const="json",
                   help="same as --output json: the heat-config result JSON")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="heat-k8s-hook", description=__doc__.split("\n\n")[0] + "\n\n" +
        __doc__.split("\n\n")[2], formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="exit codes: " + "; ".join(f"{k} {v}" for k, v in sorted(EXIT_CODES.items()))
        + "\n" + STATUS_CODES)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add(sub, "render", "print the rendered objects", cluster=False).add_argument(
        "deployment", help="deployment JSON, or - for stdin")
    s = _add(sub, "plan", "print the steps a run would take (reads the cluster, changes nothing)")
    s.add_argument("deployment", help="deployment JSON, or - for stdin")
    s.add_argument("--action", choices=("CREATE", "UPDATE", "DELETE", "SUSPEND", "RESUME"),
                   help="plan this action instead of the deployment's")
    _add(sub, "diff", "server-side dry-run: a unified diff per object, prune candidates"
         ).add_argument("deployment", help="deployment JSON, or - for stdin")
    for name, help_text in (("apply", "apply and wait, as the hook does"),
                            ("delete", "delete the deployment's objects and wait")):
        s = _add(sub, name, help_text)
        s.add_argument("deployment", help="deployment JSON, or - for stdin")
        _run_options(s)
    s = _add(sub, "status", "readiness of every member, by the hook's own judge",
             epilog=STATUS_CODES)
    s.add_argument("target", metavar="DEPLOYMENT|IDENTITY")
    s.add_argument("--watch", "-w", action="store_true", help="follow it live until every "
                   "member is ready (or --timeout, or Ctrl-C)")
    s.add_argument("--interval", type=float, default=2.0, help="seconds between looks (watch)")
    s.add_argument("--timeout", type=float, help="stop watching after this many seconds")
    s.add_argument("--plain", action="store_true", help="changed lines, even on a terminal")
    _add(sub, "list", "every deployment on the cluster: stack, resource, objects, readiness")
    s = _add(sub, "replay", "re-run a deployed deployment as 55-heat-config does (same stdin); "
             "prints the result heat-config would signal", cluster=False)
    s.add_argument("file", metavar="FILE", help="a file of /var/lib/heat-config/deployed/ "
                   "(or its id)")
    s.add_argument("--hook", help="hook to run (default: /var/lib/heat-config/hooks/kubectl, "
                   "else this package's)")
    s.add_argument("--action", choices=("CREATE", "UPDATE", "DELETE"),
                   help="replace deploy_action (e.g. DELETE what a CREATE made)")
    sub.add_parser("readiness", help="offline verdicts for a dump of objects (see "
                   "`readiness --help`)", add_help=False)
    sub.add_parser("hook", help="run as the heat-config hook (stdin -> stdout)",
                   description="run as the heat-config hook: deployment JSON on stdin, one "
                   "result JSON on stdout")
    s = _add(sub, "settings", "print the operator settings in effect (checked)", cluster=False)
    s.add_argument("--defaults", action="store_true", help="print the defaults instead")
    s.add_argument("--prefix", help="with --defaults: prefix for the default paths (a --root)")
    return p


def main(argv: Optional[list] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["readiness"]:  # its own parser (offline.py), options and all
        from heat_k8s_hook.readiness.offline import main as offline
        return offline(argv[1:], prog="heat-k8s-hook readiness")
    args = parser().parse_args(argv)
    args.mask = Masker()   # every line printed goes through it, as the hook's result does
    from heat_k8s_hook.cli import commands as c
    handlers = {
        "render": c.cmd_render, "plan": c.cmd_plan, "diff": c.cmd_diff, "status": c.cmd_status,
        "apply": lambda a: c.cmd_run(a, None), "delete": lambda a: c.cmd_run(a, "DELETE"),
        "list": c.cmd_list, "replay": c.cmd_replay, "hook": lambda a: _hook(),
        "settings": c.cmd_settings,
    }
    try:
        return handlers[args.command](args)
    except HookError as exc:
        print(args.mask(f"heat-k8s-hook: {exc.in_phase()}"), file=sys.stderr)
        return exc.code
    except OSError as exc:
        print(f"heat-k8s-hook: {exc.strerror}: {exc.filename}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _hook() -> int:
    from heat_k8s_hook.entry.hook import main as hook
    return hook()


if __name__ == "__main__":
    sys.exit(main())
