"""Bulk seeding of a large jobq database for the dashboard benchmarks.

Rows go in with executemany, one transaction per 50,000 rows, on a plain
sqlite3 connection to a file whose schema jobq created. Ids grow with
created_at over the last 30 days: finished jobs first (failures spread
among them), then the running jobs, then the queued ones, as a database
that has run for a month looks. Event history rows are not seeded, because
the dashboard's list and counts never read them.
"""

from __future__ import annotations

import itertools
import json
import random
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from jobq_tui.db import open_database
from jobq_tui.payloads import preview_text

from .common import remove_database
from .settings import Sizes

BATCH_ROWS = 50_000
SEED_QUEUES = ("default", "emails", "reports")
SEED_HANDLERS = (
    "send_email",
    "build_report",
    "resize_image",
    "sync_account",
    "procedure",
)
# Seeded running jobs hold a lease this far in the future, so the reaper of a
# benchmark worker leaves them alone.
RUNNING_LEASE_SECONDS = 86_400.0

_COLUMNS = (
    "queue, handler, payload, payload_preview, state, priority, run_at, attempts, "
    "max_attempts, timeout, lease_expires_at, run_id, unique_key, cancel_requested, "
    "result, error, traceback, progress, progress_message, created_at, started_at, "
    "finished_at"
)
_INSERT_SQL = f"INSERT INTO jobq_job ({_COLUMNS}) VALUES ({', '.join('?' * 22)})"

_TRACEBACK = (
    "Traceback (most recent call last):\n"
    '  File "/srv/app/jobs.py", line 88, in build_report\n'
    "    rows = fetch_rows(account_id, since)\n"
    '  File "/srv/app/db.py", line 41, in fetch_rows\n'
    "    raise TimeoutError(f'query took longer than {limit} s')\n"
    "TimeoutError: query took longer than 30 s\n"
)


def _job_rows(sizes: Sizes, now: float, rng: random.Random) -> Iterator[tuple]:
    finished = sizes.seed_succeeded + sizes.seed_failed
    total = sizes.seed_total
    span = 30 * 86_400.0
    failed_left = sizes.seed_failed
    run_ids = [f"{rng.getrandbits(64):016x}" for _ in range(40)]
    for index in range(total):
        created = now - span + span * index / total
        handler = SEED_HANDLERS[index % len(SEED_HANDLERS)]
        queue = SEED_QUEUES[index % len(SEED_QUEUES)]
        payload = json.dumps(
            {
                "account_id": rng.randrange(1, 50_000),
                "item": f"item-{index}",
                "retry": False,
            },
            separators=(",", ":"),
        )
        preview = preview_text(payload)
        priority = 10 if index % 50 == 0 else 0
        if index < finished:
            remaining = finished - index
            failed = failed_left > 0 and rng.random() < failed_left / remaining
            started = created + rng.uniform(0.01, 2.0)
            ended = started + rng.uniform(0.05, 5.0)
            run_id = run_ids[index * len(run_ids) // total]
            if failed:
                failed_left -= 1
                yield (
                    queue,
                    handler,
                    payload,
                    preview,
                    "failed",
                    priority,
                    created,
                    3,
                    3,
                    None,
                    None,
                    run_id,
                    None,
                    0,
                    None,
                    "TimeoutError: query took longer than 30 s",
                    _TRACEBACK,
                    40,
                    "step 2 of 5 done",
                    created,
                    started,
                    ended,
                )
            else:
                result = f'{{"ok":true,"rows":{rng.randrange(1000)}}}'
                yield (
                    queue,
                    handler,
                    payload,
                    preview,
                    "succeeded",
                    priority,
                    created,
                    1,
                    3,
                    None,
                    None,
                    run_id,
                    None,
                    0,
                    result,
                    None,
                    None,
                    100,
                    "",
                    created,
                    started,
                    ended,
                )
        elif index < finished + sizes.seed_running:
            started = now - rng.uniform(1.0, 60.0)
            yield (
                queue,
                handler,
                payload,
                preview,
                "running",
                priority,
                created,
                1,
                3,
                300.0,
                now + RUNNING_LEASE_SECONDS,
                run_ids[-1],
                None,
                0,
                None,
                None,
                None,
                40,
                "step 2 of 5 done",
                created,
                started,
                None,
            )
        else:
            yield (
                queue,
                handler,
                payload,
                preview,
                "queued",
                priority,
                created,
                0,
                3,
                None,
                None,
                None,
                None,
                0,
                None,
                None,
                None,
                0,
                "",
                created,
                None,
                None,
            )


def seed_dashboard_database(path: Path, sizes: Sizes) -> dict[str, float]:
    """Create a jobq database at `path` filled to `sizes`; return timing facts."""
    remove_database(path)
    open_database(str(path)).close()
    connection = sqlite3.connect(str(path), isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute("PRAGMA cache_size = -262144")  # 256 MiB, for index inserts
    began = time.perf_counter()
    rows = _job_rows(sizes, time.time(), random.Random(20_240_601))
    inserted = 0
    try:
        while True:
            batch = list(itertools.islice(rows, BATCH_ROWS))
            if not batch:
                break
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany(_INSERT_SQL, batch)
            connection.execute("COMMIT")
            inserted += len(batch)
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        connection.close()
    seconds = time.perf_counter() - began
    return {
        "rows": inserted,
        "seconds": round(seconds, 1),
        "file_mib": round(path.stat().st_size / 2**20, 1),
    }
