"""Helpers shared by the benchmark modules: timing, percentiles, processes, RSS."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent


def log(message: str) -> None:
    """Print a progress line to stderr, so stdout stays free for the JSON summary."""
    stamp = time.strftime("%H:%M:%S")
    print(f"[{stamp}] {message}", file=sys.stderr, flush=True)


def percentile(values: Sequence[float], fraction: float) -> float:
    """Return the `fraction` quantile (0-1) with linear interpolation."""
    if not values:
        raise ValueError("percentile of an empty sample: the run produced no values")
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    weight = position - lower
    return ordered[lower] * (1 - weight) + ordered[upper] * weight


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def wait_until(
    condition: Callable[[], bool], timeout: float, interval: float, what: str
) -> float:
    """Poll `condition` every `interval` s; return the time it became true.

    Raises TimeoutError naming `what` when `timeout` seconds pass first.
    """
    deadline = time.perf_counter() + timeout
    while True:
        if condition():
            return time.perf_counter()
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout:.0f} s")
        time.sleep(interval)


def remove_database(path: Path) -> None:
    """Delete a SQLite file with its WAL and shared-memory files."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def python_env(extra_path: Path | None = None) -> dict[str, str]:
    """Return an environment in which child Pythons import jobq_tui and benchmarks."""
    env = dict(os.environ)
    paths = [str(extra_path)] if extra_path is not None else []
    # An inherited PYTHONPATH comes before the repository, so children import
    # the same copy of jobq_tui as a parent started with that PYTHONPATH.
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    paths.append(str(REPO_ROOT))
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def read_status_kib(pid: int, field: str) -> int:
    """Return a /proc/PID/status field such as VmRSS or VmHWM, in KiB."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(f"{field} not found in /proc/{pid}/status")


def settled_rss_kib(pid: int, settle: float, timeout: float) -> int:
    """Wait until a process's VmRSS changes by under 1% over `settle` s; return it."""
    deadline = time.monotonic() + timeout
    previous = read_status_kib(pid, "VmRSS")
    while True:
        time.sleep(settle)
        current = read_status_kib(pid, "VmRSS")
        if abs(current - previous) <= previous * 0.01 or time.monotonic() > deadline:
            return current
        previous = current


def stop_process(process: subprocess.Popen, timeout: float = 15.0) -> int:
    """Send SIGTERM, wait for the exit, kill after `timeout`; return the exit code."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def read_json_line(process: subprocess.Popen, timeout: float, what: str) -> dict:
    """Read the next stdout line of a child as JSON, or raise with its stderr."""
    import selectors

    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    try:
        if not selector.select(timeout):
            raise TimeoutError(f"{what} printed nothing within {timeout:.0f} s")
    finally:
        selector.close()
    line = process.stdout.readline()
    if not line:
        process.wait(5)
        raise RuntimeError(
            f"{what} exited with code {process.returncode} before reporting"
        )
    return json.loads(line)


@dataclass(frozen=True)
class Rate:
    """A count of items processed in a measured number of seconds."""

    items: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.items / self.seconds

    def as_dict(self) -> dict[str, float]:
        return {
            "items": self.items,
            "seconds": round(self.seconds, 4),
            "per_second": round(self.per_second, 1),
        }


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _git_revision() -> str:
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "jobq_tui"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head} with uncommitted changes in jobq_tui" if dirty else head


def machine_info() -> dict[str, Any]:
    """Describe the machine, the interpreter and the library versions of this run."""
    return {
        "date_utc": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "cpu_count": os.cpu_count(),
        "cpu_model": _cpu_model(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "peewee": _package_version("peewee"),
        "textual": _package_version("textual"),
        "huey": _package_version("huey"),
        "platform": platform.platform(),
        "jobq_revision": _git_revision(),
    }
