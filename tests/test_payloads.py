"""Exact round trips of payloads and results, and terminal-safe previews."""

from __future__ import annotations

import time
import unicodedata

import pytest

from jobq_tui.errors import InvalidJobError
from jobq_tui.payloads import PREVIEW_CHARS, encode_json, preview_text

HARD_STRINGS = {
    "nul": "\u0000",
    "lone_surrogate": "\ud800",
    "emoji": "job done \U0001f389\U0001f469\u200d\U0001f4bb",
    "right_to_left": "\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627",
    "rtl_override": "abc\u202egnp.exe",
    "clear_screen": "\x1b[2J",
    "osc52_clipboard": "\x1b]52;c;abc\x07",
    "c1_csi": "\x9b31mred",
    "rich_markup": "[bold red]x[/]",
    "newlines": "line one\nline two\r\n\ttabbed",
    "five_megabytes": "0123456789abcdef" * (5 * 1024 * 1024 // 16),
}

HARD_PAYLOADS = {
    **HARD_STRINGS,
    "nested": {"\x1b[2J": ["\u0000", {"deep": "\ud800"}], "n": 1.5, "ok": None},
}


def ids(table: dict) -> list[str]:
    return list(table)


@pytest.mark.parametrize("payload", HARD_PAYLOADS.values(), ids=ids(HARD_PAYLOADS))
def test_payload_round_trips_exactly(store, payload):
    job_id = store.enqueue("work", payload).job_id

    stored = store.get(job_id).payload_value()

    assert stored == payload
    assert type(stored) is type(payload)


@pytest.mark.parametrize("result", HARD_PAYLOADS.values(), ids=ids(HARD_PAYLOADS))
def test_result_round_trips_exactly(store, result):
    job_id = store.enqueue("work").job_id
    store.claim("run-a", ["default"], 1, 30.0)

    store.complete(job_id, "run-a", result)

    assert store.get(job_id).result_value() == result


@pytest.mark.parametrize("payload", HARD_STRINGS.values(), ids=ids(HARD_STRINGS))
def test_payload_reaches_handler_exactly(make_service, registry, store, payload):
    seen = []

    @registry.handler("echo")
    def echo(ctx):
        seen.append(ctx.payload)
        return ctx.payload

    service = make_service()
    job_id = store.enqueue("echo", payload).job_id
    service.start()
    wait_for_finish(store, job_id)

    assert seen == [payload]
    assert store.get(job_id).result_value() == payload


def wait_for_finish(store, job_id: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not store.get(job_id).state.finished:
        if time.monotonic() > deadline:
            pytest.fail(f"job {job_id} did not finish within {timeout}s")
        time.sleep(0.01)


NOT_SERIALISABLE = {
    "object": object(),
    "set": {1, 2},
    "bytes": b"raw",
    "nan": float("nan"),
    "infinity": float("inf"),
    "nested_object": {"ok": [1, object()]},
}


@pytest.mark.parametrize(
    "payload", NOT_SERIALISABLE.values(), ids=ids(NOT_SERIALISABLE)
)
def test_unserialisable_payload_raises_at_enqueue(store, payload):
    with pytest.raises(InvalidJobError, match="payload is not JSON-serialisable"):
        store.enqueue("work", payload)

    assert store.page() == []


def test_circular_payload_raises_at_enqueue(store):
    payload: list = []
    payload.append(payload)

    with pytest.raises(InvalidJobError, match="payload"):
        store.enqueue("work", payload)


def test_oversized_payload_raises_at_enqueue(store):
    # Escaped as ASCII, each "\u00e9" takes six characters: 18 MiB of JSON, over
    # the 16 MiB limit.
    with pytest.raises(InvalidJobError, match="limit"):
        store.enqueue("work", "\u00e9" * (3 * 1024 * 1024))


def control_characters(text: str) -> list[str]:
    return [ch for ch in text if unicodedata.category(ch) == "Cc"]


@pytest.mark.parametrize("payload", HARD_PAYLOADS.values(), ids=ids(HARD_PAYLOADS))
def test_stored_preview_is_terminal_safe(store, payload):
    store.enqueue("work", payload)

    preview = store.page()[0].payload_preview

    assert "\x1b" not in preview
    assert "\x00" not in preview
    assert control_characters(preview) == []
    assert "\u202e" not in preview
    assert len(preview) <= PREVIEW_CHARS
    assert preview.encode("utf-8")


@pytest.mark.parametrize("payload", HARD_PAYLOADS.values(), ids=ids(HARD_PAYLOADS))
def test_preview_of_raw_text_is_terminal_safe(payload):
    raw = payload if isinstance(payload, str) else encode_json(payload, what="x")

    preview = preview_text(raw)

    assert "\x1b" not in preview
    assert "\x00" not in preview
    assert control_characters(preview) == []
    assert "\u202e" not in preview
    assert len(preview) <= PREVIEW_CHARS


def test_preview_keeps_escape_visible():
    preview = preview_text(encode_json("\x1b[2J", what="payload"))

    assert "[2J" in preview
    assert "\\u001b" in preview or "\\x1b" in preview


def test_preview_of_long_payload_is_truncated():
    preview = preview_text(encode_json("x" * 1000, what="payload"))

    assert len(preview) == PREVIEW_CHARS
    assert preview.endswith("\u2026")
