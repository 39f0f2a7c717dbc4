"""The jobq dashboard: worker banner, state tabs, live job table, controls.

Database reads run in thread workers that post messages. The next refresh
is scheduled only after the previous one was applied, so a slow database
never stacks refreshes. Control actions go through the Controller.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from collections.abc import Callable

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal
from textual.css.query import NoMatches
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Button, DataTable, Footer, Input, Static, Tab, Tabs

from ..control import Controller, Outcome
from ..errors import JobqError
from ..filters import JobFilter, parse_filter
from ..models import JobState
from ..store import JobSummary
from ..views import DashboardSnapshot, read_snapshot
from .audit import AuditScreen
from .banner import BannerView, banner_view
from .dialogs import ConfirmScreen, StatusScreen, WorkerControlsScreen
from .failures import FailuresScreen
from .format import (
    STATE_GLYPHS,
    duration,
    one_line,
    plural,
    progress_bar,
    state_label,
)
from .help import HelpScreen
from .job_detail import JobDetailScreen
from .queues import QueuesScreen
from .triage import TriageActions
from .workers import WorkersScreen

logger = logging.getLogger(__name__)

PAGE_SIZE = 100

# After a hang-up, running jobs get this long before they go back to the
# queue, and Textual this much longer to shut down before the process exits.
HANGUP_DRAIN_SECONDS = 0.5
HANGUP_GRACE_SECONDS = 0.2

STATE_TABS: tuple[tuple[str, JobState | None], ...] = (
    ("all", None),
    ("queued", JobState.QUEUED),
    ("running", JobState.RUNNING),
    ("succeeded", JobState.SUCCEEDED),
    ("failed", JobState.FAILED),
    ("cancelled", JobState.CANCELLED),
)

# (key, label, width): fixed widths keep columns still while values change, and
# add up to a 120-column terminal; narrower ones scroll sideways.
COLUMNS = (
    ("id", "ID", 6),
    ("state", "State", 12),
    ("handler", "Handler", 14),
    ("tries", "Tries", 5),
    ("progress", "Progress", 10),
    ("created", "Created", 8),
    ("took", "Took", 5),
    ("payload", "Payload", 24),
    ("error", "Error", 16),
)

STATE_STYLES = {
    JobState.QUEUED: "cyan",
    JobState.RUNNING: "bold yellow",
    JobState.SUCCEEDED: "green",
    JobState.FAILED: "bold red",
    JobState.CANCELLED: "magenta",
}


class JobqApp(TriageActions, App[int]):
    """The dashboard. Build it with a Controller; it never runs SQL itself."""

    CSS_PATH = "app.tcss"
    TITLE = "jobq"
    ENABLE_COMMAND_PALETTE = True

    BINDINGS = [
        Binding("w", "worker_controls", "Worker Controls", id="controls"),
        Binding("s", "start_worker", "Start worker", show=False, id="start"),
        Binding("x", "stop_worker", "Stop worker", show=False, id="stop"),
        Binding("r", "restart_worker", "Restart worker", show=False, id="restart"),
        Binding("i", "check_status", "Check Status", id="status"),
        Binding("t", "create_test_job", "Create Test Job", id="test-job"),
        Binding("c", "cancel_job", "Cancel job", show=False, id="cancel-job"),
        Binding("R", "retry_job", "Retry job", show=False, id="retry-job"),
        Binding("slash", "filter", "Filter", id="filter"),
        Binding("space", "toggle_mark", "Mark job", show=False, id="mark"),
        Binding("A", "mark_all", "Mark all matching", show=False, id="mark-all"),
        Binding("D", "delete_jobs", "Delete jobs", show=False, id="delete-jobs"),
        Binding("Q", "queues", "Queues", show=False, id="queues"),
        Binding("F", "failures", "Failures", show=False, id="failures"),
        Binding("P", "prune", "Prune old jobs", show=False, id="prune"),
        Binding("T", "toggle_times", "Toggle clock times", show=False, id="times"),
        Binding("p", "toggle_pause", "Pause refresh", show=False, id="pause"),
        Binding("ctrl+r", "refresh_now", "Refresh now", show=False, id="refresh"),
        Binding(
            "right_square_bracket",
            "next_page",
            "Older page",
            show=False,
            key_display="]",
            id="next-page",
        ),
        Binding(
            "left_square_bracket",
            "previous_page",
            "Newer page",
            show=False,
            key_display="[",
            id="prev-page",
        ),
        *[
            Binding(
                str(number),
                f"show_state('{name}')",
                f"Show {name} jobs",
                show=False,
                id=f"tab-{name}",
            )
            for number, (name, _) in enumerate(STATE_TABS, start=1)
        ],
        Binding("v", "workers", "Workers", id="workers"),
        Binding("a", "audit", "Audit log", id="audit"),
        Binding("question_mark", "help", "Help", id="help"),
        Binding("q", "quit_app", "Quit", id="quit"),
    ]

    class DataLoaded(Message):
        """A refresh finished: a snapshot, or the error that stopped it."""

        def __init__(self, snapshot: DashboardSnapshot | None, error: str | None):
            super().__init__()
            self.snapshot = snapshot
            self.error = error

    class ControlFinished(Message):
        """A control action finished in its thread worker."""

        def __init__(self, action: str, outcome: Outcome, after: Callable | None):
            super().__init__()
            self.action = action
            self.outcome = outcome
            self.after = after

    def __init__(
        self,
        controller: Controller,
        *,
        refresh_interval: float = 1.0,
        clock: Callable[[], float] = time.time,
        start_worker: bool = True,
    ):
        super().__init__()
        self.controller = controller
        self.refresh_interval = refresh_interval
        self.clock = clock
        self.start_worker_on_mount = start_worker
        self.snapshot: DashboardSnapshot | None = None
        self.load_error: str | None = None
        self.updated_at: float | None = None
        self.busy_action: str | None = None
        self.paused = False
        self.state_filter: JobState | None = None
        self.search: str | None = None
        self.job_filter: JobFilter | None = None
        self.marked: set[int] = set()
        self.mark_all = False
        self.absolute_times = False
        self.bulk_running: str | None = None
        self.page_cursors: list[int | None] = [None]
        self.hangup = False
        self.banner: BannerView | None = None
        self.notifications_shown: list[tuple[str, str]] = []
        self._refresh_timer: Timer | None = None
        self._row_keys: list[str] = []
        self._cells: dict[tuple[str, str], object] = {}

    # -- layout ----------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Horizontal(id="banner-row"):
            yield Static(id="banner")
            yield Button(self._controls_label(), id="controls-button", compact=True)
        yield Tabs(
            *[
                Tab(self._tab_label(name, None), id=f"tab-{name}")
                for name, _ in STATE_TABS
            ],
            id="state-tabs",
        )
        yield Input(
            placeholder="state:failed handler:X queue:Y error:Z text (enter applies)",
            id="filter",
        )
        table: DataTable = DataTable(id="jobs", cursor_type="row", zebra_stripes=True)
        for key, label, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        yield table
        yield Static(id="table-status")
        yield Footer()

    def on_mount(self) -> None:
        self._install_signal_handlers()
        self.query_one("#filter", Input).display = False
        self.query_one("#jobs", DataTable).focus()
        self._update_banner()
        if self.controller.service is not None and self.start_worker_on_mount:
            self.busy_action = "start"
            self._start_own_worker()
        self.refresh_data()
        self.set_interval(1.0, self._update_banner, name="banner-age")

    def now(self) -> float:
        return self.clock()

    # -- data refresh ------------------------------------------------------------

    @work(thread=True, exclusive=True, group="refresh")
    def refresh_data(self) -> None:
        store = self.controller.store
        try:
            snapshot = read_snapshot(
                store,
                self.controller.service,
                state=self.state_filter,
                before_id=self.page_cursors[-1],
                limit=PAGE_SIZE,
                job_filter=self.job_filter,
            )
            self.post_message(self.DataLoaded(snapshot, None))
        except Exception as exc:  # noqa: BLE001 - shown in the banner, retried
            logger.warning("dashboard refresh failed: %s", exc)
            self.post_message(self.DataLoaded(None, f"{type(exc).__name__}: {exc}"))
        finally:
            store.db.close()

    def on_jobq_app_data_loaded(self, message: DataLoaded) -> None:
        try:
            if message.snapshot is not None:
                self.snapshot = message.snapshot
                self.load_error = None
                self.updated_at = self.now()
                self._apply_snapshot(message.snapshot)
            else:
                self.load_error = message.error
            self._update_banner()
        except NoMatches:
            # A refresh that lands while the app shuts down finds no widgets.
            return
        self._schedule_refresh()

    def _schedule_refresh(self) -> None:
        if self._refresh_timer is not None:
            self._refresh_timer.stop()
            self._refresh_timer = None
        if not self.paused:
            self._refresh_timer = self.set_timer(
                self.refresh_interval, self.refresh_data
            )

    def _apply_snapshot(self, snapshot: DashboardSnapshot) -> None:
        tabs = self.query_one("#state-tabs", Tabs)
        for name, _ in STATE_TABS:
            tab = tabs.query_one(f"#tab-{name}", Tab)
            label = self._tab_label(name, snapshot)
            if str(tab.label) != label:
                tab.label = label
        self._apply_jobs(snapshot.jobs)
        self._update_table_status()

    def _apply_jobs(self, jobs: list[JobSummary]) -> None:
        table = self.query_one("#jobs", DataTable)
        now = self.now()
        keys = [str(job.id) for job in jobs]
        rows = {str(job.id): self._row_cells(job, now) for job in jobs}

        if keys == self._row_keys:
            for key in keys:
                for (column, _, _), value in zip(COLUMNS, rows[key], strict=True):
                    if self._cells.get((key, column)) != value:
                        table.update_cell(key, column, value)
                        self._cells[(key, column)] = value
            return

        selected = self._selected_key()
        old_index = table.cursor_row
        scroll_y = table.scroll_y
        table.clear()
        self._cells.clear()
        for key in keys:
            table.add_row(*rows[key], key=key)
            for (column, _, _), value in zip(COLUMNS, rows[key], strict=True):
                self._cells[(key, column)] = value
        self._row_keys = keys
        if not keys:
            return
        if selected in keys:
            table.move_cursor(row=keys.index(selected), scroll=False)
        else:
            table.move_cursor(row=min(max(old_index, 0), len(keys) - 1), scroll=False)
        table.scroll_to(y=scroll_y, animate=False, immediate=True)

    def _row_cells(self, job: JobSummary, now: float) -> tuple:
        state = Text(state_label(job.state), style=STATE_STYLES[job.state])
        if job.cancel_requested and job.state is JobState.RUNNING:
            state = Text("▶ cancelling", style=STATE_STYLES[job.state])
        took = (
            "-"
            if job.state is JobState.QUEUED
            else duration(job.started_at, job.finished_at, now)
        )
        mark = "● " if job.id in self.marked or self.mark_all else ""
        return (
            Text(f"{mark}{job.id}", justify="right"),
            state,
            Text(one_line(job.handler, 14)),
            Text(f"{job.attempts}/{job.max_attempts}"),
            Text(progress_bar(job.progress, 5)),
            Text(self._time_text(job.created_at, now)),
            Text(took),
            Text(one_line(job.payload_preview, 24)),
            Text(one_line(job.error_preview, 16), style="red"),
        )

    def _tab_label(self, name: str, snapshot: DashboardSnapshot | None) -> str:
        if name == "all":
            total = sum(snapshot.counts.values()) if snapshot else None
            return f"All {total:,}" if total is not None else "All"
        state = JobState(name)
        count = snapshot.counts.get(state, 0) if snapshot else None
        shown = f" {count:,}" if count is not None else ""
        return f"{STATE_GLYPHS[state]} {name.capitalize()}{shown}"

    def _update_table_status(self) -> None:
        snapshot = self.snapshot
        parts = [f"page {len(self.page_cursors)}"]
        if snapshot is not None:
            parts.append(plural(len(snapshot.jobs), "row", "rows"))
            if snapshot.has_more:
                parts.append("] older page")
        if len(self.page_cursors) > 1:
            parts.append("[ newer page")
        if self.search:
            parts.append(f"filter: {one_line(self.search, 30)}")
            if snapshot is not None and snapshot.matching is not None:
                parts.append(f"{snapshot.matching:,} match")
        if self.mark_all:
            parts.append("all matching marked")
        elif self.marked:
            parts.append(f"{len(self.marked):,} marked")
        if snapshot is not None and snapshot.paused_queues:
            parts.append("⏸ paused: " + ", ".join(snapshot.paused_queues))
        if self.bulk_running:
            parts.append(self.bulk_running)
        if self.paused:
            parts.append("⏸ refresh paused (p resumes)")
        self.query_one("#table-status", Static).update(Text("  ·  ".join(parts)))

    def _update_banner(self) -> None:
        try:
            self._show_banner()
        except NoMatches:
            return

    def _show_banner(self) -> None:
        snapshot = self.snapshot
        view = banner_view(
            snapshot.status if snapshot else None,
            now=self.now(),
            updated_at=self.updated_at,
            has_worker=self.controller.service is not None,
            busy_action=self.busy_action,
            error=self.load_error,
            stale_after=max(5.0, self.refresh_interval * 5)
            if not self.paused
            else float("inf"),
        )
        self.banner = view
        banner = self.query_one("#banner", Static)
        banner.update(Text(view.text))
        banner.set_classes(view.style_class)
        button = self.query_one("#controls-button", Button)
        button.disabled = self.busy_action is not None
        button.label = self._controls_label()

    def _controls_label(self) -> str:
        if not self.controller.can_control:
            return "Controls: read-only (w)"
        return "Worker Controls (w)"

    def _selected_key(self) -> str | None:
        table = self.query_one("#jobs", DataTable)
        if not self._row_keys or table.cursor_row < 0:
            return None
        if table.cursor_row >= len(self._row_keys):
            return None
        return self._row_keys[table.cursor_row]

    # -- navigation ----------------------------------------------------------------

    @on(Tabs.TabActivated, "#state-tabs")
    def _tab_changed(self, event: Tabs.TabActivated) -> None:
        name = (event.tab.id or "tab-all").removeprefix("tab-")
        state = dict(STATE_TABS)[name]
        if state != self.state_filter:
            self.state_filter = state
            self.page_cursors = [None]
            self.action_refresh_now()

    def action_show_state(self, name: str) -> None:
        self.query_one("#state-tabs", Tabs).active = f"tab-{name}"

    def action_next_page(self) -> None:
        if (
            self.snapshot is None
            or not self.snapshot.has_more
            or not self.snapshot.jobs
        ):
            self.notify_text("No older jobs on this view", "warning")
            return
        self.page_cursors.append(self.snapshot.jobs[-1].id)
        self.action_refresh_now()

    def action_previous_page(self) -> None:
        if len(self.page_cursors) == 1:
            self.notify_text("Already on the newest page", "warning")
            return
        self.page_cursors.pop()
        self.action_refresh_now()

    def action_toggle_pause(self) -> None:
        self.paused = not self.paused
        if self.paused:
            if self._refresh_timer is not None:
                self._refresh_timer.stop()
                self._refresh_timer = None
            self.notify_text(
                "Refresh paused; p resumes, ctrl+r refreshes once", "information"
            )
        else:
            self.notify_text("Refresh resumed", "information")
            self.action_refresh_now()
        self._update_table_status()

    def action_refresh_now(self) -> None:
        if self._refresh_timer is not None:
            self._refresh_timer.stop()
            self._refresh_timer = None
        self.refresh_data()

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.display = True
        box.value = self.search or ""
        box.focus()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        typed = event.value.strip()
        try:
            job_filter = parse_filter(typed) if typed else None
        except JobqError as exc:
            self.notify_text(str(exc), "error")
            return
        self.search = typed or None
        self.job_filter = job_filter
        self.page_cursors = [None]
        self.mark_all = False
        event.input.display = bool(self.search)
        self.query_one("#jobs", DataTable).focus()
        self.action_refresh_now()

    def on_key(self, event) -> None:
        box = self.query_one("#filter", Input)
        if event.key == "escape" and box.has_focus:
            box.value = ""
            box.display = False
            event.stop()
            self.query_one("#jobs", DataTable).focus()
            if self.search:
                self.search = None
                self.job_filter = None
                self.mark_all = False
                self.page_cursors = [None]
                self.action_refresh_now()

    @on(DataTable.RowSelected, "#jobs")
    def _open_job(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id != "jobs":
            return
        if event.row_key.value is not None:
            self.push_screen(JobDetailScreen(int(event.row_key.value)))

    # -- worker controls -----------------------------------------------------------

    @on(Button.Pressed, "#controls-button")
    def _controls_pressed(self) -> None:
        self.action_worker_controls()

    def action_worker_controls(self) -> None:
        allowed, reason = self.controller.permission()

        def chosen(action: str | None) -> None:
            if action is not None:
                self.request_control(action)

        self.push_screen(WorkerControlsScreen(allowed, reason), chosen)

    def action_start_worker(self) -> None:
        self.request_control("start")

    def action_stop_worker(self) -> None:
        self.request_control("stop")

    def action_restart_worker(self) -> None:
        self.request_control("restart")

    def action_check_status(self) -> None:
        self.request_control("status")

    def action_create_test_job(self) -> None:
        self.request_control("create_test_job")

    def request_control(self, action: str) -> None:
        """Confirm where needed, then run a control action in a thread worker."""
        if self.busy_action is not None:
            self.notify_text(
                f"Wait: {self.busy_action} is still in progress", "warning"
            )
            return
        if action != "status" and not self.controller.can_control:
            # Run it anyway so the controller records the denied attempt.
            self._run_control(action)
            return

        status = self.snapshot.status if self.snapshot else None
        running_here = len(status.running_jobs) if status else 0
        drain = self._drain_timeout()
        if action in ("stop", "restart") and status is not None and status.is_running:
            verb = "Stop" if action == "stop" else "Restart"
            if running_here == 1:
                detail = (
                    f"1 job is running; it gets {drain:g} s to finish, then goes "
                    "back to the queue."
                )
            elif running_here:
                detail = (
                    f"{running_here} jobs are running; they get {drain:g} s to "
                    "finish, then go back to the queue."
                )
            else:
                detail = "No job is running in this worker."
            follow = (
                " The worker claims no new jobs until you start it again."
                if action == "stop"
                else " A new worker run starts right after."
            )
            self._confirm(f"{verb} the Job Worker?", detail + follow, verb, action)
            return
        if action == "create_test_job":
            steps = self.controller.test_job.get("steps", 5)
            seconds = steps * self.controller.test_job.get("step_seconds", 0.5)
            self._confirm(
                "Create a test job?",
                f"This adds a 'procedure' job ({steps} steps, about {seconds:g} s) to "
                "the live queue 'default'; any running worker will pick it up.",
                "Create",
                action,
                danger=False,
            )
            return
        self._run_control(action)

    def _confirm(
        self, title: str, message: str, label: str, action: str, danger: bool = True
    ) -> None:
        def decided(confirmed: bool | None) -> None:
            if confirmed:
                self._run_control(action)
            else:
                self.notify_text(f"{label} cancelled; nothing changed", "information")

        self.push_screen(ConfirmScreen(title, message, label, danger=danger), decided)

    def _drain_timeout(self) -> float:
        service = self.controller.service
        return service.config.drain_timeout if service is not None else 0.0

    def _run_control(
        self, action: str, *, after: Callable | None = None, **kwargs
    ) -> None:
        if action in ("start", "stop", "restart") and self.controller.can_control:
            self.busy_action = action
            self._update_banner()
        self._control_worker(action, after, kwargs)

    @work(thread=True, group="control")
    def _control_worker(
        self, action: str, after: Callable | None, kwargs: dict
    ) -> None:
        method = getattr(self.controller, action)
        try:
            outcome = method(**kwargs)
        finally:
            self.controller.store.db.close()
        self.post_message(self.ControlFinished(action, outcome, after))

    @work(thread=True, group="control")
    def _start_own_worker(self) -> None:
        service = self.controller.service
        try:
            service.start()
            outcome = Outcome.success("Job Worker started")
        except Exception as exc:  # noqa: BLE001 - shown to the user
            outcome = Outcome.error(f"Job Worker failed to start: {exc}")
        finally:
            self.controller.store.db.close()
        self.post_message(self.ControlFinished("start", outcome, None))

    def on_jobq_app_control_finished(self, message: ControlFinished) -> None:
        if message.action in ("start", "stop", "restart"):
            self.busy_action = None
        self.show_outcome(message.outcome)
        if message.action == "status" and message.outcome.ok:
            self.push_screen(StatusScreen(message.outcome.data, now=self.now()))
        if message.after is not None:
            message.after()
        self._update_banner()
        self.action_refresh_now()

    def show_outcome(self, outcome: Outcome) -> None:
        self.notify_text(outcome.message, outcome.severity)

    def notify_text(self, message: str, severity: str) -> None:
        """Show a notification without markup and remember it for tests."""
        self.notifications_shown.append((severity, message))
        self.notify(message, severity=severity, markup=False, timeout=6)

    # -- job actions ---------------------------------------------------------------

    def action_cancel_job(self) -> None:
        if self.marked or self.mark_all:
            self.request_bulk("cancel")
            return
        key = self._selected_key()
        if key is None:
            self.notify_text("Select a job first", "warning")
            return
        self.confirm_cancel_job(int(key))

    def action_retry_job(self) -> None:
        if self.marked or self.mark_all:
            self.request_bulk("retry")
            return
        key = self._selected_key()
        if key is None:
            self.notify_text("Select a job first", "warning")
            return
        job = next((j for j in self.snapshot.jobs if str(j.id) == key), None)
        if job is not None and job.state not in (JobState.FAILED, JobState.CANCELLED):
            self.notify_text(
                f"Job {key} is {job.state.value}: only failed or cancelled jobs "
                "can be retried",
                "warning",
            )
            return
        self.confirm_retry_job(int(key))

    def confirm_cancel_job(self, job_id: int, after: Callable | None = None) -> None:
        if not self.controller.can_control:
            self._run_control("cancel", after=after, job_id=job_id)
            return

        def decided(confirmed: bool | None) -> None:
            if confirmed:
                self._run_control("cancel", after=after, job_id=job_id)

        self.push_screen(
            ConfirmScreen(
                f"Cancel job {job_id}?",
                "A queued job will never start; a running job's handler is asked "
                "to stop at its next check.",
                "Cancel job",
                dismiss_label="Keep job",
            ),
            decided,
        )

    def confirm_retry_job(self, job_id: int, after: Callable | None = None) -> None:
        if not self.controller.can_control:
            self._run_control("retry", after=after, job_id=job_id)
            return

        def decided(confirmed: bool | None) -> None:
            if confirmed:
                self._run_control("retry", after=after, job_id=job_id)

        self.push_screen(
            ConfirmScreen(
                f"Retry job {job_id}?",
                "The job goes back to the queue with a fresh attempt count.",
                "Retry",
                danger=False,
            ),
            decided,
        )

    class BulkProgress(Message):
        """A bulk action finished another batch."""

        def __init__(self, text: str | None):
            super().__init__()
            self.text = text

    def on_jobq_app_bulk_progress(self, message: BulkProgress) -> None:
        self.bulk_running = message.text
        if message.text is None:
            self.marked.clear()
            self.mark_all = False
        self._update_table_status()

    # -- help, palette, quit -------------------------------------------------------

    def action_workers(self) -> None:
        self.push_screen(WorkersScreen())

    def action_audit(self) -> None:
        self.push_screen(AuditScreen())

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.help_sections()))

    def help_sections(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """Build the help text from the bindings the footer and palette use."""
        main = [
            (self.get_key_display(binding), binding.description)
            for binding in self._bindings_list()
        ]
        table = [
            ("↑ ↓", "Move through jobs"),
            ("enter", "Open the job's detail (c cancels, R retries, escape returns)"),
            ("ctrl+p", "Command palette: every action by name"),
        ]
        views = [
            ("Job detail (enter)", JobDetailScreen),
            ("Workers view (v)", WorkersScreen),
            ("Queues view (Q)", QueuesScreen),
            ("Failures view (F)", FailuresScreen),
            ("Audit log (a)", AuditScreen),
        ]
        sections = [("Dashboard", main), ("Job table", table)]
        for title, screen in views:
            rows = [
                (
                    binding.key_display or binding.key.replace(",", " "),
                    binding.description,
                )
                for binding in screen.BINDINGS
                if isinstance(binding, Binding)
            ]
            sections.append((title, rows))
        return sections

    def _bindings_list(self) -> list[Binding]:
        return [binding for binding in self.BINDINGS if isinstance(binding, Binding)]

    def get_system_commands(self, screen: Screen) -> list[SystemCommand]:
        commands = list(super().get_system_commands(screen))
        for binding in self._bindings_list():
            if binding.action.startswith("show_state"):
                continue
            commands.append(
                SystemCommand(
                    binding.description,
                    f"Key: {self.get_key_display(binding)}",
                    lambda action=binding.action: self.run_action(action),
                )
            )
        return commands

    def action_quit_app(self) -> None:
        service = self.controller.service
        running = service.running_job_count() if service is not None else 0
        if running == 0:
            self._quit_after_stop()
            return

        def decided(confirmed: bool | None) -> None:
            if confirmed:
                self._quit_after_stop()

        self.push_screen(
            ConfirmScreen(
                "Quit jobq?",
                f"{plural(running, 'job is', 'jobs are')} running in this "
                "process. Quitting stops the worker: they get "
                f"{self._drain_timeout():g} s to finish, then go back to the queue.",
                "Quit",
            ),
            decided,
        )

    def _quit_after_stop(self) -> None:
        service = self.controller.service
        if service is None or service.state == "stopped":
            self.exit(0)
            return
        self.busy_action = "stop"
        self._update_banner()
        self._stop_then_exit()

    @work(thread=True, group="quit")
    def _stop_then_exit(self) -> None:
        try:
            self.controller.service.stop()
        finally:
            self.controller.store.db.close()
        self.call_from_thread(self.exit, 0)

    def _install_signal_handlers(self) -> None:
        try:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGHUP, signal.SIGTERM):
                loop.add_signal_handler(sig, self._on_hangup)
        except (RuntimeError, NotImplementedError, ValueError):
            logger.debug("signal handlers not installed (not the main thread)")

    def _on_hangup(self) -> None:
        logger.warning("terminal hung up or SIGTERM: leaving the dashboard")
        self.hangup = True
        threading.Thread(
            target=self._leave_after_hangup, name="jobq-hangup", daemon=True
        ).start()
        self.exit(0)

    def _leave_after_hangup(self) -> None:
        """Release running jobs, then end the process if shutdown stalls.

        Textual's shutdown writes to the terminal. With the terminal gone it
        was seen to block for good (about one hang-up in six in tmux tests),
        so the process must not wait for it.
        """
        service = self.controller.service
        if service is not None:
            service.stop(timeout=HANGUP_DRAIN_SECONDS)
        time.sleep(HANGUP_GRACE_SECONDS)
        logger.warning("dashboard shutdown stalled after hang-up: exiting now")
        logging.shutdown()
        os._exit(0)
