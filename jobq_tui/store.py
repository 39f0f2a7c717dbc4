"""Every query jobq runs: enqueue, claim, finish, retry, cancel, reclaim, prune.

Statements are plain SQL with `:name` parameters so the hot path (claim,
finish, heartbeat) skips the ORM's query builder. Every transition after a
claim is guarded by job id, run id and state, and its row count is checked,
so a late reaper or a dead worker can never overwrite a newer outcome.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

import peewee as pw

from .db import Database
from .errors import InvalidJobError, JobNotFoundError
from .filters import JobFilter
from .models import JobState
from .notify import notify_sql
from .operations import OperationsQueries
from .payloads import encode_json, preview_text
from .records import (
    AuditRecord,
    ClaimedJob,
    ControlRequestRecord,
    EnqueueResult,
    FailureGroup,
    JobEventRecord,
    JobRecord,
    JobSummary,
    QueueStats,
    ReclaimReport,
    WorkerRecord,
    WorkerRunRecord,
)

logger = logging.getLogger(__name__)

# The record types are defined in records.py; callers import them from here.
__all__ = [
    "AuditRecord",
    "ClaimedJob",
    "ControlRequestRecord",
    "EnqueueResult",
    "FailureGroup",
    "JobEventRecord",
    "JobRecord",
    "JobStore",
    "JobSummary",
    "QueueStats",
    "ReclaimReport",
    "WorkerRecord",
    "WorkerRunRecord",
]

Clock = Callable[[], float]

MAX_ERROR_CHARS = 2_000
# A 32-bit range, so the column means the same on SQLite and PostgreSQL.
MIN_PRIORITY = -(2**31)
MAX_PRIORITY = 2**31 - 1
PRUNE_BATCH = 1_000

_SUMMARY_COLUMNS = (
    "id, queue, handler, payload_preview, state, priority, run_at, attempts, "
    "max_attempts, progress, progress_message, created_at, started_at, "
    "finished_at, substr(error, 1, 200), cancel_requested"
)
_DETAIL_COLUMNS = (
    "id, queue, handler, payload, state, priority, run_at, attempts, max_attempts, "
    "timeout, lease_expires_at, run_id, unique_key, cancel_requested, result, "
    "error, traceback, progress, progress_message, created_at, started_at, "
    "finished_at"
)


class JobStore(OperationsQueries):
    """Queries over one database. Safe to share between threads."""

    def __init__(self, database: Database, clock: Clock = time.time):
        # PostgreSQL compares times with the server clock unless a caller
        # injects its own clock, as tests do to step through time.
        self.db = database if clock is time.time else database.with_client_clock()
        self.clock = clock

    # -- enqueue -----------------------------------------------------------

    def enqueue(
        self,
        handler: str,
        payload: Any = None,
        *,
        queue: str = "default",
        priority: int = 0,
        delay: float = 0.0,
        run_at: float | None = None,
        max_attempts: int = 3,
        timeout: float | None = None,
        unique_key: str | None = None,
    ) -> EnqueueResult:
        """Insert one queued job, or return the live job with `unique_key`."""
        row = self._job_row(
            handler,
            payload,
            queue,
            priority,
            delay,
            run_at,
            max_attempts,
            timeout,
            unique_key,
        )
        try:
            with self.db.write():
                if unique_key is not None:
                    existing = self._live_job_with_key(unique_key)
                    if existing is not None:
                        return EnqueueResult(existing, created=False)
                job_id = self._insert_job(row)
        except pw.IntegrityError:
            # PostgreSQL does not serialise writers the way BEGIN IMMEDIATE
            # does, so two enqueues can both pass the check. The unique index
            # then rejects the second, which returns the first job.
            existing = self._live_job_with_key(unique_key) if unique_key else None
            if existing is None:
                raise
            return EnqueueResult(existing, created=False)
        logger.debug("enqueued job %s (%s)", job_id, handler)
        return EnqueueResult(job_id, created=True)

    def enqueue_many(
        self, handler: str, payloads: Iterable[Any], **options: Any
    ) -> list[int]:
        """Insert one job per payload in a single transaction; return their ids."""
        if "unique_key" in options:
            raise InvalidJobError(
                "enqueue_many does not take unique_key: enqueue those one by one"
            )
        rows = [
            self._job_row(handler, payload, **_row_options(options))
            for payload in payloads
        ]
        with self.db.write():
            return [self._insert_job(row) for row in rows]

    def _job_row(
        self,
        handler: str,
        payload: Any,
        queue: str = "default",
        priority: int = 0,
        delay: float = 0.0,
        run_at: float | None = None,
        max_attempts: int = 3,
        timeout: float | None = None,
        unique_key: str | None = None,
    ) -> dict[str, Any]:
        _validate_options(
            handler, queue, priority, delay, max_attempts, timeout, unique_key
        )
        payload_json = encode_json(payload, what="payload")
        now = self.clock()
        return {
            "queue": queue,
            "handler": handler,
            "payload": payload_json,
            "preview": preview_text(payload_json),
            "priority": priority,
            "run_at": _checked_run_at(run_at) if run_at is not None else now + delay,
            "max_attempts": max_attempts,
            "timeout": timeout,
            "unique_key": unique_key,
            "created_at": now,
        }

    def _insert_job(self, row: dict[str, Any]) -> int:
        cursor = self.db.execute(
            "INSERT INTO jobq_job (queue, handler, payload, payload_preview, state, "
            "priority, run_at, attempts, max_attempts, timeout, unique_key, "
            "cancel_requested, progress, progress_message, created_at) VALUES "
            "(:queue, :handler, :payload, :preview, 'queued', :priority, :run_at, 0, "
            ":max_attempts, :timeout, :unique_key, FALSE, 0, '', :created_at) "
            "RETURNING id",
            row,
        )
        job_id = cursor.fetchone()[0]
        self._add_event(job_id, "enqueued", None, 0, "", at=row["created_at"])
        if self.db.is_postgres:
            # Delivered at commit; PostgreSQL folds repeats within one transaction.
            self.db.execute(notify_sql())
        return job_id

    def _live_job_with_key(self, unique_key: str) -> int | None:
        found = self.db.execute(
            "SELECT id FROM jobq_job WHERE unique_key = :key "
            "AND state IN ('queued', 'running')",
            {"key": unique_key},
        ).fetchone()
        return found[0] if found else None

    # -- claim and finish --------------------------------------------------

    def claim(
        self, run_id: str, queues: list[str], limit: int, lease: float
    ) -> list[ClaimedJob]:
        """Atomically move up to `limit` due jobs to running for `run_id`."""
        params: dict[str, Any] = {
            "run_id": run_id,
            "lease": lease,
            "now": self.clock(),
            "limit": limit,
        }
        queue_list = _bind_list("q", queues, params)
        lock = " FOR UPDATE SKIP LOCKED" if self.db.is_postgres else ""
        with self.db.write():
            rows = self.db.execute(
                "UPDATE jobq_job SET state = 'running', run_id = :run_id, "
                "attempts = attempts + 1, lease_expires_at = :now + :lease, "
                "started_at = :now, progress = 0, progress_message = '' "
                "WHERE id IN (SELECT id FROM jobq_job WHERE state = 'queued' "
                f"AND queue IN ({queue_list}) AND run_at <= :now "
                "AND queue NOT IN (SELECT name FROM jobq_queue WHERE paused) "
                "AND cancel_requested = FALSE "
                f"ORDER BY priority DESC, run_at, id LIMIT :limit{lock}) "
                "RETURNING id, handler, payload, attempts, max_attempts, timeout, "
                "queue",
                params,
            ).fetchall()
            for row in rows:
                self._add_event(row[0], "claimed", run_id, row[3], "")
        return [ClaimedJob(*row) for row in rows]

    def complete(
        self, job_id: int, run_id: str, result: Any, *, attempt: int | None = None
    ) -> bool:
        """Mark a running job succeeded; False if this run no longer owns it.

        Passing `attempt` also requires the job to be on that attempt, so a
        run cannot finish a later claim of the same job with an earlier result.
        The other transitions after a claim take `attempt` for the same reason.
        """
        result_json = encode_json(result, what="result")
        params = {
            "id": job_id,
            "run_id": run_id,
            "result": result_json,
            "now": self.clock(),
        }
        guard = _attempt_guard(attempt, params)
        with self.db.write():
            row = self.db.execute(
                "UPDATE jobq_job SET state = 'succeeded', result = :result, "
                "progress = 100, finished_at = :now, lease_expires_at = NULL "
                f"WHERE id = :id AND run_id = :run_id AND state = 'running'{guard} "
                "RETURNING attempts",
                params,
            ).fetchone()
            if row is None:
                return False
            self._add_event(job_id, "succeeded", run_id, row[0], "")
        return True

    def fail(
        self,
        job_id: int,
        run_id: str,
        error: str,
        traceback_text: str | None,
        retry_delay: float | None,
        *,
        attempt: int | None = None,
    ) -> str | None:
        """Record a failed attempt: requeue after `retry_delay`, or fail for good.

        `retry_delay` None means no retry. Returns "retried", "failed",
        "cancelled" (a retry was due but the job's cancellation was requested),
        or None when this run no longer owns the job.
        """
        params = {
            "id": job_id,
            "run_id": run_id,
            "error": error[:MAX_ERROR_CHARS],
            "tb": traceback_text,
            "now": self.clock(),
            "delay": retry_delay or 0.0,
        }
        guard = _attempt_guard(attempt, params)
        with self.db.write():
            attempts_row = self.db.execute(
                "SELECT attempts, max_attempts FROM jobq_job "
                f"WHERE id = :id AND run_id = :run_id AND state = 'running'{guard}",
                params,
            ).fetchone()
            if attempts_row is None:
                return None
            attempts, max_attempts = attempts_row
            if retry_delay is not None and attempts < max_attempts:
                if self._cancel_instead_of_requeue(
                    f"id = :id AND run_id = :run_id{guard}", params, run_id
                ):
                    return "cancelled"
                sql = (
                    "UPDATE jobq_job SET state = 'queued', run_id = NULL, "
                    "progress = 0, progress_message = '', lease_expires_at = NULL, "
                    "run_at = :now + :delay, error = :error, "
                    "traceback = :tb WHERE id = :id AND run_id = :run_id "
                    f"AND state = 'running'{guard}"
                )
                outcome = "retried"
                message = f"retry in {params['delay']:.1f}s: {error}"
            else:
                sql = (
                    "UPDATE jobq_job SET state = 'failed', finished_at = :now, "
                    "lease_expires_at = NULL, error = :error, traceback = :tb "
                    f"WHERE id = :id AND run_id = :run_id AND state = 'running'{guard}"
                )
                outcome = "failed"
                message = error
            if self.db.execute(sql, params).rowcount != 1:
                return None
            self._add_event(
                job_id, outcome, run_id, attempts, message[:MAX_ERROR_CHARS]
            )
        return outcome

    def finish_cancelled(
        self, job_id: int, run_id: str, message: str, *, attempt: int | None = None
    ) -> bool:
        """Mark a running job cancelled after its handler saw the request."""
        params = {"id": job_id, "run_id": run_id, "now": self.clock(), "error": message}
        guard = _attempt_guard(attempt, params)
        with self.db.write():
            row = self.db.execute(
                "UPDATE jobq_job SET state = 'cancelled', finished_at = :now, "
                "lease_expires_at = NULL, error = :error WHERE id = :id "
                f"AND run_id = :run_id AND state = 'running'{guard} RETURNING attempts",
                params,
            ).fetchone()
            if row is None:
                return False
            self._add_event(job_id, "cancelled", run_id, row[0], message)
        return True

    def release(
        self, job_id: int, run_id: str, reason: str, *, attempt: int | None = None
    ) -> bool:
        """Put a running job back in the queue without spending an attempt.

        A worker that stops before the job finished calls this, so the job
        runs again on another worker as soon as one is free. A job whose
        cancellation was requested is cancelled instead; this still returns True.
        """
        params = {"id": job_id, "run_id": run_id, "now": self.clock()}
        guard = _attempt_guard(attempt, params)
        with self.db.write():
            if self._cancel_instead_of_requeue(
                f"id = :id AND run_id = :run_id{guard}", params, run_id
            ):
                return True
            row = self.db.execute(
                "UPDATE jobq_job SET state = 'queued', run_id = NULL, progress = 0, "
                "progress_message = '', lease_expires_at = NULL, run_at = :now, "
                "attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END "
                f"WHERE id = :id AND run_id = :run_id AND state = 'running'{guard} "
                "RETURNING attempts",
                params,
            ).fetchone()
            if row is None:
                return False
            self._add_event(job_id, "released", run_id, row[0], reason)
        return True

    def set_progress(
        self,
        job_id: int,
        run_id: str,
        percent: int,
        message: str,
        *,
        attempt: int | None = None,
    ) -> bool:
        """Store progress for a job this run still owns."""
        params = {"id": job_id, "run_id": run_id, "pct": percent, "msg": message[:200]}
        guard = _attempt_guard(attempt, params)
        cursor = self.db.execute(
            "UPDATE jobq_job SET progress = :pct, progress_message = :msg "
            f"WHERE id = :id AND run_id = :run_id AND state = 'running'{guard}",
            params,
        )
        return cursor.rowcount == 1

    # -- leases and the reaper ----------------------------------------------

    def renew_leases(self, run_id: str, lease: float) -> int:
        """Extend the lease of every job `run_id` is running; return how many."""
        with self.db.write():
            cursor = self.db.execute(
                "UPDATE jobq_job SET lease_expires_at = :now + :lease "
                "WHERE run_id = :run_id AND state = 'running'",
                {"run_id": run_id, "lease": lease, "now": self.clock()},
            )
            self.db.execute(
                "UPDATE jobq_worker_run SET heartbeat_at = :now WHERE run_id = :run_id",
                {"run_id": run_id, "now": self.clock()},
            )
        return cursor.rowcount

    def reclaim_expired(self, reclaimed_by: str | None = None) -> ReclaimReport:
        """Requeue running jobs whose lease expired, or fail them as lost.

        A job whose attempts already reached max_attempts fails with
        "worker lost"; the rest go back to queued, due at once.
        """
        params = {"now": self.clock(), "by": reclaimed_by}
        with self.db.write():
            cancelled = self._cancel_instead_of_requeue(
                "lease_expires_at < :now", params, reclaimed_by
            )
            lost = self.db.execute(
                "UPDATE jobq_job SET state = 'failed', finished_at = :now, "
                "lease_expires_at = NULL, error = 'worker lost: the lease expired "
                "after the last allowed attempt' WHERE state = 'running' "
                "AND lease_expires_at < :now AND attempts >= max_attempts "
                "RETURNING id, run_id, attempts",
                params,
            ).fetchall()
            # RETURNING shows the new, NULL run_id, so read the old owners first.
            lock = " FOR UPDATE" if self.db.is_postgres else ""
            owners = dict(
                self.db.execute(
                    "SELECT id, run_id FROM jobq_job WHERE state = 'running' "
                    f"AND lease_expires_at < :now{lock}",
                    params,
                ).fetchall()
            )
            requeued = [
                (job_id, owners.get(job_id), attempts)
                for job_id, attempts in self.db.execute(
                    "UPDATE jobq_job SET state = 'queued', run_id = NULL, "
                    "progress = 0, progress_message = '', lease_expires_at = NULL, "
                    "run_at = :now WHERE state = 'running' "
                    "AND lease_expires_at < :now RETURNING id, attempts",
                    params,
                ).fetchall()
            ]
            for job_id, old_run, attempts in lost:
                self._add_event(
                    job_id,
                    "failed",
                    old_run,
                    attempts,
                    f"worker lost: lease of run {old_run} expired; attempts exhausted",
                )
            for job_id, old_run, attempts in requeued:
                self._add_event(
                    job_id,
                    "reclaimed",
                    reclaimed_by,
                    attempts,
                    f"lease of run {old_run} expired",
                )
        for job_id, old_run, attempts in requeued:
            logger.info(
                "reclaimed job %s from run %s (attempt %s) after its lease expired",
                job_id,
                old_run,
                attempts,
            )
        for job_id, old_run, attempts in lost:
            logger.error(
                "job %s failed: worker lost (run %s, %s attempts)",
                job_id,
                old_run,
                attempts,
            )
        for job_id in cancelled:
            logger.info(
                "job %s cancelled after its lease expired: its cancellation was "
                "requested",
                job_id,
            )
        return ReclaimReport([r[0] for r in requeued], [r[0] for r in lost], cancelled)

    # -- cancellation and retry ---------------------------------------------

    def cancel(self, job_id: int, message: str = "cancelled by request") -> str:
        """Cancel a job durably.

        Returns "cancelled" (it was queued), "requested" (it is running; its
        handler gets the request), or "finished" (nothing to do). Raises
        JobNotFoundError.
        """
        params = {"id": job_id, "now": self.clock(), "msg": message}
        with self.db.write():
            queued = self.db.execute(
                "UPDATE jobq_job SET state = 'cancelled', finished_at = :now, "
                "cancel_requested = TRUE, error = :msg "
                "WHERE id = :id AND state = 'queued' RETURNING attempts",
                params,
            ).fetchone()
            if queued is not None:
                self._add_event(job_id, "cancelled", None, queued[0], message)
                return "cancelled"
            running = self.db.execute(
                "UPDATE jobq_job SET cancel_requested = TRUE "
                "WHERE id = :id AND state = 'running' RETURNING run_id, attempts",
                params,
            ).fetchone()
            if running is not None:
                self._add_event(
                    job_id, "cancel requested", running[0], running[1], message
                )
                return "requested"
        if self._state_of(job_id) is None:
            raise JobNotFoundError(
                f"job {job_id} not found: check the id with `jobq jobs`"
            )
        return "finished"

    def retry(self, job_id: int) -> bool:
        """Queue a failed or cancelled job again with a fresh attempt count."""
        with self.db.write():
            row = self.db.execute(
                "UPDATE jobq_job SET state = 'queued', run_id = NULL, attempts = 0, "
                "run_at = :now, finished_at = NULL, cancel_requested = FALSE, "
                "progress = 0, progress_message = '' WHERE id = :id "
                "AND state IN ('failed', 'cancelled') RETURNING id",
                {"id": job_id, "now": self.clock()},
            ).fetchone()
            if row is not None:
                self._add_event(job_id, "retry requested", None, 0, "")
                return True
        if self._state_of(job_id) is None:
            raise JobNotFoundError(
                f"job {job_id} not found: check the id with `jobq jobs`"
            )
        return False

    def _cancel_instead_of_requeue(
        self, where: str, params: dict[str, Any], by: str | None
    ) -> list[int]:
        """Cancel the running jobs matching `where` whose cancellation was requested.

        Runs inside the write transaction of every path that would put a
        running job back in the queue (release, retry, reclaim), so a request
        acknowledged as "requested" never lets the job run again.
        """
        rows = self.db.execute(
            "UPDATE jobq_job SET state = 'cancelled', run_id = NULL, "
            "finished_at = :now, lease_expires_at = NULL, error = "
            "'cancelled: the request was honoured instead of running the job again' "
            f"WHERE state = 'running' AND cancel_requested = TRUE AND {where} "
            "RETURNING id, attempts",
            params,
        ).fetchall()
        for job_id, attempts in rows:
            self._add_event(
                job_id, "cancelled", by, attempts, "cancelled instead of requeued"
            )
        return [row[0] for row in rows]

    def cancel_requests(self, run_id: str) -> list[int]:
        """Return ids of jobs `run_id` runs whose cancellation was requested."""
        rows = self.db.execute(
            "SELECT id FROM jobq_job WHERE run_id = :run_id AND state = 'running' "
            "AND cancel_requested = TRUE",
            {"run_id": run_id},
        ).fetchall()
        return [row[0] for row in rows]

    # -- pruning -------------------------------------------------------------

    def prune(self, older_than: float, batch_size: int = PRUNE_BATCH) -> int:
        """Delete finished jobs that finished more than `older_than` s ago.

        Deletes in batches, each its own short transaction, so claims are
        never held up for long. Returns how many jobs were deleted.
        """
        if older_than < 0:
            raise InvalidJobError(f"prune age {older_than} is negative: pass 0 or more")
        cutoff = self.clock() - older_than
        deleted = 0
        while True:
            with self.db.write():
                ids = [
                    row[0]
                    for row in self.db.execute(
                        "SELECT id FROM jobq_job WHERE state IN "
                        "('succeeded', 'failed', 'cancelled') "
                        "AND finished_at < :cutoff LIMIT :limit",
                        {"cutoff": cutoff, "limit": batch_size},
                    ).fetchall()
                ]
                if not ids:
                    break
                params: dict[str, Any] = {}
                id_list = _bind_list("j", ids, params)
                self.db.execute(
                    f"DELETE FROM jobq_job_event WHERE job_id IN ({id_list})", params
                )
                self.db.execute(f"DELETE FROM jobq_job WHERE id IN ({id_list})", params)
            deleted += len(ids)
        if deleted:
            logger.info(
                "pruned %s finished jobs older than %.0f s", deleted, older_than
            )
        return deleted

    # -- reads -----------------------------------------------------------------

    def counts(self) -> dict[JobState, int]:
        """Return the number of jobs in each state (every state present).

        On SQLite this reads the trigger-maintained jobq_job_count table.
        """
        # TODO: PostgreSQL still counts with GROUP BY, one index entry per job.
        sql = (
            "SELECT state, COUNT(*) FROM jobq_job GROUP BY state"
            if self.db.is_postgres
            else "SELECT state, n FROM jobq_job_count"
        )
        counts = {state: 0 for state in JobState}
        for state, count in self.db.execute(sql).fetchall():
            counts[JobState(state)] = count
        return counts

    def page(
        self,
        state: JobState | None = None,
        before_id: int | None = None,
        limit: int = 50,
        search: str | None = None,
        job_filter: JobFilter | None = None,
    ) -> list[JobSummary]:
        """Return up to `limit` jobs, newest first, with ids below `before_id`.

        `search` keeps jobs whose handler, queue or payload preview contains
        it; `job_filter` adds the conditions of a filter-bar filter.
        """
        combined = _combine(job_filter, state, search)
        params: dict[str, Any] = {"limit": limit, "before": before_id or 2**62}
        where = "id < :before" + _filter_sql(combined, params)
        rows = self.db.execute(
            f"SELECT {_SUMMARY_COLUMNS} FROM jobq_job WHERE {where} "
            "ORDER BY id DESC LIMIT :limit",
            params,
        ).fetchall()
        return [_summary(row) for row in rows]

    def count_matching(self, job_filter: JobFilter) -> int:
        """Return how many jobs match a filter."""
        params: dict[str, Any] = {}
        where = "1 = 1" + _filter_sql(job_filter, params)
        return self.db.execute(
            f"SELECT COUNT(*) FROM jobq_job WHERE {where}", params
        ).fetchone()[0]

    def count_for_action(self, action: str, job_filter: JobFilter) -> int:
        """Return how many jobs matching `job_filter` a bulk `action` would touch."""
        if action not in BULK_ACTIONS:
            raise InvalidJobError(f"unknown bulk action {action!r}")
        params: dict[str, Any] = {}
        states = _bind_list("s", BULK_ACTIONS[action], params)
        where = f"state IN ({states})" + _filter_sql(job_filter, params)
        return self.db.execute(
            f"SELECT COUNT(*) FROM jobq_job WHERE {where}", params
        ).fetchone()[0]

    def bulk_apply(
        self,
        action: str,
        *,
        job_filter: JobFilter | None = None,
        ids: list[int] | None = None,
        batch_size: int = 500,
        on_batch: Callable[[int], None] | None = None,
        message: str = "",
    ) -> int:
        """Retry, cancel or delete every job matching a filter or in `ids`.

        Works in batches, each its own short transaction walking ids upward,
        so claims go on between batches. Only jobs the action applies to are
        touched: retry takes failed and cancelled jobs, cancel takes queued
        (and requests that running ones stop), delete takes finished jobs. Returns
        how many jobs changed; `on_batch` gets the running total.
        """
        if action not in BULK_ACTIONS:
            raise InvalidJobError(
                f"unknown bulk action {action!r}: use {', '.join(BULK_ACTIONS)}"
            )
        if (job_filter is None) == (ids is None):
            raise InvalidJobError("pass a filter or a list of ids, not both")
        done = 0
        last_id = 0
        pending_ids = sorted(set(ids)) if ids is not None else None
        while True:
            params: dict[str, Any] = {"after": last_id, "limit": batch_size}
            states = _bind_list("s", BULK_ACTIONS[action], params)
            where = f"id > :after AND state IN ({states})"
            if pending_ids is not None:
                chunk = pending_ids[:batch_size]
                pending_ids = pending_ids[batch_size:]
                if not chunk:
                    break
                where += f" AND id IN ({_bind_list('i', chunk, params)})"
            else:
                where += _filter_sql(job_filter, params)
            with self.db.write():
                batch = [
                    row[0]
                    for row in self.db.execute(
                        f"SELECT id FROM jobq_job WHERE {where} ORDER BY id "
                        "LIMIT :limit",
                        params,
                    ).fetchall()
                ]
                if batch:
                    done += self._bulk_batch(action, batch, message)
            if pending_ids is None:
                if not batch:
                    break
                last_id = batch[-1]
            if on_batch is not None:
                on_batch(done)
        logger.info("bulk %s changed %s jobs", action, done)
        return done

    def _bulk_batch(self, action: str, batch: list[int], message: str) -> int:
        params: dict[str, Any] = {"now": self.clock(), "msg": message}
        id_list = _bind_list("j", batch, params)
        if action == "retry":
            changed = self.db.execute(
                "UPDATE jobq_job SET state = 'queued', run_id = NULL, attempts = 0, "
                "run_at = :now, finished_at = NULL, cancel_requested = FALSE, "
                "progress = 0, progress_message = '' WHERE id IN "
                f"({id_list}) AND state IN ('failed', 'cancelled') RETURNING id",
                params,
            ).fetchall()
            kind = "retry requested"
        elif action == "cancel":
            changed = self.db.execute(
                "UPDATE jobq_job SET state = 'cancelled', finished_at = :now, "
                "cancel_requested = TRUE, error = :msg WHERE id IN "
                f"({id_list}) AND state = 'queued' RETURNING id",
                params,
            ).fetchall()
            changed += self.db.execute(
                "UPDATE jobq_job SET cancel_requested = TRUE WHERE id IN "
                f"({id_list}) AND state = 'running' RETURNING id",
                params,
            ).fetchall()
            kind = "cancelled"
        else:
            self.db.execute(
                f"DELETE FROM jobq_job_event WHERE job_id IN ({id_list})", params
            )
            return self.db.execute(
                f"DELETE FROM jobq_job WHERE id IN ({id_list}) AND state IN "
                "('succeeded', 'failed', 'cancelled')",
                params,
            ).rowcount
        at = self.clock()
        self.db.execute_many(
            "INSERT INTO jobq_job_event (job_id, at, kind, run_id, attempt, message) "
            "VALUES (:job_id, :at, :kind, NULL, 0, :message)",
            [
                {"job_id": job_id, "at": at, "kind": kind, "message": message}
                for (job_id,) in changed
            ],
        )
        return len(changed)

    def set_queue_paused(self, queue: str, paused: bool, changed_by: str) -> bool:
        """Pause or resume claiming from a queue; return False if it already was."""
        if not isinstance(queue, str) or not queue.strip() or len(queue) > 100:
            raise InvalidJobError(f"queue name {queue!r} is invalid")
        params = {
            "name": queue,
            "paused": paused,
            "by": changed_by,
            "now": self.clock(),
        }
        with self.db.write():
            current = self.db.execute(
                "SELECT paused FROM jobq_queue WHERE name = :name", params
            ).fetchone()
            if current is not None and bool(current[0]) == paused:
                return False
            self.db.execute(
                "INSERT INTO jobq_queue (name, paused, changed_at, changed_by) "
                "VALUES (:name, :paused, :now, :by) ON CONFLICT (name) DO UPDATE "
                "SET paused = excluded.paused, changed_at = excluded.changed_at, "
                "changed_by = excluded.changed_by",
                params,
            )
        logger.info(
            "queue %s %s by %s", queue, "paused" if paused else "resumed", changed_by
        )
        return True

    def paused_queues(self) -> list[str]:
        """Return the names of paused queues."""
        rows = self.db.execute(
            "SELECT name FROM jobq_queue WHERE paused ORDER BY name"
        ).fetchall()
        return [row[0] for row in rows]

    def queue_stats(self, minutes: int = 10) -> list[QueueStats]:
        """Per queue: counts by state, paused or not, and jobs finished per minute.

        `per_minute[0]` is the current minute, `per_minute[-1]` the oldest.
        """
        now = self.clock()
        counts: dict[str, dict[str, int]] = {}
        for queue, state, count in self.db.execute(
            "SELECT queue, state, COUNT(*) FROM jobq_job GROUP BY queue, state"
        ).fetchall():
            counts.setdefault(queue, {})[state] = count
        paused = set(self.paused_queues())
        per_minute: dict[str, list[int]] = {}
        rows = self.db.execute(
            "SELECT queue, finished_at FROM jobq_job WHERE state IN "
            "('succeeded', 'failed') AND finished_at >= :since",
            {"since": now - minutes * 60},
        ).fetchall()
        for queue, finished_at in rows:
            bucket = min(minutes - 1, max(0, int((now - finished_at) // 60)))
            per_minute.setdefault(queue, [0] * minutes)[bucket] += 1
        names = sorted(set(counts) | paused)
        return [
            QueueStats(
                name=name,
                counts={
                    state.value: counts.get(name, {}).get(state.value, 0)
                    for state in JobState
                },
                paused=name in paused,
                per_minute=per_minute.get(name, [0] * minutes),
            )
            for name in names
        ]

    def failure_groups(self, limit: int = 50) -> list[FailureGroup]:
        """Count failed jobs by handler and error type, largest groups first."""
        kind = (
            "split_part(COALESCE(error, ''), ':', 1)"
            if self.db.is_postgres
            else "CASE WHEN instr(COALESCE(error, ''), ':') > 0 THEN "
            "substr(error, 1, instr(error, ':') - 1) ELSE COALESCE(error, '') END"
        )
        rows = self.db.execute(
            f"SELECT handler, {kind} AS kind, COUNT(*), MAX(finished_at) "
            "FROM jobq_job WHERE state = 'failed' GROUP BY handler, kind "
            "ORDER BY COUNT(*) DESC, handler LIMIT :limit",
            {"limit": limit},
        ).fetchall()
        return [FailureGroup(row[0], row[1] or "", row[2], row[3]) for row in rows]

    def get(self, job_id: int) -> JobRecord:
        """Return one job or raise JobNotFoundError."""
        row = self.db.execute(
            f"SELECT {_DETAIL_COLUMNS} FROM jobq_job WHERE id = :id", {"id": job_id}
        ).fetchone()
        if row is None:
            raise JobNotFoundError(
                f"job {job_id} not found: check the id with `jobq jobs`"
            )
        values = list(row)
        values[4] = JobState(values[4])
        values[13] = bool(values[13])
        return JobRecord(*values)

    def events(self, job_id: int) -> list[JobEventRecord]:
        """Return a job's history, oldest first."""
        rows = self.db.execute(
            "SELECT at, kind, run_id, attempt, message FROM jobq_job_event "
            "WHERE job_id = :id ORDER BY id",
            {"id": job_id},
        ).fetchall()
        return [JobEventRecord(*row) for row in rows]

    def next_due_at(self, queues: list[str]) -> float | None:
        """Return when the earliest queued job in `queues` becomes due."""
        params: dict[str, Any] = {}
        queue_list = _bind_list("q", queues, params)
        row = self.db.execute(
            f"SELECT MIN(run_at) FROM jobq_job WHERE state = 'queued' "
            f"AND queue IN ({queue_list}) "
            "AND queue NOT IN (SELECT name FROM jobq_queue WHERE paused)",
            params,
        ).fetchone()
        return row[0] if row else None

    def data_version(self) -> int | None:
        """Return SQLite's data_version: it changes when another connection commits."""
        if self.db.is_postgres:
            return None
        return self.db.execute("PRAGMA data_version").fetchone()[0]

    def checkpoint(self) -> None:
        """Copy committed WAL pages into the SQLite file without waiting for readers.

        Run from a background thread, this keeps the WAL under SQLite's
        automatic checkpoint threshold (1,000 pages by default), so enqueue,
        claim and completion commits rarely pay for a checkpoint. Does nothing
        on PostgreSQL.
        """
        if self.db.is_postgres:
            return
        self.db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def _state_of(self, job_id: int) -> str | None:
        row = self.db.execute(
            "SELECT state FROM jobq_job WHERE id = :id", {"id": job_id}
        ).fetchone()
        return row[0] if row else None

    def _add_event(
        self,
        job_id: int,
        kind: str,
        run_id: str | None,
        attempt: int,
        message: str,
        at: float | None = None,
    ) -> None:
        self.db.execute(
            "INSERT INTO jobq_job_event (job_id, at, kind, run_id, attempt, message) "
            "VALUES (:job_id, :at, :kind, :run_id, :attempt, :message)",
            {
                "job_id": job_id,
                "at": self.clock() if at is None else at,
                "kind": kind,
                "run_id": run_id,
                "attempt": attempt,
                "message": message,
            },
        )


BULK_ACTIONS = {
    "retry": ("failed", "cancelled"),
    "cancel": ("queued", "running"),
    "delete": ("succeeded", "failed", "cancelled"),
}


def _combine(
    job_filter: JobFilter | None, state: JobState | None, search: str | None
) -> JobFilter:
    base = job_filter or JobFilter()
    if state is not None:
        base = base.with_state(JobState(state))
    if search:
        text = f"{base.text} {search}" if base.text else search
        base = JobFilter(base.state, base.handler, base.queue, base.error, text)
    return base


def _like(value: str) -> str:
    escaped = value.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%{escaped}%"


def _filter_sql(job_filter: JobFilter | None, params: dict[str, Any]) -> str:
    """Return " AND ..." conditions for a filter, adding its parameters."""
    if job_filter is None:
        return ""
    sql = ""
    if job_filter.state is not None:
        sql += " AND state = :f_state"
        params["f_state"] = job_filter.state.value
    if job_filter.handler:
        sql += " AND handler = :f_handler"
        params["f_handler"] = job_filter.handler
    if job_filter.queue:
        sql += " AND queue = :f_queue"
        params["f_queue"] = job_filter.queue
    if job_filter.error:
        sql += " AND error LIKE :f_error ESCAPE '!'"
        params["f_error"] = _like(job_filter.error)
    if job_filter.text:
        # NOTE: a substring match cannot use an index. It walks the rows in
        # id order until the page is full, so a rare match scans far.
        sql += (
            " AND (handler LIKE :f_text ESCAPE '!' OR queue LIKE :f_text "
            "ESCAPE '!' OR payload_preview LIKE :f_text ESCAPE '!')"
        )
        params["f_text"] = _like(job_filter.text)
    return sql


def _bind_list(prefix: str, values: Iterable[Any], params: dict[str, Any]) -> str:
    names = []
    for index, value in enumerate(values):
        name = f"{prefix}{index}"
        params[name] = value
        names.append(f":{name}")
    if not names:
        raise InvalidJobError(
            "an empty list was given where at least one value is needed"
        )
    return ", ".join(names)


def _attempt_guard(attempt: int | None, params: dict[str, Any]) -> str:
    """Return the SQL condition that pins a transition to one attempt, if given."""
    if attempt is None:
        return ""
    params["attempt"] = attempt
    return " AND attempts = :attempt"


def _summary(row: tuple) -> JobSummary:
    values = list(row)
    values[4] = JobState(values[4])
    values[14] = values[14] or ""
    values[15] = bool(values[15])
    return JobSummary(*values)


def _row_options(options: dict[str, Any]) -> dict[str, Any]:
    allowed = {"queue", "priority", "delay", "run_at", "max_attempts", "timeout"}
    unknown = set(options) - allowed
    if unknown:
        raise InvalidJobError(
            f"unknown enqueue option(s): {', '.join(sorted(unknown))}"
        )
    return options


def _checked_run_at(run_at: Any) -> float:
    if not _finite_number(run_at):
        raise InvalidJobError(f"run_at {run_at!r} is invalid: pass epoch seconds")
    return float(run_at)


def _finite_number(value: Any) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
    )


def _validate_options(
    handler: str,
    queue: str,
    priority: int,
    delay: float,
    max_attempts: int,
    timeout: float | None,
    unique_key: str | None,
) -> None:
    if not isinstance(handler, str) or not handler.strip():
        raise InvalidJobError(
            f"handler name {handler!r} is empty: pass a registered name"
        )
    if len(handler) > 200:
        raise InvalidJobError("handler name is longer than 200 characters")
    if (
        not isinstance(queue, str)
        or not queue.strip()
        or len(queue) > 100
        or "," in queue
    ):
        raise InvalidJobError(
            f"queue name {queue!r} is invalid: use 1-100 characters without commas"
        )
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise InvalidJobError(f"priority {priority!r} is not an integer")
    if not MIN_PRIORITY <= priority <= MAX_PRIORITY:
        raise InvalidJobError(
            f"priority {priority} is out of range: use {MIN_PRIORITY} to {MAX_PRIORITY}"
        )
    if not _finite_number(delay) or delay < 0:
        raise InvalidJobError(
            f"delay {delay!r} is invalid: pass a finite number of seconds, 0 or more"
        )
    if (
        isinstance(max_attempts, bool)
        or not isinstance(max_attempts, int)
        or max_attempts < 1
    ):
        raise InvalidJobError(
            f"max_attempts {max_attempts!r} is invalid: pass 1 or more"
        )
    if timeout is not None and (not _finite_number(timeout) or timeout <= 0):
        raise InvalidJobError(
            f"timeout {timeout!r} is invalid: pass a positive number of seconds"
        )
    if unique_key is not None and (
        not isinstance(unique_key, str) or not unique_key or len(unique_key) > 255
    ):
        raise InvalidJobError("unique key must be 1-255 characters")
