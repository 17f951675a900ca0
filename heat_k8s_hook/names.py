"""The names the fast path and the full path must agree on, defined once. Standard library only.

A re-delivery is answered from a record only if the fast path finds the record where the full
path wrote it: the same identity, the same parent's name and namespace, the same settings file
and kubeconfig, the same actions. Both import these from here (`entry/fastpath.py` before any
heavy import; `input/deployment.py`, `engine/inventory.py`, `config/settings.py` for the full
path), so the two cannot drift apart again.
"""
from __future__ import annotations

import hashlib
import re

APPLY_ACTIONS = frozenset({"CREATE", "UPDATE", "ROLLBACK"})   # ROLLBACK applies the config rolled back to
RECORDS_NAMESPACE = "heat-k8s-hook"   # the inventory parents, unless tenants have their own
SETTINGS_PATH = "/etc/heat-k8s-hook/hook.yaml"
SETTINGS_ENV = "HEAT_K8S_HOOK_CONFIG"
DEFAULT_KUBECONFIG = "/etc/heat-k8s-hook/kubeconfig"
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")   # render.py checks names with it too

# Heat names a config after its resource: "<stack>-<resource>-<short id>", the short id being
# 12 base32 characters of the resource's uuid (heat/common/short_id.py). A changed config is
# a replaced resource with a new short id: without it, the name stays the same across UPDATEs
# (an e2e UPDATE of the web example found its inventory under a new name and pruned nothing).
_SHORT_ID = re.compile(r"-[a-z2-7]{12}$")


def logical_name(name: str) -> str:  # fastpath.naming uses it too: one source
    return _SHORT_ID.sub("", name or "")


def slug_for(stack_id: str, label: str, identity: str) -> str:
    """The readable prefix + identity hash (fastpath.naming uses it too: one source)."""
    stack_name = stack_id.split("/")[0] if stack_id else ""
    base = "-".join(p for p in (stack_name, label) if p)
    base = re.sub(r"[^a-z0-9-]+", "-", base.lower()).strip("-")[:40].strip("-")
    digest = hashlib.sha256(identity.encode()).hexdigest()[:10]
    return f"{base}-{digest}" if base else f"heat-{digest}"


def parent_name(slug: str) -> str:
    return f"heat-{slug}"[:63].rstrip("-")
