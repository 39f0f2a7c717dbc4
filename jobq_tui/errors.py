"""Exceptions that carry a message meant for the user, not a traceback."""

from __future__ import annotations


class JobqError(Exception):
    """An error the user can fix; `str()` names the value and the way out."""


class DatabaseConfigError(JobqError):
    """The database URL, file or schema cannot be used."""


class InvalidJobError(JobqError):
    """An enqueue request with a bad handler, payload or option."""


class UnknownHandlerError(InvalidJobError):
    """No handler is registered under the requested name."""


class JobNotFoundError(JobqError):
    """No job has the requested id."""


class Retry(Exception):  # noqa: N818 - raised by handlers, read as "retry"
    """Raised by a handler to ask for another attempt, optionally after `delay` s."""

    def __init__(self, message: str = "retry requested", delay: float | None = None):
        super().__init__(message)
        self.delay = delay


class JobCancelled(Exception):  # noqa: N818 - raised by handlers
    """Raised by a handler that stops early because its job was cancelled."""
