"""The Failures view: failed jobs grouped by handler and error type."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from ..filters import JobFilter
from ..models import JobState
from ..store import FailureGroup
from .format import one_line, relative

if TYPE_CHECKING:
    from .app import JobqApp


class FailuresScreen(Screen[None]):
    """Largest groups first; R retries every job of the selected group."""

    BINDINGS = [
        Binding("escape,q,F", "close", "Back", id="failures.back"),
        Binding("R", "retry_group", "Retry group", id="failures.retry"),
        Binding("enter", "show_group", "Show jobs", id="failures.show"),
        Binding("ctrl+r", "reload", "Reload", id="failures.reload"),
    ]

    class Loaded(Message):
        def __init__(self, groups: list[FailureGroup] | None, error: str | None):
            super().__init__()
            self.groups = groups
            self.error = error

    def __init__(self) -> None:
        super().__init__()
        self.groups: list[FailureGroup] | None = None

    @property
    def jobq_app(self) -> JobqApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(
            Text("Failures: failed jobs by handler and error type"), id="detail-title"
        )
        table: DataTable = DataTable(
            id="failures", cursor_type="row", zebra_stripes=True
        )
        for key, label, width in (
            ("count", "Jobs", 9),
            ("handler", "Handler", 20),
            ("error", "Error type", 36),
            ("last", "Last failed", 12),
        ):
            table.add_column(label, key=key, width=width)
        yield table
        yield Static(
            Text(
                "R retries the group (confirmed) · enter lists its jobs · escape back"
            ),
            id="failures-status",
        )
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="failures")
    def load(self) -> None:
        store = self.jobq_app.controller.store
        try:
            self.post_message(self.Loaded(store.failure_groups(), None))
        except Exception as exc:  # noqa: BLE001 - shown on screen
            self.post_message(self.Loaded(None, f"{type(exc).__name__}: {exc}"))
        finally:
            store.db.close()

    def on_failures_screen_loaded(self, message: Loaded) -> None:
        if not self.is_attached:
            return
        if message.error is not None:
            self.query_one("#failures-status", Static).update(
                Text(f"▲ {message.error}")
            )
            return
        self.groups = message.groups
        table = self.query_one("#failures", DataTable)
        selected = table.cursor_row
        table.clear()
        now = self.jobq_app.now()
        for index, group in enumerate(message.groups):
            table.add_row(
                Text(f"{group.count:,}", justify="right"),
                Text(one_line(group.handler, 20)),
                Text(one_line(group.error_type or "(no message)", 36), style="red"),
                Text(relative(group.last_failed_at, now)),
                key=str(index),
            )
        if message.groups:
            row = min(max(selected, 0), len(message.groups) - 1)
            table.move_cursor(row=row, scroll=False)
        self.set_timer(self.jobq_app.refresh_interval * 2, self.load)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_show_group()

    def selected_filter(self) -> JobFilter | None:
        table = self.query_one("#failures", DataTable)
        if not self.groups or not 0 <= table.cursor_row < len(self.groups):
            self.jobq_app.notify_text("Select a group first", "warning")
            return None
        group = self.groups[table.cursor_row]
        return JobFilter(
            state=JobState.FAILED,
            handler=group.handler,
            error=group.error_type or None,
        )

    def action_retry_group(self) -> None:
        job_filter = self.selected_filter()
        if job_filter is not None:
            self.jobq_app.request_filter_bulk("retry", job_filter)

    def action_show_group(self) -> None:
        job_filter = self.selected_filter()
        if job_filter is not None:
            self.dismiss(None)
            self.jobq_app.apply_filter(job_filter)

    def action_reload(self) -> None:
        self.load()

    def action_close(self) -> None:
        self.dismiss(None)
