"""Triage in the dashboard: filter tokens, marks, bulk actions, queues, failures."""

from __future__ import annotations

import time

from textual.widgets import DataTable

from jobq_tui.models import JobState
from jobq_tui.tui.failures import FailuresScreen
from jobq_tui.tui.queues import QueuesScreen

from .conftest import confirm, wait_for, worker_running

SIZE = (120, 35)


def fail_jobs(store, handler: str, error: str, count: int) -> list[int]:
    ids = store.enqueue_many(
        handler, [{"n": n} for n in range(count)], max_attempts=1, queue="triage"
    )
    for job in store.claim("triage0run000000", ["triage"], count, lease=10**6):
        store.fail(job.id, "triage0run000000", error, None, retry_delay=None)
    return ids


async def test_filter_tokens_show_match_count(make_app, seeded, fixed_store):
    fail_jobs(fixed_store, "resize", "TimeoutError: slow disk", 3)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)

        await pilot.press("slash")
        await pilot.press(*"state:failed handler:resize error:Timeout")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.snapshot.matching == 3)

        assert len(app._row_keys) == 3
        assert {job.handler for job in app.snapshot.jobs} == {"resize"}
        status = str(app.query_one("#table-status").render())
        assert "3 match" in status


async def test_invalid_filter_is_reported(make_app, seeded):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)
        await pilot.press("slash")
        await pilot.press(*"state:broken")
        await pilot.press("enter")
        await pilot.pause(0.2)

        errors = [m for s, m in app.notifications_shown if s == "error"]
        assert "unknown state 'broken'" in errors[-1]
        assert app.job_filter is None


async def test_marked_jobs_bulk_retry_confirmed(make_app, seeded, fixed_store):
    failed = fail_jobs(fixed_store, "resize", "OSError: gone", 2)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)
        table = app.query_one("#jobs", DataTable)
        for job_id in failed:
            table.move_cursor(row=app._row_keys.index(str(job_id)))
            await pilot.press("space")
        assert app.marked == set(failed)

        await pilot.press("R")
        title = await confirm(pilot, app)
        await wait_for(
            pilot,
            lambda: all(fixed_store.get(i).state is JobState.QUEUED for i in failed),
        )

        assert title == "Retry 2 marked jobs?"
        entry = fixed_store.audit_entries(limit=1)[0]
        assert entry.action == "bulk_retry"
        assert entry.target == "2 marked jobs"
        assert "2 jobs queued again" in entry.message
        await wait_for(pilot, lambda: not app.marked)


async def test_mark_all_matching_bulk_cancel(make_app, seeded, fixed_store):
    queued = fixed_store.enqueue_many("mail", [{"n": n} for n in range(30)])
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)
        await pilot.press("slash")
        await pilot.press(*"handler:mail")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.snapshot.matching == 30)

        await pilot.press("A")
        await pilot.press("c")
        title = await confirm(pilot, app)
        await wait_for(
            pilot,
            lambda: (
                fixed_store.count_matching(
                    app.job_filter.with_state(JobState.CANCELLED)
                )
                == 30
            ),
        )

        assert title == "Cancel 30 queued or running jobs?"
        assert fixed_store.get(queued[0]).state is JobState.CANCELLED
        assert fixed_store.audit_entries(limit=1)[0].target == "filter handler:mail"


async def test_paused_queue_waits_for_resume(make_app, database):
    app = make_app(clock=time.time, queues=("default",))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: worker_running(app))
        store = app.controller.store
        store.set_queue_paused("default", True, "test")
        job_id = store.enqueue("noop").job_id
        app.controller.service.wake()
        await pilot.pause(1.0)
        assert store.get(job_id).state is JobState.QUEUED

        await pilot.press("Q")
        await wait_for(pilot, lambda: isinstance(app.screen, QueuesScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen.queue_rows is not None)
        names = [queue.name for queue in screen.queue_rows]
        screen.query_one("#queues", DataTable).move_cursor(row=names.index("default"))
        assert screen.queue_rows[names.index("default")].paused

        await pilot.press("p")
        await wait_for(pilot, lambda: store.paused_queues() == [])
        await wait_for(pilot, lambda: store.get(job_id).state is JobState.SUCCEEDED)
        assert ("information", "Queue default resumed") in app.notifications_shown


async def test_pause_queue_from_view_is_confirmed(make_app, seeded, fixed_store):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)
        await pilot.press("Q")
        await wait_for(pilot, lambda: isinstance(app.screen, QueuesScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen.queue_rows is not None)

        await pilot.press("p")
        await confirm(pilot, app)
        await wait_for(pilot, lambda: fixed_store.paused_queues() == ["default"])
        assert fixed_store.audit_entries(limit=1)[0].action == "pause_queue"


async def test_failures_view_retries_group(make_app, seeded, fixed_store):
    timeouts = fail_jobs(fixed_store, "resize", "TimeoutError: slow disk", 4)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)
        await pilot.press("F")
        await wait_for(pilot, lambda: isinstance(app.screen, FailuresScreen))
        screen = app.screen
        await wait_for(pilot, lambda: screen.groups is not None)
        top = screen.groups[0]
        assert (top.handler, top.error_type, top.count) == ("resize", "TimeoutError", 4)

        await pilot.press("R")
        title = await confirm(pilot, app)
        await wait_for(
            pilot,
            lambda: all(fixed_store.get(i).state is JobState.QUEUED for i in timeouts),
        )
        assert title == "Retry 4 failed or cancelled jobs?"
        assert fixed_store.get(seeded["failed"]).state is JobState.FAILED


async def test_prune_dialog_prunes_old_jobs(make_app, seeded, fixed_store):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)
        await pilot.press("P")
        await pilot.pause(0.2)
        box = app.screen.query_one("#prune-days")
        box.value = "0"
        await pilot.press("tab", "tab", "enter")
        await wait_for(pilot, lambda: fixed_store.audit_entries() != [])
        await wait_for(
            pilot, lambda: fixed_store.audit_entries(limit=1)[0].outcome != "allowed"
        )
        entry = fixed_store.audit_entries(limit=1)[0]
        assert entry.action == "prune"
        assert entry.outcome == "succeeded"


async def test_time_toggle_shows_clock_time(make_app, seeded):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)
        table = app.query_one("#jobs", DataTable)
        before = str(table.get_cell(app._row_keys[0], "created"))
        await pilot.press("T")
        await pilot.pause(0.2)
        after = str(table.get_cell(app._row_keys[0], "created"))

        assert before == "0s ago"
        assert after.count(":") == 2


async def test_failures_enter_lists_group(make_app, seeded, fixed_store):
    fail_jobs(fixed_store, "resize", "TimeoutError: slow disk", 2)
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)
        await pilot.press("F")
        await wait_for(pilot, lambda: isinstance(app.screen, FailuresScreen))
        await wait_for(pilot, lambda: app.screen.groups is not None)

        await pilot.press("enter")
        await wait_for(pilot, lambda: not isinstance(app.screen, FailuresScreen))
        await wait_for(pilot, lambda: app.snapshot.matching == 2)

        assert app.job_filter.handler == "resize"
        assert app.job_filter.error == "TimeoutError"
