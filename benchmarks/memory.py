"""Resident memory of an idle worker process and of a dashboard process."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from . import dashboard, hueyside, jobqside
from .common import (
    log,
    python_env,
    read_json_line,
    read_status_kib,
    settled_rss_kib,
    stop_process,
    wait_until,
)
from .settings import Sizes

SETTLE_SECONDS = 1.0


def idle_jobq_worker(work: Path) -> dict[str, Any]:
    """VmRSS of `jobq --worker-only` (2 threads) on an empty database, once settled."""
    path = work / "mem-worker.db"
    database = jobqside.fresh_database(path)
    command = jobqside.cli_worker_command(path, 2, burst=False)
    worker = jobqside.spawn_cli_worker(command, work / "mem-worker.log")
    try:
        wait_until(
            lambda: jobqside.live_worker_runs(database) > 0,
            30,
            0.05,
            "the idle CLI worker registering its run",
        )
        rss = settled_rss_kib(worker.pid, SETTLE_SECONDS, timeout=20)
        hwm = read_status_kib(worker.pid, "VmHWM")
    finally:
        stop_process(worker)
        database.close()
    return {"rss_kib": rss, "hwm_kib": hwm}


def idle_huey_consumer(work: Path) -> dict[str, Any]:
    """VmRSS of the benchmark's Huey consumer process (2 threads), for comparison."""
    path = work / "mem-huey.db"
    hueyside.build_huey(path, hueyside.SYNC_DEFAULT, fresh=True).close()
    command = [sys.executable, "-m", "benchmarks.huey_worker", "--db", str(path)]
    command += ["--sync", hueyside.SYNC_DEFAULT, "--workers", "2"]
    command += ["--out", str(work / "mem-huey.txt")]
    worker = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=python_env(),
        text=True,
    )
    try:
        read_json_line(worker, 30, "the Huey consumer process")
        rss = settled_rss_kib(worker.pid, SETTLE_SECONDS, timeout=20)
        hwm = read_status_kib(worker.pid, "VmHWM")
    finally:
        stop_process(worker)
    return {"rss_kib": rss, "hwm_kib": hwm}


def dashboard_process(path: Path, hold: float) -> dict[str, Any]:
    """VmRSS of a dashboard process on `path` after `hold` s of refreshes."""
    probe = dashboard.start_probe(path, hold=hold)
    try:
        ready = read_json_line(probe, 120, "the dashboard probe")
        done = read_json_line(probe, 120, "the dashboard probe")
    finally:
        stop_process(probe)
    return {
        "first_paint_cold_process_ms": round(ready["first_paint_s"] * 1000, 1),
        "rss_kib": done["rss_kib"],
        "hwm_kib": done["hwm_kib"],
        "snapshots": done["snapshots"],
    }


def run(work: Path, dashboard_db: Path, sizes: Sizes) -> dict[str, Any]:
    results = {
        "idle_jobq_worker": idle_jobq_worker(work),
        "idle_huey_consumer": idle_huey_consumer(work),
        "dashboard": dashboard_process(dashboard_db, sizes.dashboard_hold_seconds),
    }
    log(f"memory: {results}")
    return results
