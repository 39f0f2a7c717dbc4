"""Profiles of a jobq worker: claim cost by queue depth, SQL time, Python time.

These runs explain the throughput rows. They call JobStore and JobService
directly and time SQL statements by wrapping methods of the benchmark's own
peewee database object, so jobq's code runs unchanged.
"""

from __future__ import annotations

import contextlib
import cProfile
import io
import pstats
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jobq_tui.db import Database
from jobq_tui.store import JobStore

from . import jobqside
from .common import log
from .rawloop import CLAIM_INDEX_SQL
from .settings import Sizes

TIMED_PAIRS = 200
PROFILE_ROWS = 12

_STATEMENT_KINDS = (
    ("UPDATE jobq_job SET state = 'running'", "claim UPDATE"),
    ("UPDATE jobq_job SET state = 'succeeded'", "complete UPDATE"),
    ("INSERT INTO jobq_job_event", "event INSERT"),
    ("PRAGMA data_version", "idle: data_version"),
    ("SELECT MIN(run_at)", "idle: next due"),
)


def _claim_complete_ms(path: Path, depth: int, claim_index: bool) -> float:
    database = jobqside.fresh_database(path)
    try:
        if claim_index:
            database.execute(CLAIM_INDEX_SQL)
        jobqside.fill_queue(database, depth)
        store = JobStore(database)
        pairs = min(TIMED_PAIRS, depth)
        began = time.perf_counter()
        for _ in range(pairs):
            job = store.claim("bench-run", ["default"], 1, 30.0)[0]
            store.complete(job.id, "bench-run", None)
        return (time.perf_counter() - began) / pairs * 1000
    finally:
        database.close()


def claim_cost_by_depth(work: Path, depths: tuple[int, ...]) -> list[dict[str, Any]]:
    """Time one claim plus one complete at each queue depth, with and without
    an index ordered like the claim (state, queue, priority DESC, run_at, id)."""
    rows = []
    for depth in depths:
        as_is = _claim_complete_ms(work / f"depth-{depth}.db", depth, False)
        indexed = _claim_complete_ms(work / f"depth-{depth}-index.db", depth, True)
        rows.append(
            {
                "depth": depth,
                "as_is_ms": round(as_is, 3),
                "with_claim_index_ms": round(indexed, 3),
            }
        )
        log(f"profile: claim+complete at depth {depth}: {rows[-1]}")
    return rows


def cprofile_store_loop(work: Path, jobs: int) -> dict[str, Any]:
    """cProfile one thread claiming and completing `jobs` jobs through JobStore."""
    database = jobqside.fresh_database(work / "cprofile.db")
    try:
        jobqside.fill_queue(database, jobs)
        store = JobStore(database)
        profiler = cProfile.Profile()
        began = time.perf_counter()
        profiler.enable()
        for _ in range(jobs):
            job = store.claim("bench-run", ["default"], 1, 30.0)[0]
            store.complete(job.id, "bench-run", None)
        profiler.disable()
        seconds = time.perf_counter() - began
    finally:
        database.close()
    stats = pstats.Stats(profiler, stream=io.StringIO())
    total = stats.total_tt
    rows = []
    for (filename, line, name), entry in stats.stats.items():
        calls, _, own, cumulative, _ = entry
        rows.append(
            {
                "function": f"{Path(filename).name}:{line}({name})",
                "calls": calls,
                "own_s": round(own, 4),
                "own_share": round(own / total, 3),
                "cumulative_s": round(cumulative, 4),
            }
        )
    rows.sort(key=lambda row: row["own_s"], reverse=True)
    return {
        "jobs": jobs,
        "seconds_under_profiler": round(seconds, 3),
        "top": rows[:PROFILE_ROWS],
    }


class StatementTimer:
    """Accumulates wall time per kind of statement across threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.totals: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
        self.claim_statement: tuple[str, Any] | None = None

    def add(self, kind: str, seconds: float) -> None:
        with self.lock:
            entry = self.totals[kind]
            entry[0] += 1
            entry[1] += seconds

    def install(self, database: Database) -> None:
        """Wrap begin, commit and execute_sql of this one peewee database object."""
        peewee_db = database.peewee_db
        original_begin = peewee_db.begin
        original_commit = peewee_db.commit
        original_execute = peewee_db.execute_sql

        def begin(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return original_begin(*args, **kwargs)
            finally:
                self.add(
                    "BEGIN IMMEDIATE (waits for the write lock)",
                    time.perf_counter() - began,
                )

        def commit(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return original_commit(*args, **kwargs)
            finally:
                self.add("COMMIT", time.perf_counter() - began)

        def execute_sql(sql: str, *args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return original_execute(sql, *args, **kwargs)
            finally:
                kind = next(
                    (
                        name
                        for prefix, name in _STATEMENT_KINDS
                        if sql.startswith(prefix)
                    ),
                    "other SQL",
                )
                self.add(kind, time.perf_counter() - began)
                if kind == "claim UPDATE" and self.claim_statement is None:
                    self.claim_statement = (sql, args[0] if args else None)

        peewee_db.begin = begin
        peewee_db.commit = commit
        peewee_db.execute_sql = execute_sql

    def report(self, thread_seconds: float) -> list[dict[str, Any]]:
        rows = [
            {
                "kind": kind,
                "calls": int(calls),
                "total_s": round(total, 3),
                "share_of_thread_time": round(total / thread_seconds, 3),
                "mean_us": round(total / calls * 1e6, 1),
            }
            for kind, (calls, total) in self.totals.items()
        ]
        rows.sort(key=lambda row: row["total_s"], reverse=True)
        return rows


def _query_plan(database: Database, statement: tuple[str, Any] | None) -> list[str]:
    """Return SQLite's plan for the claim statement jobq ran, one line per step."""
    if statement is None:
        return []
    sql, params = statement
    rows = database.peewee_db.execute_sql(
        f"EXPLAIN QUERY PLAN {sql}", params
    ).fetchall()
    return [row[3] for row in rows]


def statement_times(work: Path, jobs: int, concurrency: int) -> dict[str, Any]:
    """Drain `jobs` jobs with a JobService and time each kind of statement.

    Shares are of the worker threads' combined wall time (threads x seconds).
    """
    database = jobqside.fresh_database(work / f"statements-c{concurrency}.db")
    try:
        jobqside.fill_queue(database, jobs)
        timer = StatementTimer()
        timer.install(database)
        seconds = jobqside.drain_with_service(database, jobs, concurrency)
        plan = _query_plan(database, timer.claim_statement)
    finally:
        database.close()
    return {
        "claim_query_plan": plan,
        "concurrency": concurrency,
        "jobs": jobs,
        "seconds": round(seconds, 3),
        "per_second": round(jobs / seconds, 1),
        "statements": timer.report(seconds * concurrency),
    }


def serialised_writes_rate(work: Path, jobs: int, concurrency: int) -> float:
    """Drain with every `Database.write()` of the service behind one process-wide lock.

    This is an experiment on the benchmark's own Database object: it shows
    whether queueing threads in Python instead of in SQLite's busy handler
    would raise throughput.
    """
    database = jobqside.fresh_database(work / f"serialised-c{concurrency}.db")
    try:
        jobqside.fill_queue(database, jobs)
        lock = threading.Lock()
        original_write = database.write

        @contextlib.contextmanager
        def write() -> Iterator[None]:
            with lock, original_write():
                yield

        database.write = write  # type: ignore[method-assign]
        seconds = jobqside.drain_with_service(database, jobs, concurrency)
    finally:
        database.close()
    return round(jobs / seconds, 1)


def run(work: Path, sizes: Sizes) -> dict[str, Any]:
    results = {
        "claim_cost_by_depth": claim_cost_by_depth(work, sizes.claim_depths),
        "cprofile": cprofile_store_loop(work, sizes.profile_jobs),
        "statements_c1": statement_times(work, sizes.profile_jobs, 1),
        "statements_c4": statement_times(work, sizes.profile_jobs, 4),
        "serialised_writes_c4_per_second": serialised_writes_rate(
            work, sizes.profile_jobs, 4
        ),
    }
    log("profile: done")
    return results
