"""Millions of rows: indexed dashboard queries, fast first paint, batched pruning.

The default run seeds a tenth of the full scale; JOBQ_FULL_SCALE=1 seeds
2,000,000 succeeded, 200,000 failed, 10,000 queued and 50 running jobs.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest

from jobq_tui import HandlerRegistry, JobService, JobState, JobStore, open_database
from jobq_tui.views import read_snapshot

from .conftest import FULL_SCALE, make_dashboard, pilot_wait, raw_connection, scaled

DAY = 86_400.0
BATCH = 100_000
SEED_COLUMNS = (
    "queue, handler, payload, payload_preview, state, priority, run_at, attempts, "
    "max_attempts, cancel_requested, progress, progress_message, created_at, "
    "started_at, finished_at, lease_expires_at, run_id"
)


def seed(path: Path, counts: dict[str, int], finished_age: float = 30 * DAY) -> None:
    """Bulk-insert jobs straight into jobq_job, in large transactions."""
    open_database(str(path)).close()
    now = time.time()
    connection = raw_connection(path)
    sql = f"INSERT INTO jobq_job ({SEED_COLUMNS}) VALUES ({', '.join('?' * 17)})"
    for state, total in counts.items():
        finished = state in ("succeeded", "failed")
        running = state == "running"
        row = (
            "default",
            "noop",
            '{"n":1}',
            '{"n": 1}',
            state,
            0,
            now - finished_age,
            1 if finished or running else 0,
            3,
            0,
            100 if state == "succeeded" else 0,
            "",
            now - finished_age,
            now - finished_age if finished or running else None,
            now - finished_age if finished else None,
            now + 10 * DAY if running else None,
            "seeded-run" if running else None,
        )
        for start in range(0, total, BATCH):
            connection.execute("BEGIN")
            connection.executemany(sql, [row] * min(BATCH, total - start))
            connection.execute("COMMIT")
    connection.execute("ANALYZE")
    connection.close()


def full_counts() -> dict[str, int]:
    divisor = 1 if FULL_SCALE else 10
    return {
        "succeeded": 2_000_000 // divisor,
        "failed": 200_000 // divisor,
        "queued": 10_000 // divisor,
        "running": 50,
    }


@pytest.fixture(scope="module")
def big_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("large") / "jobs.db"
    seed(path, full_counts())
    return path


def trace(store: JobStore, action) -> list[str]:
    """Run `action` on this thread and return the SQL it sent, values bound."""
    statements: list[str] = []
    connection = store.db.peewee_db.connection()
    connection.set_trace_callback(statements.append)
    try:
        action()
    finally:
        connection.set_trace_callback(None)
    return statements


def full_scans(path: Path, statements: list[str]) -> list[tuple[str, str]]:
    """Return (statement, plan line) for every plain scan of jobq_job."""
    connection = raw_connection(path)
    found = []
    for sql in statements:
        if not sql.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")):
            continue
        for row in connection.execute(f"EXPLAIN QUERY PLAN {sql}").fetchall():
            detail = row[-1]
            scanned = re.search(r"\bSCAN jobq_job(?:\s|$)", detail)
            if scanned and "INDEX" not in detail:
                found.append((sql, detail))
    connection.close()
    return found


def test_dashboard_and_worker_queries_use_indexes(big_db):
    store = JobStore(open_database(str(big_db)))
    statements: list[str] = []
    for state in [None, *JobState]:
        statements += trace(store, lambda s=state: read_snapshot(store, None, state=s))
    oldest_page = store.page(limit=100)[-1].id
    statements += trace(
        store, lambda: read_snapshot(store, None, before_id=oldest_page)
    )
    statements += trace(store, lambda: store.next_due_at(["default"]))
    statements += trace(store, lambda: store.claim("probe", ["default"], 1, 30.0))
    statements += trace(store, lambda: store.renew_leases("probe", 30.0))
    statements += trace(store, lambda: store.reclaim_expired("probe"))
    statements += trace(store, lambda: store.cancel_requests("probe"))
    statements += trace(store, lambda: store.worker_runs())
    statements += trace(store, lambda: store.prune(365 * DAY))
    store.db.close()

    assert len(statements) > 10
    assert full_scans(big_db, statements) == []


def test_state_counts_read_counter_table(big_db):
    store = JobStore(open_database(str(big_db)))
    statements = trace(store, store.counts)
    counts = {state.value: n for state, n in store.counts().items()}
    store.db.close()
    connection = raw_connection(big_db)
    grouped = dict(
        connection.execute("SELECT state, COUNT(*) FROM jobq_job GROUP BY state")
    )
    connection.close()

    assert statements == ["SELECT state, n FROM jobq_job_count"]
    for state, n in grouped.items():
        assert counts[state] == n


async def test_two_dashboards_first_paint(big_db, capsys):
    stores = [JobStore(open_database(str(big_db))) for _ in range(2)]
    first, second = (make_dashboard(store, refresh_interval=1.0) for store in stores)
    expected = sum(full_counts().values())

    began = time.perf_counter()
    async with first.run_test(size=(120, 35)) as pilot:
        await pilot_wait(pilot, lambda: first.snapshot is not None, 30)
        first_paint = time.perf_counter() - began
        second_began = time.perf_counter()
        async with second.run_test(size=(120, 35)) as second_pilot:
            await pilot_wait(second_pilot, lambda: second.snapshot is not None, 30)
            second_paint = time.perf_counter() - second_began
            rows = len(second._row_keys)
            total = sum(second.snapshot.counts.values())
    with capsys.disabled():
        print(
            f"\nfirst paint with {expected:,} jobs: {first_paint:.2f} s, "
            f"second dashboard: {second_paint:.2f} s"
        )

    assert rows == 100
    assert total == expected
    # Generous bounds for a loaded CI machine; the report records real figures.
    assert first_paint < 10
    assert second_paint < 10


def measure_throughput(path: Path, seconds: float, dashboards: int) -> float:
    """Return noop jobs per second one 2-thread service runs next to dashboards."""
    store = JobStore(open_database(str(path)))
    store.enqueue_many("noop", [None] * 20_000, queue="bench")
    service = JobService(
        open_database(str(path)),
        registry=HandlerRegistry(),
        queues=("bench",),
        concurrency=2,
        poll_interval=0.02,
    )
    stop = threading.Event()

    def refresh() -> None:
        reader = JobStore(open_database(str(path)))
        while not stop.is_set():
            read_snapshot(reader, None)
            stop.wait(1.0)
        reader.db.close()

    readers = [threading.Thread(target=refresh) for _ in range(dashboards)]
    for thread in readers:
        thread.start()
    before = store.counts()[JobState.SUCCEEDED]
    service.start()
    time.sleep(seconds)
    service.stop(timeout=5)
    done = store.counts()[JobState.SUCCEEDED] - before
    stop.set()
    for thread in readers:
        thread.join()
    store.db.execute("DELETE FROM jobq_job WHERE queue = 'bench'")
    store.db.close()
    return done / seconds


def test_worker_throughput_with_two_dashboards(big_db, capsys):
    seconds = scaled(3.0, 10.0)
    alone = measure_throughput(big_db, seconds, dashboards=0)
    watched = measure_throughput(big_db, seconds, dashboards=2)
    with capsys.disabled():
        print(
            f"\nthroughput: {alone:.0f} jobs/s alone, {watched:.0f} jobs/s with "
            f"two dashboards ({(1 - watched / alone) * 100:.1f}% drop)"
        )

    assert alone > 0
    # The owed figure is a drop under 10% at full scale; at CI scale on a
    # shared machine only a gross regression fails this bound.
    assert watched > (0.9 if FULL_SCALE else 0.5) * alone


def test_prune_does_not_hold_up_claims(tmp_path, capsys):
    old = scaled(100_000, 1_000_000)
    path = tmp_path / "prune.db"
    seed(path, {"succeeded": old, "queued": 0})
    store = JobStore(open_database(str(path)))
    store.enqueue_many("noop", [None] * 5_000)
    latencies: list[float] = []
    pruning = threading.Event()
    claiming = threading.Event()
    done = threading.Event()

    def claim_loop() -> None:
        claimer = JobStore(open_database(str(path)))
        while not done.is_set():
            began = time.perf_counter()
            jobs = claimer.claim("claimer", ["default"], 1, 30.0)
            if pruning.is_set():
                latencies.append(time.perf_counter() - began)
            for job in jobs:
                claimer.complete(job.id, "claimer", None)
            claiming.set()
        claimer.db.close()

    thread = threading.Thread(target=claim_loop)
    thread.start()
    assert claiming.wait(10)
    pruning.set()
    began = time.perf_counter()
    deleted = store.prune(7 * DAY)
    prune_seconds = time.perf_counter() - began
    pruning.clear()
    done.set()
    thread.join()
    with capsys.disabled():
        print(
            f"\nprune of {deleted:,} rows: {prune_seconds:.1f} s; "
            f"{len(latencies)} claims meanwhile, slowest {max(latencies) * 1000:.0f} ms"
        )

    assert deleted == old
    assert store.counts()[JobState.SUCCEEDED] >= 0
    assert len(latencies) >= 1
    assert max(latencies) < 1.0
    store.db.close()


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_full_scale_seed_and_refresh(tmp_path, capsys):
    if FULL_SCALE:
        pytest.skip("the default-scale tests already ran at full scale")
    path = tmp_path / "full.db"
    began = time.perf_counter()
    seed(
        path,
        {"succeeded": 2_000_000, "failed": 200_000, "queued": 10_000, "running": 50},
    )
    seeded = time.perf_counter() - began
    store = JobStore(open_database(str(path)))
    refreshes = []
    for _ in range(5):
        start = time.perf_counter()
        read_snapshot(store, None)
        refreshes.append(time.perf_counter() - start)
    alone = measure_throughput(path, 10.0, dashboards=0)
    watched = measure_throughput(path, 10.0, dashboards=2)
    with capsys.disabled():
        print(
            f"\nseed {seeded:.1f} s; refresh {min(refreshes) * 1000:.0f}-"
            f"{max(refreshes) * 1000:.0f} ms; throughput {alone:.0f} -> "
            f"{watched:.0f} jobs/s"
        )
    store.db.close()

    assert max(refreshes) < 2.0
    assert watched > 0.9 * alone
