"""Record the outcome of a successful apply, the proof a fast re-delivery checks (fastpath.py).

The recorder sees the run's events (the change set in order, the outputs); after the run,
`save` LISTs every member by its ApplySet label, the way the fast path will, and writes the
outcome into the inventory parent only when it differs from the one recorded (an unchanged
re-delivery through the full path writes nothing).
"""
from __future__ import annotations

from urllib.parse import urlencode

from heat_k8s_hook import fastpath, plan
from heat_k8s_hook.events import ObjectChanged, OutputRead
from heat_k8s_hook.report import _field


class Recorder:
    """An Emit that passes every event on and keeps the change set's order and the outputs."""

    def __init__(self, emit):
        self.emit, self.refs, self.outputs = emit, [], {}

    def __call__(self, event) -> None:
        if isinstance(event, ObjectChanged):
            self.refs.append(event.ref)
        elif isinstance(event, OutputRead):
            self.outputs[event.name] = event.value
        self.emit(event)


def scopes(run_ctx) -> list:
    """The labelled LIST of each (resource, namespace) holding members: path and query."""
    query = urlencode({"labelSelector": f"{plan.PART_OF}={run_ctx.applier.applyset_id}"})
    paths = {it.resource.path(it.ref.namespace) for it in run_ctx.items.values() if it.resource}
    return sorted(f"{p}?{query}" for p in paths)


def save(run_ctx, recorder: Recorder, key: str, mask) -> None:
    """After a successful apply: record what a re-delivery of the same key may answer."""
    lists = scopes(run_ctx)
    cap = run_ctx.deadline.cap
    answers = run_ctx.applier.pool.map(lambda s: run_ctx.cluster.get(s, timeout=cap(30.0)), lists)
    listings = list(zip(lists, answers))
    applied = [ref for ref in recorder.refs if ref.key in run_ctx.items]  # not the pruned
    stdout = _field([f"{ref} {plan.Action.UNCHANGED.value}" for ref in applied], mask)
    outputs = {name: mask.value(value) for name, value in recorder.outputs.items()}
    outcome = fastpath.encode_outcome(key, lists, fastpath.digest(listings), stdout, outputs,
                                      len(applied))
    opts = run_ctx.dep.options
    members = [it.ref for it in run_ctx.items.values()]
    run_ctx.inventory.record(run_ctx.parent_name, run_ctx.dep.identity, members,
                             {"wait_rules": dict(opts.wait_rules),
                              "unschedulable_grace": opts.unschedulable_grace},
                             outcome=outcome)

