"""The Workers view: every worker process on this database, and control of each."""

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
from ..store import WorkerRecord
from .dialogs import ConfirmScreen
from .format import age, one_line

if TYPE_CHECKING:
    from .app import JobqApp

LIVENESS_LABELS = {
    "running": ("● running", "green"),
    "stopping": ("◐ stopping", "yellow"),
    "paused": ("■ paused", "yellow"),
    "lost": ("▲ lost", "bold red"),
    "exited": ("○ exited", "dim"),
}

COLUMNS = (
    ("worker", "Worker", 16),
    ("name", "Name", 18),
    ("pid", "PID", 7),
    ("state", "State", 11),
    ("threads", "Threads", 7),
    ("jobs", "Running", 7),
    ("heartbeat", "Heartbeat", 9),
    ("run", "Run", 16),
)


class WorkersScreen(Screen[None]):
    """Lists worker processes; s, x, r and e send them control requests."""

    BINDINGS = [
        Binding("escape,q,v", "close", "Back", id="workers.back"),
        Binding("s", "send('start')", "Start", id="workers.start"),
        Binding("x", "send('stop')", "Stop", id="workers.stop"),
        Binding("r", "send('restart')", "Restart", id="workers.restart"),
        Binding("e", "send('exit')", "Exit process", id="workers.exit"),
        Binding("ctrl+r", "reload", "Reload", id="workers.reload"),
    ]

    class Loaded(Message):
        def __init__(self, workers: list[WorkerRecord] | None, error: str | None):
            super().__init__()
            self.workers = workers
            self.error = error

    class RequestFinished(Message):
        def __init__(self, outcome: Outcome):
            super().__init__()
            self.outcome = outcome

    def __init__(self) -> None:
        super().__init__()
        self.worker_rows: list[WorkerRecord] | None = None
        self.worker_rows_shown: list[str] = []
        self.pending: str | None = None

    @property
    def jobq_app(self) -> JobqApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(
            Text("Workers: every worker process on this database"), id="detail-title"
        )
        table: DataTable = DataTable(
            id="workers", cursor_type="row", zebra_stripes=True
        )
        for key, label, width in COLUMNS:
            table.add_column(label, key=key, width=width)
        yield table
        yield Static(id="workers-status")
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="workers")
    def load(self) -> None:
        store = self.jobq_app.controller.store
        try:
            self.post_message(self.Loaded(store.workers(limit=200), None))
        except Exception as exc:  # noqa: BLE001 - shown on screen, retried
            self.post_message(self.Loaded(None, f"{type(exc).__name__}: {exc}"))
        finally:
            store.db.close()

    def on_workers_screen_loaded(self, message: Loaded) -> None:
        if not self.is_attached:
            return
        status = self.query_one("#workers-status", Static)
        if message.error is not None:
            status.update(Text(f"▲ {message.error}"))
        else:
            self.worker_rows = message.workers
            self._fill(message.workers)
            self._show_status()
        self.set_timer(self.jobq_app.refresh_interval, self.load)

    def _fill(self, workers: list[WorkerRecord]) -> None:
        table = self.query_one("#workers", DataTable)
        previous = self.worker_rows_shown
        selected_id = None
        if previous and 0 <= table.cursor_row < len(previous):
            selected_id = previous[table.cursor_row]
        table.clear()
        now = self.jobq_app.now()
        for worker in workers:
            label, style = LIVENESS_LABELS[worker.liveness(now)]
            table.add_row(
                Text(worker.worker_id),
                Text(one_line(worker.name, 18)),
                Text(str(worker.pid), justify="right"),
                Text(label, style=style),
                Text(str(worker.concurrency), justify="right"),
                Text(str(worker.running_jobs), justify="right"),
                Text(f"{age(now - worker.heartbeat_at)} ago"),
                Text(worker.run_id or "-"),
                key=worker.worker_id,
            )
        self.worker_rows_shown = [worker.worker_id for worker in workers]
        if workers:
            ids = self.worker_rows_shown
            row = ids.index(selected_id) if selected_id in ids else 0
            table.move_cursor(row=row, scroll=False)

    def _show_status(self) -> None:
        parts = [f"{len(self.worker_rows or [])} worker processes"]
        if self.pending:
            parts.append(f"◌ {self.pending}")
        parts.append("s start · x stop · r restart · e exit · escape back")
        self.query_one("#workers-status", Static).update(Text(" · ".join(parts)))

    def selected_worker(self) -> WorkerRecord | None:
        table = self.query_one("#workers", DataTable)
        if not self.worker_rows or not 0 <= table.cursor_row < len(self.worker_rows):
            return None
        return self.worker_rows[table.cursor_row]

    def action_send(self, action: str) -> None:
        worker = self.selected_worker()
        if worker is None:
            self.jobq_app.notify_text("Select a worker first", "warning")
            return
        if self.pending is not None:
            self.jobq_app.notify_text(f"Wait: {self.pending}", "warning")
            return
        if action == "start" or not self.jobq_app.controller.can_control:
            self._request(worker.worker_id, action)
            return
        consequences = {
            "stop": "It stops claiming jobs; running ones get its drain timeout. "
            "The process stays up, paused, until started again.",
            "restart": "Its running jobs get its drain timeout, then a new run starts.",
            "exit": "It drains its running jobs, then the process exits.",
        }

        def decided(confirmed: bool | None) -> None:
            if confirmed:
                self._request(worker.worker_id, action)

        self.app.push_screen(
            ConfirmScreen(
                f"{action.capitalize()} worker {worker.name} (pid {worker.pid})?",
                f"{consequences[action]} {worker.running_jobs} jobs are running there.",
                action.capitalize(),
            ),
            decided,
        )

    def _request(self, worker_id: str, action: str) -> None:
        self.pending = f"{action} sent to {worker_id}, waiting for its answer"
        self._show_status()
        self._send(worker_id, action)

    @work(thread=True, group="workers-control")
    def _send(self, worker_id: str, action: str) -> None:
        controller = self.jobq_app.controller
        try:
            outcome = controller.request_worker_action(worker_id, action)
        finally:
            controller.store.db.close()
        self.post_message(self.RequestFinished(outcome))

    def on_workers_screen_request_finished(self, message: RequestFinished) -> None:
        self.pending = None
        self.jobq_app.show_outcome(message.outcome)
        if self.is_attached:
            self._show_status()
            self.load()

    def action_reload(self) -> None:
        self.load()

    def action_close(self) -> None:
        self.dismiss(None)
