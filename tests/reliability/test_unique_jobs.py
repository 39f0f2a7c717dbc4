"""Unique keys under contention: one row, and every loser learns which job won."""

from __future__ import annotations

import subprocess
import threading

from jobq_tui import JobStore

from .conftest import JOBQ, worker_env

CALLERS = 20


def test_twenty_threads_make_one_row(database):
    store = JobStore(database)
    barrier = threading.Barrier(CALLERS)
    results = []
    errors = []
    lock = threading.Lock()

    def enqueue() -> None:
        try:
            barrier.wait(10)
            result = store.enqueue("noop", {"n": 1}, unique_key="nightly-report")
            with lock:
                results.append(result)
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            with lock:
                errors.append(exc)
        finally:
            database.close()

    threads = [threading.Thread(target=enqueue) for _ in range(CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    rows = database.execute(
        "SELECT id FROM jobq_job WHERE unique_key = 'nightly-report'"
    ).fetchall()
    created = [result for result in results if result.created]
    duplicates = [result for result in results if result.duplicate]
    assert errors == []
    assert len(rows) == 1
    assert len(created) == 1
    assert len(duplicates) == CALLERS - 1
    assert {result.job_id for result in results} == {rows[0][0]}


def test_concurrent_cli_duplicates_name_job(tmp_path, db_file, sqlite_store):
    sqlite_store.db.close()
    command = [
        *JOBQ,
        "--db",
        str(db_file),
        "enqueue",
        "noop",
        "--unique-key",
        "k",
    ]
    processes = [
        subprocess.Popen(
            command,
            cwd=tmp_path,
            env=worker_env(tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    outputs = [process.communicate(timeout=60) for process in processes]

    ids = {stdout.strip() for stdout, _ in outputs}
    duplicate_messages = [stderr for _, stderr in outputs if "duplicate" in stderr]
    assert [process.returncode for process in processes] == [0] * 6
    assert len(ids) == 1
    assert len(duplicate_messages) == 5
    job_id = ids.pop()
    for message in duplicate_messages:
        assert f"duplicate: job {job_id} with unique key 'k'" in message
