"""Handler registry and the context a handler receives for one attempt."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .errors import InvalidJobError, UnknownHandlerError

Handler = Callable[["JobContext"], Any]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:-]{0,199}$")


@dataclass
class JobContext:
    """The attempt a handler runs: ids, payload, progress and stop signals.

    `cancelled` is set when an operator cancels the job; `stop_requested`
    when the worker is stopping. A handler checks them between steps.
    """

    job_id: int
    attempt: int
    max_attempts: int
    payload: Any
    handler: str
    queue: str
    run_id: str
    _report_progress: Callable[[int, str], bool] = field(repr=False)
    cancel_event: threading.Event = field(default_factory=threading.Event, repr=False)
    stop_event: threading.Event = field(default_factory=threading.Event, repr=False)
    timed_out: bool = False

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    @property
    def stop_requested(self) -> bool:
        return self.stop_event.is_set()

    def progress(self, percent: float, message: str = "") -> None:
        """Store progress (0-100) and a short message for dashboards to show."""
        clamped = max(0, min(100, int(percent)))
        self._report_progress(clamped, str(message))

    def wait(self, seconds: float) -> bool:
        """Sleep up to `seconds`; return True early if the job was cancelled."""
        return self.cancel_event.wait(seconds)


class HandlerRegistry:
    """Handlers by name. Register with `register(name, fn)` or `@registry.handler()`."""

    def __init__(self) -> None:
        self._handlers: dict[str, Handler] = {}
        self._lock = threading.Lock()

    def register(
        self, name: str, function: Handler, *, replace: bool = False
    ) -> Handler:
        """Register `function` under `name`; a second name clash raises."""
        if not isinstance(name, str) or not _NAME.match(name):
            raise InvalidJobError(
                f"handler name {name!r} is invalid: use letters, digits, '_', '.', "
                "':' or '-', starting with a letter or '_'"
            )
        if not callable(function):
            raise InvalidJobError(f"handler {name!r} is not callable")
        with self._lock:
            if (
                name in self._handlers
                and not replace
                and self._handlers[name] is not function
            ):
                raise InvalidJobError(
                    f"handler {name!r} is already registered: pick another name "
                    "or pass replace=True"
                )
            self._handlers[name] = function
        return function

    def handler(self, name: str | None = None, *, replace: bool = False):
        """Decorate a function to register it, by default under its own name."""

        def decorate(function: Handler) -> Handler:
            return self.register(name or function.__name__, function, replace=replace)

        return decorate

    def get(self, name: str) -> Handler:
        with self._lock:
            function = self._handlers.get(name)
            known = sorted(self._handlers)
        if function is None:
            raise UnknownHandlerError(
                f"unknown handler {name!r}: registered handlers are "
                f"{', '.join(known) or 'none'}; load yours with --handlers MODULE"
            )
        return function

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._handlers)

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return name in self._handlers


default_registry = HandlerRegistry()
"""The registry `jobq_tui.handler` fills; a JobService uses it unless given another."""

handler = default_registry.handler
