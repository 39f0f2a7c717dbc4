"""Enqueue rate: jobq one call per job, jobq enqueue_many, and Huey."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from jobq_tui.store import JobStore

from . import hueyside, jobqside
from .common import Rate, log
from .settings import Sizes


def _jobq_single(path: Path, count: int) -> Rate:
    database = jobqside.fresh_database(path)
    try:
        store = JobStore(database)
        began = time.perf_counter()
        for n in range(count):
            store.enqueue("noop", {"n": n})
        return Rate(count, time.perf_counter() - began)
    finally:
        database.close()


def _jobq_many(path: Path, count: int) -> Rate:
    database = jobqside.fresh_database(path)
    try:
        store = JobStore(database)
        payloads = [{"n": n} for n in range(count)]
        began = time.perf_counter()
        store.enqueue_many("noop", payloads)
        return Rate(count, time.perf_counter() - began)
    finally:
        database.close()


def _huey(path: Path, count: int, synchronous: str) -> Rate:
    app = hueyside.build_huey(path, synchronous, fresh=True)
    try:
        return hueyside.enqueue_noops(app, count)
    finally:
        app.close()


def run(work: Path, sizes: Sizes) -> dict[str, Any]:
    """Measure each enqueue path on its own fresh file."""
    plan = [
        (
            "jobq_enqueue",
            lambda: _jobq_single(work / "enq-single.db", sizes.single_enqueues),
        ),
        (
            "jobq_enqueue_many",
            lambda: _jobq_many(work / "enq-many.db", sizes.bulk_enqueues),
        ),
        (
            "huey_default",
            lambda: _huey(
                work / "enq-huey-d.db", sizes.huey_enqueues, hueyside.SYNC_DEFAULT
            ),
        ),
        (
            "huey_normal",
            lambda: _huey(
                work / "enq-huey-n.db", sizes.huey_enqueues, hueyside.SYNC_NORMAL
            ),
        ),
    ]
    rows: dict[str, Any] = {}
    for name, measure in plan:
        rows[name] = measure().as_dict()
        log(f"enqueue: {name}: {rows[name]['per_second']:.0f} jobs/s")
    return rows
