"""The `jobq` command: flags, logging set-up, and dispatch.

Plain `jobq` opens the dashboard; `--worker-only` runs a headless worker;
subcommands (enqueue, jobs, job, cancel, retry, status, workers, audit, prune)
serve scripts.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import platformdirs

from .errors import JobqError
from .payloads import printable
from .store import MAX_PRIORITY, MIN_PRIORITY

logger = logging.getLogger(__name__)

EXIT_USAGE = 2

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"


class JobqArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser that reports a usage error in one line on stderr.

    Subparsers inherit the class, so every subcommand reports errors this way.
    """

    def error(self, message: str) -> NoReturn:
        self.exit(
            EXIT_USAGE, f"{self.prog}: error: {message}; see {self.prog} --help\n"
        )


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is too small: pass 1 or more")
    return value


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative: pass 0 or more")
    return value


def priority_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not MIN_PRIORITY <= value <= MAX_PRIORITY:
        raise argparse.ArgumentTypeError(
            f"{value} is out of range: use {MIN_PRIORITY} to {MAX_PRIORITY}"
        )
    return value


def positive_float(text: str) -> float:
    value = non_negative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError("0 is too small: pass a positive number")
    return value


def job_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"job id {text!r} is not a whole number"
        ) from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"job id {value} is invalid: ids start at 1")
    return value


def _common_options(suppress: bool) -> argparse.ArgumentParser:
    """Options accepted before or after the subcommand."""
    default = argparse.SUPPRESS if suppress else None
    parser = argparse.ArgumentParser(add_help=False)
    group = parser.add_argument_group("database and logging")
    group.add_argument(
        "--db",
        metavar="URL",
        default=default,
        help="database file path, sqlite:///PATH or postgresql://USER@HOST/DB "
        "(default: jobq.db in the user data directory; env JOBQ_DB)",
    )
    group.add_argument(
        "--config",
        metavar="PATH",
        default=default,
        help="TOML config file (default: jobq.toml in the user config directory, "
        "if it exists)",
    )
    group.add_argument(
        "--handlers",
        metavar="MODULE",
        action="append",
        default=default,
        help="import MODULE so its @jobq_tui.handler functions register (repeatable)",
    )
    group.add_argument(
        "--log-level",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        default=default,
        help="log level (default: INFO)",
    )
    group.add_argument(
        "--log-file",
        metavar="PATH",
        default=default,
        help="write the log to PATH (default: stderr for commands and workers, "
        "a file in the user log directory for the dashboard)",
    )
    return parser


def build_parser() -> argparse.ArgumentParser:
    """Build the one parser for `jobq` and its subcommands."""
    parser = JobqArgumentParser(
        prog="jobq",
        description="A durable job queue with a terminal dashboard. With no "
        "command, open the dashboard and run a worker in the same process.",
        parents=[_common_options(suppress=False)],
    )
    worker = parser.add_argument_group("worker")
    worker.add_argument(
        "--worker-only",
        action="store_true",
        help="run a headless worker; SIGTERM or ctrl+c drains, a second ctrl+c "
        "releases running jobs at once",
    )
    worker.add_argument(
        "--no-worker", action="store_true", help="open the dashboard without a worker"
    )
    worker.add_argument(
        "--concurrency", type=positive_int, help="worker threads (default 2)"
    )
    worker.add_argument(
        "--queues",
        metavar="NAMES",
        help="comma-separated queues to claim from (default: default)",
    )
    worker.add_argument(
        "--lease", type=positive_float, help="lease length in seconds (default 30)"
    )
    worker.add_argument(
        "--heartbeat",
        type=positive_float,
        help="heartbeat interval in seconds (default 5)",
    )
    worker.add_argument(
        "--drain-timeout",
        type=non_negative_float,
        help="seconds a stop waits for running jobs (default 30)",
    )
    worker.add_argument(
        "--retention-days",
        type=positive_float,
        help="prune finished jobs older than this many days, hourly (default: keep)",
    )
    worker.add_argument("--name", help="worker name shown in status (default HOST:PID)")
    worker.add_argument(
        "--burst",
        action="store_true",
        help="with --worker-only: exit 0 once no job is due",
    )
    dashboard = parser.add_argument_group("dashboard")
    dashboard.add_argument(
        "--refresh",
        type=positive_float,
        help="dashboard refresh interval in seconds (default 1)",
    )
    dashboard.add_argument(
        "--read-only",
        action="store_true",
        help="show the dashboard with every control disabled",
    )

    common = _common_options(suppress=True)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    enqueue = commands.add_parser(
        "enqueue", parents=[common], help="add a job and print its id"
    )
    enqueue.add_argument("handler", help="name of a registered handler")
    enqueue.add_argument(
        "--payload", metavar="JSON", default="null", help="job payload as JSON"
    )
    enqueue.add_argument(
        "--queue", default="default", help="queue name (default: default)"
    )
    enqueue.add_argument(
        "--priority",
        type=priority_int,
        default=0,
        help="higher runs first (default 0)",
    )
    enqueue.add_argument(
        "--delay",
        type=non_negative_float,
        default=0.0,
        help="seconds before the job is due",
    )
    enqueue.add_argument(
        "--max-attempts",
        type=positive_int,
        default=3,
        help="attempts before it fails (default 3)",
    )
    enqueue.add_argument(
        "--timeout", type=positive_float, help="seconds one attempt may run"
    )
    enqueue.add_argument(
        "--unique-key", metavar="KEY", help="at most one queued or running job per KEY"
    )
    enqueue.add_argument(
        "--force",
        action="store_true",
        help="enqueue even if no known worker has registered the handler",
    )

    jobs = commands.add_parser("jobs", parents=[common], help="list jobs, newest first")
    jobs.add_argument(
        "--state",
        choices=["queued", "running", "succeeded", "failed", "cancelled"],
        help="only jobs in this state",
    )
    jobs.add_argument(
        "--limit", type=positive_int, default=20, help="rows to show (default 20)"
    )
    jobs.add_argument(
        "--before", type=job_id, help="only jobs with ids below this (paging)"
    )
    jobs.add_argument(
        "--filter",
        metavar="FILTER",
        help="e.g. 'state:failed handler:resize queue:default error:timeout text'",
    )
    jobs.add_argument("--json", action="store_true", help="print JSON")

    job = commands.add_parser(
        "job", parents=[common], help="show one job and its history"
    )
    job.add_argument("id", type=job_id, help="id of the job to show")
    job.add_argument("--json", action="store_true", help="print JSON")

    cancel = commands.add_parser("cancel", parents=[common], help="cancel a job")
    cancel.add_argument("id", type=job_id, help="id of the job to cancel")

    retry = commands.add_parser(
        "retry", parents=[common], help="queue a failed or cancelled job again"
    )
    retry.add_argument("id", type=job_id, help="id of the job to queue again")

    status = commands.add_parser(
        "status", parents=[common], help="job counts and worker runs"
    )
    status.add_argument("--json", action="store_true", help="print JSON")

    workers = commands.add_parser(
        "workers", parents=[common], help="list worker processes and their state"
    )
    workers.add_argument(
        "--limit", type=positive_int, default=20, help="rows (default 20)"
    )
    workers.add_argument("--json", action="store_true", help="print JSON")

    control = commands.add_parser(
        "control",
        parents=[common],
        help="ask a worker process (see jobq workers) to start, stop, restart or exit",
    )
    control.add_argument("worker_id", help="worker id from `jobq workers`")
    control.add_argument(
        "action",
        choices=["start", "stop", "restart", "exit"],
        help="stop pauses the worker (it drains first); exit ends the process",
    )
    control.add_argument(
        "--timeout",
        type=positive_float,
        default=60.0,
        help="seconds to wait for the worker's reply (default 60)",
    )

    queues = commands.add_parser(
        "queues", parents=[common], help="per-queue counts, throughput and pause state"
    )
    queues.add_argument("--json", action="store_true", help="print JSON")
    for verb, text in (("pause", "stop"), ("resume", "start again")):
        queue_command = commands.add_parser(
            verb, parents=[common], help=f"{text} claiming jobs from a queue"
        )
        queue_command.add_argument("queue", help="queue name")

    audit = commands.add_parser("audit", parents=[common], help="list audit entries")
    audit.add_argument(
        "--limit", type=positive_int, default=50, help="rows (default 50)"
    )
    audit.add_argument("--json", action="store_true", help="print JSON")

    prune = commands.add_parser(
        "prune", parents=[common], help="delete finished jobs older than N days"
    )
    prune.add_argument(
        "--older-than",
        metavar="DAYS",
        type=non_negative_float,
        required=True,
        help="age in days of the finished jobs to delete",
    )
    return parser


class EscapingFormatter(logging.Formatter):
    """Formats log records with control characters escaped, line by line.

    Job errors are untrusted text; escaped, they cannot move the cursor or
    recolour the terminal that shows the log.
    """

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        return "\n".join(printable(line) for line in text.split("\n"))


def default_log_path() -> Path:
    """Return the dashboard's log file in the user log directory."""
    return Path(platformdirs.user_log_dir("jobq")) / "jobq.log"


def configure_logging(level: str, log_file: str | Path | None) -> None:
    """Send jobq's logs to stderr or to a private file."""
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    if log_file is None:
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
    else:
        path = Path(log_file).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_CREAT | os.O_APPEND | os.O_WRONLY, 0o600)
        os.close(fd)
        handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(EscapingFormatter(LOG_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)


def main(argv: Sequence[str] | None = None) -> int:
    """Run `jobq`; return the exit code (2 for usage errors)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.db is None:
        args.db = os.environ.get("JOBQ_DB") or None
    level = args.log_level or "INFO"
    dashboard = args.command is None and not args.worker_only

    if args.worker_only and args.no_worker:
        parser.error("--worker-only and --no-worker contradict each other: pick one")
    if args.burst and not args.worker_only:
        parser.error("--burst needs --worker-only")

    try:
        if dashboard:
            configure_logging(level, args.log_file or default_log_path())
        else:
            # Script commands print their outcome; their log stays quiet
            # unless asked, so a denial is not reported twice.
            configure_logging(
                level if args.worker_only else (args.log_level or "ERROR"),
                args.log_file,
            )
        from .commands import run_command

        return run_command(args)
    except BrokenPipeError:
        # The reader went away (`jobq jobs | head`): stop quietly, as cat does.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except JobqError as exc:
        print(f"jobq: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
