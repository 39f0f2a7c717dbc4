"""PostgreSQL LISTEN/NOTIFY: wake idle workers as soon as another process enqueues."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from .db import Database

logger = logging.getLogger(__name__)

CHANNEL = "jobq_job"
# How long one wait for notifications lasts before the thread checks for close().
WAIT_SECONDS = 0.5


class NotifyListener:
    """Calls `on_notify` from its own thread whenever a job is enqueued.

    It uses one extra connection. If the connection fails the listener
    logs it and ends; workers then fall back to polling.
    """

    def __init__(self, database: Database, on_notify: Callable[[], None]):
        self.database = database
        self.on_notify = on_notify
        self._closing = threading.Event()
        self._connected = threading.Event()
        self._thread = threading.Thread(
            target=self._listen, name="jobq-listen", daemon=True
        )

    @property
    def active(self) -> bool:
        return self._connected.is_set() and self._thread.is_alive()

    def start(self, timeout: float = 5.0) -> bool:
        """Start listening; return True once the LISTEN is in place."""
        self._thread.start()
        return self._connected.wait(timeout)

    def close(self) -> None:
        self._closing.set()
        self._thread.join(WAIT_SECONDS * 4)

    def _listen(self) -> None:
        import psycopg

        peewee_db = self.database.peewee_db
        try:
            with psycopg.connect(
                dbname=peewee_db.database, autocommit=True, **peewee_db.connect_params
            ) as connection:
                connection.execute(f"LISTEN {CHANNEL}")
                self._connected.set()
                while not self._closing.is_set():
                    for _ in connection.notifies(timeout=WAIT_SECONDS):
                        self.on_notify()
        except psycopg.Error as exc:
            logger.warning("LISTEN %s failed, workers poll instead: %s", CHANNEL, exc)
        finally:
            self._connected.clear()


def notify_sql() -> str:
    """Return the statement an enqueue runs, in its transaction, on PostgreSQL."""
    return f"SELECT pg_notify('{CHANNEL}', '')"
