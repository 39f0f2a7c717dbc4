"""The prune dialog: delete finished jobs older than a number of days."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

DEFAULT_DAYS = "30"


class PruneScreen(ModalScreen[float | None]):
    """Returns the age in days to prune from, or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="prune.cancel")]

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="confirm"):
            yield Label("Prune finished jobs", id="dialog-title")
            yield Static(
                Text(
                    "Deletes succeeded, failed and cancelled jobs that finished more "
                    "than this many days ago, with their history, in batches."
                ),
                id="dialog-message",
            )
            yield Input(value=DEFAULT_DAYS, id="prune-days", placeholder="days")
            yield Static(id="prune-error")
            with Horizontal(id="dialog-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Prune", id="confirm", variant="error")

    def on_mount(self) -> None:
        self.query_one("#prune-days", Input).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "confirm":
            self._submit()
        else:
            self.dismiss(None)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self._submit()

    def _submit(self) -> None:
        text = self.query_one("#prune-days", Input).value.strip()
        try:
            days = float(text)
        except ValueError:
            days = -1.0
        if not 0 <= days < 100_000:
            self.query_one("#prune-error", Static).update(
                Text(f"{text!r} is not a number of days: type 0 or more", style="red")
            )
            return
        self.dismiss(days)

    def action_cancel(self) -> None:
        self.dismiss(None)
