"""Run every benchmark in order, one at a time, inside one temporary directory."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from . import (
    dashboard,
    enqueue,
    latency,
    memory,
    postgres,
    profiling,
    seed,
    throughput,
)
from .common import log, machine_info
from .settings import Sizes
from .targets import evaluate


def run_suite(sizes: Sizes, command: str) -> dict[str, Any]:
    """Run all benchmarks at `sizes`; return the results with target checks."""
    began = time.perf_counter()
    results: dict[str, Any] = {
        "mode": sizes.name,
        "command": command,
        "machine": machine_info(),
        "sizes": sizes.as_dict(),
    }
    with tempfile.TemporaryDirectory(prefix="jobq-bench-") as directory:
        work = Path(directory)
        results["throughput"] = throughput.run(work, sizes)
        results["enqueue"] = enqueue.run(work, sizes)
        results["latency"] = latency.run(work, sizes)
        results["postgres"] = postgres.run(work, sizes)
        results["profile"] = profiling.run(work, sizes)
        big = work / "dashboard.db"
        log(f"seeding {sizes.seed_total:,} jobs")
        results["seed"] = seed.seed_dashboard_database(big, sizes)
        log(f"seeded: {results['seed']}")
        results["dashboard"] = dashboard.run(big, sizes)
        results["memory"] = memory.run(work, big, sizes)
    results["targets"] = [check.as_dict() for check in evaluate(results)]
    results["total_seconds"] = round(time.perf_counter() - began, 1)
    log(f"finished in {results['total_seconds']:.0f} s")
    return results
