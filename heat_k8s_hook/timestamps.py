"""Timestamps as Kubernetes and Keystone write them (RFC 3339), read in one place. Pure.

`metadata.creationTimestamp`, managedFields' `time`, condition transition times, a Lease's
MicroTime `renewTime` and Keystone's `expires_at` all go through `parse_time`; the readiness
rules, the watch, the Lease rules (`ha/policy.py`) and the TokenReview webhook used to carry a parser
each, with different ideas of what a fraction or an offset is.
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

_TIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))?$")


def parse_time(value: Any) -> Optional[datetime]:
    """An RFC 3339 timestamp (string, or datetime as YAML loads it) as an aware datetime (UTC
    when it names no zone); None when it is not one."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if not isinstance(value, str):
        return None
    m = _TIME_RE.match(value.strip())
    if not m:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.group(1, 2, 3, 4, 5, 6))
    micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
    tz = timezone.utc
    if m.group(9):
        offset = timedelta(hours=int(m.group(10)), minutes=int(m.group(11)))
        tz = timezone(offset if m.group(9) == "+" else -offset)
    try:
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=tz)
    except ValueError:
        return None


def unix_time(value: Any) -> Optional[float]:
    """parse_time as seconds since the epoch."""
    moment = parse_time(value)
    return moment.timestamp() if moment is not None else None
