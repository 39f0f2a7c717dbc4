"""Queries about the people and processes around the queue.

Worker runs, the audit log, worker processes and their control requests.
JobStore mixes these in; they share its connection and clock.
"""

from __future__ import annotations

from typing import Any

from .errors import JobNotFoundError
from .records import (
    AuditRecord,
    ControlRequestRecord,
    WorkerRecord,
    WorkerRunRecord,
)


class OperationsQueries:
    """Queries over worker runs, audit entries, worker processes, control requests."""

    # -- worker runs ---------------------------------------------------------

    def register_run(
        self,
        run_id: str,
        name: str,
        host: str,
        pid: int,
        concurrency: int,
        queues: list[str],
        handlers: list[str],
        heartbeat_interval: float,
    ) -> None:
        """Insert the row for a new worker run."""
        now = self.clock()
        with self.db.write():
            self.db.execute(
                "INSERT INTO jobq_worker_run (run_id, name, host, pid, concurrency, "
                "queues, handlers, heartbeat_interval, started_at, heartbeat_at, "
                "stop_reason) VALUES (:run_id, :name, :host, :pid, :concurrency, "
                ":queues, :handlers, :interval, :now, :now, '')",
                {
                    "run_id": run_id,
                    "name": name,
                    "host": host,
                    "pid": pid,
                    "concurrency": concurrency,
                    "queues": ",".join(queues),
                    "handlers": ",".join(handlers),
                    "interval": heartbeat_interval,
                    "now": now,
                },
            )

    def mark_run_stopped(self, run_id: str, reason: str) -> None:
        """Record that a worker run stopped, and why."""
        with self.db.write():
            self.db.execute(
                "UPDATE jobq_worker_run SET stopped_at = :now, stop_reason = :reason "
                "WHERE run_id = :run_id",
                {"run_id": run_id, "now": self.clock(), "reason": reason[:200]},
            )

    def worker_run(self, run_id: str) -> WorkerRunRecord | None:
        """Return one worker run, or None."""
        runs = self._worker_runs("WHERE r.run_id = :run_id", {"run_id": run_id}, 1)
        return runs[0] if runs else None

    def worker_runs(self, limit: int = 50) -> list[WorkerRunRecord]:
        """Return the newest worker runs first."""
        return self._worker_runs("", {}, limit)

    def _worker_runs(
        self, where: str, params: dict[str, Any], limit: int
    ) -> list[WorkerRunRecord]:
        rows = self.db.execute(
            "SELECT r.run_id, r.name, r.host, r.pid, r.concurrency, r.queues, "
            "r.handlers, r.heartbeat_interval, r.started_at, r.heartbeat_at, "
            "r.stopped_at, r.stop_reason, (SELECT COUNT(*) FROM jobq_job j "
            "WHERE j.run_id = r.run_id AND j.state = 'running') "
            f"FROM jobq_worker_run r {where} ORDER BY r.started_at DESC LIMIT :limit",
            {**params, "limit": limit},
        ).fetchall()
        return [WorkerRunRecord(*_with_name_lists(row)) for row in rows]

    # -- audit log -------------------------------------------------------------

    def add_audit_entry(
        self,
        *,
        user: str,
        host: str,
        pid: int,
        ssh_client: str,
        action: str,
        target: str,
        outcome: str,
        message: str,
    ) -> None:
        """Append one audit entry. Nothing in jobq updates or deletes them."""
        with self.db.write():
            self.db.execute(
                "INSERT INTO jobq_audit (at, username, host, pid, ssh_client, action, "
                "target, outcome, message) VALUES (:now, :user, :host, :pid, :ssh, "
                ":action, :target, :outcome, :message)",
                {
                    "now": self.clock(),
                    "user": user,
                    "host": host,
                    "pid": pid,
                    "ssh": ssh_client,
                    "action": action,
                    "target": target[:255],
                    "outcome": outcome,
                    "message": message,
                },
            )

    def audit_entries(
        self, limit: int = 50, before_id: int | None = None
    ) -> list[AuditRecord]:
        """Return audit entries, newest first, with ids below `before_id`."""
        rows = self.db.execute(
            "SELECT id, at, username, host, pid, ssh_client, action, target, outcome, "
            "message FROM jobq_audit WHERE id < :before ORDER BY id DESC LIMIT :limit",
            {"before": before_id or 2**62, "limit": limit},
        ).fetchall()
        return [AuditRecord(*row) for row in rows]

    # -- worker processes and control requests ---------------------------------

    def upsert_worker(
        self,
        worker_id: str,
        *,
        name: str,
        host: str,
        pid: int,
        concurrency: int,
        queues: list[str],
        handlers: list[str],
        state: str,
        run_id: str | None,
        heartbeat_interval: float,
    ) -> None:
        """Insert or refresh a worker process row; it doubles as its heartbeat."""
        params = {
            "worker_id": worker_id,
            "name": name,
            "host": host,
            "pid": pid,
            "concurrency": concurrency,
            "queues": ",".join(queues),
            "handlers": ",".join(handlers),
            "state": state,
            "run_id": run_id,
            "interval": heartbeat_interval,
            "now": self.clock(),
        }
        with self.db.write():
            self.db.execute(
                "INSERT INTO jobq_worker (worker_id, name, host, pid, concurrency, "
                "queues, handlers, state, run_id, heartbeat_interval, started_at, "
                "heartbeat_at) VALUES (:worker_id, :name, :host, :pid, :concurrency, "
                ":queues, :handlers, :state, :run_id, :interval, :now, :now) "
                "ON CONFLICT (worker_id) DO UPDATE SET state = excluded.state, "
                "run_id = excluded.run_id, handlers = excluded.handlers, "
                "heartbeat_at = excluded.heartbeat_at, exited_at = NULL",
                params,
            )

    def mark_worker_exited(self, worker_id: str) -> None:
        """Record that a worker process exited on purpose."""
        with self.db.write():
            self.db.execute(
                "UPDATE jobq_worker SET state = 'exited', run_id = NULL, "
                "exited_at = :now WHERE worker_id = :worker_id",
                {"worker_id": worker_id, "now": self.clock()},
            )

    def workers(self, limit: int = 50) -> list[WorkerRecord]:
        """Return worker processes, live ones first, then by newest heartbeat."""
        rows = self.db.execute(
            "SELECT w.worker_id, w.name, w.host, w.pid, w.concurrency, w.queues, "
            "w.handlers, w.state, w.run_id, w.heartbeat_interval, w.started_at, "
            "w.heartbeat_at, w.exited_at, (SELECT COUNT(*) FROM jobq_job j "
            "WHERE j.run_id = w.run_id AND j.state = 'running') "
            "FROM jobq_worker w ORDER BY w.exited_at IS NOT NULL, "
            "w.started_at DESC, w.worker_id LIMIT :limit",
            {"limit": limit},
        ).fetchall()
        return [WorkerRecord(*_with_name_lists(row)) for row in rows]

    def add_control_request(
        self, worker_id: str, action: str, requested_by: str
    ) -> int:
        """Queue a control request for a worker process; return its id."""
        with self.db.write():
            known = self.db.execute(
                "SELECT state FROM jobq_worker WHERE worker_id = :worker_id",
                {"worker_id": worker_id},
            ).fetchone()
            if known is None:
                raise JobNotFoundError(
                    f"worker {worker_id} not found: list workers with `jobq workers`"
                )
            return self.db.execute(
                "INSERT INTO jobq_control_request (worker_id, action, requested_by, "
                "requested_at, state, message) VALUES (:worker_id, :action, :by, "
                ":now, 'pending', '') RETURNING id",
                {
                    "worker_id": worker_id,
                    "action": action,
                    "by": requested_by,
                    "now": self.clock(),
                },
            ).fetchone()[0]

    def take_control_request(self, worker_id: str) -> tuple[int, str] | None:
        """Acknowledge the oldest pending request for `worker_id`, if any."""
        with self.db.write():
            row = self.db.execute(
                "UPDATE jobq_control_request SET state = 'acknowledged', "
                "acknowledged_at = :now WHERE id = (SELECT id FROM "
                "jobq_control_request WHERE worker_id = :worker_id AND "
                "state = 'pending' ORDER BY id LIMIT 1) AND state = 'pending' "
                "RETURNING id, action",
                {"worker_id": worker_id, "now": self.clock()},
            ).fetchone()
        return (row[0], row[1]) if row else None

    def finish_control_request(self, request_id: int, ok: bool, message: str) -> None:
        """Record the outcome of an acknowledged control request."""
        with self.db.write():
            self.db.execute(
                "UPDATE jobq_control_request SET state = :state, finished_at = :now, "
                "message = :message WHERE id = :id AND state = 'acknowledged'",
                {
                    "id": request_id,
                    "state": "done" if ok else "failed",
                    "now": self.clock(),
                    "message": message[:2000],
                },
            )

    def expire_control_request(self, request_id: int, message: str) -> bool:
        """Mark an unacknowledged request expired; return False if a worker took it."""
        with self.db.write():
            cursor = self.db.execute(
                "UPDATE jobq_control_request SET state = 'expired', "
                "finished_at = :now, message = :message WHERE id = :id "
                "AND state = 'pending'",
                {"id": request_id, "now": self.clock(), "message": message},
            )
        return cursor.rowcount == 1

    def control_request(self, request_id: int) -> ControlRequestRecord:
        """Return one control request; raises JobNotFoundError."""
        row = self.db.execute(
            "SELECT id, worker_id, action, requested_by, requested_at, state, "
            "acknowledged_at, finished_at, message FROM jobq_control_request "
            "WHERE id = :id",
            {"id": request_id},
        ).fetchone()
        if row is None:
            raise JobNotFoundError(f"control request {request_id} not found")
        return ControlRequestRecord(*row)


def _with_name_lists(row: tuple) -> list:
    """Split the comma-joined queues and handlers columns (5 and 6) into lists."""
    values = list(row)
    values[5] = [name for name in values[5].split(",") if name]
    values[6] = [name for name in values[6].split(",") if name]
    return values
