"""Drift: does a live object still hold what we apply? Pure, over plain data.

A field we set compares by value (resource quantities canonical, server defaults and
zero values not counted), so an unchanged object costs no write and a hand edit of our
field is seen. `same_object` tells whether a dry-run answer equals the live object.
"""
from __future__ import annotations

import base64
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping

from heat_k8s_hook.engine.plan import CONFIG_HASH

# Fields holding resource.Quantity values: the server stores them canonical (1000m -> 1,
# 1024Mi -> 1Gi, 0.5 -> 500m), so they compare by value, not by spelling.
QUANTITY_MAPS = frozenset({"limits", "requests", "hard", "capacity", "default",
                           "defaultRequest", "max", "min", "maxLimitRequestRatio", "overhead"})
QUANTITY_FIELDS = frozenset({"sizeLimit"})
_QUANTITY = re.compile(r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
                       r"(|[eE][+-]?[0-9]+|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|n|u)$")
_SUFFIX = {"": 1, "n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"),
           "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12, "P": 10 ** 15, "E": 10 ** 18,
           "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50,
           "Ei": 2 ** 60}


def quantity(value: Any) -> Decimal | None:
    """A resource.Quantity's value (None when it is not one): `1000m` == `1` == 1."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    match = _QUANTITY.match(str(value).strip())
    if not match:
        return None
    number, suffix = match.groups()
    try:
        if suffix[:1] in ("e", "E"):
            return Decimal(number + suffix)
        return Decimal(number) * _SUFFIX[suffix]
    except InvalidOperation:
        return None


def _matches(desired: Any, live: Any, quantities: bool = False) -> bool:
    """Does the live value hold the desired one as the server stores it? Fields the server
    defaulted are extra in live (ignored); empty maps and lists are dropped by it."""
    if isinstance(desired, Mapping):
        if not desired and live is None:
            return True
        return isinstance(live, Mapping) and all(
            _matches(v, live.get(k), quantities or k in QUANTITY_MAPS or k in QUANTITY_FIELDS)
            for k, v in desired.items() if v is not None)
    if isinstance(desired, list):
        if not desired and live is None:
            return True
        return isinstance(live, list) and len(desired) == len(live) and all(
            _matches(d, lv) for d, lv in zip(desired, live))
    if live is None and (desired is False or desired == 0 or desired == ""):
        return True   # a zero value the server does not store (omitempty): minReadySeconds: 0
    if quantities and not isinstance(desired, bool):
        want, have = quantity(desired), quantity(live)
        if want is not None and have is not None:
            return want == have
    if isinstance(desired, bool) or isinstance(live, bool):
        return desired is live
    if isinstance(desired, (int, float)) and isinstance(live, (int, float)):
        return desired == live
    return desired == live or (isinstance(desired, (int, float)) and str(desired) == live)


def unchanged(body: Mapping, live: Mapping | None) -> bool:
    """True when the live object already is what we would apply: same hash, no drift.

    The hash annotation says the config did not change since it was applied; the field by
    field comparison says nobody changed one of our fields behind our back. A False answer
    only costs a PATCH that the server may find to be a no-op.
    """
    if not live:
        return False
    live_meta = live.get("metadata", {})
    if (live_meta.get("annotations") or {}).get(CONFIG_HASH) != \
            body["metadata"]["annotations"][CONFIG_HASH]:
        return False
    desired = {k: v for k, v in body.items() if k not in ("status", "stringData")}
    if body.get("stringData"):
        # stringData is write-only: the server stores it base64-encoded in data.
        desired["data"] = dict(desired.get("data") or {}, **{
            k: base64.b64encode(str(v).encode()).decode()
            for k, v in body["stringData"].items()})
    return _matches(desired, live)


def _comparable(obj: Mapping) -> dict:
    meta = dict(obj.get("metadata") or {})
    meta.pop("resourceVersion", None)
    meta["managedFields"] = [{k: v for k, v in entry.items() if k != "time"}
                             for entry in meta.get("managedFields") or []]
    return dict(obj, metadata=meta)


def same_object(answer: Mapping | None, live: Mapping | None) -> bool:
    """True when the server's dry-run answer is the live object itself: applying would change
    nothing (not a field, not an owner), so no PATCH is sent. Asked when the field-by-field
    check is in doubt (a spelling the server normalises, a default it fills)."""
    if not answer or not live:
        return False
    return _comparable(answer) == _comparable(live)
