"""Cancellation is a database state that survives restarts, reclaims and retries."""

from __future__ import annotations

import threading

import pytest

from jobq_tui import HandlerRegistry, JobCancelled, JobState, JobStore
from jobq_tui.control import Controller

from .conftest import OPERATOR, ManualClock, event_kinds, wait_until


class GatedRegistry(HandlerRegistry):
    """A registry whose lookup waits on a gate: the job is claimed, not started."""

    def __init__(self) -> None:
        super().__init__()
        self.looked_up = threading.Event()
        self.gate = threading.Event()

    def get(self, name):
        self.looked_up.set()
        assert self.gate.wait(10), "the test never opened the gate"
        return super().get(name)


def recording_registry(registry: HandlerRegistry, starts: list[int]) -> None:
    def cooperative(ctx):
        starts.append(ctx.job_id)
        if ctx.wait(10):
            raise JobCancelled("saw the cancel request")
        return "finished without seeing the request"

    registry.register("cooperative", cooperative)


def test_queued_cancel_never_starts(make_service, sqlite_store):
    registry = HandlerRegistry()
    starts: list[int] = []
    recording_registry(registry, starts)
    cancelled = sqlite_store.enqueue("cooperative").job_id
    marker = sqlite_store.enqueue("noop").job_id

    assert sqlite_store.cancel(cancelled) == "cancelled"
    make_service(registry, concurrency=2).start()
    wait_until(
        lambda: sqlite_store.get(marker).state is JobState.SUCCEEDED,
        10,
        "the job queued behind the cancelled one",
    )

    assert starts == []
    assert sqlite_store.get(cancelled).state is JobState.CANCELLED
    assert "claimed" not in event_kinds(sqlite_store, cancelled)


def test_claimed_not_started_cancel_reaches_handler(make_service, sqlite_store):
    registry = GatedRegistry()
    starts: list[int] = []
    recording_registry(registry, starts)
    job_id = sqlite_store.enqueue("cooperative").job_id
    make_service(registry, concurrency=1).start()
    assert registry.looked_up.wait(10)

    outcome = sqlite_store.cancel(job_id)
    registry.gate.set()
    wait_until(lambda: sqlite_store.get(job_id).state.finished, 10, "the job to finish")

    assert outcome == "requested"
    assert sqlite_store.get(job_id).state is JobState.CANCELLED


def test_running_cancel_seen_through_context(make_service, sqlite_store):
    registry = HandlerRegistry()
    starts: list[int] = []
    recording_registry(registry, starts)
    job_id = sqlite_store.enqueue("cooperative").job_id
    make_service(registry, concurrency=1).start()
    wait_until(lambda: starts == [job_id], 10, "the handler to start")

    outcome = sqlite_store.cancel(job_id)
    wait_until(
        lambda: sqlite_store.get(job_id).state.finished,
        5,
        "the handler to see the request",
    )
    record = sqlite_store.get(job_id)

    assert outcome == "requested"
    assert record.state is JobState.CANCELLED
    assert "saw the cancel request" in record.error
    assert event_kinds(sqlite_store, job_id)[-2:] == ["cancel requested", "cancelled"]


@pytest.mark.parametrize("final", ["succeeded", "failed", "cancelled"])
def test_cancel_finished_job_is_noop(sqlite_store, final):
    job_id = sqlite_store.enqueue("noop", max_attempts=1).job_id
    if final == "cancelled":
        sqlite_store.cancel(job_id)
    else:
        assert len(sqlite_store.claim("run00000", ["default"], 1, 5.0)) == 1
        if final == "succeeded":
            sqlite_store.complete(job_id, "run00000", {"done": True})
        else:
            sqlite_store.fail(job_id, "run00000", "ValueError: x", None, None)
    before = sqlite_store.get(job_id)
    events_before = sqlite_store.events(job_id)

    outcome = sqlite_store.cancel(job_id)
    message = Controller(
        sqlite_store, identity=OPERATOR, operators={"operator"}
    ).cancel(job_id)

    assert outcome == "finished"
    assert sqlite_store.get(job_id) == before
    assert sqlite_store.events(job_id) == events_before
    assert message.ok
    assert message.severity == "warning"
    assert message.message == f"Job {job_id} already finished: nothing to cancel"


def test_queued_cancel_survives_restart(make_service, sqlite_db, db_file):
    from jobq_tui import open_database

    store = JobStore(sqlite_db)
    job_id = store.enqueue("cooperative").job_id
    marker = store.enqueue("noop").job_id
    assert store.cancel(job_id) == "cancelled"
    sqlite_db.close()

    # A new service on a new connection: nothing about the cancel is in memory.
    reopened = open_database(str(db_file))
    registry = HandlerRegistry()
    starts: list[int] = []
    recording_registry(registry, starts)
    service = make_service(registry, database=reopened, concurrency=1)
    service.start()
    wait_until(
        lambda: service.store.get(marker).state is JobState.SUCCEEDED, 10, "marker"
    )

    assert starts == []
    assert service.store.get(job_id).state is JobState.CANCELLED


def test_running_cancel_survives_restart(make_service, sqlite_store):
    """A stop before the handler saw the request must not run the job again."""
    started = threading.Event()
    release = threading.Event()
    starts: list[int] = []

    def deaf(ctx):
        starts.append(ctx.attempt)
        started.set()
        release.wait(10)
        return "ignored the request"

    registry = HandlerRegistry()
    registry.register("deaf", deaf)
    job_id = sqlite_store.enqueue("deaf").job_id
    service = make_service(registry, concurrency=1, drain_timeout=0.2)
    service.start()
    assert started.wait(10)

    assert sqlite_store.cancel(job_id) == "requested"
    report = service.stop(timeout=0.2)
    release.set()
    service.start()
    marker = sqlite_store.enqueue("noop").job_id
    wait_until(
        lambda: sqlite_store.get(marker).state is JobState.SUCCEEDED, 10, "marker"
    )

    assert report.released_jobs == [job_id]
    assert starts == [1]
    assert sqlite_store.get(job_id).state is JobState.CANCELLED


@pytest.mark.parametrize("route", ["release", "reclaim", "retry", "lost"])
def test_requested_cancel_wins_over_requeue(sqlite_db, route):
    """Every path from running back to queued honours a cancel request.

    "lost" is a reclaim after the last allowed attempt, which would otherwise
    fail the job as "worker lost".
    """
    clock = ManualClock()
    store = JobStore(sqlite_db, clock=clock)
    max_attempts = 1 if route == "lost" else 3
    job_id = store.enqueue("noop", max_attempts=max_attempts).job_id
    assert len(store.claim("run00000", ["default"], 1, 5.0)) == 1
    assert store.cancel(job_id) == "requested"

    if route == "release":
        assert store.release(job_id, "run00000", "worker stopped", attempt=1)
    elif route == "retry":
        outcome = store.fail(job_id, "run00000", "ValueError: x", None, 0.0, attempt=1)
        assert outcome == "cancelled"
    else:
        clock.advance(5.1)
        assert store.reclaim_expired("reaper00").cancelled == [job_id]
    again = store.claim("run11111", ["default"], 1, 5.0)

    record = store.get(job_id)
    assert again == []
    assert record.state is JobState.CANCELLED
    assert record.finished_at is not None
    assert record.run_id is None
    assert record.lease_expires_at is None
    assert event_kinds(store, job_id)[-1] == "cancelled"
