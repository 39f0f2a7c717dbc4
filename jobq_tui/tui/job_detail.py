"""The job detail screen: payload, result, error, progress and history."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Static

from ..errors import JobqError
from ..views import JobDetail, read_job_detail
from .format import escaped_block, progress_bar, relative, state_label

if TYPE_CHECKING:
    from .app import JobqApp

MAX_SHOWN_CHARS = 20_000


class JobDetailScreen(Screen[None]):
    """Everything about one job; refreshes while the job is unfinished."""

    BINDINGS = [
        Binding("escape,q", "close", "Back", id="detail.back"),
        Binding("c", "cancel_job", "Cancel job", id="detail.cancel"),
        Binding("R", "retry_job", "Retry job", id="detail.retry"),
        Binding("ctrl+r", "reload", "Reload", id="detail.reload"),
    ]

    class Loaded(Message):
        def __init__(self, detail: JobDetail | None, error: str | None):
            super().__init__()
            self.detail = detail
            self.error = error

    def __init__(self, job_id: int):
        super().__init__()
        self.job_id = job_id
        self.detail: JobDetail | None = None

    @property
    def jobq_app(self) -> JobqApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(Text(f"Job {self.job_id}"), id="detail-title")
        with VerticalScroll(id="detail-body"):
            yield Static(Text("Loading…"), id="detail-content")
        yield Footer()

    def on_mount(self) -> None:
        self.load()

    @work(thread=True, exclusive=True, group="detail")
    def load(self) -> None:
        controller = self.jobq_app.controller
        try:
            detail = read_job_detail(controller.store, self.job_id)
            self.post_message(self.Loaded(detail, None))
        except JobqError as exc:
            self.post_message(self.Loaded(None, str(exc)))
        except Exception as exc:  # noqa: BLE001 - shown on screen, not raised
            self.post_message(self.Loaded(None, f"{type(exc).__name__}: {exc}"))
        finally:
            controller.store.db.close()

    def on_job_detail_screen_loaded(self, message: Loaded) -> None:
        if not self.is_attached:
            return
        content = self.query_one("#detail-content", Static)
        if message.error is not None:
            content.update(Text(f"▲ {message.error}"))
            return
        self.detail = message.detail
        content.update(render_detail(message.detail, self.jobq_app.now()))
        if not message.detail.job.state.finished:
            self.set_timer(self.jobq_app.refresh_interval, self.load)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_reload(self) -> None:
        self.load()

    def action_cancel_job(self) -> None:
        self.jobq_app.confirm_cancel_job(self.job_id, after=self.load)

    def action_retry_job(self) -> None:
        self.jobq_app.confirm_retry_job(self.job_id, after=self.load)


def render_detail(detail: JobDetail, now: float) -> Text:
    """Lay out one job as text; every value from the job is shown escaped."""
    job = detail.job
    text = Text()

    def field(label: str, value: str) -> None:
        text.append(f"{label:>12}  ", style="bold")
        text.append(f"{value}\n")

    field(
        "State",
        state_label(job.state)
        + ("  (cancel requested)" if job.cancel_requested else ""),
    )
    field("Handler", escaped_block(job.handler))
    field("Queue", escaped_block(job.queue))
    field("Attempts", f"{job.attempts} of {job.max_attempts}")
    field("Priority", str(job.priority))
    field(
        "Progress",
        f"{progress_bar(job.progress, 20)}  {escaped_block(job.progress_message)}",
    )
    field("Created", relative(job.created_at, now))
    field("Due", relative(job.run_at, now))
    field("Started", relative(job.started_at, now))
    field("Finished", relative(job.finished_at, now))
    if job.timeout:
        field("Timeout", f"{job.timeout:g}s")
    if job.unique_key:
        field("Unique key", escaped_block(job.unique_key))
    if job.run_id:
        field("Run", job.run_id)

    section(text, "Payload", pretty_json(job.payload))
    if job.result is not None:
        section(text, "Result", pretty_json(job.result))
    if job.error:
        section(text, "Error", escaped_block(job.error))
    if job.traceback:
        section(text, "Traceback", escaped_block(job.traceback))

    text.append("\nHistory\n", style="bold underline")
    for event in detail.events:
        run = f"  run {event.run_id}" if event.run_id else ""
        message = f"  {escaped_block(event.message)}" if event.message else ""
        text.append(
            f"  {relative(event.at, now):>10}  {event.kind:<16} attempt {event.attempt}"
            f"{run}{message}\n"
        )
    return text


def section(text: Text, title: str, body: str) -> None:
    text.append(f"\n{title}\n", style="bold underline")
    if len(body) > MAX_SHOWN_CHARS:
        body = (
            body[:MAX_SHOWN_CHARS]
            + f"\n… ({len(body) - MAX_SHOWN_CHARS:,} more characters)"
        )
    text.append(body + "\n")


def pretty_json(stored: str) -> str:
    """Indent stored JSON for reading, with control characters escaped."""
    if len(stored) > MAX_SHOWN_CHARS * 4:
        return escaped_block(stored[:MAX_SHOWN_CHARS])
    try:
        shown = json.dumps(json.loads(stored), indent=2, ensure_ascii=False)
    except ValueError:
        shown = stored
    return escaped_block(shown)
