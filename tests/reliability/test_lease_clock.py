"""The lease clock starts at claim: time spent waiting in the queue never counts."""

from __future__ import annotations

import threading
import time

from jobq_tui import HandlerRegistry, JobState, JobStore

from .conftest import ManualClock, scaled, wait_until


def test_long_queue_wait_causes_no_reclaim(make_service, sqlite_store):
    lease = scaled(3.0, 5.0)
    step = scaled(0.15, 0.5)
    delay = scaled(5.0, 20.0)
    starts: dict[int, list[float]] = {}
    lock = threading.Lock()

    def timed(ctx):
        with lock:
            starts.setdefault(ctx.job_id, []).append(time.time())
        time.sleep(step)
        return None

    registry = HandlerRegistry()
    registry.register("timed", timed)
    delayed = sqlite_store.enqueue("timed", delay=delay).job_id
    due_at = sqlite_store.get(delayed).run_at
    batch = [sqlite_store.enqueue("timed").job_id for _ in range(50)]
    assert 50 * step > 2 * lease

    make_service(registry, concurrency=1, lease=lease, heartbeat=1.0).start()
    wait_until(
        lambda: all(
            sqlite_store.get(job_id).state.finished for job_id in [delayed, *batch]
        ),
        50 * step + delay + 20,
        "every job to finish",
    )

    kinds = [
        row[0]
        for row in sqlite_store.db.execute("SELECT kind FROM jobq_job_event").fetchall()
    ]
    assert "reclaimed" not in kinds
    assert kinds.count("claimed") == 51
    for job_id in [delayed, *batch]:
        record = sqlite_store.get(job_id)
        assert record.state is JobState.SUCCEEDED
        assert record.attempts == 1
        assert len(starts[job_id]) == 1
    assert starts[delayed][0] >= due_at
    assert max(starts[job_id][0] for job_id in batch) - starts[batch[0]][0] > lease


def test_lease_expiry_set_from_claim_time(sqlite_db):
    clock = ManualClock()
    store = JobStore(sqlite_db, clock=clock)
    job_id = store.enqueue("noop").job_id

    clock.advance(3600)
    claimed_at = clock()
    [job] = store.claim("run00000", ["default"], 1, 5.0)
    report = store.reclaim_expired("reaper00")

    record = store.get(job_id)
    assert job.id == job_id
    assert report.requeued == []
    assert record.lease_expires_at == claimed_at + 5.0
    assert record.started_at == claimed_at
    assert record.state is JobState.RUNNING


def test_delayed_job_not_claimed_early(sqlite_db):
    clock = ManualClock()
    store = JobStore(sqlite_db, clock=clock)
    job_id = store.enqueue("noop", delay=20).job_id

    clock.advance(19.9)
    early = store.claim("run00000", ["default"], 1, 5.0)
    clock.advance(0.1)
    due = store.claim("run00000", ["default"], 1, 5.0)

    assert early == []
    assert [job.id for job in due] == [job_id]
