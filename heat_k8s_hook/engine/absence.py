"""Delete by absence: which applications to delete because their deployment left this server.

Heat does not always run a deployment's DELETE: with NO_SIGNAL, without DELETE in `actions`,
after `stack abandon`, and on a cloud with Nova (for an OS::Heat::DeployedServer, Nova answers
404 and Heat completes the delete without waiting for the hook) the deployment just leaves the
server's metadata. heat-agents' compose hook cleans up after such deployments in
`50-heat-config-docker-compose` (cleanup_stale_projects); this is the same for `kubectl`.

The facts are 55-heat-config's own: the deployments in the heat-config file now, and the
deployed markers (`<id>.json`, the whole deployment as the hook received it, kept forever).
An application whose deployments all left is deleted with the DELETE of its newest marker, so
every rule of a DELETE holds (a replaced resource's DELETE deletes nothing, `group_delete`,
an application taken over by another stack). An application still delivered here (a later
action, a replacement, another member or stack with the same `application`) is left alone.
Pure: plain data in, a plan out; `absence_run.py` reads the files and runs the hook.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Optional

from heat_k8s_hook.errors import HookError
from heat_k8s_hook.input.deployment import parse_deployment

MAX_ATTEMPTS = 3   # a DELETE that keeps failing (e.g. its credentials are gone) is given up


@dataclass(frozen=True)
class Marker:
    """One deployed marker: a deployment 55-heat-config ran here."""

    id: str
    identity: str        # Deployment.identity: what its application is known by
    action: str
    order: float         # when it was written (the marker's mtime): the newest decides
    payload: Mapping     # the deployment as delivered (credentials included: never printed)
    code: Optional[int] = None   # what the hook answered (55-heat-config's <id>.notify.json)


@dataclass(frozen=True)
class Plan:
    delete: tuple = ()   # Markers whose DELETE runs now (one per application)
    settled: tuple = ()  # marker ids nothing is to be done for, ever again
    kept: tuple = ()     # (identity, why) for the operator's log


def identity_of(payload: Mapping) -> Optional[str]:
    """The application identity of a `kubectl` deployment; None for another group or a
    deployment the hook refuses (it never applied anything)."""
    if not isinstance(payload, Mapping) or (payload.get("group") or "kubectl") != "kubectl":
        return None
    try:
        return parse_deployment(payload).identity
    except HookError:
        return None


def marker(payload: Mapping, order: float, code: Optional[int] = None) -> Optional[Marker]:
    identity = identity_of(payload)
    if identity is None or not isinstance(payload.get("id"), str):
        return None
    action = parse_deployment(payload).action
    return Marker(payload["id"], identity, action, order, payload, code)


def plan(current: Iterable[Mapping], markers: Iterable[Marker],
         settled: Iterable[str]) -> Plan:
    """What to do for the markers whose deployment is no longer in `current`."""
    present_ids = {c.get("id") for c in current if isinstance(c, Mapping)}
    present = {identity_of(c) for c in current if isinstance(c, Mapping)} - {None}
    done = set(settled)
    gone: dict = {}
    carried: dict = {}   # identity -> the newest marker of a deployment still delivered
    for m in markers:
        if m.id in present_ids:
            carried[m.identity] = max(carried.get(m.identity, (m.order, m.id)), (m.order, m.id))
        elif m.id not in done:
            gone.setdefault(m.identity, []).append(m)
    delete, quiet, kept = [], [], []
    for identity, ms in sorted(gone.items()):
        newest = max(ms, key=lambda m: (m.order, m.id))
        if identity in present:
            # A gone marker older than a delivered one's is settled: that one carries the
            # application's DELETE. A newer one stays: when a replacement leaves before the
            # resource it replaced (a stack delete during the replacement), its DELETE is the
            # application's, and the older resource's would keep it ("replaced").
            kept.append((identity, "still delivered to this server"))
            quiet += [m.id for m in ms if (m.order, m.id) < carried.get(identity, (m.order, m.id))]
        elif newest.action == "DELETE" and newest.code == 0:
            kept.append((identity, "its DELETE already ran here"))
            quiet += [m.id for m in ms]
        else:
            delete.append(newest)
            quiet += [m.id for m in ms if m is not newest]
    return Plan(tuple(delete), tuple(sorted(quiet)), tuple(kept))


def as_delete(payload: Mapping) -> dict:
    """The marker's deployment as a DELETE (same config, options, inputs, credentials)."""
    inputs = [dict(i, value="DELETE") if isinstance(i, Mapping) and
              i.get("name") == "deploy_action" else i for i in payload.get("inputs") or []]
    if not any(isinstance(i, Mapping) and i.get("name") == "deploy_action" for i in inputs):
        inputs.append({"name": "deploy_action", "type": "String", "value": "DELETE"})
    return dict(payload, inputs=inputs)
