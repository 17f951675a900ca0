"""errors.py's survivor of the mutation run (docs/testing.md): the phase only when known."""
from __future__ import annotations

from heat_k8s_hook.errors import NotReady


def test_the_phase_is_named_only_when_the_runner_set_one():
    error = NotReady("Job/default/j:  BackoffLimitExceeded\n")
    assert error.in_phase() == "Job/default/j: BackoffLimitExceeded"
    error.phase = "wait ready"
    assert error.in_phase() == "Job/default/j: BackoffLimitExceeded [phase: wait ready]"
