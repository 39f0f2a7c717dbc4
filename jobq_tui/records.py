"""Values the store returns: jobs, events, worker runs and processes, audit entries."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .models import JobState


@dataclass(frozen=True)
class EnqueueResult:
    """The job an enqueue produced, or the live job holding the same unique key."""

    job_id: int
    created: bool

    @property
    def duplicate(self) -> bool:
        return not self.created


@dataclass(frozen=True)
class ClaimedJob:
    """The fields a worker needs to run one claimed job."""

    id: int
    handler: str
    payload: str
    attempt: int
    max_attempts: int
    timeout: float | None
    queue: str


@dataclass(frozen=True)
class JobSummary:
    """One row of a job list: no payload, only its short preview."""

    id: int
    queue: str
    handler: str
    payload_preview: str
    state: JobState
    priority: int
    run_at: float
    attempts: int
    max_attempts: int
    progress: int
    progress_message: str
    created_at: float
    started_at: float | None
    finished_at: float | None
    error_preview: str
    cancel_requested: bool


@dataclass(frozen=True)
class JobRecord:
    """Everything stored about one job."""

    id: int
    queue: str
    handler: str
    payload: str
    state: JobState
    priority: int
    run_at: float
    attempts: int
    max_attempts: int
    timeout: float | None
    lease_expires_at: float | None
    run_id: str | None
    unique_key: str | None
    cancel_requested: bool
    result: str | None
    error: str | None
    traceback: str | None
    progress: int
    progress_message: str
    created_at: float
    started_at: float | None
    finished_at: float | None

    def payload_value(self) -> Any:
        return json.loads(self.payload)

    def result_value(self) -> Any:
        return None if self.result is None else json.loads(self.result)

    def as_dict(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["state"] = self.state.value
        data["payload"] = self.payload_value()
        data["result"] = self.result_value()
        return data


@dataclass(frozen=True)
class JobEventRecord:
    """One entry of a job's history."""

    at: float
    kind: str
    run_id: str | None
    attempt: int
    message: str


@dataclass(frozen=True)
class ReclaimReport:
    """Jobs whose lease expired: put back in the queue, or failed as lost."""

    requeued: list[int]
    failed: list[int]
    cancelled: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class WorkerRunRecord:
    """One worker run as stored, with its liveness judged at read time."""

    run_id: str
    name: str
    host: str
    pid: int
    concurrency: int
    queues: list[str]
    handlers: list[str]
    heartbeat_interval: float
    started_at: float
    heartbeat_at: float
    stopped_at: float | None
    stop_reason: str
    running_jobs: int

    def liveness(self, now: float) -> str:
        """Return "stopped", "live" or "lost" (no heartbeat for 3 intervals)."""
        if self.stopped_at is not None:
            return "stopped"
        if now - self.heartbeat_at > 3 * self.heartbeat_interval:
            return "lost"
        return "live"


@dataclass(frozen=True)
class AuditRecord:
    """One stored audit entry."""

    id: int
    at: float
    username: str
    host: str
    pid: int
    ssh_client: str
    action: str
    target: str
    outcome: str
    message: str


@dataclass(frozen=True)
class WorkerRecord:
    """One worker process as stored, with its liveness judged at read time."""

    worker_id: str
    name: str
    host: str
    pid: int
    concurrency: int
    queues: list[str]
    handlers: list[str]
    state: str
    run_id: str | None
    heartbeat_interval: float
    started_at: float
    heartbeat_at: float
    exited_at: float | None
    running_jobs: int

    def liveness(self, now: float) -> str:
        """Return running, stopping, paused, exited or lost (3 heartbeats missed)."""
        if self.exited_at is not None:
            return "exited"
        if now - self.heartbeat_at > 3 * self.heartbeat_interval:
            return "lost"
        return self.state if self.state in ("running", "stopping") else "paused"


@dataclass(frozen=True)
class ControlRequestRecord:
    """A control request and how far it got: pending, acknowledged, done..."""

    id: int
    worker_id: str
    action: str
    requested_by: str
    requested_at: float
    state: str
    acknowledged_at: float | None
    finished_at: float | None
    message: str


@dataclass(frozen=True)
class QueueStats:
    """One queue's counts by state, whether it is paused, and recent throughput."""

    name: str
    counts: dict[str, int]
    paused: bool
    per_minute: list[int]


@dataclass(frozen=True)
class FailureGroup:
    """Failed jobs of one handler with one error type, e.g. TimeoutError."""

    handler: str
    error_type: str
    count: int
    last_failed_at: float | None
