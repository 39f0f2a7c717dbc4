"""The dashboard in a real terminal (tmux): it draws, and leaves on hang-up."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from jobq_tui import JobState, JobStore, open_database

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None, reason="tmux is not installed (apt-get install tmux)"
)


def tmux(socket: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["tmux", "-L", socket, *args], capture_output=True, text=True, check=False
    )


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.1)


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def test_dashboard_draws_and_exits_on_hangup(tmp_path):
    db_path = tmp_path / "jobs.db"
    store = JobStore(open_database(str(db_path)))
    job_id = store.enqueue("procedure", {"steps": 200, "step_seconds": 0.1}).job_id
    socket = f"jobq-test-{uuid.uuid4().hex[:8]}"
    command = (
        f"exec {sys.executable} -m jobq_tui.cli --db {db_path} "
        f"--log-file {tmp_path / 'jobq.log'} --lease 6 --heartbeat 1"
    )
    started = tmux(
        socket, "new-session", "-d", "-s", "t", "-x", "80", "-y", "24", command
    )
    assert started.returncode == 0, started.stderr
    pid = None
    try:
        pid = int(tmux(socket, "list-panes", "-t", "t", "-F", "#{pane_pid}").stdout)
        wait_until(
            lambda: store.get(job_id).state is JobState.RUNNING, 15, "the job starting"
        )
        wait_until(
            lambda: (
                "Job Worker is running"
                in tmux(socket, "capture-pane", "-p", "-t", "t").stdout
            ),
            10,
            "the running banner",
        )
        screen = tmux(socket, "capture-pane", "-p", "-t", "t").stdout
        assert "Worker Controls" in screen
        assert "procedure" in screen

        hung_up = time.monotonic()
        tmux(socket, "kill-session", "-t", "t")
        wait_until(
            lambda: not process_exists(pid),
            10,
            f"the dashboard exiting; its log:\n{(tmp_path / 'jobq.log').read_text()}",
        )
        exit_seconds = time.monotonic() - hung_up
        assert exit_seconds < 2.0, f"exit took {exit_seconds:.2f} s"

        job = store.get(job_id)
        events = [event.kind for event in store.events(job_id)]
        assert job.state is JobState.QUEUED
        assert events[-1] == "released"
    finally:
        tmux(socket, "kill-server")
        if pid is not None and process_exists(pid):
            os.kill(pid, signal.SIGKILL)
