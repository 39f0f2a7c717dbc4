"""Latency from enqueue to handler start under a steady, light load.

A producer enqueues `latency_rate` jobs per second on a fixed schedule. Each
payload carries time.time() taken just before the enqueue call, and each
handler takes time.time() as its first statement, so the figure includes the
enqueue commit, the worker's wake-up or poll, the claim and the decode.
Every system runs two worker threads.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from jobq_tui.models import JobState
from jobq_tui.registry import HandlerRegistry, JobContext
from jobq_tui.service import JobService
from jobq_tui.store import JobStore

from . import hueyside, jobqside
from .common import (
    log,
    percentile,
    python_env,
    read_json_line,
    stop_process,
    wait_until,
)
from .settings import Sizes

WORKER_THREADS = 2
CHECKPOINT_SECONDS = 0.5
LATENCY_HANDLER = "bench.latency"

HANDLER_MODULE = '''"""Handler for the cross-process latency benchmark (generated)."""

import time

import jobq_tui


@jobq_tui.handler("bench.latency")
def bench_latency(ctx):
    return {"started": time.time()}
'''


def summarize(delays: list[float]) -> dict[str, Any]:
    """Return count, p50, p95, p99 and max of delays given in seconds, in ms."""
    return {
        "count": len(delays),
        "p50_ms": round(percentile(delays, 0.50) * 1000, 2),
        "p95_ms": round(percentile(delays, 0.95) * 1000, 2),
        "p99_ms": round(percentile(delays, 0.99) * 1000, 2),
        "max_ms": round(max(delays) * 1000, 2),
    }


def produce(enqueue: Callable[[float], Any], rate: float, seconds: float) -> int:
    """Call `enqueue(time.time())` `rate` times a second for `seconds`; return calls."""
    count = int(rate * seconds)
    began = time.perf_counter()
    for index in range(count):
        delay = began + index / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        enqueue(time.time())
    return count


def jobq_in_process(
    work: Path, sizes: Sizes, background_checkpoint: bool = False
) -> dict[str, Any]:
    """Measure a JobService in this process; JobService.enqueue wakes a worker.

    With `background_checkpoint`, an experiment: the connections this
    benchmark's Database object opens get wal_autocheckpoint=0, and a thread
    runs `PRAGMA wal_checkpoint(PASSIVE)` every CHECKPOINT_SECONDS, so no
    enqueue, claim or completion commit pays for a checkpoint.
    """
    name = "lat-jobq-in-ckpt.db" if background_checkpoint else "lat-jobq-in.db"
    database = jobqside.fresh_database(work / name)
    checkpointer = None
    if background_checkpoint:
        database.close()
        database.peewee_db._pragmas = [
            *database.peewee_db._pragmas,
            ("wal_autocheckpoint", 0),
        ]
        checkpointer = jobqside.Checkpointer(database, CHECKPOINT_SECONDS)
    delays: list[float] = []
    lock = threading.Lock()

    def handler(ctx: JobContext) -> None:
        started = time.time()
        with lock:
            delays.append(started - ctx.payload["t"])

    registry = HandlerRegistry()
    registry.register(LATENCY_HANDLER, handler)
    service = JobService(database, registry=registry, concurrency=WORKER_THREADS)
    service.start()
    if checkpointer is not None:
        checkpointer.start()
    try:
        time.sleep(0.5)
        count = produce(
            lambda at: service.enqueue(LATENCY_HANDLER, {"t": at}),
            sizes.latency_rate,
            sizes.latency_seconds,
        )
        wait_until(lambda: len(delays) >= count, 30, 0.02, "all latency jobs started")
    finally:
        if checkpointer is not None:
            checkpointer.stop()
        service.stop()
        database.close()
    return summarize(delays)


def jobq_cross_process(work: Path, sizes: Sizes) -> dict[str, Any]:
    """Measure a `--worker-only` process while this process enqueues via JobStore."""
    path = work / "lat-jobq-cross.db"
    database = jobqside.fresh_database(path)

    module_dir = work / "latency_handlers"
    module_dir.mkdir(exist_ok=True)
    (module_dir / "bench_latency_handlers.py").write_text(HANDLER_MODULE)

    command = jobqside.cli_worker_command(
        path, WORKER_THREADS, burst=False, handlers="bench_latency_handlers"
    )
    worker = jobqside.spawn_cli_worker(command, work / "lat-cli-worker.log", module_dir)
    store = JobStore(database)
    try:
        wait_until(
            lambda: jobqside.live_worker_runs(database) > 0,
            30,
            0.05,
            "the CLI worker registering its run",
        )
        time.sleep(0.5)
        delays = produce_for_other_process(store, sizes, "cross-process")
    finally:
        stop_process(worker)
        database.close()
    return summarize(delays)


def produce_for_other_process(store: JobStore, sizes: Sizes, what: str) -> list[float]:
    """Enqueue at a steady rate, wait for another process to run every job, and
    return each job's delay from enqueue to handler start, read from its result."""
    count = produce(
        lambda at: store.enqueue(LATENCY_HANDLER, {"t": at}),
        sizes.latency_rate,
        sizes.latency_seconds,
    )
    wait_until(
        lambda: store.counts()[JobState.SUCCEEDED] >= count,
        30,
        0.05,
        f"all {what} latency jobs finished",
    )
    rows = store.db.execute(
        "SELECT payload, result FROM jobq_job WHERE handler = :handler",
        {"handler": LATENCY_HANDLER},
    ).fetchall()
    return [
        json.loads(result)["started"] - json.loads(payload)["t"]
        for payload, result in rows
    ]


def huey_in_process(work: Path, sizes: Sizes) -> dict[str, Any]:
    """Huey's Consumer threads in this process, Huey's default settings."""
    app = hueyside.build_huey(
        work / "lat-huey-in.db", hueyside.SYNC_DEFAULT, fresh=True
    )
    delays: list[float] = []
    lock = threading.Lock()

    def sink(enqueued_at: float, started: float) -> None:
        with lock:
            delays.append(started - enqueued_at)

    hueyside.set_latency_sink(sink)
    consumer = hueyside.start_consumer(app.huey, WORKER_THREADS)
    try:
        time.sleep(0.5)
        count = produce(app.latency, sizes.latency_rate, sizes.latency_seconds)
        wait_until(
            lambda: len(delays) >= count, 30, 0.02, "all Huey latency tasks started"
        )
    finally:
        consumer.stop(graceful=True)
        hueyside.set_latency_sink(None)
        app.close()
    return summarize(delays)


def _spawn_huey_worker(path: Path, out: Path, worker_log: Any) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "benchmarks.huey_worker",
        "--db",
        str(path),
        "--sync",
        hueyside.SYNC_DEFAULT,
        "--workers",
        str(WORKER_THREADS),
        "--out",
        str(out),
    ]
    return subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=worker_log,
        env=python_env(),
        text=True,
    )


def huey_cross_process(work: Path, sizes: Sizes) -> dict[str, Any]:
    """Measure a Huey consumer process (benchmarks.huey_worker) fed from here."""
    path = work / "lat-huey-cross.db"
    out = work / "lat-huey-cross.txt"
    app = hueyside.build_huey(path, hueyside.SYNC_DEFAULT, fresh=True)
    with open(work / "lat-huey-worker.log", "wb") as worker_log:
        worker = _spawn_huey_worker(path, out, worker_log)
    try:
        read_json_line(worker, 30, "the Huey consumer process")
        time.sleep(0.5)
        count = produce(app.latency, sizes.latency_rate, sizes.latency_seconds)
        hueyside.wait_for_file_lines(out, count, 30)
    finally:
        stop_process(worker)
        app.close()
    delays = []
    for line in out.read_text().splitlines():
        enqueued_at, started = (float(value) for value in line.split())
        delays.append(started - enqueued_at)
    return summarize(delays)


def run(work: Path, sizes: Sizes) -> dict[str, Any]:
    """Run the four latency rows."""
    rows: dict[str, Any] = {}
    plan = [
        ("jobq_in_process", jobq_in_process),
        (
            "jobq_in_process_background_checkpoint",
            lambda work, sizes: jobq_in_process(
                work, sizes, background_checkpoint=True
            ),
        ),
        ("jobq_cross_process", jobq_cross_process),
        ("huey_in_process", huey_in_process),
        ("huey_cross_process", huey_cross_process),
    ]
    for name, measure in plan:
        load = f"{sizes.latency_rate:g}/s for {sizes.latency_seconds:g} s"
        log(f"latency: {name} ({load})")
        rows[name] = measure(work, sizes)
        log(f"latency: {name}: {rows[name]}")
    return {
        "rate_per_second": sizes.latency_rate,
        "seconds": sizes.latency_seconds,
        "worker_threads": WORKER_THREADS,
        "rows": rows,
    }
