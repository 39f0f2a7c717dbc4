"""Throughput: N no-op jobs queued first, then drained by each system."""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

from . import hueyside, jobqside, rawloop
from .common import Rate, log, stop_process
from .settings import Sizes


def _jobq_in_process(work: Path, jobs: int, concurrency: int) -> dict[str, Any]:
    database = jobqside.fresh_database(work / f"jobq-c{concurrency}.db")
    try:
        jobqside.fill_queue(database, jobs)
        seconds = jobqside.drain_with_service(database, jobs, concurrency)
    finally:
        database.close()
    return Rate(jobs, seconds).as_dict()


def _jobq_processes(
    work: Path, jobs: int, processes: int, threads: int, log_level: str | None
) -> dict[str, Any]:
    """Drain with `processes` burst CLI workers.

    The rate uses the first job's start and the last job's finish as stored
    in the database, so interpreter start-up is not counted. The wall time
    from spawning to the last exit is reported next to it.
    """
    suffix = (log_level or "info").lower()
    path = work / f"jobq-procs-{suffix}.db"
    database = jobqside.fresh_database(path)
    try:
        jobqside.fill_queue(database, jobs)
        command = jobqside.cli_worker_command(
            path, threads, burst=True, log_level=log_level
        )
        began = time.perf_counter()
        children = [
            jobqside.spawn_cli_worker(
                command, work / f"cli-worker-{suffix}-{index}.log"
            )
            for index in range(processes)
        ]
        try:
            for child in children:
                child.wait(timeout=900)
        finally:
            for child in children:
                stop_process(child)
        wall = time.perf_counter() - began
        codes = [child.returncode for child in children]
        if any(codes):
            raise RuntimeError(f"CLI workers exited with codes {codes}; see {work}")
        first, last, succeeded = jobqside.job_window(database)
        if succeeded != jobs or jobqside.unfinished_left(database):
            raise RuntimeError(f"CLI workers finished {succeeded} of {jobs} jobs")
    finally:
        database.close()
    result = Rate(jobs, last - first).as_dict()
    result["wall_seconds_with_startup"] = round(wall, 3)
    return result


def _huey(work: Path, jobs: int, workers: int, synchronous: str) -> dict[str, Any]:
    path = work / f"huey-{synchronous}-{workers}.db"
    return hueyside.drain_huey(path, synchronous, jobs, workers).as_dict()


def _raw(work: Path, jobs: int, threads: int, claim_index: bool) -> dict[str, Any]:
    path = work / f"raw-{'index' if claim_index else 'plain'}-{threads}.db"
    rawloop.prepare_raw_database(path, jobs, claim_index)
    return rawloop.drain_raw(path, jobs, threads).as_dict()


def durability_settings(work: Path) -> dict[str, str]:
    """Read the journal and synchronous settings each system's connection uses."""
    database = jobqside.fresh_database(work / "settings-jobq.db")
    try:
        jobq = jobqside.synchronous_setting(database)
    finally:
        database.close()
    settings = {"jobq": jobq}
    for synchronous in (hueyside.SYNC_DEFAULT, hueyside.SYNC_NORMAL):
        app = hueyside.build_huey(work / f"settings-huey-{synchronous}.db", synchronous)
        try:
            value = app.synchronous_setting()
        finally:
            app.close()
        settings[f"huey_{synchronous}"] = f"WAL, synchronous={value}"
    path = work / "settings-raw.db"
    rawloop.prepare_raw_database(path, 0, claim_index=False)
    names = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}
    settings["raw"] = f"WAL, synchronous={names[rawloop.synchronous_setting(path)]}"
    return settings


def _summary(rates: list[dict[str, Any]]) -> dict[str, Any]:
    per_second = sorted(rate["per_second"] for rate in rates)
    summary = dict(rates[0])
    summary["per_second"] = round(statistics.median(per_second), 1)
    summary["runs_per_second"] = [rate["per_second"] for rate in rates]
    summary["seconds"] = [rate["seconds"] for rate in rates]
    return summary


def run(work: Path, sizes: Sizes) -> dict[str, Any]:
    """Run every throughput row `sizes.rounds` times, interleaved.

    Each row reports the median rate and the rate of every round, so drift
    on a noisy machine hits every row alike instead of one.
    """
    jobs = sizes.drain_jobs
    plan = [
        ("jobq_service_c1", lambda: _jobq_in_process(work, jobs, 1)),
        ("jobq_service_c4", lambda: _jobq_in_process(work, jobs, 4)),
        ("jobq_cli_2x2", lambda: _jobq_processes(work, jobs, 2, 2, None)),
        (
            "jobq_cli_2x2_warning_log",
            lambda: _jobq_processes(work, jobs, 2, 2, "WARNING"),
        ),
        ("huey_default_w1", lambda: _huey(work, jobs, 1, hueyside.SYNC_DEFAULT)),
        ("huey_default_w4", lambda: _huey(work, jobs, 4, hueyside.SYNC_DEFAULT)),
        ("huey_normal_w1", lambda: _huey(work, jobs, 1, hueyside.SYNC_NORMAL)),
        ("huey_normal_w4", lambda: _huey(work, jobs, 4, hueyside.SYNC_NORMAL)),
        ("raw_index_t1", lambda: _raw(work, jobs, 1, True)),
        ("raw_index_t4", lambda: _raw(work, jobs, 4, True)),
        ("raw_plain_t1", lambda: _raw(work, jobs, 1, False)),
        ("raw_plain_t4", lambda: _raw(work, jobs, 4, False)),
    ]
    measured: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in plan}
    for round_number in range(1, sizes.rounds + 1):
        for name, measure in plan:
            rate = measure()
            measured[name].append(rate)
            log(
                f"throughput round {round_number}/{sizes.rounds}: {name}: "
                f"{rate['per_second']:.0f} jobs/s"
            )
    rows = {name: _summary(rates) for name, rates in measured.items()}
    return {
        "jobs": jobs,
        "rounds": sizes.rounds,
        "rows": rows,
        "durability": durability_settings(work),
    }
