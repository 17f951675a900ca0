"""Where a stack's time went: Heat's events plus the agent's log (bench/heat).

The agent (heat-agents' 55-heat-config under os-collect-config) logs, with milliseconds,
`Running <hooks>/<hook> < <deployed>/<deployment id>.json`, then `Completed <hook>` (or
`Error running <hook>`), then `Running .../heat-config-notify <deployed>/<id>.json` and, when
the notify is done, its output at [INFO]. Heat's events (1 s resolution) say when each
deployment resource went CREATE_IN_PROGRESS. Pure parsing apart from `breakdown`'s two calls.
"""
from __future__ import annotations

import datetime
import re

LINE = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\] \(heat-config\) \[(\w+)\] (.*)")


NOTIFY = re.compile(r"\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3})\] \(heat-config-notify\) "
                    r"\[DEBUG\] (?:Signalling to|Response)$")


def _ts(text: str) -> float:
    return datetime.datetime.strptime(text, "%Y-%m-%d %H:%M:%S,%f").timestamp()


def agent_spans(log_text: str, deployment_ids: set) -> dict:
    """Per deployment id: hook_start, hook_end, notify_start, notify_end (epoch seconds)."""
    spans: dict = {}
    current, phase = None, None
    for raw in log_text.splitlines():
        m = LINE.match(raw)
        if not m:
            continue
        t, level, msg = _ts(m.group(1)), m.group(2), m.group(3)
        ids = [d for d in deployment_ids if f"/deployed/{d}" in msg]
        if msg.startswith("Running ") and ids and "heat-config-notify" not in msg:
            current, phase = ids[0], "hook"
            spans[current] = {"hook_start": t}
        elif current and phase == "hook" and (msg.startswith("Completed ")
                                              or msg.startswith("Error running ")):
            spans[current]["hook_end"] = t
        elif msg.startswith("Running ") and "heat-config-notify" in msg and ids:
            current, phase = ids[0], "notify"
            spans.setdefault(current, {})["notify_start"] = t
        elif current and phase == "notify" and level == "INFO":
            spans[current]["notify_end"] = t
            phase = "notify-output"
        elif current and phase == "notify-output":  # the notify's own stderr, timestamped
            for key, word in (("signal_sent", "Signalling to"), ("signal_answered", "Response")):
                hit = NOTIFY.search(msg.split(word)[0][-80:] + word) if word in msg else None
                if hit:
                    spans[current][key] = _ts(hit.group(1))
            current, phase = None, None
    return spans


def split(t0: float, t_end: float, first_in_progress: float | None, spans: dict) -> dict:
    """The wall time cut into Heat before the agent, hook, notify, Heat after the last notify,
    and the rest: the agent waiting for its next poll (and Heat between ordered deployments)."""
    complete = [s for s in spans.values() if {"hook_start", "hook_end", "notify_start",
                                              "notify_end"} <= set(s)]
    hook = sum(s["hook_end"] - s["hook_start"] for s in complete)
    notify = sum(s["notify_end"] - s["notify_start"] for s in complete)
    before = (first_in_progress - t0) if first_in_progress else 0.0
    after = (t_end - max(s["notify_end"] for s in complete)) if complete else 0.0
    signal = sum(s["signal_answered"] - s["signal_sent"] for s in complete
                 if {"signal_sent", "signal_answered"} <= set(s))
    wall = t_end - t0
    return {k: round(v, 2) for k, v in {
        "wall": wall, "heat_before": before, "hook": hook, "notify": notify,
        "notify_signal": signal, "heat_after": after,
        "polling": wall - before - hook - notify - after}.items()}


def _event_time(ev: dict) -> float:
    return datetime.datetime.strptime(ev["event_time"], "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def deployment_resources(heat, stack_id: str) -> dict:
    """Deployment resource name -> the id the agent names its files by: the deployment's
    derived config id (`deployed/<config_id>.json`), not the deployment's own id."""
    out = {}
    for r in heat.call("resources.list", stack_id):
        if r["resource_type"] == "OS::Heat::SoftwareDeployment" and r["physical_resource_id"]:
            sd = heat.call("software_deployments.get", r["physical_resource_id"])
            out[r["resource_name"]] = sd["config_id"]
    return out


def breakdown(heat, agent, stack_id: str, t0: float, t_end: float) -> dict:
    """Per-stack totals and per-deployment spans, relative to t0 (the `stack create` call);
    t_end: when the harness saw the stack settle (it polls every 0.25 s)."""
    deps = deployment_resources(heat, stack_id)
    events = heat.call("events.list", stack_id)
    started = [_event_time(e) for e in events if e["resource_name"] in deps
               and e["resource_status"] == "CREATE_IN_PROGRESS"]
    spans = agent_spans(agent.log.read_text(errors="replace"), set(deps.values()))
    rel = {name: {k: round(v - t0, 2) for k, v in spans.get(i, {}).items()}
           for name, i in deps.items()}
    return {"totals": split(t0, t_end, min(started) if started else None, spans),
            "deployments": rel}


def deploy_stderr(heat, stack_id: str) -> dict:
    """Each deployment's deploy_status_code and the tail of its deploy_stderr."""
    out = {}
    for name in deployment_resources(heat, stack_id):
        try:
            values = heat.deployment(stack_id, name).get("output_values") or {}
        except Exception as exc:  # the report says what could not be read
            values = {"deploy_stderr": f"(unreadable: {exc})"}
        out[name] = {"deploy_status_code": values.get("deploy_status_code"),
                     "deploy_stderr": "\n".join(str(values.get("deploy_stderr") or "")
                                                .splitlines()[-6:])}
    return out
