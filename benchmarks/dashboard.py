"""Dashboard cost on a large database: refresh time, first paint, worker slowdown."""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from jobq_tui.control import Controller
from jobq_tui.db import open_database
from jobq_tui.store import JobStore
from jobq_tui.views import read_snapshot

from . import jobqside
from .common import log, python_env, read_json_line, stop_process
from .settings import Sizes

BENCH_QUEUE = "bench"
WORKER_THREADS = 2
DASHBOARDS = 2
REFRESH_SECONDS = 1.0


def _timed(function, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        function()
        times.append(time.perf_counter() - began)
    return times


def snapshot_times(path: Path, repeats: int) -> dict[str, Any]:
    """Time read_snapshot(store, None, limit=100) and its two queries apart.

    The first call on a new connection is reported on its own, and the median
    covers the `repeats` calls after it. The file was just written, so most of
    it is in the operating system's page cache.
    """
    database = open_database(str(path), create=False)
    try:
        store = JobStore(database)
        first = _timed(lambda: read_snapshot(store, None, limit=100), 1)[0]
        snapshot = _timed(lambda: read_snapshot(store, None, limit=100), repeats)
        counts = _timed(store.counts, repeats)
        page = _timed(lambda: store.page(limit=101), repeats)
    finally:
        database.close()
    return {
        "first_call_ms": round(first * 1000, 1),
        "median_ms": round(statistics.median(snapshot) * 1000, 1),
        "all_ms": [round(value * 1000, 1) for value in snapshot],
        "counts_median_ms": round(statistics.median(counts) * 1000, 1),
        "page_median_ms": round(statistics.median(page) * 1000, 2),
    }


async def _first_paint_once(path: Path) -> float:
    from jobq_tui.tui.app import JobqApp

    began = time.perf_counter()
    store = JobStore(open_database(str(path), create=False))
    app = JobqApp(Controller(store, None), start_worker=False)
    async with app.run_test(size=(120, 35)):
        while app.snapshot is None:
            await asyncio.sleep(0.002)
        elapsed = time.perf_counter() - began
    store.db.close()
    return elapsed


def first_paint_times(path: Path, repeats: int) -> dict[str, Any]:
    """Time from building the Controller to the first applied snapshot, in this process.

    Textual is imported before the clock starts, so this is the dashboard's
    own start-up, not the interpreter's.
    """
    import jobq_tui.tui.app  # noqa: F401 - imported outside the measurement

    times = [asyncio.run(_first_paint_once(path)) for _ in range(repeats)]
    return {
        "median_ms": round(statistics.median(times) * 1000, 1),
        "all_ms": [round(value * 1000, 1) for value in times],
    }


class SnapshotThreads:
    """Simulated dashboards: threads in this process calling read_snapshot.

    Each thread has its own connection and waits REFRESH_SECONDS after each
    read, as the dashboard schedules its next refresh after applying one.
    """

    def __init__(self, path: Path, count: int):
        self.path = path
        self.stop = threading.Event()
        self.reads = 0
        self.threads = [
            threading.Thread(target=self._loop, name=f"bench-dashboard-{index}")
            for index in range(count)
        ]

    def _loop(self) -> None:
        database = open_database(str(self.path), create=False)
        store = JobStore(database)
        try:
            while not self.stop.is_set():
                read_snapshot(store, None, limit=100)
                self.reads += 1
                self.stop.wait(REFRESH_SECONDS)
        finally:
            database.close()

    def __enter__(self) -> SnapshotThreads:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()


def start_probe(path: Path, hold: float) -> subprocess.Popen:
    """Start a dashboard_probe process; the caller reads its JSON lines."""
    return subprocess.Popen(
        [sys.executable, "-m", "benchmarks.dashboard_probe", "--db", str(path)]
        + ["--hold", str(hold)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=python_env(),
        text=True,
    )


def finish_probe(probe: subprocess.Popen) -> dict[str, Any]:
    """Close a probe's stdin so it stops, and return its last report."""
    assert probe.stdin is not None
    probe.stdin.close()
    try:
        return read_json_line(probe, 60, "the dashboard probe")
    finally:
        stop_process(probe)


def _drain_phase(path: Path, jobs: int) -> float:
    database = open_database(str(path), create=False)
    try:
        jobqside.fill_queue(database, jobs, queue=BENCH_QUEUE)
        seconds = jobqside.drain_with_service(
            database, jobs, WORKER_THREADS, queue=BENCH_QUEUE
        )
    finally:
        database.close()
    return jobs / seconds


def _phase_none(path: Path, jobs: int) -> dict[str, Any]:
    return {"per_second": round(_drain_phase(path, jobs), 1)}


def _phase_threads(path: Path, jobs: int) -> dict[str, Any]:
    with SnapshotThreads(path, DASHBOARDS) as dashboards:
        rate = _drain_phase(path, jobs)
    return {"per_second": round(rate, 1), "snapshot_reads": dashboards.reads}


def _phase_processes(path: Path, jobs: int) -> dict[str, Any]:
    probes = [start_probe(path, hold=600) for _ in range(DASHBOARDS)]
    try:
        for probe in probes:
            read_json_line(probe, 60, "a dashboard probe")
        rate = _drain_phase(path, jobs)
        reports = [finish_probe(probe) for probe in probes]
    finally:
        for probe in probes:
            stop_process(probe)
    return {
        "per_second": round(rate, 1),
        "snapshots_applied": [report["snapshots"] for report in reports],
    }


def worker_with_dashboards(path: Path, sizes: Sizes) -> dict[str, Any]:
    """Drain equal batches with 0 dashboards, 2 threads and 2 real apps, interleaved.

    Each phase queues `dashboard_phase_jobs` jobs in their own queue, so the
    seeded queued jobs are never claimed, and a JobService with two threads
    drains them. The order is repeated `rounds` times and ends with one more
    phase without dashboards. Drops compare medians.
    """
    jobs = sizes.dashboard_phase_jobs
    phases = {"none": [], "threads": [], "processes": []}
    order = ["none", "threads", "processes"] * sizes.rounds + ["none"]
    runners = {
        "none": _phase_none,
        "threads": _phase_threads,
        "processes": _phase_processes,
    }
    for name in order:
        result = runners[name](path, jobs)
        phases[name].append(result)
        log(f"dashboard: worker with {name} dashboards: {result}")
    medians = {
        name: statistics.median(result["per_second"] for result in results)
        for name, results in phases.items()
    }
    return {
        "jobs_per_phase": jobs,
        "phases": phases,
        "median_per_second": {name: round(value, 1) for name, value in medians.items()},
        "drop_threads": round(1 - medians["threads"] / medians["none"], 4),
        "drop_processes": round(1 - medians["processes"] / medians["none"], 4),
    }


def run(path: Path, sizes: Sizes) -> dict[str, Any]:
    """Measure refresh time, first paint and worker slowdown on the seeded file."""
    results: dict[str, Any] = {}
    log("dashboard: timing read_snapshot")
    results["snapshot"] = snapshot_times(path, sizes.snapshot_repeats)
    log(f"dashboard: read_snapshot {results['snapshot']}")
    results["first_paint"] = first_paint_times(path, sizes.first_paint_repeats)
    log(f"dashboard: first paint {results['first_paint']}")
    results["worker"] = worker_with_dashboards(path, sizes)
    return results
