"""The help screen: every key binding, generated from the bindings themselves."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static


class HelpScreen(ModalScreen[None]):
    """Lists (key, description) pairs in sections."""

    BINDINGS = [
        Binding("escape,question_mark,q", "close", "Close help", id="help.close")
    ]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]):
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="help"):
            yield Label("Keys", id="dialog-title")
            with VerticalScroll(id="help-body"):
                yield Static(help_text(self.sections), id="help-text")
            yield Static(Text("escape closes this help", style="dim"))

    def action_close(self) -> None:
        self.dismiss(None)


def help_text(sections: list[tuple[str, list[tuple[str, str]]]]) -> Text:
    text = Text()
    for title, rows in sections:
        text.append(f"{title}\n", style="bold underline")
        for key, description in rows:
            text.append(f"  {key:>12}  ", style="bold")
            text.append(f"{description}\n")
        text.append("\n")
    return text
