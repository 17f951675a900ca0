"""engine/steps.py's survivors of mutation run f (docs/testing.md)."""
from __future__ import annotations

from heat_k8s_hook.engine import steps
from heat_k8s_hook.engine.steps import DryRun


def test_as_dict_sorts_a_set_of_many_namespaces():
    """Kills as_dict 13 (a frozenset listed in its iteration order). Two names, as in
    test_steps_text, come out sorted by chance in half the processes (string hashing is
    seeded per process); forty never do."""
    names = [f"ns-{i:02d}" for i in range(40)]
    out = steps.as_dict(DryRun((), frozenset(reversed(names))))
    assert out == {"step": "DryRun", "refs": [], "stand_in_for": names}
