"""One reader for the times Kubernetes and Keystone write (timestamps.py)."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from heat_k8s_hook import timestamps
from heat_k8s_hook.ha import policy
from heat_k8s_hook.readiness import rules

EPOCH_2026 = datetime(2026, 12, 5, 10, 0, 0, tzinfo=timezone.utc).timestamp()


@pytest.mark.parametrize("text,seconds", [
    ("2026-12-05T10:00:00Z", EPOCH_2026),                      # creationTimestamp, managedFields
    ("2026-12-05T10:00:00.250000Z", EPOCH_2026 + 0.25),         # a Lease's MicroTime
    ("2026-12-05T10:00:00.000000Z", EPOCH_2026),                # Keystone's expires_at
    ("2026-12-05T11:30:00+01:30", EPOCH_2026),                  # an offset
    ("2026-12-05T10:00:00.1234567891Z", EPOCH_2026 + 0.123456),  # more than microseconds
])
def test_the_forms_written_in_the_wild(text, seconds):
    assert timestamps.unix_time(text) == pytest.approx(seconds, abs=1e-6)
    assert policy.parse_time(text) == pytest.approx(seconds, abs=1e-6)
    assert rules.parse_time(text).timestamp() == pytest.approx(seconds, abs=1e-6)


@pytest.mark.parametrize("value", ["", "yesterday", "2026-13-05T10:00:00Z", "2026-12-05", None, 5])
def test_anything_else_is_none(value):
    assert timestamps.parse_time(value) is None
    assert policy.parse_time(value) is None


def test_a_naive_datetime_is_utc():
    naive = datetime(2026, 12, 5, 10, 0, 0)
    assert timestamps.parse_time(naive) == datetime(2026, 12, 5, 10, 0, 0, tzinfo=timezone.utc)
    assert policy.parse_time(naive) is None   # a Lease's fields are strings
