"""Worker processes killed with SIGKILL: jobs come back, runs stay distinct."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from jobq_tui import JobState, JobStore
from jobq_tui.tui.app import JobqApp

from .conftest import (
    ManualClock,
    event_kinds,
    make_dashboard,
    pilot_wait,
    wait_until,
)

HANDLERS = """
import os
import time

import jobq_tui


def record_run(ctx):
    fd = os.open("runs.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, f"{ctx.job_id} {ctx.attempt}\\n".encode())
    finally:
        os.close(fd)


@jobq_tui.handler("sleepy")
def sleepy(ctx):
    record_run(ctx)
    if ctx.attempt < 2:
        time.sleep(30)
    return {"attempt": ctx.attempt}


@jobq_tui.handler("crasher")
def crasher(ctx):
    record_run(ctx)
    os._exit(137)


@jobq_tui.handler("quick")
def quick(ctx):
    record_run(ctx)
    return {"ok": True}
"""

LEASE = 5.0
HEARTBEAT = 1.0
# Time for a loaded 2-core machine to schedule the reaper's write.
SLACK = 1.5


def runs_of(tmp_path: Path, job_id: int) -> list[int]:
    """Return the attempts the handlers recorded for `job_id`, in order."""
    path = tmp_path / "runs.log"
    if not path.exists():
        return []
    attempts = []
    for line in path.read_text().splitlines():
        recorded_id, attempt = line.split()
        if int(recorded_id) == job_id:
            attempts.append(int(attempt))
    return attempts


def running_or_exited(store: JobStore, job_id: int, worker) -> bool:
    return store.get(job_id).state is JobState.RUNNING or not worker.alive()


def finished(store: JobStore, job_id: int):
    record = store.get(job_id)
    return record if record.state.finished else None


def kill_while_running(store, workers, job_id, *args):
    """Start a worker, wait for it to run `job_id`, SIGKILL it; return kill time."""
    worker = workers.start(*args, lease=LEASE, heartbeat=HEARTBEAT)
    wait_until(
        lambda: running_or_exited(store, job_id, worker),
        20,
        f"a worker to claim job {job_id}",
    )
    assert worker.alive(), worker.log()
    killed_at = time.time()
    assert worker.kill() != 0
    return worker, killed_at


def test_killed_job_reclaimed_then_succeeds(
    tmp_path, sqlite_store, workers, write_handlers
):
    write_handlers(HANDLERS)
    job_id = sqlite_store.enqueue("sleepy", max_attempts=3).job_id
    first, killed_at = kill_while_running(sqlite_store, workers, job_id)

    after_kill = sqlite_store.get(job_id)
    second = workers.start(lease=LEASE, heartbeat=HEARTBEAT)
    states_seen = set()

    def finished_or_exited():
        # get() raises JobNotFoundError if the row ever disappears.
        states_seen.add(sqlite_store.get(job_id).state)
        return finished(sqlite_store, job_id) or not second.alive()

    record = wait_until(
        finished_or_exited,
        LEASE + HEARTBEAT + 20,
        "the second worker to finish the job",
    )

    events = sqlite_store.events(job_id)
    reclaims = [event for event in events if event.kind == "reclaimed"]
    first_run = next(event.run_id for event in events if event.kind == "claimed")
    assert after_kill.state is JobState.RUNNING
    assert after_kill.attempts == 1
    assert record is not True, second.log()
    assert record.state is JobState.SUCCEEDED
    assert record.attempts == 2
    assert record.result_value() == {"attempt": 2}
    assert JobState.QUEUED in states_seen or len(reclaims) == 1
    assert len(reclaims) == 1
    assert reclaims[0].attempt == 1
    assert first_run in reclaims[0].message
    assert reclaims[0].at - killed_at <= LEASE + HEARTBEAT + SLACK
    assert f"reclaimed job {job_id} from run {first_run}" in second.log()
    assert runs_of(tmp_path, job_id) == [1, 2]


# -- a restarted worker with the same name -------------------------------------


def test_same_name_restart_gets_own_run(
    tmp_path, db_file, sqlite_store, workers, write_handlers
):
    write_handlers(HANDLERS)
    job_id = sqlite_store.enqueue("sleepy", max_attempts=3).job_id
    name_args = ("--name", "fixed-name")
    _, killed_at = kill_while_running(sqlite_store, workers, job_id, *name_args)
    restarted = workers.start(*name_args, lease=LEASE, heartbeat=HEARTBEAT)

    record = wait_until(
        lambda: finished(sqlite_store, job_id) or not restarted.alive(),
        LEASE + HEARTBEAT + 20,
        "the restarted worker to finish the job",
    )
    runs = wait_until(
        lambda: _one_live_one_lost(sqlite_store.worker_runs()),
        3 * HEARTBEAT + 10,
        "the killed run to show as lost",
    )

    events = sqlite_store.events(job_id)
    claims = [event.run_id for event in events if event.kind == "claimed"]
    reclaim = next(event for event in events if event.kind == "reclaimed")
    now = time.time()
    lost = next(run for run in runs if run.liveness(now) == "lost")
    live = next(run for run in runs if run.liveness(now) == "live")
    assert record is not True, restarted.log()
    assert record.state is JobState.SUCCEEDED
    assert {run.name for run in runs} == {"fixed-name"}
    assert len({run.run_id for run in runs}) == 2
    assert claims == [lost.run_id, live.run_id]
    assert lost.running_jobs == 0
    assert lost.stopped_at is None
    assert live.running_jobs == 0
    assert reclaim.run_id == live.run_id
    assert reclaim.at - killed_at <= LEASE + HEARTBEAT + SLACK


def _one_live_one_lost(runs):
    now = time.time()
    if sorted(run.liveness(now) for run in runs) == ["live", "lost"]:
        return runs
    return None


def test_job_of_pruned_worker_row_is_reclaimed(sqlite_db):
    clock = ManualClock()
    store = JobStore(sqlite_db, clock=clock)
    store.register_run("gone0000", "gone", "host", 1, 1, ["default"], [], 1.0)
    job_id = store.enqueue("sleepy").job_id
    assert [job.id for job in store.claim("gone0000", ["default"], 1, 5.0)] == [job_id]
    sqlite_db.execute("DELETE FROM jobq_worker_run WHERE run_id = 'gone0000'")

    clock.advance(5.1)
    report = store.reclaim_expired("reaper00")

    assert report.requeued == [job_id]
    assert store.get(job_id).state is JobState.QUEUED
    assert store.events(job_id)[-1].kind == "reclaimed"
    assert "gone0000" in store.events(job_id)[-1].message


# -- concurrency 1: a stale claim must not block the next job ---------------------


async def test_stale_claim_clears_in_flight_count(
    tmp_path, sqlite_store, workers, write_handlers
):
    write_handlers(HANDLERS)
    stale = sqlite_store.enqueue("sleepy", max_attempts=3, priority=5).job_id
    follower = sqlite_store.enqueue("quick").job_id
    worker_args = ("--concurrency", "1")
    app: JobqApp = make_dashboard(sqlite_store)

    async with app.run_test(size=(120, 35)) as pilot:
        worker = workers.start(*worker_args, lease=LEASE, heartbeat=HEARTBEAT)
        await pilot_wait(
            pilot,
            lambda: running_or_exited(sqlite_store, stale, worker),
            20,
        )
        assert worker.alive(), worker.log()
        await pilot_wait(pilot, lambda: _running_count(app) == 1)
        running_label = _running_tab_label(app)
        worker.kill()
        restarted = workers.start(*worker_args, lease=LEASE, heartbeat=HEARTBEAT)

        await pilot_wait(
            pilot,
            lambda: (
                (finished(sqlite_store, stale) and finished(sqlite_store, follower))
                or not restarted.alive()
            ),
            LEASE + HEARTBEAT + 25,
        )
        await pilot_wait(pilot, lambda: _running_count(app) == 0)
        idle_label = _running_tab_label(app)

    runs = sqlite_store.worker_runs()
    assert restarted.alive(), restarted.log()
    assert sqlite_store.get(stale).state is JobState.SUCCEEDED
    assert sqlite_store.get(stale).attempts == 2
    assert "reclaimed" in event_kinds(sqlite_store, stale)
    assert sqlite_store.get(follower).state is JobState.SUCCEEDED
    assert running_label.endswith("Running 1")
    assert idle_label.endswith("Running 0")
    assert [run.running_jobs for run in runs] == [0, 0]
    assert runs[0].concurrency == 1


def _running_count(app: JobqApp) -> int | None:
    if app.snapshot is None:
        return None
    return app.snapshot.counts[JobState.RUNNING]


def _running_tab_label(app: JobqApp) -> str:
    return str(app.query_one("#tab-running").label)


# -- a handler that kills its process every time ---------------------------------


def test_crash_loop_fails_job_as_worker_lost(
    tmp_path, sqlite_store, workers, write_handlers
):
    write_handlers(HANDLERS)
    lease, heartbeat = 2.0, 0.5
    crasher = sqlite_store.enqueue("crasher", max_attempts=3, priority=5).job_id
    others = [sqlite_store.enqueue("quick", max_attempts=1).job_id for _ in range(5)]
    exit_codes: list[int] = []
    attempts_after_exit: list[int] = []

    def all_done() -> bool:
        return all(finished(sqlite_store, jid) for jid in [crasher, *others])

    worker = workers.start("--concurrency", "1", lease=lease, heartbeat=heartbeat)
    deadline = time.monotonic() + 60
    while not all_done():
        assert time.monotonic() < deadline, "the crash loop did not settle in 60 s"
        if not worker.alive():
            exit_codes.append(worker.process.wait())
            attempts_after_exit.append(sqlite_store.get(crasher).attempts)
            worker = workers.start(
                "--concurrency", "1", lease=lease, heartbeat=heartbeat
            )
        time.sleep(0.02)

    record = sqlite_store.get(crasher)
    last_event = sqlite_store.events(crasher)[-1]
    assert record.state is JobState.FAILED
    assert record.attempts == 3
    assert "worker lost" in record.error
    assert last_event.kind == "failed"
    assert "worker lost" in last_event.message
    assert exit_codes == [137, 137, 137]
    assert attempts_after_exit == [1, 2, 3]
    assert runs_of(tmp_path, crasher) == [1, 2, 3]
    for job_id in others:
        assert sqlite_store.get(job_id).state is JobState.SUCCEEDED
    assert worker.alive(), worker.log()


@pytest.mark.parametrize("attempts", [1, 2])
def test_attempt_counted_at_claim(sqlite_db, attempts):
    clock = ManualClock()
    store = JobStore(sqlite_db, clock=clock)
    job_id = store.enqueue("crasher", max_attempts=2).job_id

    for _ in range(attempts):
        claimed = store.claim("run00000", ["default"], 1, 5.0)
        assert [job.id for job in claimed] == [job_id]
        assert store.get(job_id).attempts == claimed[0].attempt
        clock.advance(5.1)
        store.reclaim_expired("reaper00")

    record = store.get(job_id)
    expected = JobState.FAILED if attempts == 2 else JobState.QUEUED
    assert record.attempts == attempts
    assert record.state is expected
