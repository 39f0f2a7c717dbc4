"""Operator actions: authorise, execute, write an audit entry, return an outcome.

The dashboard and the CLI call these and show `Outcome.message`; neither
changes the queue or the worker any other way.
"""

from __future__ import annotations

import getpass
import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .db import read_meta
from .errors import JobqError
from .filters import JobFilter
from .handlers import PROCEDURE
from .service import JobService, WorkerStatus
from .store import JobStore

logger = logging.getLogger(__name__)

READ_ACTIONS = frozenset({"status"})

REMOTE_ACTIONS = ("start", "stop", "restart", "exit")

DEFAULT_TEST_JOB = {"steps": 5, "step_seconds": 1.0}


@dataclass(frozen=True)
class Identity:
    """The acting user: OS user (over SSH, the login), host, pid, SSH client."""

    user: str
    host: str
    pid: int
    ssh_client: str = ""

    @classmethod
    def current(cls) -> Identity:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):
            user = str(os.getuid())
        ssh = os.environ.get("SSH_CONNECTION", "").split()
        return cls(user, socket.gethostname(), os.getpid(), ssh[0] if ssh else "")


@dataclass(frozen=True)
class Outcome:
    """The result of one action, ready to show: ok or not, a message, a severity."""

    ok: bool
    message: str
    severity: str = "information"
    data: Any = field(default=None, compare=False)

    @classmethod
    def success(cls, message: str, data: Any = None) -> Outcome:
        return cls(True, message, "information", data)

    @classmethod
    def warning(cls, message: str, data: Any = None) -> Outcome:
        return cls(True, message, "warning", data)

    @classmethod
    def error(cls, message: str, data: Any = None) -> Outcome:
        return cls(False, message, "error", data)


class Controller:
    """Runs operator actions against one service and its store.

    `operators` is the set of user names allowed to change anything; None
    means only the user who created the database. `read_only` denies every
    change for every user.
    """

    def __init__(
        self,
        store: JobStore,
        service: JobService | None = None,
        *,
        identity: Identity | None = None,
        operators: frozenset[str] | set[str] | None = None,
        read_only: bool = False,
        operators_source: str = "the operators list of the jobq config file",
        test_job: dict[str, Any] | None = None,
    ):
        self.store = store
        self.service = service
        self.identity = identity or Identity.current()
        self.read_only = read_only
        self.test_job = dict(test_job or DEFAULT_TEST_JOB)
        self.operators_source = operators_source
        if operators is None:
            creator = read_meta(store.db, "created_by")
            operators = {creator} if creator else set()
            self.operators_source = "the database creator (no operators configured)"
        self.operators = frozenset(operators)
        self.write_denied = store.db.write_denied_reason()

    # -- authorisation ---------------------------------------------------------

    def permission(self) -> tuple[bool, str]:
        """Return whether this identity may change things, and why not."""
        if self.read_only:
            return False, "the dashboard was started with --read-only"
        if self.write_denied:
            return False, self.write_denied
        if self.identity.user not in self.operators:
            return False, (
                f"{self.identity.user} is not an operator; operators are set in "
                f"{self.operators_source}"
            )
        return True, ""

    @property
    def can_control(self) -> bool:
        return self.permission()[0]

    # -- actions -------------------------------------------------------------------

    def start(self) -> Outcome:
        def act() -> Outcome:
            service = self._require_service()
            if service.start():
                return Outcome.success("Job Worker started")
            return Outcome.warning("Job Worker is already running")

        return self._run("start", "worker", act)

    def stop(self, timeout: float | None = None) -> Outcome:
        def act() -> Outcome:
            report = self._require_service().stop(timeout)
            if not report.was_running:
                return Outcome.warning(report.message, report)
            if report.drained:
                return Outcome.success(report.message, report)
            return Outcome.warning(report.message, report)

        return self._run("stop", "worker", act)

    def restart(self, timeout: float | None = None) -> Outcome:
        def act() -> Outcome:
            service = self._require_service()
            report = service.restart(timeout)
            status = service.status()
            message = (
                f"Job Worker restarted: {status.threads_alive}/"
                f"{status.threads_configured} threads, run {status.run_id}"
            )
            if report.released_jobs:
                return Outcome.warning(f"{message}; {report.message}", report)
            return Outcome.success(message, report)

        return self._run("restart", "worker", act)

    def status(self) -> Outcome:
        def act() -> Outcome:
            status: WorkerStatus = self._require_service().status()
            alive = f"{status.threads_alive}/{status.threads_configured} threads alive"
            return Outcome.success(f"Job Worker is {status.state}: {alive}", status)

        return self._run("status", "worker", act)

    def create_test_job(self, payload: dict[str, Any] | None = None) -> Outcome:
        def act() -> Outcome:
            result = self.store.enqueue(PROCEDURE, payload or self.test_job)
            if self.service is not None:
                self.service.wake()
            return Outcome.success(f"Test job {result.job_id} created", result.job_id)

        return self._run("create_test_job", PROCEDURE, act)

    def cancel(self, job_id: int) -> Outcome:
        def act() -> Outcome:
            outcome = self.store.cancel(job_id, f"cancelled by {self.identity.user}")
            if outcome == "cancelled":
                return Outcome.success(f"Job {job_id} cancelled")
            if outcome == "requested":
                return Outcome.success(
                    f"Cancel of running job {job_id} requested; its handler stops "
                    "at its next check"
                )
            return Outcome.warning(f"Job {job_id} already finished: nothing to cancel")

        return self._run("cancel", f"job {job_id}", act)

    def retry(self, job_id: int) -> Outcome:
        def act() -> Outcome:
            if self.store.retry(job_id):
                if self.service is not None:
                    self.service.wake()
                return Outcome.success(f"Job {job_id} queued again")
            state = self.store.get(job_id).state
            return Outcome.warning(
                f"Job {job_id} is {state}: only failed or cancelled jobs can be retried"
            )

        return self._run("retry", f"job {job_id}", act)

    def prune(self, older_than_seconds: float) -> Outcome:
        def act() -> Outcome:
            deleted = self.store.prune(older_than_seconds)
            days = older_than_seconds / 86400
            return Outcome.success(
                f"Pruned {deleted} finished jobs older than {days:g} days", deleted
            )

        return self._run("prune", "finished jobs", act)

    def set_queue_paused(self, queue: str, paused: bool) -> Outcome:
        """Pause or resume claiming from `queue`, for every worker."""
        verb = "paused" if paused else "resumed"

        def act() -> Outcome:
            if self.store.set_queue_paused(queue, paused, self.identity.user):
                return Outcome.success(f"Queue {queue} {verb}")
            return Outcome.warning(f"Queue {queue} was already {verb}")

        return self._run(
            "pause_queue" if paused else "resume_queue", f"queue {queue}", act
        )

    def bulk(
        self,
        action: str,
        *,
        job_filter: JobFilter | None = None,
        ids: list[int] | None = None,
        on_batch: Callable[[int], None] | None = None,
    ) -> Outcome:
        """Retry, cancel or delete matching or marked jobs; one audit entry in all."""
        if job_filter is not None:
            target = f"filter {job_filter.describe() or '(all jobs)'}"
        else:
            target = f"{len(ids or []):,} marked jobs"
        past = {"retry": "queued again", "cancel": "cancelled", "delete": "deleted"}

        def act() -> Outcome:
            changed = self.store.bulk_apply(
                action,
                job_filter=job_filter,
                ids=ids,
                on_batch=on_batch,
                message=f"bulk {action} by {self.identity.user}",
            )
            jobs = "1 job" if changed == 1 else f"{changed:,} jobs"
            return Outcome.success(f"{jobs} {past[action]} ({target})", changed)

        return self._run(f"bulk_{action}", target, act)

    def request_worker_action(
        self,
        worker_id: str,
        action: str,
        *,
        timeout: float = 60.0,
        poll: float = 0.2,
    ) -> Outcome:
        """Ask a worker process, maybe on another host, to start, stop, restart or exit.

        Waits up to `timeout` seconds for its reply. A request nobody took
        by then is withdrawn, so a worker that comes back later never acts
        on a stale one.
        """

        def act() -> Outcome:
            if action not in REMOTE_ACTIONS:
                raise JobqError(
                    f"unknown worker action {action!r}: use one of "
                    f"{', '.join(REMOTE_ACTIONS)}"
                )
            worker = next(
                (w for w in self.store.workers(limit=500) if w.worker_id == worker_id),
                None,
            )
            if worker is not None:
                liveness = worker.liveness(time.time())
                if liveness in ("exited", "lost"):
                    raise JobqError(
                        f"worker {worker_id} ({worker.name}) is {liveness}: no "
                        "process is there to answer; see `jobq workers`"
                    )
            request_id = self.store.add_control_request(
                worker_id, action, self.identity.user
            )
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                request = self.store.control_request(request_id)
                if request.state == "done":
                    return Outcome.success(f"Worker {worker_id}: {request.message}")
                if request.state == "failed":
                    return Outcome.error(f"Worker {worker_id}: {request.message}")
                time.sleep(poll)
            if self.store.expire_control_request(
                request_id, f"no answer within {timeout:g} s"
            ):
                return Outcome.error(
                    f"Worker {worker_id} did not answer within {timeout:g} s; the "
                    f"{action} request was withdrawn. Is the worker process alive?"
                )
            return Outcome.warning(
                f"Worker {worker_id} took the {action} request but has not finished "
                f"within {timeout:g} s; check the Workers view"
            )

        return self._run(f"worker_{action}", f"worker {worker_id}", act)

    # -- plumbing -----------------------------------------------------------------

    def _require_service(self) -> JobService:
        if self.service is None:
            raise JobqError(
                "no worker runs in this process: start the dashboard without "
                "--no-worker, or use jobq --worker-only"
            )
        return self.service

    def _run(self, action: str, target: str, act: Callable[[], Outcome]) -> Outcome:
        if action not in READ_ACTIONS:
            allowed, reason = self.permission()
            if not allowed:
                self._audit(action, target, "denied", reason)
                logger.warning(
                    "denied %s on %s for %s: %s",
                    action,
                    target,
                    self.identity.user,
                    reason,
                )
                return Outcome.error(f"Not allowed: {reason}")

        # The attempt is recorded before it runs, so a stop that never
        # returns (the process is killed mid-drain) still leaves a record.
        self._audit(action, target, "allowed", "")
        try:
            outcome = act()
        except JobqError as exc:
            outcome = Outcome.error(str(exc))
        except Exception as exc:  # noqa: BLE001 - every failure is shown and audited
            logger.exception("%s on %s failed", action, target)
            outcome = Outcome.error(f"{action} failed: {type(exc).__name__}: {exc}")

        result = "succeeded" if outcome.ok else "failed"
        self._audit(action, target, result, outcome.message)
        logger.info(
            "%s %s on %s by %s: %s",
            action,
            result,
            target,
            self.identity.user,
            outcome.message,
        )
        return outcome

    def _audit(self, action: str, target: str, outcome: str, message: str) -> None:
        try:
            self.store.add_audit_entry(
                user=self.identity.user,
                host=self.identity.host,
                pid=self.identity.pid,
                ssh_client=self.identity.ssh_client,
                action=action,
                target=target,
                outcome=outcome,
                message=message,
            )
        except Exception as exc:  # noqa: BLE001 - the action already happened
            logger.error("could not write the audit entry for %s: %s", action, exc)
