"""JobService with real worker threads on a real SQLite file."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from jobq_tui import JobCancelled, JobState, Retry, UnknownHandlerError
from jobq_tui.store import JobRecord, JobStore

WORKER_PREFIX = "jobq-worker-"


def wait_until(condition: Callable[[], object], timeout: float, description: str):
    """Poll `condition` until it returns a true value or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {description}")
        time.sleep(0.01)


def wait_for_finish(store: JobStore, job_id: int, timeout: float = 10.0) -> JobRecord:
    return wait_until(
        lambda: _finished_record(store, job_id), timeout, f"job {job_id} to finish"
    )


def _finished_record(store: JobStore, job_id: int) -> JobRecord | None:
    record = store.get(job_id)
    return record if record.state.finished else None


def event_kinds(store: JobStore, job_id: int) -> list[str]:
    return [event.kind for event in store.events(job_id)]


def live_worker_threads(run_id: str) -> list[threading.Thread]:
    prefix = f"{WORKER_PREFIX}{run_id[:6]}-"
    return [t for t in threading.enumerate() if t.name.startswith(prefix)]


def non_daemon_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if not t.daemon}


@pytest.fixture
def make_event() -> Iterator[Callable[[], threading.Event]]:
    """Create events for handlers to block on, and set them all at teardown."""
    created: list[threading.Event] = []

    def make() -> threading.Event:
        event = threading.Event()
        created.append(event)
        return event

    yield make
    for event in created:
        event.set()


@pytest.fixture
def service_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="jobq_tui")
    return caplog


def logged(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    return any(text in record.getMessage() for record in list(caplog.records))


# -- running jobs --------------------------------------------------------------


def test_job_succeeds_with_result_and_progress(make_service, registry, store):
    @registry.handler("double")
    def double(ctx):
        ctx.progress(50, "half way")
        return {"value": ctx.payload["n"] * 2}

    service = make_service()
    service.start()
    job_id = service.enqueue("double", {"n": 21}).job_id

    record = wait_for_finish(store, job_id)

    assert record.state is JobState.SUCCEEDED
    assert record.progress == 100
    assert record.result_value() == {"value": 42}
    assert record.attempts == 1
    assert event_kinds(store, job_id) == ["enqueued", "claimed", "succeeded"]


def test_handler_exception_retries_then_fails(make_service, registry, store):
    attempts_seen: list[int] = []

    @registry.handler("broken")
    def broken(ctx):
        attempts_seen.append(ctx.attempt)
        raise ValueError(f"broken on attempt {ctx.attempt}")

    service = make_service(backoff_base=0.2)
    service.start()
    job_id = service.enqueue("broken", max_attempts=3).job_id

    record = wait_for_finish(store, job_id)

    events = store.events(job_id)
    claimed_at = [event.at for event in events if event.kind == "claimed"]
    retried_at = [event.at for event in events if event.kind == "retried"]
    assert record.state is JobState.FAILED
    assert record.attempts == 3
    assert attempts_seen == [1, 2, 3]
    assert record.error == "ValueError: broken on attempt 3"
    assert "Traceback (most recent call last)" in record.traceback
    assert "ValueError: broken on attempt 3" in record.traceback
    assert len(retried_at) == 2
    # Backoff is base * 2**(attempt - 1) with up to half of it random: the
    # first retry waits at least 0.1 s, the second at least 0.2 s.
    assert claimed_at[1] - claimed_at[0] >= 0.1
    assert claimed_at[2] - claimed_at[1] >= 0.2


def test_retry_exception_requeues_after_its_delay(make_service, registry, store):
    @registry.handler("flaky")
    def flaky(ctx):
        if ctx.attempt == 1:
            raise Retry("not ready yet", delay=0.3)
        return "done"

    service = make_service()
    service.start()
    job_id = service.enqueue("flaky").job_id

    record = wait_for_finish(store, job_id)

    events = store.events(job_id)
    claimed_at = [event.at for event in events if event.kind == "claimed"]
    retried = [event for event in events if event.kind == "retried"]
    assert record.state is JobState.SUCCEEDED
    assert record.attempts == 2
    assert record.result_value() == "done"
    assert len(retried) == 1
    assert "Retry: not ready yet" in retried[0].message
    assert claimed_at[1] - claimed_at[0] >= 0.3


def test_job_for_unregistered_handler_fails_at_once(make_service, store):
    service = make_service()
    job_id = store.enqueue("missing_handler", max_attempts=3).job_id
    service.start()

    record = wait_for_finish(store, job_id)

    assert record.state is JobState.FAILED
    assert record.attempts == 1
    assert "unknown handler 'missing_handler'" in record.error


def test_enqueue_unknown_handler_raises(make_service):
    service = make_service()

    with pytest.raises(UnknownHandlerError, match="nobody_home"):
        service.enqueue("nobody_home")


# -- cancellation --------------------------------------------------------------


def register_patient_handler(registry, started, saw_cancel):
    """Register a `patient` handler that polls ctx.wait until its job is cancelled."""

    @registry.handler("patient")
    def patient(ctx):
        started.set()
        for _ in range(400):
            if ctx.wait(0.025):
                saw_cancel.set()
                raise JobCancelled("stopped by request")
        return "never cancelled"


def test_cancel_reaches_running_handler(make_service, registry, store):
    started, saw_cancel = threading.Event(), threading.Event()
    register_patient_handler(registry, started, saw_cancel)
    service = make_service()
    service.start()
    job_id = service.enqueue("patient").job_id
    assert started.wait(5)

    outcome = store.cancel(job_id)

    assert outcome == "requested"
    assert saw_cancel.wait(5)


def test_job_cancelled_exception_marks_job_cancelled(make_service, registry, store):
    started, saw_cancel = threading.Event(), threading.Event()
    register_patient_handler(registry, started, saw_cancel)
    service = make_service()
    service.start()
    job_id = service.enqueue("patient").job_id
    assert started.wait(5)

    store.cancel(job_id)
    record = wait_for_finish(store, job_id)

    assert record.state is JobState.CANCELLED
    assert record.error == "stopped by request"
    assert record.attempts == 1
    assert event_kinds(store, job_id)[-2:] == ["cancel requested", "cancelled"]


def test_job_cancelled_without_request_fails(make_service, registry, store):
    @registry.handler("quitter")
    def quitter(ctx):
        raise JobCancelled("gave up")

    service = make_service()
    service.start()
    job_id = service.enqueue("quitter", max_attempts=3).job_id

    record = wait_for_finish(store, job_id)

    assert record.state is JobState.FAILED
    assert record.attempts == 1
    assert record.error == "JobCancelled: gave up"


# -- timeouts ------------------------------------------------------------------


def test_timeout_retries_job(make_service, registry, store):
    @registry.handler("slow_once")
    def slow_once(ctx):
        if ctx.attempt == 1:
            ctx.wait(10)
            return "late"
        return "on time"

    service = make_service()
    service.start()
    job_id = service.enqueue("slow_once", timeout=0.3, max_attempts=2).job_id

    record = wait_for_finish(store, job_id)

    retried = [event for event in store.events(job_id) if event.kind == "retried"]
    assert record.state is JobState.SUCCEEDED
    assert record.attempts == 2
    assert record.result_value() == "on time"
    assert len(retried) == 1
    assert "TimeoutError: job timed out after 0.3s" in retried[0].message


def test_result_returned_on_timeout_signal_is_discarded(make_service, registry, store):
    """The handler must learn of its timeout only after the timeout is recorded."""
    completed = threading.Event()

    @registry.handler("slow_once")
    def slow_once(ctx):
        if ctx.attempt == 1:
            ctx.wait(10)
            return "late"
        return "on time"

    service = make_service()
    complete, fail = service.store.complete, service.store.fail

    def complete_then_signal(*args, **kwargs):
        try:
            return complete(*args, **kwargs)
        finally:
            completed.set()

    def fail_after_a_completion(*args, **kwargs):
        # A handler already signalled about its timeout gets 0.5 s to finish
        # first. A handler not signalled yet is still in ctx.wait and cannot.
        completed.wait(0.5)
        return fail(*args, **kwargs)

    service.store.complete = complete_then_signal
    service.store.fail = fail_after_a_completion
    service.start()
    job_id = service.enqueue("slow_once", timeout=0.3, max_attempts=2).job_id

    record = wait_for_finish(store, job_id)

    assert record.state is JobState.SUCCEEDED
    assert record.result_value() == "on time"
    assert record.attempts == 2


def test_timeout_fails_job_at_max_attempts(make_service, registry, store, make_event):
    gate = make_event()

    @registry.handler("stuck")
    def stuck(ctx):
        gate.wait(10)
        return "late"

    service = make_service()
    service.start()
    job_id = service.enqueue("stuck", timeout=0.3, max_attempts=1).job_id

    record = wait_for_finish(store, job_id)

    assert record.state is JobState.FAILED
    assert record.error == "TimeoutError: job timed out after 0.3s"


def test_late_completion_after_timeout_is_discarded(
    make_service, registry, store, make_event, service_log
):
    release_first, finish_second = make_event(), make_event()
    second_started = threading.Event()

    @registry.handler("overrun")
    def overrun(ctx):
        if ctx.attempt == 1:
            release_first.wait(10)
            return "late"
        second_started.set()
        finish_second.wait(10)
        return "second"

    service = make_service(concurrency=2)
    service.start()
    job_id = service.enqueue("overrun", timeout=0.3, max_attempts=2).job_id
    assert second_started.wait(5)

    release_first.set()
    wait_until(
        lambda: (
            logged(service_log, f"job {job_id} finished on run")
            or store.get(job_id).state is not JobState.RUNNING
        ),
        5,
        "the first attempt to return",
    )
    during_second = store.get(job_id)
    running_during_second = service.status().running_jobs
    finish_second.set()
    record = wait_for_finish(store, job_id)

    assert during_second.state is JobState.RUNNING
    assert during_second.attempts == 2
    assert running_during_second == [job_id]
    assert record.state is JobState.SUCCEEDED
    assert record.result_value() == "second"
    assert record.attempts == 2


# -- wake-up and control -------------------------------------------------------


def test_enqueue_wakes_idle_worker(make_service, registry, store):
    started = threading.Event()
    registry.register("ping", lambda ctx: started.set())
    service = make_service(concurrency=1, poll_interval=5.0)
    service.start()

    service.enqueue("ping")

    assert started.wait(1.0)


def test_enqueue_during_idle_check_wakes_worker(make_service, registry):
    """An enqueue between the worker's idle check and its wait must not be lost."""
    started = threading.Event()
    registry.register("ping", lambda ctx: started.set())
    service = make_service(concurrency=1, poll_interval=5.0)
    checked, enqueued = threading.Event(), threading.Event()
    next_due_at = service.store.next_due_at

    def next_due_at_then_pause(queues):
        due = next_due_at(queues)
        if not checked.is_set():
            checked.set()
            enqueued.wait(5)
        return due

    service.store.next_due_at = next_due_at_then_pause
    service.start()
    assert checked.wait(5)

    service.enqueue("ping")
    enqueued.set()

    assert started.wait(1.0)


def test_start_twice_returns_false(make_service):
    service = make_service()

    first = service.start()
    second = service.start()

    assert first is True
    assert second is False
    assert len(live_worker_threads(service.status().run_id)) == 2


def test_stop_idle_service_returns_within_poll_interval(make_service):
    service = make_service(concurrency=2, poll_interval=2.0)
    before = non_daemon_threads()
    service.start()
    run_id = service.status().run_id

    began = time.monotonic()
    report = service.stop()
    elapsed = time.monotonic() - began

    assert elapsed < 2.0 + 1.0
    assert report.was_running is True
    assert report.drained is True
    assert live_worker_threads(run_id) == []
    assert non_daemon_threads() == before


def test_stop_twice_is_noop(make_service, store):
    service = make_service()
    service.start()
    run_id = service.status().run_id

    first = service.stop()
    second = service.stop()

    assert first.was_running is True
    assert second.was_running is False
    assert second.released_jobs == []
    assert service.state == "stopped"
    assert store.worker_run(run_id).stopped_at is not None


def test_restart_leaves_configured_worker_count(make_service):
    service = make_service(concurrency=3)
    service.start()
    old_run = service.status().run_id

    service.restart()

    status = service.status()
    assert status.run_id != old_run
    assert len(live_worker_threads(status.run_id)) == 3
    assert status.threads_alive == 3
    assert live_worker_threads(old_run) == []


def test_stop_releases_job_that_ignores_cancellation(
    make_service, registry, store, make_event, service_log
):
    gate = make_event()
    started = threading.Event()

    @registry.handler("stubborn")
    def stubborn(ctx):
        started.set()
        gate.wait(30)
        return "finished anyway"

    service = make_service(concurrency=1)
    service.start()
    job_id = service.enqueue("stubborn").job_id
    assert started.wait(5)

    began = time.monotonic()
    report = service.stop(timeout=1)
    elapsed = time.monotonic() - began

    record = store.get(job_id)
    assert 0.9 <= elapsed < 2.5
    assert report.drained is False
    assert report.released_jobs == [job_id]
    assert record.state is JobState.QUEUED
    assert record.attempts == 0
    assert event_kinds(store, job_id)[-1] == "released"

    gate.set()
    wait_until(
        lambda: logged(service_log, f"job {job_id} finished on run"),
        5,
        "the stubborn handler to return",
    )
    assert store.get(job_id).state is JobState.QUEUED


def test_lease_renewed_during_drain(make_service, registry, store):
    runs_seen: list[tuple[str, int]] = []
    started = threading.Event()

    @registry.handler("long_job")
    def long_job(ctx):
        runs_seen.append((ctx.run_id, ctx.attempt))
        started.set()
        # Runs for twice the lease and ignores the stop request on purpose.
        threading.Event().wait(3.0)
        return "done"

    timings = {"lease": 1.5, "heartbeat": 0.3, "concurrency": 1}
    first = make_service(**timings)
    second = make_service(**timings)
    first.start()
    job_id = first.enqueue("long_job").job_id
    assert started.wait(5)
    first_run = first.status().run_id
    second.start()

    report = first.stop(timeout=5)
    second.stop()

    record = store.get(job_id)
    assert report.drained is True
    assert record.state is JobState.SUCCEEDED
    assert runs_seen == [(first_run, 1)]
    assert event_kinds(store, job_id).count("claimed") == 1
    assert "reclaimed" not in event_kinds(store, job_id)


def test_status_reports_fields(make_service, registry, store):
    registry.register("alpha", lambda ctx: None)
    service = make_service(concurrency=2, queues=("default", "mail"))
    store.enqueue("alpha", queue="other")

    service.start()
    running = service.status()
    service.stop()
    stopped = service.status()

    assert running.state == "running"
    assert running.is_running is True
    assert running.threads_alive == 2
    assert running.threads_configured == 2
    assert "alpha" in running.handlers
    assert "procedure" in running.handlers
    assert running.queues == ["default", "mail"]
    assert running.counts == {
        "queued": 1,
        "running": 0,
        "succeeded": 0,
        "failed": 0,
        "cancelled": 0,
    }
    assert running.run_id == store.worker_runs()[0].run_id
    assert stopped.state == "stopped"
    assert stopped.run_id is None
    assert stopped.threads_alive == 0


def test_concurrent_control_never_exceeds_concurrency(make_service, store):
    concurrency = 2
    service = make_service(concurrency=concurrency)
    sampling_done = threading.Event()
    samples: list[list[str]] = []
    errors: list[BaseException] = []

    def sample() -> None:
        while not sampling_done.is_set():
            names = [t.name for t in threading.enumerate()]
            samples.append([n for n in names if n.startswith(WORKER_PREFIX)])
            sampling_done.wait(0.001)

    def control(seed: int) -> None:
        chooser = random.Random(seed)
        actions = [service.start, service.stop, service.restart, service.status]
        try:
            for _ in range(15):
                chooser.choice(actions)()
        except BaseException as exc:  # noqa: BLE001 - reported by the assert below
            errors.append(exc)

    sampler = threading.Thread(target=sample)
    sampler.start()
    controllers = [threading.Thread(target=control, args=(i,)) for i in range(6)]
    for thread in controllers:
        thread.start()
    for thread in controllers:
        thread.join(timeout=60)
    sampling_done.set()
    sampler.join()
    service.stop()

    prefixes = {f"{WORKER_PREFIX}{run.run_id[:6]}-" for run in store.worker_runs(100)}
    ours = [
        [name for name in sample if any(name.startswith(p) for p in prefixes)]
        for sample in samples
    ]
    assert errors == []
    assert len(prefixes) >= 1
    assert max(len(sample) for sample in ours) <= concurrency
    assert service.status().threads_alive == 0
