"""JobStore against a real SQLite file: transitions, guards, leases, reads, files."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from pathlib import Path

import pytest

from jobq_tui import JobNotFoundError, JobState, JobStore, open_database
from jobq_tui.db import Database
from jobq_tui.errors import DatabaseConfigError, InvalidJobError
from jobq_tui.models import SCHEMA_VERSION

START = 1_700_000_000.0
LEASE = 30.0


class FakeClock:
    """A clock the test moves by hand, in epoch seconds."""

    def __init__(self, now: float = START):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def timed_store(database: Database, clock: FakeClock) -> JobStore:
    return JobStore(database, clock=clock)


def event_kinds(store: JobStore, job_id: int) -> list[str]:
    return [event.kind for event in store.events(job_id)]


def claim_one(store: JobStore, run_id: str = "run-a", lease: float = LEASE):
    claimed = store.claim(run_id, ["default"], 1, lease)
    assert len(claimed) == 1, f"expected one claimable job, got {claimed}"
    return claimed[0]


# -- enqueue, claim, finish -----------------------------------------------------


def test_enqueue_claim_complete_succeeds(store):
    job_id = store.enqueue("work", {"n": 1}).job_id

    claimed = claim_one(store)
    finished = store.complete(job_id, "run-a", {"answer": 42})

    record = store.get(job_id)
    assert claimed.id == job_id
    assert claimed.attempt == 1
    assert claimed.handler == "work"
    assert claimed.payload == '{"n":1}'
    assert finished is True
    assert record.state is JobState.SUCCEEDED
    assert record.progress == 100
    assert record.result_value() == {"answer": 42}
    assert record.finished_at is not None
    assert event_kinds(store, job_id) == ["enqueued", "claimed", "succeeded"]


def test_claim_returns_nothing_when_queue_empty(store):
    assert store.claim("run-a", ["default"], 5, LEASE) == []


def test_claim_orders_by_priority_then_run_at(timed_store, clock):
    low_late = timed_store.enqueue("work", run_at=START - 1).job_id
    high_late = timed_store.enqueue("work", priority=5, run_at=START - 2).job_id
    high_early = timed_store.enqueue("work", priority=5, run_at=START - 3).job_id
    low_early = timed_store.enqueue("work", run_at=START - 4).job_id

    order = [claim_one(timed_store).id for _ in range(4)]

    assert order == [high_early, high_late, low_early, low_late]


def test_claim_only_reads_requested_queues(store):
    store.enqueue("work", queue="mail")

    assert store.claim("run-a", ["default"], 1, LEASE) == []
    assert len(store.claim("run-a", ["default", "mail"], 1, LEASE)) == 1


def test_delayed_job_not_claimed_before_run_at(timed_store, clock):
    job_id = timed_store.enqueue("work", delay=10).job_id

    assert timed_store.claim("run-a", ["default"], 1, LEASE) == []
    clock.advance(9.9)
    assert timed_store.claim("run-a", ["default"], 1, LEASE) == []
    clock.advance(0.1)
    assert claim_one(timed_store).id == job_id


def test_enqueue_rejects_negative_delay(store):
    with pytest.raises(InvalidJobError, match="delay -1"):
        store.enqueue("work", delay=-1)


# -- guarded transitions ----------------------------------------------------------


GUARDED_CALLS = {
    "complete": (
        lambda store, job_id, run, **kw: store.complete(job_id, run, "late", **kw),
        False,
    ),
    "fail": (
        lambda store, job_id, run, **kw: store.fail(job_id, run, "E", None, 1.0, **kw),
        None,
    ),
    "fail_for_good": (
        lambda store, job_id, run, **kw: store.fail(job_id, run, "E", None, None, **kw),
        None,
    ),
    "finish_cancelled": (
        lambda store, job_id, run, **kw: store.finish_cancelled(
            job_id, run, "stop", **kw
        ),
        False,
    ),
    "release": (
        lambda store, job_id, run, **kw: store.release(job_id, run, "bye", **kw),
        False,
    ),
    "set_progress": (
        lambda store, job_id, run, **kw: store.set_progress(
            job_id, run, 50, "half", **kw
        ),
        False,
    ),
}


def job_snapshot(store: JobStore, job_id: int):
    return store.get(job_id), store.events(job_id)


@pytest.mark.parametrize("call", GUARDED_CALLS.values(), ids=GUARDED_CALLS.keys())
def test_transition_with_wrong_run_id_changes_nothing(store, call):
    transition, rejected = call
    job_id = store.enqueue("work").job_id
    claim_one(store, "run-a")
    before = job_snapshot(store, job_id)

    outcome = transition(store, job_id, "run-b")

    assert outcome is rejected
    assert job_snapshot(store, job_id) == before


@pytest.mark.parametrize("call", GUARDED_CALLS.values(), ids=GUARDED_CALLS.keys())
def test_transition_after_reclaim_changes_nothing(timed_store, clock, call):
    transition, rejected = call
    job_id = timed_store.enqueue("work").job_id
    claim_one(timed_store, "run-a", lease=5)
    clock.advance(6)
    assert timed_store.reclaim_expired("reaper").requeued == [job_id]
    before = job_snapshot(timed_store, job_id)

    outcome = transition(timed_store, job_id, "run-a")

    assert outcome is rejected
    assert job_snapshot(timed_store, job_id) == before


@pytest.mark.parametrize("call", GUARDED_CALLS.values(), ids=GUARDED_CALLS.keys())
def test_transition_after_reclaim_leaves_new_owner(timed_store, clock, call):
    transition, rejected = call
    job_id = timed_store.enqueue("work").job_id
    claim_one(timed_store, "run-a", lease=5)
    clock.advance(6)
    timed_store.reclaim_expired("reaper")
    claim_one(timed_store, "run-b")
    before = job_snapshot(timed_store, job_id)

    outcome = transition(timed_store, job_id, "run-a")

    assert outcome is rejected
    assert job_snapshot(timed_store, job_id) == before
    assert before[0].run_id == "run-b"


@pytest.mark.parametrize("call", GUARDED_CALLS.values(), ids=GUARDED_CALLS.keys())
def test_transition_for_earlier_attempt_changes_nothing(store, call):
    """A run that claims the same job twice must not finish attempt 2 with attempt 1."""
    job_id = store.enqueue("work").job_id
    claim_one(store, "run-a")
    assert store.fail(job_id, "run-a", "E", None, 0.0) == "retried"
    claim_one(store, "run-a")
    before = job_snapshot(store, job_id)

    transition, rejected = call
    outcome = transition(store, job_id, "run-a", attempt=1)

    assert outcome is rejected
    assert job_snapshot(store, job_id) == before


def test_set_progress_by_owner_is_stored(store):
    job_id = store.enqueue("work").job_id
    claim_one(store, "run-a")

    stored = store.set_progress(job_id, "run-a", 40, "almost half")

    record = store.get(job_id)
    assert stored is True
    assert record.progress == 40
    assert record.progress_message == "almost half"


# -- failures, retries and the reaper --------------------------------------------


def test_fail_with_retry_delay_requeues_later(timed_store, clock):
    job_id = timed_store.enqueue("work", max_attempts=2).job_id
    claim_one(timed_store)

    outcome = timed_store.fail(job_id, "run-a", "ValueError: bad", "tb", 30.0)

    record = timed_store.get(job_id)
    assert outcome == "retried"
    assert record.state is JobState.QUEUED
    assert record.run_at == START + 30.0
    assert record.run_id is None
    assert record.error == "ValueError: bad"
    assert timed_store.claim("run-a", ["default"], 1, LEASE) == []
    clock.advance(30.0)
    assert claim_one(timed_store).attempt == 2


def test_fail_at_max_attempts_fails_for_good(timed_store, clock):
    job_id = timed_store.enqueue("work", max_attempts=2).job_id
    claim_one(timed_store)
    timed_store.fail(job_id, "run-a", "first", None, 30.0)
    clock.advance(30.0)
    claim_one(timed_store)

    outcome = timed_store.fail(job_id, "run-a", "second", "Traceback...", 30.0)

    record = timed_store.get(job_id)
    assert outcome == "failed"
    assert record.state is JobState.FAILED
    assert record.attempts == 2
    assert record.error == "second"
    assert record.traceback == "Traceback..."
    assert record.finished_at == clock.now
    assert event_kinds(timed_store, job_id)[-2:] == ["claimed", "failed"]


def test_fail_without_retry_delay_fails_at_once(store):
    job_id = store.enqueue("work", max_attempts=5).job_id
    claim_one(store)

    outcome = store.fail(job_id, "run-a", "fatal", None, None)

    assert outcome == "failed"
    assert store.get(job_id).state is JobState.FAILED


def test_reclaim_requeues_expired_running_job(timed_store, clock):
    job_id = timed_store.enqueue("work", max_attempts=3).job_id
    claim_one(timed_store, "run-a", lease=5)
    clock.advance(5.5)

    report = timed_store.reclaim_expired("reaper")

    record = timed_store.get(job_id)
    events = timed_store.events(job_id)
    assert report.requeued == [job_id]
    assert report.failed == []
    assert record.state is JobState.QUEUED
    assert record.run_id is None
    assert record.attempts == 1
    assert events[-1].kind == "reclaimed"
    assert events[-1].run_id == "reaper"
    assert "run-a" in events[-1].message


def test_reclaim_leaves_unexpired_lease_alone(timed_store, clock):
    job_id = timed_store.enqueue("work").job_id
    claim_one(timed_store, "run-a", lease=5)
    clock.advance(4.9)

    report = timed_store.reclaim_expired("reaper")

    assert report.requeued == []
    assert report.failed == []
    assert timed_store.get(job_id).state is JobState.RUNNING


def test_reclaim_fails_lost_job_after_max_attempts(timed_store, clock):
    job_id = timed_store.enqueue("work", max_attempts=2).job_id
    for _ in range(2):
        claim_one(timed_store, "run-a", lease=5)
        clock.advance(6)
        report = timed_store.reclaim_expired("reaper")

    record = timed_store.get(job_id)
    assert report.failed == [job_id]
    assert report.requeued == []
    assert record.state is JobState.FAILED
    assert "worker lost" in record.error
    assert record.attempts == 2
    assert event_kinds(timed_store, job_id)[-1] == "failed"


def test_renew_leases_keeps_job_from_reaper(timed_store, clock):
    job_id = timed_store.enqueue("work").job_id
    claim_one(timed_store, "run-a", lease=5)
    clock.advance(4)

    renewed = timed_store.renew_leases("run-a", 5)
    clock.advance(4)
    report = timed_store.reclaim_expired("reaper")

    assert renewed == 1
    assert report.requeued == []
    assert timed_store.get(job_id).state is JobState.RUNNING


# -- cancel and retry -------------------------------------------------------------


def test_cancel_queued_job_is_never_claimed(store):
    job_id = store.enqueue("work").job_id

    outcome = store.cancel(job_id)

    record = store.get(job_id)
    assert outcome == "cancelled"
    assert record.state is JobState.CANCELLED
    assert record.finished_at is not None
    assert store.claim("run-a", ["default"], 10, LEASE) == []


def test_cancel_running_job_requests_cancellation(store):
    job_id = store.enqueue("work").job_id
    claim_one(store, "run-a")

    outcome = store.cancel(job_id)

    record = store.get(job_id)
    assert outcome == "requested"
    assert record.state is JobState.RUNNING
    assert record.cancel_requested is True
    assert store.cancel_requests("run-a") == [job_id]
    assert event_kinds(store, job_id)[-1] == "cancel requested"


def test_cancel_finished_job_changes_nothing(store):
    job_id = store.enqueue("work").job_id
    claim_one(store, "run-a")
    store.complete(job_id, "run-a", None)
    before = job_snapshot(store, job_id)

    outcome = store.cancel(job_id)

    assert outcome == "finished"
    assert job_snapshot(store, job_id) == before


def test_cancel_unknown_job_raises(store):
    with pytest.raises(JobNotFoundError, match="job 999"):
        store.cancel(999)


def test_retry_failed_job_queues_it_again(store):
    job_id = store.enqueue("work", max_attempts=1).job_id
    claim_one(store, "run-a")
    store.fail(job_id, "run-a", "boom", None, None)

    retried = store.retry(job_id)

    record = store.get(job_id)
    assert retried is True
    assert record.state is JobState.QUEUED
    assert record.attempts == 0
    assert record.finished_at is None
    assert claim_one(store, "run-b").attempt == 1


def test_retry_succeeded_job_returns_false(store):
    job_id = store.enqueue("work").job_id
    claim_one(store, "run-a")
    store.complete(job_id, "run-a", None)

    assert store.retry(job_id) is False
    assert store.get(job_id).state is JobState.SUCCEEDED


def test_retry_unknown_job_raises(store):
    with pytest.raises(JobNotFoundError):
        store.retry(12345)


# -- unique keys --------------------------------------------------------------------


def test_duplicate_unique_key_returns_existing_job(store):
    first = store.enqueue("work", unique_key="report-1")

    second = store.enqueue("work", {"other": True}, unique_key="report-1")

    assert first.created is True
    assert second.created is False
    assert second.job_id == first.job_id
    assert len(store.page()) == 1


def test_unique_key_reusable_after_job_finishes(store):
    first = store.enqueue("work", unique_key="report-1")
    claim_one(store, "run-a")
    store.complete(first.job_id, "run-a", None)

    second = store.enqueue("work", unique_key="report-1")

    assert second.created is True
    assert second.job_id != first.job_id


def test_concurrent_unique_enqueues_make_one_row(database, store):
    threads_count = 20
    barrier = threading.Barrier(threads_count)
    results = []
    errors = []
    lock = threading.Lock()

    def enqueue() -> None:
        thread_store = JobStore(database)
        try:
            barrier.wait(timeout=10)
            result = thread_store.enqueue("work", unique_key="only-one")
            with lock:
                results.append(result)
        except Exception as exc:  # noqa: BLE001 - reported by the assert below
            with lock:
                errors.append(exc)
        finally:
            database.close()

    threads = [threading.Thread(target=enqueue) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    rows = database.execute(
        "SELECT COUNT(*) FROM jobq_job WHERE unique_key = 'only-one'"
    ).fetchone()[0]
    assert errors == []
    assert len(results) == threads_count
    assert rows == 1
    assert sum(result.created for result in results) == 1
    assert len({result.job_id for result in results}) == 1


# -- prune --------------------------------------------------------------------------


def finish_job(store: JobStore, state: JobState) -> int:
    job_id = store.enqueue("work").job_id
    claim_one(store, "run-a")
    if state is JobState.SUCCEEDED:
        store.complete(job_id, "run-a", None)
    elif state is JobState.FAILED:
        store.fail(job_id, "run-a", "boom", None, None)
    else:
        store.cancel(job_id)
        store.finish_cancelled(job_id, "run-a", "cancelled")
    return job_id


def test_prune_deletes_only_old_finished_jobs(timed_store, clock):
    old = [
        finish_job(timed_store, state)
        for state in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)
    ]
    old_queued = timed_store.enqueue("work", delay=10_000).job_id
    clock.advance(100)
    recent = finish_job(timed_store, JobState.SUCCEEDED)
    running = timed_store.enqueue("work").job_id
    claim_one(timed_store, "run-b")

    deleted = timed_store.prune(older_than=50)

    remaining = {job.id for job in timed_store.page()}
    assert deleted == 3
    assert remaining == {old_queued, recent, running}
    for job_id in old:
        assert timed_store.events(job_id) == []
    assert event_kinds(timed_store, recent) == ["enqueued", "claimed", "succeeded"]


@pytest.mark.sqlite_only("counts statements with sqlite3's trace callback")
def test_prune_works_in_batches(database, timed_store, clock):
    for _ in range(5):
        finish_job(timed_store, JobState.SUCCEEDED)
    clock.advance(100)
    statements: list[str] = []
    connection = database.peewee_db.connection()
    connection.set_trace_callback(statements.append)
    try:
        deleted = timed_store.prune(older_than=50, batch_size=2)
    finally:
        connection.set_trace_callback(None)

    # SQLite traces a statement again for each trigger run it causes, so
    # count distinct statements: one per batch of two.
    job_deletes = {s for s in statements if s.startswith("DELETE FROM jobq_job ")}
    assert deleted == 5
    assert len(job_deletes) == 3
    assert timed_store.page() == []


def test_prune_rejects_negative_age(store):
    with pytest.raises(InvalidJobError, match="negative"):
        store.prune(older_than=-1)


# -- reads ----------------------------------------------------------------------------


def test_page_uses_before_id_keyset(store):
    ids = [store.enqueue("work", {"i": i}).job_id for i in range(7)]

    first = store.page(limit=3)
    second = store.page(before_id=first[-1].id, limit=3)
    third = store.page(before_id=second[-1].id, limit=3)

    assert [job.id for job in first] == ids[6:3:-1]
    assert [job.id for job in second] == ids[3:0:-1]
    assert [job.id for job in third] == ids[:1]


def test_page_filters_by_state(store):
    failed = finish_job(store, JobState.FAILED)
    queued = store.enqueue("work").job_id

    failed_page = store.page(state=JobState.FAILED)
    queued_page = store.page(state=JobState.QUEUED)

    assert [job.id for job in failed_page] == [failed]
    assert queued in [job.id for job in queued_page]
    assert all(job.state is JobState.QUEUED for job in queued_page)


def test_counts_report_every_state(store):
    finish_job(store, JobState.SUCCEEDED)
    finish_job(store, JobState.SUCCEEDED)
    finish_job(store, JobState.FAILED)
    store.enqueue("work")
    store.enqueue("work")
    claim_one(store, "run-z")

    counts = store.counts()

    assert counts == {
        JobState.QUEUED: 1,
        JobState.RUNNING: 1,
        JobState.SUCCEEDED: 2,
        JobState.FAILED: 1,
        JobState.CANCELLED: 0,
    }


def test_get_unknown_job_raises(store):
    with pytest.raises(JobNotFoundError, match="job 77"):
        store.get(77)


# -- database files -----------------------------------------------------------------


def test_newer_schema_version_is_rejected(db_path):
    database = open_database(str(db_path))
    database.execute(
        "UPDATE jobq_meta SET value = :value WHERE key = 'schema_version'",
        {"value": str(SCHEMA_VERSION + 1)},
    )
    database.close()

    with pytest.raises(DatabaseConfigError, match="schema version"):
        open_database(str(db_path))


def test_rollback_journal_file_gets_wal(db_path):
    connection = sqlite3.connect(db_path)
    connection.execute("PRAGMA journal_mode=delete")
    connection.execute("CREATE TABLE unrelated (x INTEGER)")
    connection.commit()
    mode_before = connection.execute("PRAGMA journal_mode").fetchone()[0]
    connection.close()

    database = open_database(str(db_path))
    database.close()

    check = sqlite3.connect(db_path)
    try:
        mode_after = check.execute("PRAGMA journal_mode").fetchone()[0]
    finally:
        check.close()
    assert mode_before == "delete"
    assert mode_after == "wal"


def test_new_database_file_is_private(db_path):
    database = open_database(str(db_path))
    database.close()

    assert stat.S_IMODE(os.stat(db_path).st_mode) == 0o600


def test_corrupt_file_is_rejected_unchanged(tmp_path: Path):
    path = tmp_path / "corrupt.db"
    garbage = b"this is not a database " * 200 + bytes(range(256))
    path.write_bytes(garbage)

    with pytest.raises(DatabaseConfigError, match="corrupt.db"):
        open_database(str(path))

    assert path.read_bytes() == garbage


def test_missing_directory_is_rejected(tmp_path: Path):
    missing = tmp_path / "no-such-dir"

    with pytest.raises(DatabaseConfigError, match="does not exist"):
        open_database(str(missing / "jobs.db"))

    assert not missing.exists()


def test_memory_url_is_rejected():
    with pytest.raises(DatabaseConfigError, match="names no file"):
        open_database("sqlite:///:memory:")
