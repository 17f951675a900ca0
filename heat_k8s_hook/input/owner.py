"""Two digests of a delivery (pure, standard library only): which deployment *resource* it
comes from (`owner`), and what every member of a group shares (`generation`).

Heat replaces a SoftwareDeployment (after a failure, a new `server`, a replace_on_change input,
a rollback) by creating a new resource of the same name in the same stack, then deleting the
old one: both deliver the same stack and resource name. What differs is what Heat keeps per
resource: its own stack user (`deploy_user_id`: HEAT_SIGNAL, ZAQAR_SIGNAL), its own EC2 access
key in the signal URL (`deploy_signal_id`, CFN_SIGNAL; the URL itself is signed anew per action,
heat/engine/resources/signal_responder.py), its own container (TEMP_URL_SIGNAL) or queue
(`deploy_queue_id`), and the server. NO_SIGNAL has only the server. Used by `deployment.py` and
by the fast path (`fastpath.py`, which imports nothing heavy); the digest is never a secret's
prefix and is never printed with the inputs.
"""
from __future__ import annotations

import hashlib
import json
import urllib.parse
from typing import Any, Mapping

OWNER_INPUTS = ("deploy_server_id", "deploy_user_id", "deploy_signal_id", "deploy_queue_id")


def signal_owner(url: str) -> str:
    """What of a signal URL stays with its resource: the path and the EC2 access key."""
    if not url:
        return ""
    parsed = urllib.parse.urlsplit(url)
    keys = urllib.parse.parse_qs(parsed.query).get("AWSAccessKeyId") or [""]
    return f"{parsed.path}|{keys[0]}"


def owner(inputs: Mapping[str, Any]) -> str:
    """The resource's digest from the deploy_* inputs ("" when Heat sent none of them)."""
    parts = [str(inputs.get(k) or "") for k in OWNER_INPUTS]
    parts[2] = signal_owner(parts[2])
    if not any(parts):
        return ""
    return hashlib.sha256("\0".join(parts).encode("utf-8", "surrogatepass")).hexdigest()[:16]


def generation(config: Any, options: Any, inputs: Any, action: str) -> str:
    """What every member of a group shares: config, options, user inputs (no per-member
    `deploy_*` value, no per-action `id`) and the action."""
    user = sorted(((i.get("name"), i.get("value")) for i in inputs or []
                   if isinstance(i, Mapping) and isinstance(i.get("name"), str)
                   and not i["name"].startswith("deploy_")), key=lambda p: p[0])
    text = json.dumps([config, options, user, action], sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
