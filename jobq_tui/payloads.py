"""JSON encoding of payloads and results, and safe one-line previews of them."""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import InvalidJobError

MAX_JSON_BYTES = 16 * 1024 * 1024
PREVIEW_CHARS = 120

# C0 and C1 control characters, DEL, the bidirectional overrides that can
# reorder what a terminal shows, and lone surrogates, which cannot be encoded.
_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def encode_json(value: Any, *, what: str) -> str:
    """Encode `value` as ASCII JSON, or raise InvalidJobError naming the problem.

    ASCII output escapes NUL and lone surrogates, so every string round-trips
    through SQLite TEXT and PostgreSQL text columns unchanged.
    """
    try:
        text = json.dumps(
            value, ensure_ascii=True, allow_nan=False, separators=(",", ":")
        )
    except (TypeError, ValueError) as exc:
        raise InvalidJobError(
            f"{what} is not JSON-serialisable ({exc}): pass dicts, lists, strings, "
            "numbers, booleans or None"
        ) from None
    if len(text) > MAX_JSON_BYTES:
        raise InvalidJobError(
            f"{what} is {len(text):,} bytes as JSON, over the {MAX_JSON_BYTES:,}-byte "
            "limit: store large data in a file and pass its path"
        )
    return text


def decode_json_argument(text: str, *, what: str) -> Any:
    """Parse JSON typed by a user, or raise InvalidJobError quoting it."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        shown = text if len(text) <= 60 else text[:57] + "..."
        raise InvalidJobError(
            f"{what} {shown!r} is not valid JSON: {exc.msg}"
        ) from None


def printable(text: str) -> str:
    """Replace control characters, bidi overrides and surrogates with escapes."""
    return _UNSAFE.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def preview_text(json_text: str, limit: int = PREVIEW_CHARS) -> str:
    """Return a short single-line preview of stored JSON, with escapes visible.

    The JSON text is decoded first so previews show the characters a user
    sent, then control characters are made visible again.
    """
    head = json_text[: limit * 8]
    try:
        shown = (
            json.dumps(json.loads(head), ensure_ascii=False)
            if head == json_text
            else head
        )
    except ValueError:
        shown = head
    shown = printable(shown.replace("\n", " "))
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"
