"""The practical limit: a bare sqlite3 claim/finish loop over jobq's table.

Each job costs two write transactions, as in jobq: `BEGIN IMMEDIATE` plus one
`UPDATE ... RETURNING` that claims the next due row, then `BEGIN IMMEDIATE`
plus one `UPDATE` that marks it succeeded. There are no event rows, no
logging and no ORM. The connection uses WAL and synchronous=NORMAL, the
settings jobq uses.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

from jobq_tui.db import open_database
from jobq_tui.store import JobStore

from .common import Rate, remove_database

# An index whose column order and directions match the claim's ORDER BY, so a
# claim reads one index entry instead of sorting every queued row.
CLAIM_INDEX_SQL = (
    "CREATE INDEX IF NOT EXISTS bench_claim ON jobq_job "
    "(state, queue, priority DESC, run_at, id)"
)

_CLAIM_SQL = (
    "UPDATE jobq_job SET state = 'running', run_id = ?, attempts = attempts + 1, "
    "lease_expires_at = ?, started_at = ? WHERE id = (SELECT id FROM jobq_job "
    "WHERE state = 'queued' AND queue = 'default' AND run_at <= ? "
    "ORDER BY priority DESC, run_at, id LIMIT 1) RETURNING id, handler, payload"
)
_FINISH_SQL = (
    "UPDATE jobq_job SET state = 'succeeded', progress = 100, finished_at = ?, "
    "lease_expires_at = NULL WHERE id = ? AND run_id = ? AND state = 'running'"
)


def prepare_raw_database(path: Path, jobs: int, claim_index: bool) -> None:
    """Create jobq's schema at `path` and queue `jobs` no-op jobs.

    With `claim_index` the claim-ordered index above is added as well.
    """
    remove_database(path)
    database = open_database(str(path))
    try:
        if claim_index:
            database.execute(CLAIM_INDEX_SQL)
        JobStore(database).enqueue_many("noop", [{"n": n} for n in range(jobs)])
    finally:
        database.close()


def _connect(path: Path) -> sqlite3.Connection:
    connection = sqlite3.connect(
        str(path), timeout=10, isolation_level=None, check_same_thread=False
    )
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    return connection


def _worker(path: Path, run_id: str, done: list[int]) -> None:
    connection = _connect(path)
    finished = 0
    try:
        while True:
            now = time.time()
            connection.execute("BEGIN IMMEDIATE")
            row = connection.execute(
                _CLAIM_SQL, (run_id, now + 30, now, now)
            ).fetchone()
            connection.execute("COMMIT")
            if row is None:
                break
            json.loads(row[2])
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(_FINISH_SQL, (time.time(), row[0], run_id))
            connection.execute("COMMIT")
            finished += 1
    finally:
        connection.close()
        done.append(finished)


def drain_raw(path: Path, jobs: int, threads: int) -> Rate:
    """Drain the queue at `path` with `threads` raw loops; return the rate."""
    done: list[int] = []
    workers = [
        threading.Thread(target=_worker, args=(path, f"raw-{index}", done))
        for index in range(threads)
    ]
    began = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - began
    if sum(done) != jobs:
        raise RuntimeError(f"raw loop finished {sum(done)} jobs, expected {jobs}")
    return Rate(jobs, seconds)


def synchronous_setting(path: Path) -> int:
    """Return PRAGMA synchronous as the raw loop's connection sets it."""
    connection = _connect(path)
    try:
        return connection.execute("PRAGMA synchronous").fetchone()[0]
    finally:
        connection.close()
