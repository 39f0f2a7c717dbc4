"""The audit screen: operator actions, allowed or denied, newest first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from ..store import AuditRecord
from .format import one_line, relative

if TYPE_CHECKING:
    from .app import JobqApp

PAGE_SIZE = 100

OUTCOME_STYLES = {
    "allowed": "cyan",
    "succeeded": "green",
    "denied": "bold red",
    "failed": "yellow",
}
OUTCOME_GLYPHS = {"allowed": "→", "succeeded": "✔", "denied": "⊘", "failed": "✖"}


class AuditScreen(Screen[None]):
    """A page of audit entries; `]` and `[` move to older and newer pages."""

    BINDINGS = [
        Binding("escape,q,a", "close", "Back", id="audit.back"),
        Binding(
            "right_square_bracket", "older", "Older", key_display="]", id="audit.older"
        ),
        Binding(
            "left_square_bracket", "newer", "Newer", key_display="[", id="audit.newer"
        ),
        Binding("ctrl+r", "reload", "Reload", id="audit.reload"),
    ]

    class Loaded(Message):
        def __init__(self, entries: list[AuditRecord] | None, error: str | None):
            super().__init__()
            self.entries = entries
            self.error = error

    def __init__(self) -> None:
        super().__init__()
        self.cursors: list[int | None] = [None]
        self.entries: list[AuditRecord] | None = None

    @property
    def jobq_app(self) -> JobqApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(
            Text("Audit log: every control action, newest first"), id="detail-title"
        )
        table: DataTable = DataTable(id="audit", cursor_type="row", zebra_stripes=True)
        for key, label, width in (
            ("when", "When", 8),
            ("user", "User", 12),
            ("host", "Host", 12),
            ("action", "Action", 15),
            ("target", "Target", 12),
            ("outcome", "Outcome", 11),
            ("message", "Message", 40),
        ):
            table.add_column(label, key=key, width=width)
        yield table
        yield Static(id="audit-status")
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="audit")
    def load(self) -> None:
        store = self.jobq_app.controller.store
        try:
            entries = store.audit_entries(limit=PAGE_SIZE, before_id=self.cursors[-1])
            self.post_message(self.Loaded(entries, None))
        except Exception as exc:  # noqa: BLE001 - shown on screen
            self.post_message(self.Loaded(None, f"{type(exc).__name__}: {exc}"))
        finally:
            store.db.close()

    def on_audit_screen_loaded(self, message: Loaded) -> None:
        if not self.is_attached:
            return
        status = self.query_one("#audit-status", Static)
        if message.error is not None:
            status.update(Text(f"▲ {message.error}"))
            return
        self.entries = message.entries
        table = self.query_one("#audit", DataTable)
        table.clear()
        now = self.jobq_app.now()
        for entry in message.entries:
            outcome = Text(
                f"{OUTCOME_GLYPHS.get(entry.outcome, '?')} {entry.outcome}",
                style=OUTCOME_STYLES.get(entry.outcome, ""),
            )
            table.add_row(
                Text(relative(entry.at, now)),
                Text(one_line(entry.username, 12)),
                Text(one_line(entry.host, 12)),
                Text(one_line(entry.action, 15)),
                Text(one_line(entry.target, 12)),
                outcome,
                Text(one_line(entry.message, 120)),
                key=str(entry.id),
            )
        shown = f"page {len(self.cursors)} · {len(message.entries)} entries"
        status.update(Text(shown + " · ] older · [ newer · escape back"))

    def action_close(self) -> None:
        self.dismiss(None)

    def action_reload(self) -> None:
        self.load()

    def action_older(self) -> None:
        if self.entries and len(self.entries) == PAGE_SIZE:
            self.cursors.append(self.entries[-1].id)
            self.load()

    def action_newer(self) -> None:
        if len(self.cursors) > 1:
            self.cursors.pop()
            self.load()
