"""JobService: worker threads, lease heartbeats, the reaper, start/stop/restart.

Each `start()` registers a new worker run with a random run id. Worker
threads claim jobs and run their handlers; one monitor thread renews leases,
reclaims expired ones, and passes cancellation requests and timeouts to the
handlers. Control methods are safe to call from any thread, any number of
times.
"""

from __future__ import annotations

import logging
import os
import random
import secrets
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from .db import Database, open_database
from .errors import InvalidJobError, JobCancelled, JobqError, Retry, UnknownHandlerError
from .handlers import register_builtins
from .models import JobState
from .notify import NotifyListener
from .registry import Handler, HandlerRegistry, JobContext, default_registry
from .store import ClaimedJob, EnqueueResult, JobStore

logger = logging.getLogger(__name__)

# With retention_days set, finished jobs older than that are pruned a minute
# after start and then hourly, in batches (JobStore.prune).
RETENTION_FIRST_SECONDS = 60.0
RETENTION_EVERY_SECONDS = 3600.0

# Idle poll on PostgreSQL while LISTEN works; NOTIFY normally wakes first.
LISTEN_POLL_SECONDS = 1.0

# How often an idle SQLite worker reads PRAGMA data_version to notice a commit
# from another process. One read costs tens of microseconds, so 100 reads a
# second per idle thread stay cheap, and a job enqueued by another process
# starts within about this long instead of within poll_interval.
DATA_VERSION_CHECK_SECONDS = 0.01


class ConfigError(JobqError):
    """A service setting is out of range; the message names it."""


@dataclass(frozen=True)
class ServiceConfig:
    """Settings of one JobService. Times are in seconds."""

    concurrency: int = 2
    queues: tuple[str, ...] = ("default",)
    lease: float = 30.0
    heartbeat: float = 5.0
    poll_interval: float = 0.05
    drain_timeout: float = 30.0
    backoff_base: float = 2.0
    backoff_max: float = 600.0
    name: str | None = None
    retention_days: float | None = None

    def validate(self) -> None:
        """Raise ConfigError naming the first setting that cannot work."""
        if isinstance(self.concurrency, bool) or not isinstance(self.concurrency, int):
            raise ConfigError(f"concurrency {self.concurrency!r} is not an integer")
        if not 1 <= self.concurrency <= 256:
            raise ConfigError(
                f"concurrency {self.concurrency} is out of range: use 1-256"
            )
        if not self.queues:
            raise ConfigError("queues is empty: name at least one queue")
        for key in (
            "lease",
            "heartbeat",
            "poll_interval",
            "backoff_base",
            "backoff_max",
        ):
            value = getattr(self, key)
            if not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(f"{key} {value!r} is invalid: pass a positive number")
        if self.retention_days is not None and self.retention_days <= 0:
            raise ConfigError(
                f"retention_days {self.retention_days!r} is invalid: pass a "
                "positive number of days, or leave it unset to keep every job"
            )
        if self.drain_timeout < 0:
            raise ConfigError(f"drain_timeout {self.drain_timeout} is negative")
        # Renewal must land well before expiry even if one heartbeat is late.
        if self.heartbeat * 3 > self.lease:
            raise ConfigError(
                f"heartbeat {self.heartbeat:g}s is not well inside lease "
                f"{self.lease:g}s: make the lease at least 3 heartbeats long"
            )


@dataclass(frozen=True)
class WorkerStatus:
    """A snapshot of one service for dashboards and `jobq status`."""

    state: str
    run_id: str | None
    name: str
    host: str
    pid: int
    threads_alive: int
    threads_configured: int
    handlers: list[str]
    queues: list[str]
    counts: dict[str, int]
    running_jobs: list[int]
    started_at: float | None
    heartbeat_at: float | None
    message: str = ""
    abandoned_jobs: list[int] = field(default_factory=list)
    heartbeat_interval: float = 5.0

    @property
    def is_running(self) -> bool:
        return self.state == "running"


@dataclass(frozen=True)
class StopReport:
    """The result of a stop: whether the drain finished, which jobs were released."""

    was_running: bool
    drained: bool
    released_jobs: list[int]
    seconds: float

    @property
    def message(self) -> str:
        if not self.was_running:
            return "Job Worker was already stopped"
        if self.drained:
            return f"Job Worker stopped in {self.seconds:.1f}s"
        ids = ", ".join(str(job_id) for job_id in self.released_jobs)
        return (
            f"Job Worker stopped after {self.seconds:.1f}s; jobs still running were "
            f"put back in the queue: {ids}"
        )


@dataclass
class _Active:
    ctx: JobContext
    started: float
    deadline: float | None


@dataclass
class _Run:
    run_id: str
    started_at: float
    stop_event: threading.Event = field(default_factory=threading.Event)
    monitor_stop: threading.Event = field(default_factory=threading.Event)
    hurry: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)
    monitor: threading.Thread | None = None
    active: dict[int, _Active] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    heartbeat_at: float | None = None


class JobService:
    """Runs registered handlers for queued jobs on worker threads in this process."""

    def __init__(
        self,
        database: Database | str | None = None,
        *,
        registry: HandlerRegistry | None = None,
        config: ServiceConfig | None = None,
        clock: Callable[[], float] = time.time,
        new_run_id: Callable[[], str] = lambda: secrets.token_hex(8),
        **settings: Any,
    ):
        self.database = (
            database if isinstance(database, Database) else open_database(database)
        )
        self.store = JobStore(self.database, clock=clock)
        self.registry = registry if registry is not None else default_registry
        register_builtins(self.registry)
        self.config = replace(config or ServiceConfig(), **settings)
        self.config.validate()
        self.clock = clock
        self.new_run_id = new_run_id
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.name = self.config.name or f"{self.host}:{self.pid}"

        self._control_lock = threading.RLock()
        self._state_lock = threading.Lock()
        self._wakeup = threading.Condition()
        # Number of wake() calls, guarded by _wakeup. A worker compares it
        # across its claim so a wake-up that lands before it waits is not lost.
        self._wake_count = 0
        self._state = "stopped"
        self._listener: NotifyListener | None = None
        self._run: _Run | None = None
        self._abandoned: list[int] = []
        self._last_message = ""

    # -- handlers and producing ----------------------------------------------

    def register(
        self, name: str, function: Handler, *, replace: bool = False
    ) -> Handler:
        """Register a handler under `name`."""
        return self.registry.register(name, function, replace=replace)

    def handler(self, name: str | None = None, *, replace: bool = False):
        """Decorator form of `register`."""
        return self.registry.handler(name, replace=replace)

    def enqueue(
        self, handler: str, payload: Any = None, **options: Any
    ) -> EnqueueResult:
        """Enqueue a job for a registered handler and wake an idle worker."""
        if handler not in self.registry:
            self.registry.get(handler)  # raises UnknownHandlerError naming the choices
        result = self.store.enqueue(handler, payload, **options)
        self.wake()
        return result

    def wake(self) -> None:
        """Wake idle worker threads so they claim at once."""
        with self._wakeup:
            self._wake_count += 1
            self._wakeup.notify_all()

    # -- control ---------------------------------------------------------------

    @property
    def state(self) -> str:
        with self._state_lock:
            return self._state

    def start(self) -> bool:
        """Start a new worker run; return False if one is already running."""
        with self._control_lock:
            if self.state == "running":
                return False
            run = _Run(run_id=self.new_run_id(), started_at=self.clock())
            handlers = self.registry.names()
            self.store.register_run(
                run.run_id,
                self.name,
                self.host,
                self.pid,
                self.config.concurrency,
                list(self.config.queues),
                handlers,
                self.config.heartbeat,
            )
            run.heartbeat_at = run.started_at
            for index in range(self.config.concurrency):
                thread = threading.Thread(
                    target=self._worker_loop,
                    args=(run,),
                    name=f"jobq-worker-{run.run_id[:6]}-{index}",
                    daemon=True,
                )
                run.threads.append(thread)
            run.monitor = threading.Thread(
                target=self._monitor_loop,
                args=(run,),
                name=f"jobq-monitor-{run.run_id[:6]}",
                daemon=True,
            )
            with self._state_lock:
                self._run = run
                self._state = "running"
                self._last_message = ""
            logger.info(
                "worker run %s started: %s threads, queues %s, handlers %s",
                run.run_id,
                self.config.concurrency,
                ",".join(self.config.queues),
                ",".join(handlers),
            )
            if self.database.is_postgres and self._listener is None:
                listener = NotifyListener(self.database, self.wake)
                if listener.start():
                    self._listener = listener
            for thread in run.threads:
                thread.start()
            run.monitor.start()
            return True

    def stop(self, timeout: float | None = None) -> StopReport:
        """Stop claiming, let running jobs finish for up to `timeout` seconds.

        Jobs still running after the drain go back to the queue (their lease
        would hand them out anyway); their threads are left to finish alone.
        """
        with self._control_lock:
            run = self._run
            if run is None or self.state != "running":
                return StopReport(False, True, [], 0.0)
            return self._stop_run(
                run, self.config.drain_timeout if timeout is None else timeout
            )

    def restart(self, timeout: float | None = None) -> StopReport:
        """Stop the current run (if any) and start a new one."""
        with self._control_lock:
            report = self.stop(timeout)
            self.start()
            return report

    def close(self, timeout: float | None = None) -> None:
        """Stop the worker and close this thread's database connection."""
        self.stop(timeout)
        self.database.close()

    def status(self, include_counts: bool = True) -> WorkerStatus:
        """Return the service's state, thread liveness, handlers and job counts.

        With `include_counts` False the counts are left empty and no query runs.
        """
        with self._state_lock:
            run = self._run
            state = self._state
            message = self._last_message
            abandoned = list(self._abandoned)
        counts = {}
        if include_counts:
            counts = {state_.value: n for state_, n in self.store.counts().items()}
        if run is None:
            return WorkerStatus(
                state=state,
                run_id=None,
                name=self.name,
                host=self.host,
                pid=self.pid,
                threads_alive=0,
                threads_configured=self.config.concurrency,
                handlers=self.registry.names(),
                queues=list(self.config.queues),
                counts=counts,
                running_jobs=[],
                started_at=None,
                heartbeat_at=None,
                message=message,
                abandoned_jobs=abandoned,
                heartbeat_interval=self.config.heartbeat,
            )
        with run.lock:
            running = sorted(run.active)
        return WorkerStatus(
            state=state,
            run_id=run.run_id,
            name=self.name,
            host=self.host,
            pid=self.pid,
            threads_alive=sum(thread.is_alive() for thread in run.threads),
            threads_configured=self.config.concurrency,
            handlers=self.registry.names(),
            queues=list(self.config.queues),
            counts=counts,
            running_jobs=running,
            started_at=run.started_at,
            heartbeat_at=run.heartbeat_at,
            message=message,
            abandoned_jobs=abandoned,
            heartbeat_interval=self.config.heartbeat,
        )

    def hurry_stop(self) -> None:
        """Cut short a stop that is draining: release running jobs now."""
        run = self._run
        if run is not None:
            run.hurry.set()

    def running_job_count(self) -> int:
        """Return how many jobs this process is running now."""
        run = self._run
        if run is None:
            return 0
        with run.lock:
            return len(run.active)

    def _stop_run(self, run: _Run, timeout: float) -> StopReport:
        began = time.monotonic()
        with self._state_lock:
            self._state = "stopping"
        logger.info("worker run %s stopping (drain timeout %.1fs)", run.run_id, timeout)

        run.stop_event.set()
        with run.lock:
            for active in run.active.values():
                active.ctx.stop_event.set()
        self.wake()

        deadline = began + timeout
        for thread in run.threads:
            while thread.is_alive() and not run.hurry.is_set():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                thread.join(min(remaining, 0.1))

        with run.lock:
            attempts = {
                job_id: active.ctx.attempt for job_id, active in run.active.items()
            }
        leftover = sorted(attempts)
        released = []
        for job_id in leftover:
            if self.store.release(
                job_id,
                run.run_id,
                "worker stopped before it finished",
                attempt=attempts[job_id],
            ):
                released.append(job_id)
                logger.warning(
                    "job %s still running after the %.1fs drain: released by run %s",
                    job_id,
                    timeout,
                    run.run_id,
                )

        run.monitor_stop.set()
        if run.monitor is not None:
            run.monitor.join(5.0)
        reason = "stopped" if not leftover else f"stopped; released jobs {leftover}"
        self._quietly(
            "mark run stopped", self.store.mark_run_stopped, run.run_id, reason
        )

        if self._listener is not None:
            self._listener.close()
            self._listener = None

        report = StopReport(True, not leftover, released, time.monotonic() - began)
        with self._state_lock:
            self._state = "stopped"
            self._run = None
            self._abandoned = released
            self._last_message = report.message
        logger.info("worker run %s stopped: %s", run.run_id, report.message)
        return report

    # -- worker threads ----------------------------------------------------------

    def _worker_loop(self, run: _Run) -> None:
        queues = list(self.config.queues)
        try:
            while not run.stop_event.is_set():
                with self._wakeup:
                    wake_count = self._wake_count
                try:
                    jobs = self.store.claim(run.run_id, queues, 1, self.config.lease)
                except Exception as exc:  # noqa: BLE001 - a worker must survive DB errors
                    logger.warning(
                        "run %s: claim failed: %s; retrying", run.run_id, exc
                    )
                    run.stop_event.wait(min(1.0, self.config.poll_interval * 10))
                    continue
                if not jobs:
                    self._idle_wait(run, queues, wake_count)
                    continue
                for job in jobs:
                    self._execute(run, job)
        finally:
            self.database.close()

    def _idle_wait(self, run: _Run, queues: list[str], wake_count: int) -> None:
        """Wait for an in-process wake-up, another process's commit, or a due job.

        Returns at once if wake() ran since the caller read `wake_count`.
        """
        try:
            version = self.store.data_version()
            due = self.store.next_due_at(queues)
        except Exception as exc:  # noqa: BLE001
            logger.warning("run %s: idle check failed: %s", run.run_id, exc)
            version, due = None, None

        poll = self.config.poll_interval
        if self._listener is not None and self._listener.active:
            # NOTIFY wakes us at once; the timed wait only covers missed ones.
            poll = max(poll, LISTEN_POLL_SECONDS)
        elif version is not None:
            poll = min(poll, DATA_VERSION_CHECK_SECONDS)
        while not run.stop_event.is_set():
            wait = poll
            if due is not None:
                wait = max(0.0, min(poll, due - self.clock()))
            with self._wakeup:
                if self._wake_count != wake_count:
                    return
                woken = self._wakeup.wait(wait)
            if woken or version is None:
                return
            if due is not None and due <= self.clock():
                return
            try:
                if self.store.data_version() != version:
                    return
            except Exception:  # noqa: BLE001
                return

    def _execute(self, run: _Run, job: ClaimedJob) -> None:
        store = self.store
        ctx = JobContext(
            job_id=job.id,
            attempt=job.attempt,
            max_attempts=job.max_attempts,
            payload=None,
            handler=job.handler,
            queue=job.queue,
            run_id=run.run_id,
            _report_progress=lambda pct, msg: store.set_progress(
                job.id, run.run_id, pct, msg, attempt=job.attempt
            ),
        )
        began = time.monotonic()
        deadline = began + job.timeout if job.timeout else None
        active = _Active(ctx, began, deadline)
        with run.lock:
            run.active[job.id] = active
        if run.stop_event.is_set():
            ctx.stop_event.set()
        logger.debug(
            "job %s (%s) started: attempt %s/%s on run %s",
            job.id,
            job.handler,
            job.attempt,
            job.max_attempts,
            run.run_id,
        )
        try:
            self._run_handler(run, job, ctx, began)
        except Exception:  # noqa: BLE001 - recording an outcome must not kill the thread
            logger.exception(
                "job %s: recording its outcome failed on run %s", job.id, run.run_id
            )
        finally:
            # A timed-out attempt can outlive its job's next claim by this
            # run, so remove the entry only if it is still this attempt's.
            with run.lock:
                if run.active.get(job.id) is active:
                    del run.active[job.id]

    def _run_handler(
        self, run: _Run, job: ClaimedJob, ctx: JobContext, began: float
    ) -> None:
        store = self.store
        try:
            function = self.registry.get(job.handler)
            ctx.payload = _decode(job.payload)
            result = function(ctx)
        except UnknownHandlerError as exc:
            self._record_failure(run, job, str(exc), None, retry_delay=None)
        except JobCancelled as exc:
            if ctx.cancelled and not ctx.timed_out:
                store.finish_cancelled(
                    job.id, run.run_id, str(exc) or "cancelled", attempt=job.attempt
                )
                logger.info("job %s cancelled on run %s", job.id, run.run_id)
            elif ctx.stop_requested:
                store.release(
                    job.id,
                    run.run_id,
                    "handler stopped because the worker is stopping",
                    attempt=job.attempt,
                )
            else:
                self._record_failure(
                    run, job, f"JobCancelled: {exc}", None, retry_delay=None
                )
        except Retry as exc:
            delay = exc.delay if exc.delay is not None else self._backoff(job.attempt)
            self._record_failure(run, job, f"Retry: {exc}", None, retry_delay=delay)
        except Exception as exc:  # noqa: BLE001 - any handler error is the job's failure
            error = f"{type(exc).__name__}: {exc}"
            self._record_failure(
                run,
                job,
                error,
                traceback.format_exc(),
                retry_delay=self._backoff(job.attempt),
            )
        else:
            try:
                finished = store.complete(
                    job.id, run.run_id, result, attempt=job.attempt
                )
            except InvalidJobError as exc:
                self._record_failure(run, job, str(exc), None, retry_delay=None)
                return
            if finished:
                logger.info(
                    "job %s succeeded in %.3fs on run %s",
                    job.id,
                    time.monotonic() - began,
                    run.run_id,
                )
            else:
                logger.warning(
                    "job %s finished on run %s but the run no longer owns it "
                    "(timed out, reclaimed or released): result discarded",
                    job.id,
                    run.run_id,
                )

    def _record_failure(
        self,
        run: _Run,
        job: ClaimedJob,
        error: str,
        traceback_text: str | None,
        retry_delay: float | None,
    ) -> None:
        outcome = self.store.fail(
            job.id, run.run_id, error, traceback_text, retry_delay, attempt=job.attempt
        )
        if outcome == "retried":
            logger.warning(
                "job %s attempt %s/%s failed on run %s: %s; retry in %.1fs",
                job.id,
                job.attempt,
                job.max_attempts,
                run.run_id,
                error,
                retry_delay,
            )
        elif outcome == "failed":
            logger.error(
                "job %s failed on run %s after %s attempt(s): %s",
                job.id,
                run.run_id,
                job.attempt,
                error,
            )
        elif outcome == "cancelled":
            logger.info(
                "job %s attempt %s failed on run %s and was cancelled, not retried, "
                "because its cancellation was requested: %s",
                job.id,
                job.attempt,
                run.run_id,
                error,
            )
        else:
            logger.warning(
                "job %s failed on run %s, which no longer owns it: outcome discarded",
                job.id,
                run.run_id,
            )

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter: half fixed, half random."""
        ceiling = min(
            self.config.backoff_max, self.config.backoff_base * 2 ** (attempt - 1)
        )
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    # -- monitor thread ----------------------------------------------------------

    def _monitor_loop(self, run: _Run) -> None:
        tick = min(0.5, self.config.heartbeat / 2)
        next_heartbeat = time.monotonic() + self.config.heartbeat
        next_retention = time.monotonic() + RETENTION_FIRST_SECONDS
        try:
            self._quietly("reap expired leases", self.store.reclaim_expired, run.run_id)
            while not run.monitor_stop.wait(tick):
                now = time.monotonic()
                if now >= next_heartbeat:
                    next_heartbeat = now + self.config.heartbeat
                    self._heartbeat(run)
                self._deliver_cancellations(run)
                self._enforce_timeouts(run)
                self._quietly("checkpoint the WAL", self.store.checkpoint)
                if self.config.retention_days and now >= next_retention:
                    next_retention = now + RETENTION_EVERY_SECONDS
                    self._quietly(
                        "prune by retention",
                        self.store.prune,
                        self.config.retention_days * 86400,
                    )
        finally:
            self.database.close()

    def _heartbeat(self, run: _Run) -> None:
        renewed = self._quietly(
            "renew leases", self.store.renew_leases, run.run_id, self.config.lease
        )
        if renewed is not None:
            run.heartbeat_at = self.clock()
        report = self._quietly(
            "reap expired leases", self.store.reclaim_expired, run.run_id
        )
        if report is not None and report.requeued:
            self.wake()

    def _deliver_cancellations(self, run: _Run) -> None:
        with run.lock:
            if not run.active:
                return
        requested = self._quietly(
            "read cancel requests", self.store.cancel_requests, run.run_id
        )
        if not requested:
            return
        with run.lock:
            for job_id in requested:
                active = run.active.get(job_id)
                if active is not None and not active.ctx.cancelled:
                    logger.info("job %s: cancel request passed to its handler", job_id)
                    active.ctx.cancel_event.set()

    def _enforce_timeouts(self, run: _Run) -> None:
        now = time.monotonic()
        with run.lock:
            expired = [
                (job_id, active)
                for job_id, active in run.active.items()
                if active.deadline is not None
                and now > active.deadline
                and not active.ctx.timed_out
            ]
        for job_id, active in expired:
            active.ctx.timed_out = True
            seconds = active.deadline - active.started
            outcome = self._quietly(
                "record a timeout",
                self.store.fail,
                job_id,
                run.run_id,
                f"TimeoutError: job timed out after {seconds:g}s",
                None,
                self._backoff(active.ctx.attempt),
                attempt=active.ctx.attempt,
            )
            # Signal the handler only after recording the timeout. A handler
            # that returns at once on the signal then finds its attempt already
            # failed, so its result is discarded.
            active.ctx.cancel_event.set()
            logger.warning(
                "job %s timed out after %gs on run %s: %s",
                job_id,
                seconds,
                run.run_id,
                outcome or "outcome already recorded",
            )

    def _quietly(self, what: str, function: Callable, *args: Any, **kwargs: Any) -> Any:
        """Call `function`; log and swallow a database error so the loop goes on."""
        try:
            return function(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001
            logger.warning("failed to %s: %s", what, exc)
            return None


def _decode(payload_json: str) -> Any:
    import json

    return json.loads(payload_json)


__all__ = [
    "ConfigError",
    "JobService",
    "JobState",
    "ServiceConfig",
    "StopReport",
    "WorkerStatus",
]
