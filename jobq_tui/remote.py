"""Remote control of a worker process through the database.

A worker process publishes a row (its liveness and whether it runs or is
paused) and polls for control requests addressed to it: start, stop,
restart and exit. A dashboard in any process on the same database sends
them with `Controller.request_worker_action`.
"""

from __future__ import annotations

import logging
import secrets
import threading

from .service import JobService

logger = logging.getLogger(__name__)

ACTIONS = ("start", "stop", "restart", "exit")


class RemoteControl:
    """Publishes one JobService as a worker process and serves its control requests."""

    def __init__(self, service: JobService, *, poll_interval: float = 0.5):
        self.service = service
        self.store = service.store
        self.poll_interval = poll_interval
        self.worker_id = secrets.token_hex(8)
        self.exit_requested = threading.Event()
        self._closing = threading.Event()
        self._busy = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def heartbeat_interval(self) -> float:
        """How often the worker row is refreshed; readers allow three misses."""
        return max(self.poll_interval, 0.5)

    def start(self) -> None:
        """Publish the worker row and start serving requests."""
        self.publish()
        self._thread = threading.Thread(
            target=self._loop, name=f"jobq-remote-{self.worker_id[:6]}", daemon=True
        )
        self._thread.start()
        logger.info(
            "worker %s accepts control requests (%s)", self.worker_id, self.service.name
        )

    def close(self) -> None:
        """Stop serving requests and record that this process exited."""
        self._closing.set()
        if self._thread is not None:
            self._thread.join(5.0)
        try:
            self.store.mark_worker_exited(self.worker_id)
        except Exception as exc:  # noqa: BLE001 - the process is leaving anyway
            logger.warning("could not mark worker %s exited: %s", self.worker_id, exc)
        self.store.db.close()

    def publish(self) -> None:
        """Write this process's state, run id and handlers to its worker row."""
        status = self.service.status(include_counts=False)
        state = status.state if status.state in ("running", "stopping") else "paused"
        self.store.upsert_worker(
            self.worker_id,
            name=self.service.name,
            host=self.service.host,
            pid=self.service.pid,
            concurrency=self.service.config.concurrency,
            queues=list(self.service.config.queues),
            handlers=status.handlers,
            state=state,
            run_id=status.run_id,
            heartbeat_interval=self.heartbeat_interval,
        )

    def _loop(self) -> None:
        try:
            while not self._closing.wait(self.poll_interval):
                try:
                    self.publish()
                    if not self._busy.locked():
                        self._serve_next()
                except Exception as exc:  # noqa: BLE001 - keep serving
                    logger.warning(
                        "worker %s: control poll failed: %s", self.worker_id, exc
                    )
        finally:
            self.store.db.close()

    def _serve_next(self) -> None:
        taken = self.store.take_control_request(self.worker_id)
        if taken is None:
            return
        request_id, action = taken
        self._busy.acquire()
        threading.Thread(
            target=self._carry_out,
            args=(request_id, action),
            name=f"jobq-control-{request_id}",
            daemon=True,
        ).start()

    def _carry_out(self, request_id: int, action: str) -> None:
        """Run one request; the lock taken in _serve_next is released here."""
        logger.info(
            "worker %s: control request %s: %s", self.worker_id, request_id, action
        )
        try:
            ok, message = self._act(action)
        except Exception as exc:  # noqa: BLE001 - reported back to the requester
            logger.exception("worker %s: %s failed", self.worker_id, action)
            ok, message = False, f"{action} failed: {type(exc).__name__}: {exc}"
        try:
            self.store.finish_control_request(request_id, ok, message)
            self.publish()
        finally:
            self.store.db.close()
            self._busy.release()
        logger.info(
            "worker %s: control request %s %s: %s",
            self.worker_id,
            request_id,
            "done" if ok else "failed",
            message,
        )
        if action == "exit" and ok:
            self.exit_requested.set()

    def _act(self, action: str) -> tuple[bool, str]:
        service = self.service
        if action == "start":
            started = service.start()
            return True, "started" if started else "already running"
        if action == "stop":
            return True, service.stop().message
        if action == "restart":
            report = service.restart()
            status = service.status(include_counts=False)
            return True, f"restarted as run {status.run_id}; {report.message}"
        if action == "exit":
            return True, f"exiting; {service.stop().message}"
        return False, f"unknown action {action!r}: use one of {', '.join(ACTIONS)}"
