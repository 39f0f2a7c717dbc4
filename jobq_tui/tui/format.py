"""Text the dashboard shows: state words with glyphs, ages, durations, previews."""

from __future__ import annotations

from datetime import datetime

from ..models import JobState
from ..payloads import printable

STATE_GLYPHS = {
    JobState.QUEUED: "◷",
    JobState.RUNNING: "▶",
    JobState.SUCCEEDED: "✔",
    JobState.FAILED: "✖",
    JobState.CANCELLED: "⊘",
}


def state_label(state: JobState) -> str:
    """Return the glyph and word for a state, e.g. "✔ succeeded"."""
    return f"{STATE_GLYPHS[state]} {state.value}"


def age(seconds: float | None) -> str:
    """Format a duration in the past or future as "3s", "4m", "2h", "5d"."""
    if seconds is None:
        return "-"
    value = abs(seconds)
    if value < 60:
        text = f"{value:.0f}s"
    elif value < 3600:
        text = f"{value // 60:.0f}m"
    elif value < 86400:
        text = f"{value // 3600:.0f}h"
    else:
        text = f"{value // 86400:.0f}d"
    return text


def relative(timestamp: float | None, now: float) -> str:
    """Format a timestamp as "12s ago" or "in 5m"."""
    if timestamp is None:
        return "-"
    delta = now - timestamp
    if delta >= 0:
        return f"{age(delta)} ago"
    return f"in {age(-delta)}"


def duration(started: float | None, finished: float | None, now: float) -> str:
    """Format how long a run took, or has taken so far, with one decimal under 10 s."""
    if started is None:
        return "-"
    seconds = (finished if finished is not None else now) - started
    if seconds < 0:
        return "-"
    if seconds < 10:
        return f"{seconds:.1f}s"
    return age(seconds)


def progress_bar(percent: int, width: int = 10) -> str:
    """Draw progress as a text bar plus the number, e.g. "████░░░░░░ 40%"."""
    percent = max(0, min(100, percent))
    filled = round(width * percent / 100)
    return "█" * filled + "░" * (width - filled) + f" {percent:>3}%"


def one_line(text: str | None, limit: int) -> str:
    """Return untrusted text as one escaped line of at most `limit` characters."""
    if not text:
        return ""
    shown = printable(text.replace("\r", " ").replace("\n", " "))
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def escaped_block(text: str | None) -> str:
    """Return untrusted multi-line text with control characters made visible."""
    if text is None:
        return ""
    lines = text.replace("\r\n", "\n").split("\n")
    return "\n".join(printable(line) for line in lines)


def plural(count: int, singular: str, plural_form: str) -> str:
    """Return "1 job is" or "3 jobs are"."""
    return f"{count} {singular if count == 1 else plural_form}"


def local_time(timestamp: float | None) -> str:
    """Format a timestamp as local wall-clock time, e.g. "14:03:07"."""
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp).strftime("%H:%M:%S")
