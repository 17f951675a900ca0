"""What `diff` shows: a unified diff per object between the live object and the server's
dry-run answer, with server-owned noise dropped and Secret values masked. Pure.

Secret values are masked at the source (Flux's `sanitize.go`): both sides are masked before
any text is built, and a changed value shows as `****** (changed)`, never as itself.
"""
from __future__ import annotations

import difflib
import json
from typing import Mapping, Optional

import yaml

from heat_k8s_hook.result.report import LAST_APPLIED, MASK

NOISE = ("managedFields", "resourceVersion", "generation", "uid", "creationTimestamp",
         "selfLink")


def clean(obj: Optional[Mapping]) -> Optional[dict]:
    """The object without what the server alone changes (status, managedFields, ...)."""
    if not obj:
        return None
    out = json.loads(json.dumps(obj))
    out.pop("status", None)
    meta = out.get("metadata") or {}
    for key in NOISE:
        meta.pop(key, None)
    return out


def mask_secrets(before: Optional[dict], after: Optional[dict]) -> tuple:
    """Both sides of a Secret with every value masked; changed or new values marked."""
    if (after or before or {}).get("kind") != "Secret":
        return before, after
    old = dict((before or {}).get("data") or {})
    new = dict((after or {}).get("data") or {})
    if before is not None:
        before = _without_copies(dict(before, data={k: MASK for k in old}))
    if after is not None:
        after = _without_copies(dict(after, data={
            k: MASK if old.get(k) == v else f"{MASK} (changed)" for k, v in new.items()}))
    return before, after


def _without_copies(secret: dict) -> dict:
    """stringData, and kubectl's last-applied annotation (a full copy of the data, written by
    a client-side `kubectl apply` of the same Secret), masked like the data."""
    secret.pop("stringData", None)
    annotations = (secret.get("metadata") or {}).get("annotations") or {}
    if LAST_APPLIED in annotations:
        secret["metadata"] = dict(secret["metadata"],
                                  annotations=dict(annotations, **{LAST_APPLIED: MASK}))
    return secret


def _text(obj: Optional[Mapping]) -> list:
    if obj is None:
        return []
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False).splitlines(True)


def unified(name: str, live: Optional[Mapping], dry_run: Optional[Mapping]) -> str:
    """`--- live/NAME` / `+++ dry-run/NAME` unified diff; empty when they agree."""
    before, after = mask_secrets(clean(live), clean(dry_run))
    lines = difflib.unified_diff(_text(before), _text(after),
                                 f"live/{name}" if live else "/dev/null",
                                 f"dry-run/{name}" if dry_run else "/dev/null")
    return "".join(lines)
