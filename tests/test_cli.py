"""The `jobq` command and headless workers, run as real processes."""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from jobq_tui import JobState
from jobq_tui.cli import build_parser, main
from jobq_tui.commands import COMMANDS
from jobq_tui.store import JobStore

JOBQ = [sys.executable, "-m", "jobq_tui.cli"]

# The CLI runs the same code on both backends; these tests drive it through
# a SQLite file path, and the store tests cover PostgreSQL.
pytestmark = pytest.mark.sqlite_only("the CLI tests pass a SQLite file path")


def subcommand_parsers() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("jobq has no subcommands")


SUBCOMMANDS = sorted(subcommand_parsers())


def jobq_env(*extra_paths: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("JOBQ_DB", None)
    paths = [str(path) for path in extra_paths]
    if env.get("PYTHONPATH"):
        paths.append(env["PYTHONPATH"])
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(paths)
    return env


def run_jobq(
    *args: object, cwd: Path, timeout: float = 30
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*JOBQ, *(str(arg) for arg in args)],
        cwd=cwd,
        env=jobq_env(cwd),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def wait_until(condition: Callable[[], object], timeout: float, description: str):
    """Poll `condition` until it returns a true value or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {description}")
        time.sleep(0.05)


@pytest.fixture
def spawn(tmp_path: Path) -> Iterator[Callable[..., subprocess.Popen]]:
    """Start `jobq` processes that log into tmp_path, and kill them at teardown."""
    processes: list[subprocess.Popen] = []
    logs = []

    def start(*args: object, log_name: str) -> subprocess.Popen:
        log = open(tmp_path / log_name, "wb")
        logs.append(log)
        process = subprocess.Popen(
            [*JOBQ, *(str(arg) for arg in args)],
            cwd=tmp_path,
            env=jobq_env(tmp_path),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        processes.append(process)
        return process

    try:
        yield start
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)
        for log in logs:
            log.close()


def log_text(tmp_path: Path, name: str) -> str:
    return (tmp_path / name).read_text(errors="replace")


# -- help ----------------------------------------------------------------------


def test_every_command_is_a_subcommand():
    assert set(SUBCOMMANDS) == set(COMMANDS)


def test_every_subcommand_has_help_text():
    parser = build_parser()
    subparsers = next(
        a for a in parser._actions if isinstance(a, argparse._SubParsersAction)
    )

    helps = {action.dest: action.help for action in subparsers._choices_actions}

    assert set(helps) == set(SUBCOMMANDS)
    assert [name for name, text in helps.items() if not text] == []


@pytest.mark.parametrize("name", ["jobq", *SUBCOMMANDS])
def test_every_argument_has_help_text(name):
    parser = build_parser() if name == "jobq" else subcommand_parsers()[name]

    missing = [
        action.dest
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction)
        and action.help in (None, "")
    ]

    assert missing == []


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_subcommand_help_exits_zero(name, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main([name, "--help"])

    output = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert f"usage: jobq {name}" in output


def test_top_level_help_lists_subcommands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])

    output = capsys.readouterr().out
    assert exit_info.value.code == 0
    for name in SUBCOMMANDS:
        assert name in output


# -- commands end to end -------------------------------------------------------


def test_enqueue_then_burst_worker_runs_job(tmp_path):
    db = tmp_path / "jobs.db"
    payload = '{"steps": 3, "step_seconds": 0.01}'

    enqueued = run_jobq(
        "--db", db, "enqueue", "procedure", "--payload", payload, cwd=tmp_path
    )
    worker = run_jobq("--db", db, "--worker-only", "--burst", cwd=tmp_path)
    listed = run_jobq("--db", db, "jobs", "--json", cwd=tmp_path)

    jobs = json.loads(listed.stdout)
    assert enqueued.returncode == 0, enqueued.stderr
    assert worker.returncode == 0, worker.stderr
    assert listed.returncode == 0, listed.stderr
    assert [job["id"] for job in jobs] == [int(enqueued.stdout)]
    assert jobs[0]["state"] == "succeeded"
    assert jobs[0]["progress"] == 100


def test_db_option_after_subcommand(tmp_path):
    db = tmp_path / "jobs.db"

    enqueued = run_jobq("enqueue", "noop", "--db", db, cwd=tmp_path)
    job_output = run_jobq(
        "job", enqueued.stdout.strip(), "--json", "--db", db, cwd=tmp_path
    )

    job = json.loads(job_output.stdout)
    assert enqueued.returncode == 0, enqueued.stderr
    assert job_output.returncode == 0, job_output.stderr
    assert job["handler"] == "noop"
    assert [event["kind"] for event in job["events"]] == ["enqueued"]


def test_duplicate_unique_key_prints_existing_id(tmp_path):
    db = tmp_path / "jobs.db"

    first = run_jobq("--db", db, "enqueue", "noop", "--unique-key", "k", cwd=tmp_path)
    second = run_jobq("--db", db, "enqueue", "noop", "--unique-key", "k", cwd=tmp_path)

    assert second.returncode == 0
    assert second.stdout == first.stdout
    assert "duplicate" in second.stderr


def test_cancel_command_cancels_queued_job(tmp_path, store, db_path):
    job_id = store.enqueue("noop", delay=3600).job_id

    cancelled = run_jobq("--db", db_path, "cancel", job_id, cwd=tmp_path)

    assert cancelled.returncode == 0, cancelled.stderr
    assert f"Job {job_id} cancelled" in cancelled.stdout
    assert store.get(job_id).state is JobState.CANCELLED


def test_status_json_counts_jobs(tmp_path, store, db_path):
    store.enqueue("noop")
    store.enqueue("noop")

    status = run_jobq("--db", db_path, "status", "--json", cwd=tmp_path)

    data = json.loads(status.stdout)
    assert status.returncode == 0, status.stderr
    assert data["counts"]["queued"] == 2
    assert data["workers"] == []


# -- bad input -----------------------------------------------------------------


def write_corrupt_db(tmp_path: Path) -> Path:
    path = tmp_path / "corrupt.db"
    path.write_bytes(b"definitely not sqlite " * 100)
    return path


BAD_INPUT = {
    "payload_not_json": lambda tmp: (
        ["--db", tmp / "jobs.db", "enqueue", "procedure", "--payload", "{steps: 3}"],
        "{steps: 3}",
    ),
    "unknown_handler": lambda tmp: (
        ["--db", tmp / "jobs.db", "enqueue", "no_such_handler"],
        "no_such_handler",
    ),
    "negative_delay": lambda tmp: (
        ["--db", tmp / "jobs.db", "enqueue", "procedure", "--delay", "-5"],
        "-5",
    ),
    "job_id_not_a_number": lambda tmp: (
        ["--db", tmp / "jobs.db", "job", "abc"],
        "abc",
    ),
    "job_id_zero": lambda tmp: (
        ["--db", tmp / "jobs.db", "cancel", "0"],
        "job id 0",
    ),
    "unknown_job_id": lambda tmp: (
        ["--db", tmp / "jobs.db", "job", "424242"],
        "424242",
    ),
    "missing_db_directory": lambda tmp: (
        ["--db", tmp / "missing" / "jobs.db", "jobs"],
        str(tmp / "missing"),
    ),
    "corrupt_db_file": lambda tmp: (
        ["--db", write_corrupt_db(tmp), "jobs"],
        "corrupt.db",
    ),
    "postgres_closed_port": lambda tmp: (
        ["--db", "postgresql://jobq@127.0.0.1:1/jobq", "jobs"],
        "127.0.0.1:1",
    ),
    "unsupported_scheme": lambda tmp: (
        ["--db", "mysql://127.0.0.1/jobq", "jobs"],
        "mysql",
    ),
}


@pytest.mark.parametrize("case", BAD_INPUT.values(), ids=BAD_INPUT.keys())
def test_bad_input_exits_2_with_one_line(tmp_path, case):
    args, value = case(tmp_path)

    completed = run_jobq(*args, cwd=tmp_path)

    lines = completed.stderr.strip().splitlines()
    assert completed.returncode == 2
    assert len(lines) == 1, completed.stderr
    assert value in lines[0]
    assert "Traceback" not in completed.stderr
    assert completed.stdout == ""


def test_corrupt_db_file_left_unchanged(tmp_path):
    path = write_corrupt_db(tmp_path)
    before = path.read_bytes()

    completed = run_jobq("--db", path, "jobs", cwd=tmp_path)

    assert completed.returncode == 2
    assert path.read_bytes() == before


def test_missing_handlers_module_exits_2(tmp_path):
    completed = run_jobq(
        "--db",
        tmp_path / "jobs.db",
        "--handlers",
        "no_such_module",
        "jobs",
        cwd=tmp_path,
    )

    assert completed.returncode == 2
    assert "no_such_module" in completed.stderr
    assert "Traceback" not in completed.stderr


# -- headless workers ----------------------------------------------------------


def test_burst_exits_zero_when_no_job_due(tmp_path, store, db_path):
    job_id = store.enqueue("noop", delay=3600).job_id

    completed = run_jobq("--db", db_path, "--worker-only", "--burst", cwd=tmp_path)

    assert completed.returncode == 0, completed.stderr
    assert store.get(job_id).state is JobState.QUEUED


def test_burst_exits_zero_on_empty_database(tmp_path):
    completed = run_jobq(
        "--db", tmp_path / "jobs.db", "--worker-only", "--burst", cwd=tmp_path
    )

    assert completed.returncode == 0, completed.stderr


def test_sigterm_drains_worker_and_exits_zero(tmp_path, store, db_path, spawn):
    job_id = store.enqueue("procedure", {"steps": 8, "step_seconds": 0.25}).job_id
    worker = spawn("--db", db_path, "--worker-only", log_name="worker.log")
    wait_until(
        lambda: (
            store.get(job_id).state is JobState.RUNNING or worker.poll() is not None
        ),
        15,
        "the worker to claim the job",
    )

    signalled_at = time.time()
    worker.send_signal(signal.SIGTERM)
    code = worker.wait(timeout=20)

    record = store.get(job_id)
    runs = store.worker_runs()
    assert code == 0, log_text(tmp_path, "worker.log")
    assert record.state is JobState.SUCCEEDED
    assert record.finished_at > signalled_at
    assert len(runs) == 1
    assert runs[0].stopped_at is not None


CRASH_HANDLERS = """
import time

import jobq_tui


@jobq_tui.handler("sleepy")
def sleepy(ctx):
    if ctx.attempt < 2:
        time.sleep(30)
    return {"attempt": ctx.attempt}
"""


def test_killed_worker_job_is_reclaimed(tmp_path, store, db_path, spawn):
    (tmp_path / "crash_handlers.py").write_text(CRASH_HANDLERS)
    job_id = store.enqueue("sleepy", max_attempts=3).job_id
    worker_args = [
        "--db",
        db_path,
        "--worker-only",
        "--handlers",
        "crash_handlers",
        "--lease",
        "2",
        "--heartbeat",
        "0.5",
    ]

    first = spawn(*worker_args, log_name="first.log")
    wait_until(
        lambda: store.get(job_id).state is JobState.RUNNING or first.poll() is not None,
        15,
        "the first worker to claim the job",
    )
    assert first.poll() is None, log_text(tmp_path, "first.log")
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    second = spawn(*worker_args, log_name="second.log")
    record = wait_until(
        lambda: _finished(store, job_id) or second.poll() is not None,
        20,
        "the second worker to finish the job",
    )

    assert record is not True, log_text(tmp_path, "second.log")
    assert record.state is JobState.SUCCEEDED
    assert record.attempts == 2
    assert record.result_value() == {"attempt": 2}
    assert "reclaimed" in [event.kind for event in store.events(job_id)]


def _finished(store: JobStore, job_id: int):
    record = store.get(job_id)
    return record if record.state.finished else None
