"""Soak test: worker processes SIGKILLed at random while a producer enqueues.

Run from the repository root:

    python -m tests.reliability.soak --kills 300 --workers 3 --jobs 3000 \\
        --db /tmp/soak/jobs.db --lease 2 --heartbeat 0.5

K `jobq --worker-only` processes run a handler that appends "JOB_ID ATTEMPT"
to a file opened with O_APPEND. N times, a random worker is killed with
SIGKILL at a random moment and started again. At the end every job must be
in a finished state, no job may have more recorded runs than max_attempts,
no job may have more than one succeeded outcome, and no job may be missing.
The script prints a JSON summary and exits 1 on any violation.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from jobq_tui import JobStore, open_database

HANDLERS = """
import os
import time

import jobq_tui

RUNS_FILE = os.environ["JOBQ_SOAK_RUNS"]


@jobq_tui.handler("soak")
def soak(ctx):
    fd = os.open(RUNS_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        os.write(fd, f"{ctx.job_id} {ctx.attempt}\\n".encode())
    finally:
        os.close(fd)
    time.sleep(ctx.payload["seconds"])
    return {"attempt": ctx.attempt}
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20, help="SIGKILLs to deliver")
    parser.add_argument("--workers", type=int, default=3, help="worker processes")
    parser.add_argument("--jobs", type=int, default=500, help="jobs to enqueue")
    parser.add_argument(
        "--db",
        required=True,
        help="new SQLite file; its folder also gets the handlers and the runs file",
    )
    parser.add_argument("--lease", type=float, default=2.0, help="lease, seconds")
    parser.add_argument(
        "--heartbeat", type=float, default=0.5, help="heartbeat interval, seconds"
    )
    parser.add_argument(
        "--concurrency", type=int, default=2, help="threads per worker process"
    )
    parser.add_argument(
        "--max-attempts", type=int, default=20, help="max_attempts of every job"
    )
    parser.add_argument(
        "--job-seconds",
        type=float,
        default=0.2,
        help="longest handler sleep; each job sleeps a random share of it",
    )
    parser.add_argument(
        "--kill-interval",
        type=float,
        default=0.5,
        help="longest random pause between two kills, seconds",
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed")
    parser.add_argument(
        "--deadline",
        type=float,
        default=3600.0,
        help="seconds to wait for every job to finish after the last kill",
    )
    return parser.parse_args(argv)


class Workers:
    """K worker processes that can be killed and started again by index."""

    def __init__(self, args: argparse.Namespace, folder: Path, runs_file: Path):
        self.args = args
        self.folder = folder
        self.env = dict(os.environ)
        self.env["JOBQ_SOAK_RUNS"] = str(runs_file)
        self.env["PYTHONPATH"] = os.pathsep.join(
            [str(folder), *filter(None, [self.env.get("PYTHONPATH")])]
        )
        self.env.pop("JOBQ_DB", None)
        self.log = open(folder / "workers.log", "ab")
        self.processes: list[subprocess.Popen] = []
        self.unexpected_exits: list[int] = []

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "jobq_tui.cli",
            "--db",
            self.args.db,
            "--worker-only",
            "--handlers",
            "soak_handlers",
            "--concurrency",
            str(self.args.concurrency),
            "--lease",
            str(self.args.lease),
            "--heartbeat",
            str(self.args.heartbeat),
            "--log-level",
            "WARNING",
        ]

    def spawn(self) -> subprocess.Popen:
        return subprocess.Popen(
            self.command(),
            cwd=self.folder,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def start_all(self) -> None:
        self.processes = [self.spawn() for _ in range(self.args.workers)]

    def kill_and_restart(self, index: int) -> None:
        process = self.processes[index]
        if process.poll() is not None:
            self.unexpected_exits.append(process.returncode)
        else:
            process.send_signal(signal.SIGKILL)
            process.wait()
        self.processes[index] = self.spawn()

    def stop_all(self) -> list[int]:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes = [process.wait(timeout=60) for process in self.processes]
        self.log.close()
        return codes


def produce(store: JobStore, args: argparse.Namespace, ids: list[int]) -> None:
    """Enqueue every job, spread over roughly the time the kills take."""
    pause = args.kills * args.kill_interval / 2 / max(args.jobs, 1)
    for _ in range(args.jobs):
        seconds = random.uniform(0, args.job_seconds)
        ids.append(
            store.enqueue(
                "soak", {"seconds": seconds}, max_attempts=args.max_attempts
            ).job_id
        )
        time.sleep(pause)
    store.db.close()


def summarise(
    store: JobStore, args: argparse.Namespace, ids: list[int], runs_file: Path
) -> dict:
    """Check every job against the soak's rules; return the JSON summary."""
    rows = {
        row[0]: row[1:]
        for row in store.db.execute(
            "SELECT id, state, attempts, max_attempts FROM jobq_job"
        ).fetchall()
    }
    event_counts = Counter(
        (job_id, kind)
        for job_id, kind in store.db.execute(
            "SELECT job_id, kind FROM jobq_job_event"
        ).fetchall()
    )
    runs = Counter()
    run_keys = Counter()
    if runs_file.exists():
        for line in runs_file.read_text().splitlines():
            job_id, attempt = (int(part) for part in line.split())
            runs[job_id] += 1
            run_keys[(job_id, attempt)] += 1

    lost = [job_id for job_id in ids if job_id not in rows]
    unfinished = [
        job_id
        for job_id in ids
        if job_id in rows
        and rows[job_id][0] not in ("succeeded", "failed", "cancelled")
    ]
    over_attempts = [job_id for job_id in ids if runs[job_id] > args.max_attempts]
    duplicates = [job_id for job_id in ids if event_counts[(job_id, "succeeded")] > 1]
    succeeded_without_outcome = [
        job_id
        for job_id in ids
        if job_id in rows
        and rows[job_id][0] == "succeeded"
        and event_counts[(job_id, "succeeded")] != 1
    ]
    same_attempt_twice = sorted({key[0] for key, n in run_keys.items() if n > 1})
    states = Counter(rows[job_id][0] for job_id in ids if job_id in rows)
    return {
        "jobs": len(ids),
        "kills": args.kills,
        "workers": args.workers,
        "states": dict(states),
        "reclaims": sum(
            n for (_, kind), n in event_counts.items() if kind == "reclaimed"
        ),
        "runs": sum(runs.values()),
        "runs_per_job": {
            str(count): n for count, n in sorted(Counter(runs[i] for i in ids).items())
        },
        "max_runs_of_one_job": max((runs[i] for i in ids), default=0),
        "duplicates": len(duplicates),
        "lost": len(lost),
        "violations": {
            "lost": lost[:20],
            "unfinished": unfinished[:20],
            "over_max_attempts": over_attempts[:20],
            "duplicate_completions": duplicates[:20],
            "succeeded_without_one_outcome": succeeded_without_outcome[:20],
            "same_attempt_run_twice": same_attempt_twice[:20],
        },
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.seed is not None:
        random.seed(args.seed)
    db_path = Path(args.db).resolve()
    folder = db_path.parent
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "soak_handlers.py").write_text(HANDLERS)
    runs_file = folder / "soak_runs.log"
    runs_file.unlink(missing_ok=True)
    store = JobStore(open_database(str(db_path)))
    if store.counts() and sum(store.counts().values()):
        print(f"{db_path} already has jobs: pass a new --db path", file=sys.stderr)
        return 2

    began = time.monotonic()
    workers = Workers(args, folder, runs_file)
    workers.start_all()
    ids: list[int] = []
    producer = threading.Thread(
        target=produce, args=(JobStore(open_database(str(db_path))), args, ids)
    )
    producer.start()
    for _ in range(args.kills):
        time.sleep(random.uniform(0.05, args.kill_interval))
        workers.kill_and_restart(random.randrange(args.workers))
    producer.join()

    deadline = time.monotonic() + args.deadline
    while time.monotonic() < deadline:
        row = store.db.execute(
            "SELECT COUNT(*) FROM jobq_job WHERE state IN ('queued', 'running')"
        ).fetchone()
        if row[0] == 0:
            break
        time.sleep(0.2)
    exit_codes = workers.stop_all()

    summary = summarise(store, args, ids, runs_file)
    summary["seconds"] = round(time.monotonic() - began, 1)
    summary["worker_exit_codes_at_end"] = exit_codes
    summary["unexpected_worker_exits"] = workers.unexpected_exits
    store.db.close()
    failed = any(summary["violations"].values()) or workers.unexpected_exits
    summary["ok"] = not failed
    print(json.dumps(summary, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
