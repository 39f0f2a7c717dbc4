"""Hostile and awkward payloads: exact round trips, early errors, inert previews."""

from __future__ import annotations

import re
import statistics
import threading
import time

import pytest

from jobq_tui import HandlerRegistry, JobState, JobStore
from jobq_tui.errors import InvalidJobError
from jobq_tui.payloads import PREVIEW_CHARS
from jobq_tui.tui.job_detail import JobDetailScreen
from jobq_tui.views import read_snapshot

from .conftest import make_dashboard, pilot_wait, wait_until

HOSTILE = {
    "nul": "before\u0000after",
    "lone_surrogate": "x\ud800y",
    "emoji": "🦀 🎉 👩‍👩‍👧",
    "right_to_left": "שלום עולם \u202egnp.exe",
    "clear_screen": "\x1b[2J",
    "clipboard_write": "\x1b]52;c;ZXZpbA==\x07",
    "rich_markup": "[bold red]x[/]",
    "rich_link": "[link=file:///etc/passwd]x[/link]",
}
FIVE_MB = "x" * 5_000_000
UNSAFE_ON_SCREEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u202e\ud800-\udfff]")


@pytest.mark.parametrize("name", [*HOSTILE, "five_mb"])
def test_payload_and_result_round_trip(database, name):
    store = JobStore(database)
    value = FIVE_MB if name == "five_mb" else HOSTILE[name]
    payload = {"value": value, "list": [value]}
    job_id = store.enqueue("noop", payload).job_id
    [claimed] = store.claim("run00000", ["default"], 1, 30.0)

    assert store.complete(job_id, "run00000", {"echo": value}, attempt=1)
    record = store.get(job_id)
    assert claimed.id == job_id
    assert record.payload_value() == payload
    assert record.result_value() == {"echo": value}
    assert len(store.page(limit=1)[0].payload_preview) <= PREVIEW_CHARS


@pytest.mark.parametrize(
    "payload",
    [object(), {"when": time}, {1, 2}, float("nan"), {"x": float("inf")}],
    ids=["object", "module", "set", "nan", "infinity"],
)
def test_unserialisable_payload_rejected_at_enqueue(database, payload):
    store = JobStore(database)

    with pytest.raises(InvalidJobError, match="payload is not JSON-serialisable"):
        store.enqueue("noop", payload)

    assert store.page() == []


def test_unserialisable_result_fails_job_clearly(make_service, sqlite_store):
    registry = HandlerRegistry()
    registry.register("returns_object", lambda ctx: {"handle": object()})
    job_id = sqlite_store.enqueue("returns_object", max_attempts=3).job_id
    make_service(registry, concurrency=1).start()

    wait_until(lambda: sqlite_store.get(job_id).state.finished, 10, "the job to finish")

    record = sqlite_store.get(job_id)
    assert record.state is JobState.FAILED
    assert record.attempts == 1
    assert "result is not JSON-serialisable" in record.error


def selected_columns(statements: list[str]) -> list[str]:
    """Return the SELECT statements that read the whole payload column."""
    whole_payload = re.compile(r"\bpayload\b(?!_)")
    return [
        sql
        for sql in statements
        if sql.lstrip().upper().startswith("SELECT") and whole_payload.search(sql)
    ]


def traced_snapshot(store: JobStore) -> list[str]:
    statements: list[str] = []
    connection = store.db.peewee_db.connection()
    connection.set_trace_callback(statements.append)
    try:
        read_snapshot(store, None, limit=100)
    finally:
        connection.set_trace_callback(None)
    return statements


def median_refresh_seconds(store: JobStore, rounds: int = 7) -> float:
    durations = []
    for _ in range(rounds):
        began = time.perf_counter()
        read_snapshot(store, None, limit=100)
        durations.append(time.perf_counter() - began)
    return statistics.median(durations)


def test_list_reads_never_load_payloads(sqlite_store, capsys):
    for index in range(200):
        sqlite_store.enqueue("noop", {"n": index})
    without_big = median_refresh_seconds(sqlite_store)
    for _ in range(10):
        sqlite_store.enqueue("noop", {"blob": FIVE_MB})
    with_big = median_refresh_seconds(sqlite_store)

    statements = traced_snapshot(sqlite_store)
    with capsys.disabled():
        print(
            f"\nrefresh median: {without_big * 1000:.1f} ms without, "
            f"{with_big * 1000:.1f} ms with ten 5 MB payloads"
        )

    assert statements != []
    assert selected_columns(statements) == []
    # Walking the overflow pages of ten 5 MB payloads costs about 20 ms on a
    # 2-core machine, 20 times a plain refresh; the bound leaves room for noise.
    assert with_big < 3 * without_big + 0.005


async def test_dashboard_shows_inert_previews(sqlite_store):
    ids = {
        name: sqlite_store.enqueue("noop", {"value": value}).job_id
        for name, value in HOSTILE.items()
    }
    ids["five_mb"] = sqlite_store.enqueue("noop", {"value": FIVE_MB}).job_id
    app = make_dashboard(sqlite_store)

    async with app.run_test(size=(120, 35)) as pilot:
        await pilot_wait(pilot, lambda: len(app._row_keys) == len(ids))
        table = app.query_one("#jobs")
        cells = {
            name: table.get_cell(str(job_id), "payload") for name, job_id in ids.items()
        }
        app.query_one("#jobs").move_cursor(
            row=app._row_keys.index(str(ids["clipboard_write"]))
        )
        await pilot.press("enter")
        await pilot_wait(
            pilot,
            lambda: (
                isinstance(app.screen, JobDetailScreen)
                and app.screen.detail is not None
            ),
        )
        detail = app.screen.query_one("#detail-content").render()

    for name, cell in cells.items():
        assert UNSAFE_ON_SCREEN.search(cell.plain) is None, name
        assert cell.spans == [], name
        assert len(cell.plain) <= 24, name
    assert "[bold red]" in cells["rich_markup"].plain[:24] or "[bold" in (
        cells["rich_markup"].plain
    )
    assert UNSAFE_ON_SCREEN.search(str(detail)) is None
    assert "\\x1b]52" in str(detail) or "\\u001b]52" in str(detail)


def test_hostile_previews_stay_printable(sqlite_store):
    for value in HOSTILE.values():
        sqlite_store.enqueue("noop", {"value": value})

    previews = [job.payload_preview for job in sqlite_store.page()]

    assert len(previews) == len(HOSTILE)
    for preview in previews:
        assert UNSAFE_ON_SCREEN.search(preview) is None, preview


def test_concurrent_big_payload_enqueues(sqlite_db):
    store = JobStore(sqlite_db)
    errors: list[Exception] = []

    def enqueue() -> None:
        try:
            store.enqueue("noop", {"blob": FIVE_MB})
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(exc)
        finally:
            sqlite_db.close()

    threads = [threading.Thread(target=enqueue) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    assert store.counts()[JobState.QUEUED] == 4
