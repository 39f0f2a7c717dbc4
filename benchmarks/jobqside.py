"""jobq set up for the benchmarks: fresh databases, services, CLI workers."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from jobq_tui.db import Database, open_database
from jobq_tui.models import JobState
from jobq_tui.registry import HandlerRegistry
from jobq_tui.service import JobService
from jobq_tui.store import JobStore

from .common import python_env, remove_database, wait_until

# Worker poll interval for throughput runs. The queue is full when the
# workers start, so this only matters for threads that run dry at the end.
FAST_POLL = 0.005


def fresh_database(path: Path) -> Database:
    """Delete any old file at `path` and open a new jobq database there."""
    remove_database(path)
    return open_database(str(path))


def fill_queue(database: Database, jobs: int, queue: str = "default") -> None:
    """Queue `jobs` no-op jobs in one enqueue_many transaction."""
    JobStore(database).enqueue_many(
        "noop", [{"n": n} for n in range(jobs)], queue=queue
    )


def unfinished_left(database: Database, queue: str | None = None) -> bool:
    """Return True while any job (of `queue`, if given) is queued or running.

    Both forms read at most one index entry, so polling them is cheap.
    """
    if queue is None:
        sql = "SELECT 1 FROM jobq_job WHERE state IN ('queued', 'running') LIMIT 1"
        params: dict = {}
    else:
        sql = (
            "SELECT 1 FROM jobq_job WHERE state IN ('queued', 'running') "
            "AND queue = :queue LIMIT 1"
        )
        params = {"queue": queue}
    return database.execute(sql, params).fetchone() is not None


def new_service(
    database: Database,
    concurrency: int,
    queues: tuple[str, ...] = ("default",),
    poll_interval: float = FAST_POLL,
) -> JobService:
    """Return a stopped JobService with only the built-in handlers."""
    return JobService(
        database,
        registry=HandlerRegistry(),
        concurrency=concurrency,
        queues=queues,
        poll_interval=poll_interval,
    )


def drain_with_service(
    database: Database,
    jobs: int,
    concurrency: int,
    queue: str = "default",
    poll: float = 0.02,
) -> float:
    """Start a service on the filled queue; return seconds until it is empty.

    The clock runs from `start()` until a poll every `poll` s finds no queued
    or running job. Afterwards the succeeded count must have grown by `jobs`.
    """
    store = JobStore(database)
    succeeded_before = store.counts()[JobState.SUCCEEDED]
    service = new_service(database, concurrency, queues=(queue,))
    began = time.perf_counter()
    service.start()
    try:
        ended = wait_until(
            lambda: not unfinished_left(database, queue),
            timeout=900,
            interval=poll,
            what=f"draining {jobs} jobs",
        )
    finally:
        service.stop()
    succeeded = store.counts()[JobState.SUCCEEDED] - succeeded_before
    if succeeded != jobs:
        raise RuntimeError(f"{succeeded} jobs succeeded, expected {jobs}")
    return ended - began


def cli_worker_command(
    path: Path,
    concurrency: int,
    *,
    burst: bool,
    log_level: str | None = None,
    handlers: str | None = None,
) -> list[str]:
    """Return the argv of a `jobq --worker-only` process."""
    command = [sys.executable, "-m", "jobq_tui.cli", "--db", str(path), "--worker-only"]
    if burst:
        command.append("--burst")
    command += ["--concurrency", str(concurrency)]
    if log_level is not None:
        command += ["--log-level", log_level]
    if handlers is not None:
        command += ["--handlers", handlers]
    return command


def spawn_cli_worker(
    command: list[str], log_path: Path, extra_path: Path | None = None
) -> subprocess.Popen:
    """Start a CLI worker with its log (stderr) going to `log_path`."""
    log_file = open(log_path, "ab")  # noqa: SIM115 - closed with the process
    try:
        return subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=log_file,
            env=python_env(extra_path),
        )
    finally:
        log_file.close()


def live_worker_runs(database: Database) -> int:
    """Return how many worker runs are registered and not stopped."""
    return database.execute(
        "SELECT COUNT(*) FROM jobq_worker_run WHERE stopped_at IS NULL"
    ).fetchone()[0]


def job_window(database: Database, queue: str = "default") -> tuple[float, float, int]:
    """Return (first started_at, last finished_at, succeeded jobs) of a queue."""
    first, last, count = database.execute(
        "SELECT MIN(started_at), MAX(finished_at), COUNT(*) FROM jobq_job "
        "WHERE queue = :queue AND state = 'succeeded'",
        {"queue": queue},
    ).fetchone()
    return first, last, count


def synchronous_setting(database: Database) -> str:
    """Return jobq's journal mode and synchronous setting as its connection runs."""
    mode = database.execute("PRAGMA journal_mode").fetchone()[0]
    value = database.execute("PRAGMA synchronous").fetchone()[0]
    names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
    return f"{mode.upper()}, synchronous={names.get(value, value)}"


class Checkpointer:
    """A thread that runs `PRAGMA wal_checkpoint(PASSIVE)` every `interval` s."""

    def __init__(self, database: Database, interval: float):
        self.database = database
        self.interval = interval
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="bench-checkpoint")

    def _loop(self) -> None:
        try:
            while not self.stopped.wait(self.interval):
                self.database.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            self.database.close()

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join()
