"""Read models for the dashboard: one snapshot per refresh, one job's detail.

Each function runs a handful of indexed queries; the dashboard calls them
from thread workers, never from its event loop.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from .filters import JobFilter
from .models import JobState
from .service import JobService, WorkerStatus
from .store import JobEventRecord, JobRecord, JobStore, JobSummary, WorkerRunRecord


@dataclass(frozen=True)
class DashboardSnapshot:
    """Everything one dashboard refresh shows."""

    read_at: float
    status: WorkerStatus | None
    counts: dict[JobState, int]
    jobs: list[JobSummary]
    has_more: bool
    workers: list[WorkerRunRecord] = field(default_factory=list)
    matching: int | None = None
    paused_queues: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class JobDetail:
    """One job with its history."""

    job: JobRecord
    events: list[JobEventRecord]


def read_snapshot(
    store: JobStore,
    service: JobService | None,
    *,
    state: JobState | None = None,
    before_id: int | None = None,
    limit: int = 100,
    search: str | None = None,
    job_filter: JobFilter | None = None,
) -> DashboardSnapshot:
    """Read counts, one page of jobs, the worker status and paused queues.

    With a non-empty `job_filter`, also count every job it matches.
    """
    counts = store.counts()
    jobs = store.page(
        state=state,
        before_id=before_id,
        limit=limit + 1,
        search=search,
        job_filter=job_filter,
    )
    matching = None
    if job_filter is not None and not job_filter.empty:
        scoped = job_filter if state is None else job_filter.with_state(state)
        matching = store.count_matching(scoped)
    status = service.status(include_counts=False) if service is not None else None
    return DashboardSnapshot(
        read_at=time.time(),
        status=status,
        counts=counts,
        jobs=jobs[:limit],
        has_more=len(jobs) > limit,
        matching=matching,
        paused_queues=store.paused_queues(),
    )


def read_job_detail(store: JobStore, job_id: int) -> JobDetail:
    """Read one job and its events; raises JobNotFoundError."""
    return JobDetail(store.get(job_id), store.events(job_id))
