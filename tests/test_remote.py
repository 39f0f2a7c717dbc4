"""Control of worker processes through control-request rows, on both backends."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from textual.widgets import DataTable

from jobq_tui import HandlerRegistry, JobService, JobState, JobStore
from jobq_tui.control import Controller, Identity
from jobq_tui.remote import RemoteControl
from jobq_tui.tui.app import JobqApp
from jobq_tui.tui.dialogs import ConfirmScreen
from jobq_tui.tui.workers import WorkersScreen

OPERATOR = Identity("alice", "ops-host", 4242)


def wait_until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.05)


@pytest.fixture
def remote_service(database):
    service = JobService(
        database,
        registry=HandlerRegistry(),
        lease=3.0,
        heartbeat=0.5,
        poll_interval=0.02,
        drain_timeout=2.0,
        name="remote-one",
    )
    remote = RemoteControl(service, poll_interval=0.1)
    service.start()
    remote.start()
    yield service, remote
    remote.close()
    service.stop(timeout=0)


def test_remote_stop_pauses_worker_process(store, remote_service):
    service, remote = remote_service
    controller = Controller(store, None, identity=OPERATOR, operators={"alice"})

    outcome = controller.request_worker_action(remote.worker_id, "stop", timeout=10)

    worker = next(w for w in store.workers() if w.worker_id == remote.worker_id)
    assert outcome.ok, outcome.message
    assert "stopped" in outcome.message
    assert service.state == "stopped"
    assert worker.liveness(time.time()) == "paused"


def test_remote_start_after_stop_resumes(store, remote_service):
    service, remote = remote_service
    controller = Controller(store, None, identity=OPERATOR, operators={"alice"})
    controller.request_worker_action(remote.worker_id, "stop", timeout=10)

    outcome = controller.request_worker_action(remote.worker_id, "start", timeout=10)

    assert outcome.ok, outcome.message
    assert service.state == "running"


def test_remote_exit_sets_exit_flag(store, remote_service):
    service, remote = remote_service
    controller = Controller(store, None, identity=OPERATOR, operators={"alice"})

    outcome = controller.request_worker_action(remote.worker_id, "exit", timeout=10)

    assert outcome.ok, outcome.message
    assert remote.exit_requested.is_set()
    assert service.state == "stopped"


def test_unanswered_request_is_withdrawn(store, remote_service):
    service, remote = remote_service
    remote.close()
    store.upsert_worker(
        "silent0000000000",
        name="silent",
        host="h",
        pid=1,
        concurrency=1,
        queues=["default"],
        handlers=[],
        state="running",
        run_id=None,
        heartbeat_interval=1.0,
    )
    controller = Controller(store, None, identity=OPERATOR, operators={"alice"})

    outcome = controller.request_worker_action("silent0000000000", "stop", timeout=0.5)

    assert outcome.ok is False
    assert "did not answer" in outcome.message
    assert store.take_control_request("silent0000000000") is None


def test_remote_request_by_non_operator_is_denied(store, remote_service):
    service, remote = remote_service
    controller = Controller(store, None, identity=OPERATOR, operators={"bob"})

    outcome = controller.request_worker_action(remote.worker_id, "stop", timeout=2)

    assert outcome.ok is False
    assert service.state == "running"
    assert store.audit_entries(limit=1)[0].outcome == "denied"


def test_unknown_worker_is_reported(store):
    controller = Controller(store, None, identity=OPERATOR, operators={"alice"})

    outcome = controller.request_worker_action("nosuchworker", "stop", timeout=1)

    assert outcome.ok is False
    assert "not found" in outcome.message


def start_worker(url: str, folder: Path, name: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "jobq_tui.cli", "--db", url, "--worker-only"]
        + ["--name", name, "--lease", "3", "--heartbeat", "0.5"]
        + ["--log-file", str(folder / f"{name}.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def test_dashboard_stops_one_of_two_workers(database, tmp_path):
    store = JobStore(database)
    workers = [start_worker(database.url, tmp_path, f"worker-{i}") for i in range(2)]
    try:
        wait_until(
            lambda: (
                sum(w.liveness(time.time()) == "running" for w in store.workers()) == 2
            ),
            30,
            "two workers registering",
        )
        controller = Controller(store, None, identity=OPERATOR, operators={"alice"})
        app = JobqApp(controller, refresh_interval=0.2, start_worker=False)
        async with app.run_test(size=(120, 35)) as pilot:
            await pilot.press("v")

            async def until(predicate, timeout=30.0):
                deadline = time.monotonic() + timeout
                while not predicate():
                    assert time.monotonic() < deadline, "condition not met in time"
                    await pilot.pause(0.05)

            await until(lambda: isinstance(app.screen, WorkersScreen))
            screen = app.screen
            await until(
                lambda: screen.worker_rows is not None and len(screen.worker_rows) == 2
            )
            names = [worker.name for worker in screen.worker_rows]
            screen.query_one("#workers", DataTable).move_cursor(
                row=names.index("worker-0")
            )

            await pilot.press("x")
            await until(lambda: isinstance(app.screen, ConfirmScreen))
            await pilot.press("tab", "enter")

            def states() -> dict[str, str]:
                now = time.time()
                return {w.name: w.liveness(now) for w in store.workers()}

            await until(lambda: states().get("worker-0") == "paused")
            assert states()["worker-1"] == "running"
            await until(lambda: any("stopped" in m for _, m in app.notifications_shown))

        job_ids = store.enqueue_many("noop", [None] * 5)
        wait_until(
            lambda: all(store.get(i).state is JobState.SUCCEEDED for i in job_ids),
            30,
            "the other worker draining the queue",
        )
        live_run = next(w.run_id for w in store.workers() if w.name == "worker-1")
        claimers = {
            event.run_id
            for job_id in job_ids
            for event in store.events(job_id)
            if event.kind == "claimed"
        }
        assert claimers == {live_run}
    finally:
        for process in workers:
            process.kill()
            process.wait(10)


def test_enqueue_in_other_process_wakes_idle_worker(database, backend, tmp_path):
    """With a 5 s poll, only a wake-up from the other process explains a fast start."""
    if backend != "postgres":
        pytest.skip("LISTEN/NOTIFY is PostgreSQL's; SQLite uses data_version")
    service = JobService(
        database, registry=HandlerRegistry(), poll_interval=5.0, heartbeat=0.5
    )
    service.start()
    try:
        assert service._listener is not None and service._listener.active
        time.sleep(0.3)  # let the worker threads settle into their idle wait
        producer = subprocess.run(
            [sys.executable, "-m", "jobq_tui.cli", "--db", database.url]
            + ["enqueue", "noop"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        job_id = int(producer.stdout.strip())
        enqueued = time.time()
        store = JobStore(database)
        wait_until(
            lambda: store.get(job_id).state is JobState.SUCCEEDED, 10, "the job running"
        )
        started = store.get(job_id).started_at
        assert started - enqueued < 2.0
    finally:
        service.stop(timeout=0)


def test_request_to_exited_worker_fails_fast(store, remote_service):
    service, remote = remote_service
    remote.close()
    controller = Controller(store, None, identity=OPERATOR, operators={"alice"})
    began = time.monotonic()

    outcome = controller.request_worker_action(remote.worker_id, "stop", timeout=30)

    assert outcome.ok is False
    assert "exited" in outcome.message
    assert time.monotonic() - began < 5


def test_cli_control_unknown_worker_exits_2(database, backend, tmp_path):
    if backend != "sqlite":
        pytest.skip("the CLI is the same on both backends")
    result = subprocess.run(
        [sys.executable, "-m", "jobq_tui.cli", "--db", database.url]
        + ["control", "nosuchworker", "stop"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "worker 'nosuchworker' not found" in result.stderr
    assert "Traceback" not in result.stderr
