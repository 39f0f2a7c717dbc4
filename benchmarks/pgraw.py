"""The practical limit on PostgreSQL: a bare psycopg claim/finish loop.

It runs over jobq's own jobq_job table, created by jobq in a fresh schema,
so the columns and indexes are the ones jobq uses. Each thread has its own
connection, and each job costs two transactions, as in jobq: one
`UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING` that
claims the next due row, then one `UPDATE` that marks it succeeded. There
are no event rows, no NOTIFY, no logging and no ORM.
"""

from __future__ import annotations

import json
import threading
import time

from jobq_tui.db import open_database
from jobq_tui.store import JobStore

from .common import Rate
from .pgside import BenchSchema

_CLAIM_SQL = (
    "UPDATE jobq_job SET state = 'running', run_id = %s, attempts = attempts + 1, "
    "lease_expires_at = %s, started_at = %s WHERE id = (SELECT id FROM jobq_job "
    "WHERE state = 'queued' AND queue = 'default' AND run_at <= %s "
    "ORDER BY priority DESC, run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) "
    "RETURNING id, handler, payload"
)
_FINISH_SQL = (
    "UPDATE jobq_job SET state = 'succeeded', progress = 100, finished_at = %s, "
    "lease_expires_at = NULL WHERE id = %s AND run_id = %s AND state = 'running'"
)


def fill_schema(schema: BenchSchema, jobs: int, queue: str = "default") -> None:
    """Create jobq's tables in `schema` and queue `jobs` no-op jobs in one call."""
    database = open_database(schema.jobq_url)
    try:
        JobStore(database).enqueue_many(
            "noop", [{"n": n} for n in range(jobs)], queue=queue
        )
    finally:
        database.close()


def _worker(
    schema: BenchSchema, run_id: str, done: list[int], errors: list[BaseException]
) -> None:
    finished = 0
    try:
        with schema.connect() as connection:
            while True:
                now = time.time()
                row = connection.execute(
                    _CLAIM_SQL, (run_id, now + 30, now, now)
                ).fetchone()
                connection.commit()
                if row is None:
                    break
                json.loads(row[2])
                connection.execute(_FINISH_SQL, (time.time(), row[0], run_id))
                connection.commit()
                finished += 1
    except BaseException as exc:  # noqa: BLE001 - re-raised by drain_raw
        errors.append(exc)
    finally:
        done.append(finished)


def drain_raw(schema: BenchSchema, jobs: int, threads: int) -> Rate:
    """Drain the queue in `schema` with `threads` raw loops; return the rate.

    A thread stops at its first empty claim. SKIP LOCKED can make a claim
    come back empty while other threads hold the last rows, so the finished
    count is checked against `jobs` afterwards.
    """
    done: list[int] = []
    errors: list[BaseException] = []
    workers = [
        threading.Thread(target=_worker, args=(schema, f"raw-{index}", done, errors))
        for index in range(threads)
    ]
    began = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    seconds = time.perf_counter() - began
    if errors:
        raise errors[0]
    if sum(done) != jobs:
        raise RuntimeError(
            f"raw psycopg loop finished {sum(done)} jobs, expected {jobs}"
        )
    return Rate(jobs, seconds)
