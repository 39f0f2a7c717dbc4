"""The Queues view: counts and recent throughput per queue, pause and resume."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from ..control import Outcome
from ..store import QueueStats
from .dialogs import ConfirmScreen
from .format import one_line

if TYPE_CHECKING:
    from .app import JobqApp

SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: list[int]) -> str:
    """Draw counts oldest to newest as block characters scaled to the maximum."""
    peak = max(values) if values else 0
    if peak == 0:
        return SPARK[0] * len(values)
    return "".join(SPARK[min(7, value * 7 // peak)] for value in values)


class QueuesScreen(Screen[None]):
    """One row per queue; p pauses or resumes the selected queue."""

    BINDINGS = [
        Binding("escape,q,Q", "close", "Back", id="queues.back"),
        Binding("p", "toggle_pause", "Pause/resume queue", id="queues.pause"),
        Binding("ctrl+r", "reload", "Reload", id="queues.reload"),
    ]

    class Loaded(Message):
        def __init__(self, queues: list[QueueStats] | None, error: str | None):
            super().__init__()
            self.queues = queues
            self.error = error

    class Changed(Message):
        def __init__(self, outcome: Outcome):
            super().__init__()
            self.outcome = outcome

    def __init__(self) -> None:
        super().__init__()
        self.queue_rows: list[QueueStats] | None = None

    @property
    def jobq_app(self) -> JobqApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(
            Text("Queues: counts, jobs finished per minute, pause state"),
            id="detail-title",
        )
        table: DataTable = DataTable(id="queues", cursor_type="row", zebra_stripes=True)
        for key, label, width in (
            ("queue", "Queue", 18),
            ("state", "State", 10),
            ("queued", "Queued", 8),
            ("running", "Running", 8),
            ("failed", "Failed", 8),
            ("done", "Succeeded", 10),
            ("rate", "Last 10 min (oldest → now)", 28),
        ):
            table.add_column(label, key=key, width=width)
        yield table
        yield Static(
            Text("p pauses or resumes the selected queue · escape back"),
            id="queues-status",
        )
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="queues")
    def load(self) -> None:
        store = self.jobq_app.controller.store
        try:
            self.post_message(self.Loaded(store.queue_stats(), None))
        except Exception as exc:  # noqa: BLE001 - shown on screen, retried
            self.post_message(self.Loaded(None, f"{type(exc).__name__}: {exc}"))
        finally:
            store.db.close()

    def on_queues_screen_loaded(self, message: Loaded) -> None:
        if not self.is_attached:
            return
        if message.error is not None:
            self.query_one("#queues-status", Static).update(Text(f"▲ {message.error}"))
        else:
            self.queue_rows = message.queues
            self._fill(message.queues)
        self.set_timer(self.jobq_app.refresh_interval * 2, self.load)

    def _fill(self, queues: list[QueueStats]) -> None:
        table = self.query_one("#queues", DataTable)
        selected = table.cursor_row
        table.clear()
        for queue in queues:
            state = (
                Text("⏸ paused", style="yellow")
                if queue.paused
                else Text("▶ active", style="green")
            )
            recent = list(reversed(queue.per_minute))
            table.add_row(
                Text(one_line(queue.name, 18)),
                state,
                Text(f"{queue.counts['queued']:,}", justify="right"),
                Text(f"{queue.counts['running']:,}", justify="right"),
                Text(f"{queue.counts['failed']:,}", justify="right"),
                Text(f"{queue.counts['succeeded']:,}", justify="right"),
                Text(f"{sparkline(recent)} {sum(recent):,}"),
                key=queue.name,
            )
        if queues:
            table.move_cursor(row=min(max(selected, 0), len(queues) - 1), scroll=False)

    def action_toggle_pause(self) -> None:
        table = self.query_one("#queues", DataTable)
        rows = self.queue_rows or []
        if not 0 <= table.cursor_row < len(rows):
            self.jobq_app.notify_text("Select a queue first", "warning")
            return
        queue = rows[table.cursor_row]
        if queue.paused or not self.jobq_app.controller.can_control:
            self._set_paused(queue.name, not queue.paused)
            return

        def decided(confirmed: bool | None) -> None:
            if confirmed:
                self._set_paused(queue.name, True)

        self.app.push_screen(
            ConfirmScreen(
                f"Pause queue {queue.name}?",
                f"No worker claims its {queue.counts['queued']:,} queued jobs until "
                "it is resumed; running jobs finish. The pause is stored in the "
                "database, so it holds for every worker.",
                "Pause",
            ),
            decided,
        )

    @work(thread=True, group="queues-change")
    def _set_paused(self, name: str, paused: bool) -> None:
        controller = self.jobq_app.controller
        try:
            outcome = controller.set_queue_paused(name, paused)
        finally:
            controller.store.db.close()
        self.post_message(self.Changed(outcome))

    def on_queues_screen_changed(self, message: Changed) -> None:
        self.jobq_app.show_outcome(message.outcome)
        if self.is_attached:
            self.load()

    def action_reload(self) -> None:
        self.load()

    def action_close(self) -> None:
        self.dismiss(None)
