"""The `jobq` subcommands, printing plain text or JSON."""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import json
import logging
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from typing import Any

from .config import Config, load_config
from .control import Controller
from .db import Database, open_database
from .errors import JobqError, UnknownHandlerError
from .filters import parse_filter
from .payloads import decode_json_argument, printable
from .registry import default_registry
from .remote import RemoteControl
from .service import JobService, ServiceConfig
from .store import JobStore

logger = logging.getLogger(__name__)

BURST_CHECK_SECONDS = 0.2


def run_command(args: argparse.Namespace) -> int:
    """Dispatch parsed arguments; return the exit code."""
    config = load_config(getattr(args, "config", None))
    args.settings = config
    load_handler_modules(args.handlers or [])
    database = open_database(args.db or config.database)
    try:
        if args.command is None:
            if args.worker_only:
                return run_worker(args, database)
            return run_dashboard(args, database)
        handler = COMMANDS[args.command]
        return handler(args, JobStore(database))
    finally:
        database.close()


def load_handler_modules(modules: list[str]) -> None:
    """Import user modules so their handlers register, as rq and huey load user code."""
    if modules and "" not in sys.path:
        sys.path.insert(0, "")
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise JobqError(
                f"cannot import handlers module {name!r}: {exc}; check the module "
                "name and that its folder is on PYTHONPATH"
            ) from None
        logger.info("loaded handlers module %s", name)


def service_config(args: argparse.Namespace) -> ServiceConfig:
    """Build the worker settings: flags first, then the config file, then defaults."""
    config: Config = getattr(args, "settings", None) or Config()
    settings: dict[str, Any] = {}
    keys = ("concurrency", "lease", "heartbeat", "drain_timeout", "name")
    for key in (*keys, "retention_days"):
        value = getattr(args, key, None)
        if value is None:
            value = getattr(config, key, None)
        if value is not None:
            settings[key] = value
    if getattr(args, "queues", None):
        settings["queues"] = tuple(
            q.strip() for q in args.queues.split(",") if q.strip()
        )
    elif config.queues:
        settings["queues"] = config.queues
    if "heartbeat" not in settings and "lease" in settings:
        settings["heartbeat"] = min(ServiceConfig.heartbeat, settings["lease"] / 3)
    config = ServiceConfig(**settings)
    config.validate()
    return config


def make_controller(
    args: argparse.Namespace,
    store: JobStore,
    service: JobService | None = None,
    *,
    read_only: bool = False,
) -> Controller:
    """Build the control layer with the operators from the config file."""
    config: Config = getattr(args, "settings", None) or Config()
    if config.operators is None:
        return Controller(store, service, read_only=read_only)
    return Controller(
        store,
        service,
        operators=set(config.operators),
        read_only=read_only,
        operators_source=f"the operators list of {config.path}",
    )


# -- worker and dashboard ---------------------------------------------------------


def run_worker(args: argparse.Namespace, database: Database) -> int:
    """Run a headless worker until a signal (or, with --burst, until idle)."""
    service = JobService(database, config=service_config(args))
    signals_seen: list[int] = []
    stop_requested = threading.Event()

    def on_signal(signum: int, frame: Any) -> None:
        signals_seen.append(signum)
        if len(signals_seen) == 1:
            logger.info("received %s: draining", signal.Signals(signum).name)
            stop_requested.set()
        else:
            logger.warning("second signal: releasing running jobs now")
            service.hurry_stop()

    previous = {
        sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    remote = RemoteControl(service)
    try:
        service.start()
        remote.start()
        print(
            f"jobq worker {service.name} running on {database.url} "
            f"({service.config.concurrency} threads); ctrl+c to stop",
            file=sys.stderr,
        )
        while not stop_requested.wait(BURST_CHECK_SECONDS):
            if remote.exit_requested.is_set():
                logger.info("exit requested through a control request")
                break
            if args.burst and _burst_done(service):
                logger.info("no job is due: --burst worker exits")
                break
        report = service.stop()
        print(report.message, file=sys.stderr)
        return 0
    finally:
        remote.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _burst_done(service: JobService) -> bool:
    if service.running_job_count():
        return False
    due = service.store.next_due_at(list(service.config.queues))
    return due is None or due > service.clock()


def run_dashboard(args: argparse.Namespace, database: Database) -> int:
    """Open the Textual dashboard; it starts an in-process worker unless --no-worker."""
    from .tui.app import HANGUP_DRAIN_SECONDS, JobqApp

    service = (
        None if args.no_worker else JobService(database, config=service_config(args))
    )
    store = service.store if service else JobStore(database)
    controller = make_controller(args, store, service, read_only=args.read_only)
    refresh = args.refresh or args.settings.refresh_interval or 1.0
    app = JobqApp(controller, refresh_interval=refresh)
    remote = RemoteControl(service) if service is not None else None
    if remote is not None:
        remote.start()
    try:
        app.run()
    finally:
        if remote is not None:
            remote.close()
    if service is not None and service.state != "stopped":
        if app.hangup:
            # The terminal is gone: release running jobs at once so another
            # worker picks them up, and print nothing.
            service.stop(timeout=HANGUP_DRAIN_SECONDS)
            return 0
        print("stopping the worker: waiting for running jobs", file=sys.stderr)
        report = service.stop()
        print(report.message, file=sys.stderr)
    return app.return_code or 0


# -- script commands ----------------------------------------------------------------


def cmd_enqueue(args: argparse.Namespace, store: JobStore) -> int:
    payload = decode_json_argument(args.payload, what="payload")
    if not args.force:
        _check_handler_known(args.handler, store)
    result = store.enqueue(
        args.handler,
        payload,
        queue=args.queue,
        priority=args.priority,
        delay=args.delay,
        max_attempts=args.max_attempts,
        timeout=args.timeout,
        unique_key=args.unique_key,
    )
    if result.duplicate:
        print(
            f"duplicate: job {result.job_id} with unique key {args.unique_key!r} "
            "is already queued or running",
            file=sys.stderr,
        )
    print(result.job_id)
    return 0


def _check_handler_known(name: str, store: JobStore) -> None:
    """Reject a handler no loaded module and no live worker has registered."""
    known = set(default_registry.names()) | {"procedure", "noop"}
    now = time.time()
    for run in store.worker_runs(limit=100):
        if run.liveness(now) == "live":
            known.update(run.handlers)
    if name not in known:
        raise UnknownHandlerError(
            f"unknown handler {name!r}: known handlers are {', '.join(sorted(known))}; "
            "load yours with --handlers MODULE, or pass --force to enqueue anyway"
        )


def cmd_jobs(args: argparse.Namespace, store: JobStore) -> int:
    job_filter = parse_filter(args.filter) if args.filter else None
    jobs = store.page(
        state=args.state, before_id=args.before, limit=args.limit, job_filter=job_filter
    )
    if args.json:
        _print_json([_job_summary_dict(job) for job in jobs])
        return 0
    header = (
        f"{'ID':>7}  {'STATE':<10} {'HANDLER':<18} {'TRIES':>5} {'PROG':>4}  PAYLOAD"
    )
    print(header)
    for job in jobs:
        print(
            f"{job.id:>7}  {job.state.value:<10} {printable(job.handler)[:18]:<18} "
            f"{job.attempts:>2}/{job.max_attempts:<2} {job.progress:>3}%  "
            f"{job.payload_preview[:60]}"
        )
    if not jobs:
        print("(no jobs)")
    return 0


def cmd_job(args: argparse.Namespace, store: JobStore) -> int:
    job = store.get(args.id)
    events = store.events(args.id)
    if args.json:
        data = job.as_dict()
        data["events"] = [dataclasses.asdict(event) for event in events]
        _print_json(data)
        return 0
    print(f"job {job.id}: {job.handler} on queue {job.queue}: {job.state.value}")
    print(f"  attempts {job.attempts}/{job.max_attempts}, priority {job.priority}")
    print(f"  progress {job.progress}% {printable(job.progress_message)}")
    print(f"  created  {_iso(job.created_at)}")
    print(f"  started  {_iso(job.started_at)}")
    print(f"  finished {_iso(job.finished_at)}")
    print(f"  payload  {printable(job.payload)[:2000]}")
    if job.result is not None:
        print(f"  result   {printable(job.result)[:2000]}")
    if job.error:
        print(f"  error    {printable(job.error)}")
    print("history:")
    for event in events:
        run = f" run {event.run_id}" if event.run_id else ""
        message = f": {printable(event.message)}" if event.message else ""
        print(
            f"  {_iso(event.at)}  {event.kind} (attempt {event.attempt}){run}{message}"
        )
    return 0


def cmd_cancel(args: argparse.Namespace, store: JobStore) -> int:
    store.get(args.id)  # a missing job is a usage error: exit 2, no audit entry
    outcome = make_controller(args, store).cancel(args.id)
    return _print_outcome(outcome)


def cmd_retry(args: argparse.Namespace, store: JobStore) -> int:
    store.get(args.id)  # a missing job is a usage error: exit 2, no audit entry
    outcome = make_controller(args, store).retry(args.id)
    if outcome.ok and outcome.severity == "warning":
        print(outcome.message, file=sys.stderr)
        return 1
    return _print_outcome(outcome)


def cmd_prune(args: argparse.Namespace, store: JobStore) -> int:
    outcome = make_controller(args, store).prune(args.older_than * 86400)
    return _print_outcome(outcome)


def cmd_status(args: argparse.Namespace, store: JobStore) -> int:
    counts = {state.value: count for state, count in store.counts().items()}
    now = time.time()
    runs = store.worker_runs(limit=20)
    if args.json:
        _print_json(
            {
                "counts": counts,
                "workers": [_run_dict(run, now) for run in runs],
            }
        )
        return 0
    print("jobs: " + ", ".join(f"{state} {count}" for state, count in counts.items()))
    live = [run for run in runs if run.liveness(now) == "live"]
    print(f"workers: {len(live)} live")
    for run in runs:
        _print_run(run, now)
    return 0


def cmd_workers(args: argparse.Namespace, store: JobStore) -> int:
    now = time.time()
    workers = store.workers(limit=args.limit)
    if args.json:
        _print_json([_worker_dict(worker, now) for worker in workers])
        return 0
    for worker in workers:
        print(
            f"  {worker.worker_id}  {worker.liveness(now):<8} {worker.name}  "
            f"pid {worker.pid}  {worker.concurrency} threads  "
            f"{worker.running_jobs} running  run {worker.run_id or '-'}  "
            f"heartbeat {now - worker.heartbeat_at:.0f}s ago"
        )
    if not workers:
        print("(no worker processes)")
    return 0


def cmd_control(args: argparse.Namespace, store: JobStore) -> int:
    if not any(w.worker_id == args.worker_id for w in store.workers(limit=500)):
        raise JobqError(
            f"worker {args.worker_id!r} not found: list workers with `jobq workers`"
        )
    outcome = make_controller(args, store).request_worker_action(
        args.worker_id, args.action, timeout=args.timeout
    )
    return _print_outcome(outcome)


def cmd_queues(args: argparse.Namespace, store: JobStore) -> int:
    stats = store.queue_stats()
    if args.json:
        _print_json([dataclasses.asdict(queue) for queue in stats])
        return 0
    for queue in stats:
        counts = ", ".join(f"{state} {n}" for state, n in queue.counts.items())
        flag = "PAUSED" if queue.paused else "active"
        recent = sum(queue.per_minute)
        print(f"  {queue.name:<20} {flag:<7} {counts}; {recent} finished in 10 min")
    if not stats:
        print("(no queues)")
    return 0


def cmd_pause(args: argparse.Namespace, store: JobStore) -> int:
    return _print_outcome(
        make_controller(args, store).set_queue_paused(args.queue, True)
    )


def cmd_resume(args: argparse.Namespace, store: JobStore) -> int:
    return _print_outcome(
        make_controller(args, store).set_queue_paused(args.queue, False)
    )


def cmd_audit(args: argparse.Namespace, store: JobStore) -> int:
    entries = store.audit_entries(limit=args.limit)
    if args.json:
        _print_json([dataclasses.asdict(entry) for entry in entries])
        return 0
    for entry in entries:
        print(
            f"{_iso(entry.at)}  {entry.username}@{entry.host}  {entry.action} "
            f"{entry.target}: {entry.outcome}  {printable(entry.message)}"
        )
    if not entries:
        print("(no audit entries)")
    return 0


COMMANDS = {
    "enqueue": cmd_enqueue,
    "jobs": cmd_jobs,
    "job": cmd_job,
    "cancel": cmd_cancel,
    "retry": cmd_retry,
    "prune": cmd_prune,
    "status": cmd_status,
    "workers": cmd_workers,
    "control": cmd_control,
    "queues": cmd_queues,
    "pause": cmd_pause,
    "resume": cmd_resume,
    "audit": cmd_audit,
}


def _print_outcome(outcome: Any) -> int:
    stream = sys.stdout if outcome.ok else sys.stderr
    print(outcome.message, file=stream)
    return 0 if outcome.ok else 1


def _print_run(run: Any, now: float) -> None:
    print(
        f"  {run.run_id}  {run.liveness(now):<7} {run.name}  pid {run.pid}  "
        f"{run.concurrency} threads  {run.running_jobs} running  "
        f"heartbeat {now - run.heartbeat_at:.0f}s ago"
    )


def _run_dict(run: Any, now: float) -> dict[str, Any]:
    data = dataclasses.asdict(run)
    data["liveness"] = run.liveness(now)
    return data


def _worker_dict(worker: Any, now: float) -> dict[str, Any]:
    data = dataclasses.asdict(worker)
    data["liveness"] = worker.liveness(now)
    return data


def _job_summary_dict(job: Any) -> dict[str, Any]:
    data = dataclasses.asdict(job)
    data["state"] = job.state.value
    return data


def _iso(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.fromtimestamp(timestamp, tz=UTC).isoformat(timespec="seconds")


def _print_json(data: Any) -> None:
    print(json.dumps(data, indent=2, default=str))
