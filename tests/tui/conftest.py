"""Fixtures for dashboard tests: a seeded database, a real service, a fixed clock."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from jobq_tui import HandlerRegistry, JobService, JobStore
from jobq_tui.control import Controller, Identity
from jobq_tui.db import Database
from jobq_tui.tui.app import JobqApp
from jobq_tui.tui.dialogs import ConfirmScreen

FIXED_NOW = 1_800_000_000.0
OPERATOR = Identity("operator", "demo-host", 4242)


def fixed_clock() -> float:
    return FIXED_NOW


def seed_jobs(store: JobStore) -> dict[str, int]:
    """Create jobs in every state at fixed times; return their ids by name."""
    ids: dict[str, int] = {}
    ids["succeeded"] = store.enqueue("procedure", {"steps": 3}).job_id
    ids["failed"] = store.enqueue(
        "resize", {"path": "/srv/img/1.png"}, max_attempts=1
    ).job_id
    ids["running"] = store.enqueue("report", {"month": "2026-11"}).job_id
    ids["cancelled"] = store.enqueue("report", {"month": "2026-10"}).job_id
    ids["hostile"] = store.enqueue(
        "procedure", {"note": "\x1b[2J [bold red]boom[/] \x1b]52;c;abc\x07"}
    ).job_id
    # Claim with a run id no local service owns, with a lease that outlasts
    # the test, then move each job to the state its name gives.
    claimed = {
        job.id for job in store.claim("0ther0run0000000", ["default"], 5, lease=10**6)
    }
    assert claimed == {ids[name] for name in ids}
    store.complete(ids["succeeded"], "0ther0run0000000", {"steps": 3})
    store.fail(
        ids["failed"],
        "0ther0run0000000",
        "FileNotFoundError: /srv/img/1.png",
        'Traceback (most recent call last):\n  File "resize.py", line 9, in run\n'
        "FileNotFoundError: /srv/img/1.png",
        retry_delay=None,
    )
    store.set_progress(ids["running"], "0ther0run0000000", 40, "step 2 of 5 done")
    store.release(ids["hostile"], "0ther0run0000000", "test")
    store.release(ids["cancelled"], "0ther0run0000000", "test")
    store.cancel(ids["cancelled"])

    ids["queued"] = store.enqueue("procedure", {"steps": 2}, priority=5).job_id
    ids["delayed"] = store.enqueue("procedure", {"steps": 2}, delay=600).job_id
    return ids


@pytest.fixture
def fixed_store(database: Database) -> JobStore:
    return JobStore(database, clock=fixed_clock)


@pytest.fixture
def seeded(fixed_store: JobStore) -> dict[str, int]:
    return seed_jobs(fixed_store)


@pytest.fixture
def make_app(database: Database):
    """Build a dashboard on a real service; stop every service afterwards."""
    services: list[JobService] = []

    def build(
        *,
        clock: Callable[[], float] = fixed_clock,
        queues: tuple[str, ...] = ("idle",),
        start_worker: bool = True,
        with_worker: bool = True,
        operators: set[str] | None = None,
        read_only: bool = False,
        test_job: dict | None = None,
        refresh_interval: float = 0.2,
    ) -> JobqApp:
        service = None
        if with_worker:
            service = JobService(
                database,
                registry=HandlerRegistry(),
                clock=clock,
                new_run_id=lambda: "5e1f0a2b3c4d5e6f",
                queues=queues,
                concurrency=2,
                lease=3.0,
                heartbeat=0.5,
                poll_interval=0.02,
                drain_timeout=5.0,
                name="demo-worker",
            )
            service.host = "demo-host"
            service.pid = 4242
            services.append(service)
        store = service.store if service else JobStore(database, clock=clock)
        controller = Controller(
            store,
            service,
            identity=OPERATOR,
            operators={"operator"} if operators is None else operators,
            read_only=read_only,
            test_job=test_job,
        )
        return JobqApp(
            controller,
            refresh_interval=refresh_interval,
            clock=clock,
            start_worker=start_worker,
        )

    yield build
    for service in services:
        service.stop(timeout=0)


async def wait_for(pilot: Pilot, predicate: Callable[[], bool], timeout: float = 10.0):
    """Let the app run until `predicate()` holds; fail the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        await pilot.pause(0.05)
    await asyncio.sleep(0)


def banner_text(app: JobqApp) -> str:
    return app.banner.text if app.banner is not None else ""


def worker_running(app: JobqApp) -> bool:
    snapshot = app.snapshot
    return (
        app.busy_action is None
        and snapshot is not None
        and snapshot.status is not None
        and snapshot.status.state == "running"
    )


def worker_stopped(app: JobqApp) -> bool:
    snapshot = app.snapshot
    return (
        app.busy_action is None
        and snapshot is not None
        and snapshot.status is not None
        and snapshot.status.state == "stopped"
    )


@pytest.fixture
def backend() -> str:
    """Dashboard tests run on SQLite: they pin the clock, which PostgreSQL's
    lease arithmetic ignores because it uses the server clock."""
    return "sqlite"


async def confirm(pilot: Pilot, app: JobqApp) -> str:
    """Wait for a confirmation dialog, press its confirm button, return its title."""
    await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
    title = app.screen.title_text
    await pilot.press("tab", "enter")
    return title
