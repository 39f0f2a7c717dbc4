"""Dashboard behaviour driven through Pilot on a real database and worker."""

from __future__ import annotations

import time

from textual.widgets import DataTable

from jobq_tui.models import JobState
from jobq_tui.tui.audit import AuditScreen
from jobq_tui.tui.dialogs import ConfirmScreen, StatusScreen, WorkerControlsScreen
from jobq_tui.tui.help import HelpScreen
from jobq_tui.tui.job_detail import JobDetailScreen

from .conftest import banner_text, confirm, wait_for, worker_running, worker_stopped

SIZE = (120, 35)


async def test_start_key_shows_running_banner(make_app, seeded):
    app = make_app(start_worker=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: worker_stopped(app))
        assert "Job Worker is stopped" in banner_text(app)

        await pilot.press("s")
        await wait_for(pilot, lambda: worker_running(app))
        assert "● Job Worker is running" in banner_text(app)
        assert "2/2 threads" in banner_text(app)
        assert ("information", "Job Worker started") in app.notifications_shown


async def test_stop_confirmed_shows_stopped_banner(make_app, seeded):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: worker_running(app))

        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert app.screen.focused.id == "cancel"
        await pilot.press("tab", "enter")

        await wait_for(pilot, lambda: worker_stopped(app))
        assert "■ Job Worker is stopped" in banner_text(app)
        assert app.controller.service.state == "stopped"
        assert any(
            message.startswith("Job Worker stopped")
            for _, message in app.notifications_shown
        )


async def test_stop_cancelled_changes_nothing(make_app, seeded):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: worker_running(app))
        run_id = app.controller.service.status().run_id

        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("escape")
        await pilot.pause(0.3)

        status = app.controller.service.status()
        assert not isinstance(app.screen, ConfirmScreen)
        assert status.state == "running"
        assert status.run_id == run_id
        assert "Job Worker is running" in banner_text(app)
        assert app.controller.store.audit_entries() == []


async def test_restart_keeps_thread_count(make_app, seeded):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: worker_running(app))
        service = app.controller.service
        service.new_run_id = lambda: "restarted0000000"

        await pilot.press("r")
        await confirm(pilot, app)
        await wait_for(
            pilot,
            lambda: (
                worker_running(app) and app.snapshot.status.run_id == "restarted0000000"
            ),
        )

        status = service.status()
        assert status.threads_alive == 2
        assert status.threads_configured == 2
        assert "2/2 threads" in banner_text(app)


async def test_status_modal_lists_handlers_and_counts(make_app, seeded):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: worker_running(app))

        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, StatusScreen))
        report = app.screen.query_one("#status-report").render()
        text = str(report)

        assert "noop, procedure" in text
        assert "succeeded" in text
        assert "5e1f0a2b3c4d5e6f" in text
        assert app.screen.status.counts["failed"] == 1
        assert app.screen.status.counts["queued"] == 3


async def test_create_test_job_runs_to_succeeded(make_app, database):
    app = make_app(
        clock=time.time,
        queues=("default",),
        test_job={"steps": 3, "step_seconds": 0.05},
    )
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: worker_running(app))

        await pilot.press("t")
        await confirm(pilot, app)

        def succeeded_row_shown() -> bool:
            jobs = app.snapshot.jobs if app.snapshot else []
            return any(job.state is JobState.SUCCEEDED for job in jobs)

        await wait_for(pilot, succeeded_row_shown)
        job = app.snapshot.jobs[0]
        assert job.handler == "procedure"
        assert job.progress == 100
        table = app.query_one("#jobs", DataTable)
        assert "succeeded" in str(table.get_cell(str(job.id), "state"))


async def test_menu_offers_every_control(make_app, seeded):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: worker_running(app))
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, WorkerControlsScreen))

        options = app.screen.query_one("#controls-list")
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert ids == ["start", "stop", "restart", "status", "create_test_job"]

        await pilot.press("down", "down", "down", "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, StatusScreen))


async def test_read_only_stop_is_denied_and_audited(make_app, seeded):
    app = make_app(operators={"someone-else"})
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: worker_running(app))

        await pilot.press("x")
        await wait_for(
            pilot, lambda: any(s == "error" for s, _ in app.notifications_shown)
        )
        await pilot.pause(0.2)

        errors = [m for s, m in app.notifications_shown if s == "error"]
        assert "operator is not an operator" in errors[0]
        assert app.controller.service.state == "running"
        entries = app.controller.store.audit_entries()
        assert entries[0].action == "stop"
        assert entries[0].outcome == "denied"
        assert "read-only" in str(app.query_one("#controls-button").label)


async def test_table_shows_payload_escaped(make_app, seeded):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)
        table = app.query_one("#jobs", DataTable)
        cell = table.get_cell(str(seeded["hostile"]), "payload")

        assert "\x1b" not in cell.plain
        assert "\\u001b[2J" in cell.plain
        assert "[bo" in cell.plain
        assert cell.spans == []


async def test_refresh_keeps_cursor_on_same_job(make_app, seeded, fixed_store):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)
        table = app.query_one("#jobs", DataTable)
        await pilot.press("down", "down")
        selected = app._selected_key()

        new_id = fixed_store.enqueue("procedure", {"steps": 1}).job_id
        await wait_for(pilot, lambda: str(new_id) in app._row_keys)

        assert app._selected_key() == selected
        assert table.cursor_row == 3


async def test_enter_opens_job_detail_with_history(make_app, seeded):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)
        failed_index = app._row_keys.index(str(seeded["failed"]))
        app.query_one("#jobs", DataTable).move_cursor(row=failed_index)

        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        await wait_for(pilot, lambda: app.screen.detail is not None)

        text = str(app.screen.query_one("#detail-content").render())
        assert "FileNotFoundError" in text
        assert "claimed" in text
        assert "/srv/img/1.png" in text

        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, JobDetailScreen))


async def test_cancel_key_cancels_queued_job(make_app, seeded):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)
        index = app._row_keys.index(str(seeded["queued"]))
        app.query_one("#jobs", DataTable).move_cursor(row=index)

        await pilot.press("c")
        await confirm(pilot, app)
        await wait_for(
            pilot,
            lambda: (
                app.controller.store.get(seeded["queued"]).state is JobState.CANCELLED
            ),
        )
        assert (
            "information",
            f"Job {seeded['queued']} cancelled",
        ) in app.notifications_shown


async def test_state_key_filters_table(make_app, seeded):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)

        await pilot.press("5")
        await wait_for(pilot, lambda: app.state_filter is JobState.FAILED)
        await wait_for(pilot, lambda: app._row_keys == [str(seeded["failed"])])

        assert [job.state for job in app.snapshot.jobs] == [JobState.FAILED]


async def test_filter_text_narrows_rows(make_app, seeded):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)

        await pilot.press("slash")
        await pilot.press(*"resize")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app._row_keys == [str(seeded["failed"])])

        assert app.search == "resize"


async def test_pause_stops_refreshing(make_app, seeded, fixed_store):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)
        await pilot.press("p")
        await pilot.pause(0.3)

        new_id = fixed_store.enqueue("procedure", {"steps": 1}).job_id
        await pilot.pause(0.8)
        assert str(new_id) not in app._row_keys

        await pilot.press("ctrl+r")
        await wait_for(pilot, lambda: str(new_id) in app._row_keys)


async def test_help_lists_every_binding(make_app, seeded):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))

        text = str(app.screen.query_one("#help-text").render())
        for binding in app._bindings_list():
            assert binding.description in text


async def test_quit_stops_worker(make_app, seeded):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: worker_running(app))
        await pilot.press("q")
        await wait_for(pilot, lambda: app.controller.service.state == "stopped")
    assert app.return_code == 0


async def test_read_only_flag_disables_controls(make_app, seeded):
    app = make_app(read_only=True)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: worker_running(app))
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, WorkerControlsScreen))
        options = app.screen.query_one("#controls-list")
        disabled = {
            options.get_option_at_index(i).id: options.get_option_at_index(i).disabled
            for i in range(options.option_count)
        }
        reason = str(app.screen.query_one("#menu-reason").render())
        await pilot.press("escape")

        await pilot.press("t")
        await wait_for(
            pilot, lambda: any(s == "error" for s, _ in app.notifications_shown)
        )

        assert disabled["stop"] is True
        assert disabled["status"] is False
        assert "--read-only" in reason
        assert "--read-only" in app.notifications_shown[-1][1]
        assert app.controller.store.audit_entries()[0].outcome == "denied"
        assert app.controller.store.counts()[JobState.QUEUED] == 3


async def test_audit_screen_lists_entries(make_app, seeded):
    app = make_app(operators={"someone-else"})
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: worker_running(app))
        await pilot.press("x")
        await wait_for(pilot, lambda: app.controller.store.audit_entries() != [])

        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen))
        await wait_for(pilot, lambda: app.screen.entries is not None)

        table = app.screen.query_one("#audit", DataTable)
        assert table.row_count == 1
        assert "denied" in str(table.get_cell_at((0, 5)))
        assert str(table.get_cell_at((0, 3))) == "stop"


async def test_bracket_keys_page_through_jobs(make_app, seeded, fixed_store):
    fixed_store.enqueue_many("procedure", [{"n": n} for n in range(120)])
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: len(app._row_keys) == 100)
        newest = app._row_keys[0]

        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: len(app.page_cursors) == 2)
        await wait_for(pilot, lambda: len(app._row_keys) == 27)
        assert newest not in app._row_keys

        await pilot.press("left_square_bracket")
        await wait_for(pilot, lambda: app._row_keys[:1] == [newest])
        assert len(app.page_cursors) == 1


async def test_help_scrolls_to_last_line(make_app, seeded):
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        body = app.screen.query_one("#help-body")
        await pilot.press("end")
        await pilot.pause(0.2)
        body.scroll_end(animate=False)
        await pilot.pause(0.2)

        assert body.max_scroll_y > 0
        assert body.scroll_y == body.max_scroll_y
        assert body.virtual_size.height >= len(app._bindings_list())
