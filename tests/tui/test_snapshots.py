"""Snapshots of the main views at 120x35 with a fixed clock and fixed run id.

Update with `pytest tests/tui/test_snapshots.py --snapshot-update` only after
looking at the new SVGs in snapshot_report.html.
"""

from __future__ import annotations

from textual.widgets import DataTable

from jobq_tui.tui.dialogs import ConfirmScreen, StatusScreen
from jobq_tui.tui.help import HelpScreen
from jobq_tui.tui.job_detail import JobDetailScreen

from .conftest import wait_for, worker_running, worker_stopped

SIZE = (120, 35)


def test_running_banner_with_jobs(snap_compare, make_app, seeded):
    app = make_app()

    async def ready(pilot):
        await wait_for(pilot, lambda: worker_running(app))
        await wait_for(pilot, lambda: len(app._row_keys) == len(seeded))

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_stopped_banner(snap_compare, make_app, seeded):
    app = make_app(start_worker=False)

    async def ready(pilot):
        await wait_for(pilot, lambda: worker_stopped(app))
        await wait_for(pilot, lambda: len(app._row_keys) == len(seeded))

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_stop_confirmation(snap_compare, make_app, seeded):
    app = make_app()

    async def ready(pilot):
        await wait_for(pilot, lambda: worker_running(app))
        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_status_modal(snap_compare, make_app, seeded):
    app = make_app()

    async def ready(pilot):
        await wait_for(pilot, lambda: worker_running(app))
        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, StatusScreen))

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_job_detail(snap_compare, make_app, seeded):
    app = make_app(start_worker=False)

    async def ready(pilot):
        await wait_for(pilot, lambda: str(seeded["failed"]) in app._row_keys)
        index = app._row_keys.index(str(seeded["failed"]))
        app.query_one("#jobs", DataTable).move_cursor(row=index)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        await wait_for(pilot, lambda: app.screen.detail is not None)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_help(snap_compare, make_app, seeded):
    app = make_app(start_worker=False)

    async def ready(pilot):
        await wait_for(pilot, lambda: app.snapshot is not None)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_audit_screen(snap_compare, make_app, seeded):
    app = make_app(operators={"someone-else"})

    async def ready(pilot):
        await wait_for(pilot, lambda: worker_running(app))
        await pilot.press("x")
        await wait_for(pilot, lambda: app.controller.store.audit_entries() != [])
        await pilot.press("a")
        await wait_for(pilot, lambda: getattr(app.screen, "entries", None) is not None)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def _fail_some(store):
    ids = store.enqueue_many(
        "resize", [{"n": n} for n in range(3)], max_attempts=1, queue="triage"
    )
    for job in store.claim("triage0run000000", ["triage"], 3, lease=10**6):
        store.fail(job.id, "triage0run000000", "TimeoutError: slow disk", None, None)
    return ids


def test_filter_bar(snap_compare, make_app, seeded, fixed_store):
    _fail_some(fixed_store)
    app = make_app(start_worker=False)

    async def ready(pilot):
        await wait_for(pilot, lambda: app.snapshot is not None)
        await pilot.press("slash")
        await pilot.press(*"state:failed handler:resize")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.snapshot.matching == 4)
        await wait_for(pilot, lambda: len(app._row_keys) == 4)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_failures_view(snap_compare, make_app, seeded, fixed_store):
    _fail_some(fixed_store)
    app = make_app(start_worker=False)

    async def ready(pilot):
        await wait_for(pilot, lambda: app.snapshot is not None)
        await pilot.press("F")
        await wait_for(pilot, lambda: getattr(app.screen, "groups", None) is not None)

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_bulk_confirmation(snap_compare, make_app, seeded, fixed_store):
    _fail_some(fixed_store)
    app = make_app(start_worker=False)

    async def ready(pilot):
        await wait_for(pilot, lambda: app.snapshot is not None)
        await pilot.press("slash")
        await pilot.press(*"handler:resize")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.snapshot.matching == 4)
        await pilot.press("A", "R")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))

    assert snap_compare(app, terminal_size=SIZE, run_before=ready)
