"""Stopping, draining and restarting a service: leases stay alive, nothing hangs."""

from __future__ import annotations

import threading
import time

from jobq_tui import HandlerRegistry, JobState, JobStore, open_database
from jobq_tui.tui.dialogs import ConfirmScreen

from .conftest import event_kinds, make_dashboard, pilot_wait, scaled, wait_until


def jobq_threads(prefix: str = "jobq-") -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(prefix)]


# -- a graceful stop keeps renewing the lease ------------------------------------


def test_drain_keeps_lease_and_other_service_waits(make_service, db_file):
    lease, job_seconds = scaled(3.0, 5.0), scaled(9.0, 15.0)
    starts: list[str] = []
    started = threading.Event()

    def long_job(ctx):
        starts.append(ctx.run_id)
        started.set()
        time.sleep(job_seconds)
        return {"slept": job_seconds}

    registry = HandlerRegistry()
    registry.register("long", long_job)
    first_db, second_db = open_database(str(db_file)), open_database(str(db_file))
    first = make_service(registry, database=first_db, lease=lease, heartbeat=1.0)
    second = make_service(registry, database=second_db, lease=lease, heartbeat=1.0)
    store = JobStore(open_database(str(db_file)))
    job_id = store.enqueue("long", max_attempts=3).job_id
    first.start()
    assert started.wait(10)
    job_started = time.monotonic()
    second.start()

    leases_left: list[float] = []
    sampling = threading.Event()

    def sample_lease() -> None:
        sampler_store = JobStore(open_database(str(db_file)))
        while not sampling.is_set():
            record = sampler_store.get(job_id)
            if record.state is JobState.RUNNING:
                leases_left.append(record.lease_expires_at - time.time())
            sampling.wait(0.1)
        sampler_store.db.close()

    sampler = threading.Thread(target=sample_lease)
    sampler.start()
    report = first.stop(timeout=30)
    stopped = time.monotonic()
    sampling.set()
    sampler.join()

    record = store.get(job_id)
    assert report.drained
    assert report.released_jobs == []
    assert abs(stopped - (job_started + job_seconds)) < 1.5
    assert record.state is JobState.SUCCEEDED
    assert record.attempts == 1
    assert starts == [record_run_id(store, job_id)]
    assert event_kinds(store, job_id).count("claimed") == 1
    assert "reclaimed" not in event_kinds(store, job_id)
    assert len(leases_left) > job_seconds * 5
    assert min(leases_left) > 0


def record_run_id(store: JobStore, job_id: int) -> str:
    return next(e.run_id for e in store.events(job_id) if e.kind == "claimed")


# -- stop must not hang -------------------------------------------------------------


def test_idle_stop_is_fast_and_leaves_no_threads(make_service):
    service = make_service(concurrency=4, poll_interval=0.05)
    non_daemon_before = {t for t in threading.enumerate() if not t.daemon}
    service.start()
    run_prefix = f"jobq-worker-{service.status().run_id[:6]}"
    wait_until(lambda: len(jobq_threads(run_prefix)) == 4, 5, "4 worker threads")

    began = time.monotonic()
    report = service.stop()
    seconds = time.monotonic() - began

    non_daemon_after = {t for t in threading.enumerate() if not t.daemon}
    assert report.drained
    assert seconds < 0.05 + 1.0
    assert non_daemon_after <= non_daemon_before
    assert jobq_threads(run_prefix) == []
    assert service.status().state == "stopped"


def test_stuck_handler_released_on_timeout(make_service, sqlite_store):
    started, release = threading.Event(), threading.Event()

    def deaf(ctx):
        started.set()
        release.wait(30)
        return "late result"

    registry = HandlerRegistry()
    registry.register("deaf", deaf)
    service = make_service(registry, concurrency=4)
    job_id = sqlite_store.enqueue("deaf").job_id
    service.start()
    assert started.wait(10)
    old_prefix = f"jobq-worker-{service.status().run_id[:6]}"

    began = time.monotonic()
    report = service.stop(timeout=3)
    seconds = time.monotonic() - began
    status = service.status()
    second = service.stop()

    assert 3.0 <= seconds < 4.5
    assert report.released_jobs == [job_id]
    assert status.state == "stopped"
    assert status.abandoned_jobs == [job_id]
    assert str(job_id) in status.message
    assert sqlite_store.get(job_id).state is JobState.QUEUED
    assert event_kinds(sqlite_store, job_id)[-1] == "released"
    assert not second.was_running
    assert second.message == "Job Worker was already stopped"

    # The stuck handler returns late: its result is discarded by the run guard.
    release.set()
    wait_until(lambda: jobq_threads(old_prefix) == [], 10, "the stuck thread to end")
    assert sqlite_store.get(job_id).state is JobState.QUEUED
    assert "succeeded" not in event_kinds(sqlite_store, job_id)

    registry.register("deaf", lambda ctx: "second run", replace=True)
    service.restart(timeout=1)
    service.restart(timeout=1)
    new_prefix = f"jobq-worker-{service.status().run_id[:6]}"
    wait_until(
        lambda: sqlite_store.get(job_id).state is JobState.SUCCEEDED,
        10,
        "the released job to run again",
    )
    assert len(jobq_threads("jobq-worker-")) == 4
    assert len(jobq_threads(new_prefix)) == 4
    assert service.status().threads_alive == 4


async def test_dashboard_stop_with_stuck_job(make_service, sqlite_store):
    started, release = threading.Event(), threading.Event()

    def deaf(ctx):
        started.set()
        release.wait(30)
        return "late result"

    registry = HandlerRegistry()
    registry.register("deaf", deaf)
    service = make_service(registry, concurrency=2, drain_timeout=2.0)
    job_id = sqlite_store.enqueue("deaf").job_id
    app = make_dashboard(service.store, service)
    banners: list[str] = []

    try:
        async with app.run_test(size=(120, 35)) as pilot:
            await pilot_wait(pilot, lambda: started.is_set())
            await pilot_wait(
                pilot, lambda: app.snapshot and app.snapshot.status.running_jobs
            )
            await pilot.press("x")
            await pilot_wait(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("tab", "enter")

            def stopped() -> bool:
                banners.append(app.banner.text if app.banner else "")
                return service.state == "stopped" and app.busy_action is None

            await pilot_wait(pilot, stopped, 10)
            await pilot_wait(
                pilot, lambda: "Job Worker is stopped" in (app.banner.text or "")
            )
            notifications = list(app.notifications_shown)
            final_banner = app.banner.text
    finally:
        release.set()

    warnings = [message for severity, message in notifications if severity == "warning"]
    assert any("Stopping…" in text for text in banners)
    assert final_banner.startswith("■ Job Worker is stopped")
    assert len(warnings) == 1
    assert "put back in the queue" in warnings[0]
    assert warnings[0].endswith(str(job_id))
    assert sqlite_store.get(job_id).state is JobState.QUEUED
