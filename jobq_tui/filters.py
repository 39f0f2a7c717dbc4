"""Job filters: `state:failed handler:resize queue:default error:timeout text`.

One grammar for the dashboard's filter bar and `jobq jobs --filter`. The
store turns a JobFilter into a WHERE clause.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from .errors import InvalidJobError
from .models import JobState

KEYS = ("state", "handler", "queue", "error")


@dataclass(frozen=True)
class JobFilter:
    """Conditions that all must hold; None or empty means "any"."""

    state: JobState | None = None
    handler: str | None = None
    queue: str | None = None
    error: str | None = None
    text: str | None = None

    @property
    def empty(self) -> bool:
        return not any((self.state, self.handler, self.queue, self.error, self.text))

    def describe(self) -> str:
        """Return the filter in the same grammar it was typed in."""
        parts = []
        for key in KEYS:
            value = getattr(self, key)
            if value is not None:
                shown = value.value if isinstance(value, JobState) else value
                parts.append(f"{key}:{_quote(shown)}")
        if self.text:
            parts.append(_quote(self.text))
        return " ".join(parts)

    def with_state(self, state: JobState | None) -> JobFilter:
        return JobFilter(state, self.handler, self.queue, self.error, self.text)


def parse_filter(typed: str) -> JobFilter:
    """Parse filter text; raise InvalidJobError naming the bad token."""
    try:
        tokens = shlex.split(typed)
    except ValueError as exc:
        raise InvalidJobError(f"filter {typed!r} is invalid: {exc}") from None

    values: dict[str, str] = {}
    words: list[str] = []
    for token in tokens:
        key, colon, value = token.partition(":")
        if colon and key in KEYS:
            if not value:
                raise InvalidJobError(
                    f"filter token {token!r} has no value: try {key}:VALUE"
                )
            if key in values:
                raise InvalidJobError(
                    f"filter names {key} twice: keep one {key}: token"
                )
            values[key] = value
        else:
            words.append(token)

    state = None
    if "state" in values:
        try:
            state = JobState(values["state"])
        except ValueError:
            choices = ", ".join(s.value for s in JobState)
            raise InvalidJobError(
                f"unknown state {values['state']!r} in filter: use one of {choices}"
            ) from None
    return JobFilter(
        state=state,
        handler=values.get("handler"),
        queue=values.get("queue"),
        error=values.get("error"),
        text=" ".join(words) or None,
    )


def _quote(value: str) -> str:
    return shlex.quote(value) if any(ch.isspace() for ch in value) else value
