"""Built-in handlers, among them `procedure`, the dashboard's test job."""

from __future__ import annotations

import logging
from typing import Any

from .errors import InvalidJobError, JobCancelled
from .registry import HandlerRegistry, JobContext

logger = logging.getLogger(__name__)

PROCEDURE = "procedure"
MAX_STEPS = 1_000


class ProcedureStepFailed(RuntimeError):
    """The step a `procedure` payload asked to fail."""


def procedure(ctx: JobContext) -> dict[str, Any]:
    """Process a procedure: run N steps, reporting progress after each.

    Payload keys: `steps` (default 5), `step_seconds` (default 0.5) and
    `fail_at_step` (a step number that raises, to exercise retries).
    """
    payload = ctx.payload if isinstance(ctx.payload, dict) else {}
    steps = _int_option(payload, "steps", 5, minimum=1, maximum=MAX_STEPS)
    step_seconds = _float_option(payload, "step_seconds", 0.5)
    fail_at = payload.get("fail_at_step")

    ctx.progress(0, f"starting {steps} steps")
    for step in range(1, steps + 1):
        if ctx.wait(step_seconds):
            raise JobCancelled(f"cancelled before step {step} of {steps}")
        if fail_at is not None and step == fail_at:
            raise ProcedureStepFailed(f"step {step} of {steps} failed as requested")
        ctx.progress(step * 100 // steps, f"step {step} of {steps} done")
    return {"steps": steps, "attempt": ctx.attempt}


def noop(ctx: JobContext) -> None:
    """Do nothing; used by benchmarks and smoke tests."""
    return None


def _int_option(
    payload: dict, key: str, default: int, minimum: int, maximum: int
) -> int:
    value = payload.get(key, default)
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or not minimum <= value <= maximum
    ):
        raise InvalidJobError(
            f"{key} {value!r} is invalid: pass an integer {minimum}-{maximum}"
        )
    return value


def _float_option(payload: dict, key: str, default: float) -> float:
    value = payload.get(key, default)
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not 0 <= value <= 3600
    ):
        raise InvalidJobError(f"{key} {value!r} is invalid: pass 0-3600 seconds")
    return float(value)


def register_builtins(registry: HandlerRegistry) -> None:
    """Add the built-in handlers to `registry`."""
    registry.register(PROCEDURE, procedure, replace=True)
    registry.register("noop", noop, replace=True)
