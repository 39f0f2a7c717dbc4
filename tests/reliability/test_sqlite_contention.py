"""Many writers on one SQLite file: no lock errors, exactly-once runs, heartbeats."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from jobq_tui import HandlerRegistry, JobService, JobState, JobStore, open_database
from jobq_tui.views import read_snapshot

from .conftest import FULL_SCALE, scaled, wait_until

HANDLERS = """
import os

import jobq_tui


@jobq_tui.handler("count")
def count(ctx):
    fd = os.open("runs.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, f"{ctx.job_id}\\n".encode())
    finally:
        os.close(fd)
"""

HEARTBEAT = 1.0
LEASE = 3.0


class WarningRecords(logging.Handler):
    """Collects log records at WARNING and above from every thread."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def run_contention(tmp_path, db_file, workers, write_handlers, jobs, seconds):
    write_handlers(HANDLERS)
    counts: Counter[int] = Counter()
    counts_lock = threading.Lock()

    def count(ctx):
        with counts_lock:
            counts[ctx.job_id] += 1

    registry = HandlerRegistry()
    registry.register("count", count)
    service = JobService(
        open_database(str(db_file)),
        registry=registry,
        concurrency=8,
        lease=LEASE,
        heartbeat=HEARTBEAT,
    )
    captured = WarningRecords()
    logging.getLogger().addHandler(captured)
    stop_watchers = threading.Event()
    refresh_errors: list[str] = []
    heartbeats: dict[str, list[float]] = {}

    def produce(share: int) -> None:
        store = JobStore(open_database(str(db_file)))
        began = time.monotonic()
        for index in range(share):
            store.enqueue("count", {"n": index})
            # Spread the share evenly over `seconds`.
            ahead = began + seconds * (index + 1) / share - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
        store.db.close()

    def refresh_dashboard() -> None:
        store = JobStore(open_database(str(db_file)))
        while not stop_watchers.wait(0.25):
            try:
                read_snapshot(store, None, limit=100)
            except Exception as exc:  # noqa: BLE001 - counted and asserted below
                refresh_errors.append(repr(exc))
        store.db.close()

    def watch_heartbeats() -> None:
        store = JobStore(open_database(str(db_file)))
        while not stop_watchers.wait(0.05):
            for run in store.worker_runs():
                if run.stopped_at is None:
                    beats = heartbeats.setdefault(run.run_id, [])
                    if not beats or beats[-1] != run.heartbeat_at:
                        beats.append(run.heartbeat_at)
        store.db.close()

    other = workers.start(lease=LEASE, heartbeat=HEARTBEAT, log_name="other.log")
    service.start()
    watchers = [
        threading.Thread(target=refresh_dashboard),
        threading.Thread(target=watch_heartbeats),
    ]
    producers = [
        threading.Thread(target=produce, args=(share,))
        for share in (jobs // 2, jobs - jobs // 2)
    ]
    try:
        for thread in [*watchers, *producers]:
            thread.start()
        for thread in producers:
            thread.join()
        check = JobStore(open_database(str(db_file)))
        wait_until(
            lambda: check.counts()[JobState.SUCCEEDED] == jobs or not other.alive(),
            60 + seconds,
            "every job to succeed",
        )
    finally:
        stop_watchers.set()
        for thread in watchers:
            thread.join()
        service.stop(timeout=5)
        logging.getLogger().removeHandler(captured)
    assert other.terminate() == 0, other.log()

    runs_file = tmp_path / "runs.log"
    process_runs = (
        Counter(int(line) for line in runs_file.read_text().split())
        if runs_file.exists()
        else Counter()
    )
    return {
        "store": check,
        "counts": counts + process_runs,
        "process_runs": process_runs,
        "warnings": [record.getMessage() for record in captured.records],
        "refresh_errors": refresh_errors,
        "heartbeats": heartbeats,
        "other_log": other.log(),
    }


def assert_contention_outcome(outcome, jobs):
    store: JobStore = outcome["store"]
    rows = store.db.execute(
        "SELECT id, state, attempts, COALESCE(error, '') FROM jobq_job"
    ).fetchall()
    ids = [row[0] for row in rows]
    gaps = {
        run_id: max(b - a for a, b in zip(beats, beats[1:], strict=False))
        for run_id, beats in outcome["heartbeats"].items()
        if len(beats) > 1
    }
    other_log_problems = [
        line
        for line in outcome["other_log"].splitlines()
        if " WARNING " in line or " ERROR " in line or "locked" in line
    ]

    assert len(rows) == jobs
    assert [row for row in rows if row[1] != "succeeded"] == []
    assert [row for row in rows if row[2] != 1] == []
    assert [row for row in rows if "locked" in row[3]] == []
    assert outcome["counts"] == Counter(ids)
    assert sum(outcome["process_runs"].values()) > 0
    assert outcome["warnings"] == []
    assert other_log_problems == []
    assert outcome["refresh_errors"] == []
    assert len(gaps) == 2
    assert max(gaps.values()) <= 2 * HEARTBEAT, gaps


def test_many_writers_one_file(tmp_path, db_file, workers, write_handlers):
    jobs, seconds = scaled(2000, 20_000), scaled(6.0, 60.0)
    outcome = run_contention(tmp_path, db_file, workers, write_handlers, jobs, seconds)
    assert_contention_outcome(outcome, jobs)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_many_writers_one_file_full_scale(tmp_path, db_file, workers, write_handlers):
    if FULL_SCALE:
        pytest.skip("the default-scale test already ran at full scale")
    outcome = run_contention(tmp_path, db_file, workers, write_handlers, 20_000, 60.0)
    assert_contention_outcome(outcome, 20_000)


def test_rollback_journal_file_gets_wal_and_busy_timeout(tmp_path: Path):
    path = tmp_path / "old.db"
    plain = sqlite3.connect(str(path))
    plain.execute("PRAGMA journal_mode = DELETE")
    plain.execute("CREATE TABLE leftover (x INTEGER)")
    plain.commit()
    plain.close()

    database = open_database(str(path))
    pragmas: dict[str, object] = {}

    def read_pragmas() -> None:
        # A new thread gets a new connection, which must get the pragmas too.
        pragmas["journal"] = database.execute("PRAGMA journal_mode").fetchone()[0]
        pragmas["busy"] = database.execute("PRAGMA busy_timeout").fetchone()[0]
        database.close()

    thread = threading.Thread(target=read_pragmas)
    thread.start()
    thread.join()
    on_disk = sqlite3.connect(str(path))
    journal_on_disk = on_disk.execute("PRAGMA journal_mode").fetchone()[0]
    on_disk.close()
    database.close()

    assert pragmas == {"journal": "wal", "busy": 10_000}
    assert journal_on_disk == "wal"
