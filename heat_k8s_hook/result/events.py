"""What a run tells the world, as typed events; the hook's result and the CLI render them.

The runner emits; it never formats a result or a terminal line itself. Pure data.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Union

from heat_k8s_hook.objects import Action, ObjectRef
from heat_k8s_hook.readiness.rules import Status


@dataclass(frozen=True)
class StepStarted:
    index: int
    total: int
    step: Any                 # a steps.Step


@dataclass(frozen=True)
class ObjectChanged:
    """One change-set line: what apply, prune or delete did to an object."""

    ref: ObjectRef
    action: Action


@dataclass(frozen=True)
class VerdictChanged:
    """The judge's verdict on an object changed while waiting (`what`: ready/established/gone)."""

    ref: ObjectRef
    status: Status
    message: str
    what: str = "ready"


@dataclass(frozen=True)
class Progress:
    """A milestone for a person (`validated: 3 object(s) passed server-side dry-run`)."""

    text: str


@dataclass(frozen=True)
class Detail:
    """A diagnostic line that belongs under the error (e.g. the Warning events of a pod)."""

    text: str


@dataclass(frozen=True)
class OutputRead:
    name: str
    value: Any


Event = Union[StepStarted, ObjectChanged, VerdictChanged, Progress, Detail, OutputRead]
Emit = Callable[[Event], None]


def fan_out(*renderers: Emit) -> Emit:
    """One emit that hands every event to each renderer in turn."""
    def emit(event: Event) -> None:
        for render in renderers:
            render(event)
    return emit
