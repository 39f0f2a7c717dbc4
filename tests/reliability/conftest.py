"""Helpers for the reliability suite: real worker processes, files and clocks.

Every test here runs against a real SQLite file under tmp_path. Worker
processes are `python -m jobq_tui.cli --worker-only` with a handlers module
written into tmp_path, and they are killed with real signals.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from jobq_tui import HandlerRegistry, JobService, JobStore, open_database
from jobq_tui.control import Controller, Identity
from jobq_tui.db import Database
from jobq_tui.models import JobState

JOBQ = [sys.executable, "-m", "jobq_tui.cli"]
FULL_SCALE = os.environ.get("JOBQ_FULL_SCALE") == "1"
OPERATOR = Identity("operator", "test-host", 4242)


def scaled(ci: int | float, full: int | float) -> int | float:
    """Return the full-scale figure when JOBQ_FULL_SCALE=1, else the CI figure."""
    return full if FULL_SCALE else ci


def wait_until(
    condition: Callable[[], object], timeout: float, description: str
) -> object:
    """Poll `condition` every 20 ms until it returns a true value; fail on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {description}")
        time.sleep(0.02)


class ManualClock:
    """A clock that moves only when a test advances it."""

    def __init__(self, start: float = 1_800_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def worker_env(*extra_paths: Path) -> dict[str, str]:
    """Return the environment for a jobq subprocess that can import tmp_path."""
    env = dict(os.environ)
    env.pop("JOBQ_DB", None)
    paths = [str(path) for path in extra_paths]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


@dataclass
class WorkerProcess:
    """One `jobq --worker-only` subprocess and its log file."""

    process: subprocess.Popen
    log_path: Path
    args: list[str] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill(self) -> int:
        """SIGKILL the process and return its exit code."""
        self.process.send_signal(signal.SIGKILL)
        return self.process.wait(timeout=10)

    def terminate(self, timeout: float = 30) -> int:
        """SIGTERM the process (a graceful drain) and return its exit code."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


class WorkerPool:
    """Starts worker subprocesses on one database; kills the leftovers at teardown."""

    def __init__(self, tmp_path: Path, db_path: Path):
        self.tmp_path = tmp_path
        self.db_path = db_path
        self.workers: list[WorkerProcess] = []
        self._logs: list = []

    def start(
        self,
        *args: object,
        handlers: str | None = "reliability_handlers",
        lease: float = 5.0,
        heartbeat: float = 1.0,
        log_name: str | None = None,
    ) -> WorkerProcess:
        """Start `jobq --worker-only` with the handlers module and timings given."""
        command = [
            *JOBQ,
            "--db",
            str(self.db_path),
            "--worker-only",
            "--lease",
            str(lease),
            "--heartbeat",
            str(heartbeat),
            *(str(arg) for arg in args),
        ]
        if handlers:
            command += ["--handlers", handlers]
        name = log_name or f"worker-{len(self.workers) + 1}.log"
        log_path = self.tmp_path / name
        log = open(log_path, "ab")
        self._logs.append(log)
        process = subprocess.Popen(
            command,
            cwd=self.tmp_path,
            env=worker_env(self.tmp_path),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        worker = WorkerProcess(process, log_path, command)
        self.workers.append(worker)
        return worker

    def close(self) -> None:
        for worker in self.workers:
            if worker.alive():
                worker.process.kill()
            worker.process.wait(timeout=10)
        for log in self._logs:
            log.close()


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "jobs.db"


@pytest.fixture
def sqlite_db(db_file: Path) -> Iterator[Database]:
    database = open_database(str(db_file))
    yield database
    database.close()


@pytest.fixture
def sqlite_store(sqlite_db: Database) -> JobStore:
    return JobStore(sqlite_db)


@pytest.fixture
def workers(tmp_path: Path, db_file: Path) -> Iterator[WorkerPool]:
    pool = WorkerPool(tmp_path, db_file)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def write_handlers(tmp_path: Path) -> Callable[[str], Path]:
    """Write a handlers module into tmp_path as reliability_handlers.py."""

    def write(source: str, name: str = "reliability_handlers") -> Path:
        path = tmp_path / f"{name}.py"
        path.write_text(source)
        return path

    return write


@pytest.fixture
def make_service(
    sqlite_db: Database,
) -> Iterator[Callable[..., JobService]]:
    """Build in-process services on the test's file; stop them at teardown."""
    services: list[JobService] = []

    def build(
        registry: HandlerRegistry | None = None,
        database: Database | None = None,
        **settings,
    ) -> JobService:
        settings.setdefault("lease", 5.0)
        settings.setdefault("heartbeat", 1.0)
        settings.setdefault("poll_interval", 0.02)
        settings.setdefault("backoff_base", 0.05)
        service = JobService(
            database or sqlite_db,
            registry=registry if registry is not None else HandlerRegistry(),
            **settings,
        )
        services.append(service)
        return service

    yield build
    for service in services:
        service.stop(timeout=0)


def make_dashboard(
    store: JobStore,
    service: JobService | None = None,
    refresh_interval: float = 0.2,
):
    """Build the Textual dashboard on `store` with an operator identity."""
    from jobq_tui.tui.app import JobqApp

    controller = Controller(store, service, identity=OPERATOR, operators={"operator"})
    return JobqApp(
        controller,
        refresh_interval=refresh_interval,
        start_worker=service is not None,
    )


async def pilot_wait(pilot, predicate: Callable[[], object], timeout: float = 15.0):
    """Let the app run until `predicate()` holds; fail the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"dashboard condition not met within {timeout} s")
        await pilot.pause(0.05)


def job_state(store: JobStore, job_id: int) -> JobState:
    return store.get(job_id).state


def event_kinds(store: JobStore, job_id: int) -> list[str]:
    return [event.kind for event in store.events(job_id)]


def raw_connection(db_path: Path) -> sqlite3.Connection:
    """Open a plain sqlite3 connection, for bulk seeding and query plans."""
    connection = sqlite3.connect(str(db_path), timeout=30, isolation_level=None)
    connection.execute("PRAGMA busy_timeout = 30000")
    return connection
