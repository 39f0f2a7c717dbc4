"""jobq: a durable job queue on SQLite or PostgreSQL with a terminal dashboard.

Importing this package never loads Textual; the dashboard lives in `jobq_tui.tui`.
"""

from __future__ import annotations

from .db import Database, open_database
from .errors import (
    JobCancelled,
    JobNotFoundError,
    JobqError,
    Retry,
    UnknownHandlerError,
)
from .models import JobState
from .registry import HandlerRegistry, JobContext, default_registry, handler
from .service import JobService, ServiceConfig, StopReport, WorkerStatus
from .store import EnqueueResult, JobStore

__version__ = "0.1.0"

__all__ = [
    "Database",
    "EnqueueResult",
    "HandlerRegistry",
    "JobCancelled",
    "JobContext",
    "JobNotFoundError",
    "JobService",
    "JobState",
    "JobStore",
    "JobqError",
    "Retry",
    "ServiceConfig",
    "StopReport",
    "UnknownHandlerError",
    "WorkerStatus",
    "default_registry",
    "handler",
    "open_database",
]
