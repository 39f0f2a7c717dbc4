"""Modal dialogs: confirmation, the Worker Controls menu, the status report."""

from __future__ import annotations

import time

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, OptionList, Static
from textual.widgets.option_list import Option

from ..models import JobState
from ..service import WorkerStatus
from .format import STATE_GLYPHS, age


class ConfirmScreen(ModalScreen[bool]):
    """Ask before an action that changes live work; focus starts on Cancel."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="confirm.cancel"),
        Binding("left,right", "toggle_focus", "Switch button", show=False),
    ]

    def __init__(
        self,
        title: str,
        message: str,
        confirm_label: str,
        *,
        danger: bool = True,
        dismiss_label: str = "Cancel",
    ):
        super().__init__()
        self.dismiss_label = dismiss_label
        self.title_text = title
        self.message = message
        self.confirm_label = confirm_label
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="confirm"):
            yield Label(Text(self.title_text), id="dialog-title")
            yield Static(Text(self.message), id="dialog-message")
            with Horizontal(id="dialog-buttons"):
                yield Button(self.dismiss_label, id="cancel", variant="default")
                yield Button(
                    self.confirm_label,
                    id="confirm",
                    variant="error" if self.danger else "primary",
                )

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm")

    def action_cancel(self) -> None:
        self.dismiss(False)

    def action_toggle_focus(self) -> None:
        if self.focused is not None and self.focused.id == "cancel":
            self.query_one("#confirm", Button).focus()
        else:
            self.query_one("#cancel", Button).focus()


CONTROL_ITEMS = (
    ("start", "s", "Start worker"),
    ("stop", "x", "Stop worker…"),
    ("restart", "r", "Restart worker…"),
    ("status", "i", "Check Status"),
    ("create_test_job", "t", "Create Test Job…"),
)


class WorkerControlsScreen(ModalScreen[str | None]):
    """The Worker Controls menu; returns the chosen action name or None."""

    BINDINGS = [
        Binding("escape,w", "close", "Close menu", id="menu.close"),
        *[
            Binding(key, f"choose('{action}')", label, show=False)
            for action, key, label in CONTROL_ITEMS
        ],
    ]

    def __init__(self, allowed: bool, reason: str):
        super().__init__()
        self.allowed = allowed
        self.reason = reason

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="menu"):
            yield Label("Worker Controls", id="dialog-title")
            options = []
            for action, key, label in CONTROL_ITEMS:
                prompt = Text.assemble(f"{label:<20}", (f"[{key}]", "dim"))
                disabled = not self.allowed and action != "status"
                options.append(Option(prompt, id=action, disabled=disabled))
            yield OptionList(*options, id="controls-list")
            if not self.allowed:
                yield Static(Text(f"Read-only: {self.reason}"), id="menu-reason")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_choose(self, action: str) -> None:
        self.dismiss(action)

    def action_close(self) -> None:
        self.dismiss(None)


class StatusScreen(ModalScreen[None]):
    """The Check Status report: state, threads, handlers, counts, run, heartbeat."""

    BINDINGS = [Binding("escape,enter,i", "close", "Close", id="status.close")]

    def __init__(self, status: WorkerStatus, now: float | None = None):
        super().__init__()
        self.status = status
        self.now = time.time() if now is None else now

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="status"):
            yield Label("Worker status", id="dialog-title")
            with VerticalScroll(id="status-body"):
                yield Static(status_report(self.status, self.now), id="status-report")
            with Horizontal(id="dialog-buttons"):
                yield Button("Close", id="close", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)


def status_report(status: WorkerStatus, now: float) -> Text:
    """Lay out a WorkerStatus as labelled lines."""
    glyph = {"running": "●", "stopping": "◐"}.get(status.state, "■")
    heartbeat = f"{age(now - status.heartbeat_at)} ago" if status.heartbeat_at else "-"
    uptime = age(now - status.started_at) if status.started_at else "-"
    rows = [
        ("State", f"{glyph} {status.state}"),
        ("Threads alive", f"{status.threads_alive} of {status.threads_configured}"),
        ("Run id", status.run_id or "-"),
        ("Worker", f"{status.name} (pid {status.pid})"),
        ("Up for", uptime),
        ("Last heartbeat", heartbeat),
        ("Queues", ", ".join(status.queues)),
        ("Handlers", ", ".join(status.handlers) or "none"),
        ("Running here", ", ".join(str(i) for i in status.running_jobs) or "none"),
    ]
    text = Text()
    for label, value in rows:
        text.append(f"{label:>15}  ", style="bold")
        text.append(f"{value}\n")
    for index, (name, count) in enumerate(status.counts.items()):
        label = "Jobs" if index == 0 else ""
        text.append(f"{label:>15}  ", style="bold")
        text.append(f"{STATE_GLYPHS[JobState(name)]} {name:<10} {count:>8,}\n")
    if status.message:
        text.append(f"{'Last stop':>15}  ", style="bold")
        text.append(status.message)
    return text
