"""PostgreSQL rows: jobq throughput next to a raw psycopg loop, and latency.

Throughput: jobq JobService threads in this process against pgraw's loop,
at 1, 4 and 8 consumers, each row in a schema of its own. Latency: a steady
producer, with the worker in this process or in a `--worker-only` process
that LISTEN/NOTIFY wakes. The server comes from JOBQ_BENCH_POSTGRES_URL
(default postgresql://postgres@127.0.0.1:5432/test). When it cannot be
reached, every row records why it was skipped and the suite goes on.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jobq_tui.db import Database, open_database
from jobq_tui.errors import DatabaseConfigError
from jobq_tui.models import JobState
from jobq_tui.registry import HandlerRegistry, JobContext
from jobq_tui.service import JobService
from jobq_tui.store import JobStore

from . import jobqside, latency, pgraw, pgside, profiling
from .common import Rate, log, stop_process, wait_until
from .settings import Sizes

CONSUMERS = (1, 4, 8)
DRAIN_POLL_SECONDS = 0.02


def _drain_jobq(
    schema: pgside.BenchSchema,
    jobs: int,
    consumers: int,
    port: int,
    database: Database | None = None,
) -> dict[str, Any]:
    """Drain a filled schema with a JobService of `consumers` threads.

    Returns the rate and the most connections this process held to the
    server while the service ran, sampled at every poll. The service uses
    `database` when given; otherwise it opens `schema.jobq_url`.
    """
    if database is None:
        database = open_database(schema.jobq_url)
    peak = [0]

    def drained() -> bool:
        peak[0] = max(peak[0], pgside.open_connections(os.getpid(), port))
        return not jobqside.unfinished_left(database)

    try:
        service = jobqside.new_service(database, consumers)
        began = time.perf_counter()
        service.start()
        try:
            ended = wait_until(
                drained,
                timeout=900,
                interval=DRAIN_POLL_SECONDS,
                what=f"draining {jobs} jobs on PostgreSQL",
            )
        finally:
            service.stop()
        succeeded = JobStore(database).counts()[JobState.SUCCEEDED]
    finally:
        database.close()
    if succeeded != jobs:
        raise RuntimeError(f"{succeeded} jobs succeeded on PostgreSQL, expected {jobs}")
    result = Rate(jobs, ended - began).as_dict()
    result["connections"] = peak[0]
    return result


def _jobq_row(base_url: str, jobs: int, consumers: int) -> dict[str, Any]:
    with pgside.fresh_schema(base_url, f"jobq{consumers}") as schema:
        pgraw.fill_schema(schema, jobs)
        return _drain_jobq(schema, jobs, consumers, pgside.server_port(base_url))


def _raw_row(base_url: str, jobs: int, threads: int) -> dict[str, Any]:
    with pgside.fresh_schema(base_url, f"raw{threads}") as schema:
        pgraw.fill_schema(schema, jobs)
        result = pgraw.drain_raw(schema, jobs, threads).as_dict()
    result["connections"] = threads
    return result


def _summary(rates: list[dict[str, Any]]) -> dict[str, Any]:
    values = [rate["per_second"] for rate in rates]
    return {
        "items": rates[0]["items"],
        "per_second": round(statistics.median(values), 1),
        "runs_per_second": values,
        "seconds": [rate["seconds"] for rate in rates],
        "connections": max(rate["connections"] for rate in rates),
    }


def throughput(base_url: str, sizes: Sizes) -> dict[str, Any]:
    """Run jobq and the raw loop at each consumer count, `sizes.rounds` times."""
    jobs = sizes.pg_drain_jobs
    plan: list[tuple[str, Callable[[], dict[str, Any]]]] = []
    for consumers in CONSUMERS:
        plan.append(
            (f"jobq_c{consumers}", lambda n=consumers: _jobq_row(base_url, jobs, n))
        )
        plan.append(
            (f"raw_t{consumers}", lambda n=consumers: _raw_row(base_url, jobs, n))
        )
    measured: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in plan}
    for round_number in range(1, sizes.rounds + 1):
        for name, measure in plan:
            rate = measure()
            measured[name].append(rate)
            log(
                f"postgres throughput round {round_number}/{sizes.rounds}: {name}: "
                f"{rate['per_second']:.0f} jobs/s, {rate['connections']} connection(s)"
            )
    return {
        "jobs": jobs,
        "rounds": sizes.rounds,
        "consumers": list(CONSUMERS),
        "rows": {name: _summary(rates) for name, rates in measured.items()},
    }


def statement_times(base_url: str, jobs: int, consumers: int) -> dict[str, Any]:
    """Drain `jobs` jobs with a JobService and time each kind of statement.

    Uses profiling.StatementTimer on the benchmark's Database object. On
    PostgreSQL its "BEGIN IMMEDIATE" row is peewee's BEGIN, which takes no
    lock. Shares are of the worker threads' combined wall time.
    """
    with pgside.fresh_schema(base_url, f"stmt{consumers}") as schema:
        pgraw.fill_schema(schema, jobs)
        database = open_database(schema.jobq_url)
        timer = profiling.StatementTimer()
        timer.install(database)
        try:
            result = _drain_jobq(
                schema, jobs, consumers, pgside.server_port(base_url), database
            )
        finally:
            database.close()
    return {
        "consumers": consumers,
        "jobs": jobs,
        "per_second": result["per_second"],
        "statements": timer.report(result["seconds"] * consumers),
    }


def latency_in_process(base_url: str, sizes: Sizes) -> dict[str, Any]:
    """Measure a JobService in this process, which JobService.enqueue wakes.

    Also records how long each `service.enqueue` call took, commit included.
    """
    delays: list[float] = []
    enqueue_seconds: list[float] = []
    lock = threading.Lock()

    def handler(ctx: JobContext) -> None:
        started = time.time()
        with lock:
            delays.append(started - ctx.payload["t"])

    with pgside.fresh_schema(base_url, "lat_in") as schema:
        database = open_database(schema.jobq_url)
        registry = HandlerRegistry()
        registry.register(latency.LATENCY_HANDLER, handler)
        service = JobService(
            database, registry=registry, concurrency=latency.WORKER_THREADS
        )
        service.start()

        def enqueue(at: float) -> None:
            service.enqueue(latency.LATENCY_HANDLER, {"t": at})
            enqueue_seconds.append(time.time() - at)

        try:
            time.sleep(0.5)
            count = latency.produce(enqueue, sizes.latency_rate, sizes.latency_seconds)
            wait_until(
                lambda: len(delays) >= count, 30, 0.02, "all PostgreSQL jobs started"
            )
        finally:
            service.stop()
            database.close()
    summary = latency.summarize(delays)
    calls = latency.summarize(enqueue_seconds)
    summary["enqueue_call_p50_ms"] = calls["p50_ms"]
    summary["enqueue_call_p99_ms"] = calls["p99_ms"]
    return summary


def latency_cross_process(work: Path, base_url: str, sizes: Sizes) -> dict[str, Any]:
    """Measure a `--worker-only` process woken by NOTIFY, fed by JobStore.enqueue.

    Also records how many connections the worker process keeps open to the server.
    """
    module_dir = work / "pg_latency_handlers"
    module_dir.mkdir(exist_ok=True)
    (module_dir / "bench_latency_handlers.py").write_text(latency.HANDLER_MODULE)

    with pgside.fresh_schema(base_url, "lat_cross") as schema:
        database = open_database(schema.jobq_url)
        command = [
            sys.executable,
            "-m",
            "jobq_tui.cli",
            "--db",
            schema.jobq_url,
            "--worker-only",
            "--concurrency",
            str(latency.WORKER_THREADS),
            "--handlers",
            "bench_latency_handlers",
        ]
        worker = jobqside.spawn_cli_worker(
            command, work / "pg-lat-cli-worker.log", module_dir
        )
        store = JobStore(database)
        try:
            wait_until(
                lambda: jobqside.live_worker_runs(database) > 0,
                30,
                0.05,
                "the PostgreSQL CLI worker registering its run",
            )
            time.sleep(0.5)
            connections = pgside.open_connections(
                worker.pid, pgside.server_port(base_url)
            )
            delays = latency.produce_for_other_process(
                store, sizes, "cross-process PostgreSQL"
            )
        finally:
            stop_process(worker)
            database.close()

    summary = latency.summarize(delays)
    summary["worker_connections"] = connections
    return summary


def _skippable(
    measure: Callable[[], dict[str, Any]], description: str
) -> dict[str, Any]:
    """Run `measure`; turn a lost or refused server connection into a skipped row."""
    import psycopg

    try:
        return measure()
    except (psycopg.OperationalError, DatabaseConfigError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        reason = f"{description} failed to reach the server: {first_line}"
        log(f"postgres: skipped: {reason}")
        return {"skipped": reason}


def run(work: Path, sizes: Sizes) -> dict[str, Any]:
    """Run the PostgreSQL rows, or record why they were skipped."""
    base_url = pgside.server_url()
    server, reason = pgside.probe(base_url)
    if server is None:
        log(f"postgres: skipped: {reason}")
        return {"skipped": reason}
    log(f"postgres: {server}")

    results: dict[str, Any] = {"server": server}
    results["throughput"] = _skippable(
        lambda: throughput(base_url, sizes), "the throughput rows"
    )
    results["statements_c1"] = _skippable(
        lambda: statement_times(base_url, sizes.pg_drain_jobs, 1),
        "the statement timing",
    )

    load = f"{sizes.latency_rate:g}/s for {sizes.latency_seconds:g} s"
    rows: dict[str, Any] = {}
    for name, measure in (
        ("jobq_in_process", lambda: latency_in_process(base_url, sizes)),
        ("jobq_cross_process", lambda: latency_cross_process(work, base_url, sizes)),
    ):
        log(f"postgres latency: {name} ({load})")
        rows[name] = _skippable(measure, f"the {name} latency row")
        log(f"postgres latency: {name}: {rows[name]}")
    results["latency"] = {
        "rate_per_second": sizes.latency_rate,
        "seconds": sizes.latency_seconds,
        "worker_threads": latency.WORKER_THREADS,
        "rows": rows,
    }
    return results


def main(argv: list[str] | None = None) -> int:
    """Command line: `python -m benchmarks.postgres --statements JOBS`.

    Runs the two diagnostics of this module without the rest of the suite.
    """
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.postgres",
        description="Time each kind of statement of a 1-thread JobService on "
        "PostgreSQL, then run the full in-process latency row, and print both "
        "as JSON.",
    )
    parser.add_argument(
        "--statements",
        type=int,
        metavar="JOBS",
        required=True,
        help="number of no-op jobs to queue and drain",
    )
    args = parser.parse_args(argv)
    base_url = pgside.server_url()
    server, reason = pgside.probe(base_url)
    if server is None:
        print(json.dumps({"skipped": reason}))
        return 1
    from .settings import FULL

    output = {
        "statements_c1": statement_times(base_url, args.statements, 1),
        "latency_in_process": latency_in_process(base_url, FULL),
    }
    print(json.dumps(output, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
