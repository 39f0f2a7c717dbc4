"""Huey (SqliteHuey) set up for the same work as jobq, through Huey's public API.

SqliteHuey opens its file in WAL mode and leaves `synchronous` at SQLite's
default unless `fsync` is given (True sets FULL, False sets OFF), so there is
no option for NORMAL. `NormalSyncStorage` sets NORMAL on each new connection,
which gives Huey the durability setting jobq uses.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huey import SqliteHuey
from huey.consumer import Consumer
from huey.storage import SqliteStorage

from .common import Rate, remove_database, wait_until

SYNC_DEFAULT = "default"
SYNC_NORMAL = "normal"
SYNC_NAMES = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


class NormalSyncStorage(SqliteStorage):
    """SqliteStorage whose connections run with synchronous=NORMAL."""

    def _create_connection(self):
        connection = super()._create_connection()
        connection.execute("PRAGMA synchronous = NORMAL")
        return connection


class Countdown:
    """Counts executed tasks and sets `done` when `target` is reached."""

    def __init__(self, target: int):
        self.target = target
        self.count = 0
        self.lock = threading.Lock()
        self.done = threading.Event()

    def hit(self) -> None:
        with self.lock:
            self.count += 1
            if self.count >= self.target:
                self.done.set()


# The tasks below are module-level functions, so a consumer in another process
# that calls `build_huey` registers them under the same names as the producer.
_countdown: Countdown | None = None
_latency_sink: Callable[[float, float], None] | None = None


def noop_task() -> None:
    if _countdown is not None:
        _countdown.hit()


def latency_task(enqueued_at: float) -> None:
    started = time.time()
    if _latency_sink is not None:
        _latency_sink(enqueued_at, started)


def set_countdown(countdown: Countdown | None) -> None:
    global _countdown
    _countdown = countdown


def set_latency_sink(sink: Callable[[float, float], None] | None) -> None:
    global _latency_sink
    _latency_sink = sink


@dataclass(frozen=True)
class HueyApp:
    """A SqliteHuey instance and the wrappers that enqueue the benchmark tasks."""

    huey: SqliteHuey
    noop: Any
    latency: Any

    def synchronous_setting(self) -> str:
        """Return the PRAGMA synchronous value Huey's connection runs with."""
        value = self.huey.storage.sql("PRAGMA synchronous", results=True)[0][0]
        return SYNC_NAMES.get(value, str(value))

    def close(self) -> None:
        self.huey.storage.close()


def build_huey(path: Path, synchronous: str, fresh: bool = False) -> HueyApp:
    """Return a SqliteHuey on `path` with the benchmark tasks registered.

    `synchronous` is SYNC_DEFAULT (Huey's own setting) or SYNC_NORMAL.
    """
    if fresh:
        remove_database(path)
    options = {"storage_class": NormalSyncStorage} if synchronous == SYNC_NORMAL else {}
    huey = SqliteHuey("bench", filename=str(path), **options)
    return HueyApp(
        huey,
        noop=huey.task(name="noop")(noop_task),
        latency=huey.task(name="latency")(latency_task),
    )


def enqueue_noops(app: HueyApp, count: int) -> Rate:
    """Enqueue `count` no-op tasks one call each; return the rate."""
    began = time.perf_counter()
    for _ in range(count):
        app.noop()
    return Rate(count, time.perf_counter() - began)


def start_consumer(huey: SqliteHuey, workers: int, initial_delay: float = 0.1):
    """Start Huey's Consumer with `workers` threads in this process.

    The consumer installs signal handlers on start; they are put back before
    returning, so the caller's own handling of ctrl+c and SIGTERM stays.
    `initial_delay` is Huey's polling interval after an empty dequeue (its
    default is 0.1 s, growing by 1.15x per empty poll up to 10 s).
    """
    consumer = Consumer(
        huey,
        workers=workers,
        periodic=False,
        initial_delay=initial_delay,
        check_worker_health=False,
    )
    saved = {
        number: signal.getsignal(number)
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    try:
        consumer.start()
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)
    return consumer


def drain_huey(path: Path, synchronous: str, jobs: int, workers: int) -> Rate:
    """Queue `jobs` no-op tasks, then time Huey's consumer until all ran."""
    app = build_huey(path, synchronous, fresh=True)
    enqueue_noops(app, jobs)
    countdown = Countdown(jobs)
    set_countdown(countdown)
    try:
        began = time.perf_counter()
        consumer = start_consumer(app.huey, workers)
        if not countdown.done.wait(timeout=600):
            raise TimeoutError(f"Huey ran {countdown.count} of {jobs} tasks in 600 s")
        seconds = time.perf_counter() - began
        consumer.stop(graceful=True)
    finally:
        set_countdown(None)
        app.close()
    return Rate(jobs, seconds)


def wait_for_file_lines(path: Path, lines: int, timeout: float) -> None:
    """Wait until a file written by a consumer process has `lines` lines."""

    def enough() -> bool:
        if not path.exists():
            return False
        with open(path, "rb") as handle:
            return handle.read().count(b"\n") >= lines

    wait_until(enough, timeout, 0.05, f"{lines} lines in {path.name}")


def append_line_sink(path: Path) -> Callable[[float, float], None]:
    """Return a sink that appends "enqueued started" lines to `path` atomically."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def sink(enqueued_at: float, started: float) -> None:
        os.write(descriptor, f"{enqueued_at!r} {started!r}\n".encode("ascii"))

    return sink
