"""Sizes and durations of a quick run and of a full run."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Sizes:
    """How much work each benchmark does. Times are in seconds."""

    name: str
    # Throughput: jobs put in the queue before the workers start.
    drain_jobs: int
    # PostgreSQL throughput: jobs queued per row. Every commit waits for the
    # server's WAL flush when synchronous_commit is on, so rows take longer.
    pg_drain_jobs: int
    # Throughput rounds; every row runs once per round and reports the median.
    rounds: int
    # Enqueue rate: single calls, and the size of one enqueue_many batch.
    single_enqueues: int
    bulk_enqueues: int
    huey_enqueues: int
    # Latency: a steady producer at `latency_rate` jobs/s for this long.
    latency_rate: float
    latency_seconds: float
    # Dashboard database: rows per state.
    seed_succeeded: int
    seed_failed: int
    seed_queued: int
    seed_running: int
    snapshot_repeats: int
    first_paint_repeats: int
    # Worker throughput next to dashboards: jobs drained per phase.
    dashboard_phase_jobs: int
    # Profiling: jobs claimed and completed under cProfile, and the
    # queue depths at which one claim plus one completion is timed.
    profile_jobs: int
    claim_depths: tuple[int, ...]
    # Memory: how long the dashboard process refreshes before VmRSS is read.
    dashboard_hold_seconds: float

    @property
    def seed_total(self) -> int:
        return (
            self.seed_succeeded
            + self.seed_failed
            + self.seed_queued
            + self.seed_running
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


QUICK = Sizes(
    name="quick",
    drain_jobs=600,
    pg_drain_jobs=300,
    rounds=1,
    single_enqueues=200,
    bulk_enqueues=2_000,
    huey_enqueues=200,
    latency_rate=50.0,
    latency_seconds=2.0,
    seed_succeeded=45_000,
    seed_failed=4_500,
    seed_queued=450,
    seed_running=50,
    snapshot_repeats=3,
    first_paint_repeats=1,
    dashboard_phase_jobs=300,
    profile_jobs=300,
    claim_depths=(100, 1_000),
    dashboard_hold_seconds=2.0,
)

FULL = Sizes(
    name="full",
    drain_jobs=5_000,
    pg_drain_jobs=2_000,
    rounds=3,
    single_enqueues=3_000,
    bulk_enqueues=20_000,
    huey_enqueues=3_000,
    latency_rate=50.0,
    latency_seconds=15.0,
    seed_succeeded=2_000_000,
    seed_failed=200_000,
    seed_queued=10_000,
    seed_running=50,
    snapshot_repeats=7,
    first_paint_repeats=3,
    dashboard_phase_jobs=3_000,
    profile_jobs=3_000,
    claim_depths=(1_000, 10_000, 50_000),
    dashboard_hold_seconds=5.0,
)
