"""Open a jobq database from a path or URL: pragmas, file mode, schema checks.

SQLite is the default (one file, WAL); `postgresql://` URLs select PostgreSQL.
"""

from __future__ import annotations

import getpass
import logging
import os
import re
import sqlite3
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import peewee as pw
import platformdirs

from .errors import DatabaseConfigError
from .models import ALL_MODELS, SCHEMA_VERSION, Meta

logger = logging.getLogger(__name__)

SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    # Wait for the writer lock instead of failing with "database is locked".
    "busy_timeout": 10_000,
    # In WAL mode NORMAL loses no committed transaction on a process crash,
    # only on power loss; it is what most SQLite-backed queues run with.
    "synchronous": "normal",
    "foreign_keys": 0,
}

_SERVER_NOW = "EXTRACT(EPOCH FROM clock_timestamp())::float8"
_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_NAMED_PARAM = re.compile(r"(?<!:):([a-z_][a-z0-9_]*)")


def default_database_path() -> Path:
    """Return the default SQLite file in the user's data directory."""
    return Path(platformdirs.user_data_dir("jobq")) / "jobq.db"


@dataclass
class Database:
    """A peewee database plus the few dialect facts the store needs."""

    peewee_db: pw.Database
    url: str
    is_postgres: bool
    path: Path | None = None
    server_clock: bool = True
    _sql_cache: dict[str, str] = field(default_factory=dict, repr=False)

    def with_client_clock(self) -> Database:
        """Return a view of this database whose `:now` is the caller's clock.

        Tests that inject a clock use it; on SQLite it changes nothing.
        """
        return replace(self, server_clock=False, _sql_cache={})

    def sql(self, text: str) -> str:
        """Convert SQL written with `:name` parameters to the driver's style.

        On PostgreSQL `:now` becomes the database clock, so lease arithmetic
        never depends on the clocks of the worker hosts.
        """
        cached = self._sql_cache.get(text)
        if cached is not None:
            return cached
        if self.is_postgres:
            converted = text
            if self.server_clock:
                converted = text.replace(":now", _SERVER_NOW)
            converted = _NAMED_PARAM.sub(r"%(\1)s", converted)
        else:
            converted = text
        self._sql_cache[text] = converted
        return converted

    def execute(self, text: str, params: dict[str, Any] | None = None):
        """Run one statement and return the driver's cursor."""
        return self.peewee_db.execute_sql(self.sql(text), params or {})

    def write_denied_reason(self) -> str:
        """Return why this connection may not change jobs, or "" if it may.

        On PostgreSQL a role without UPDATE on jobq_job gets a read-only
        dashboard; on SQLite the file was already checked when it was opened.
        """
        if not self.is_postgres:
            return ""
        role, allowed = self.execute(
            "SELECT current_user, has_table_privilege('jobq_job', 'UPDATE')"
        ).fetchone()
        if allowed:
            return ""
        return (
            f"database role {role} may not update jobq_job; grant it write "
            "access to control workers"
        )

    def execute_many(self, text: str, rows: list[dict[str, Any]]) -> None:
        """Run one statement once per parameter row, in a single driver call."""
        cursor = self.peewee_db.cursor()
        cursor.executemany(self.sql(text), rows)

    @contextmanager
    def write(self) -> Iterator[None]:
        """Open a write transaction that takes the SQLite writer lock at once."""
        if self.is_postgres:
            with self.peewee_db.atomic():
                yield
        else:
            with self.peewee_db.atomic("IMMEDIATE"):
                yield

    def close(self) -> None:
        """Close this thread's connection, if it has one."""
        if not self.peewee_db.is_closed():
            self.peewee_db.close()


def open_database(url: str | None = None, *, create: bool = True) -> Database:
    """Open (and on first use create) the database at `url`.

    `url` is a file path, `sqlite:///path`, or `postgresql://...`; None means
    the default file. Raises DatabaseConfigError with a one-line message.
    """
    if url is None or url == "":
        database = _open_sqlite(default_database_path(), create=create, is_default=True)
    elif "://" not in url:
        database = _open_sqlite(Path(url).expanduser(), create=create)
    else:
        parsed = urlparse(url)
        scheme = parsed.scheme.lower()
        if scheme == "sqlite":
            # sqlite:///relative.db and sqlite:////absolute/path.db
            raw = unquote(url.split("://", 1)[1].split("?", 1)[0])
            raw = raw[1:] if raw.startswith("/") else raw
            if raw in ("", ":memory:"):
                raise DatabaseConfigError(
                    f"{url!r} names no file: jobq needs a database file that "
                    "every worker thread and process can open"
                )
            database = _open_sqlite(Path(raw).expanduser(), create=create)
        elif scheme in ("postgres", "postgresql"):
            database = _open_postgres(url)
        else:
            raise DatabaseConfigError(
                f"unsupported database URL scheme {scheme!r} in {url!r}: "
                "use a file path, sqlite:///PATH or postgresql://USER@HOST:PORT/DB"
            )

    _prepare_schema(database)
    return database


def _open_sqlite(path: Path, *, create: bool, is_default: bool = False) -> Database:
    path = path.resolve() if path.is_absolute() else (Path.cwd() / path)
    if path.is_dir():
        raise DatabaseConfigError(
            f"database path {str(path)!r} is a directory: pass a file path"
        )

    parent = path.parent
    if not parent.exists():
        if is_default:
            parent.mkdir(parents=True, mode=0o700, exist_ok=True)
        else:
            raise DatabaseConfigError(
                f"directory {str(parent)!r} for database {path.name!r} does not "
                "exist: create it or pass another --db path"
            )

    if not path.exists():
        if not create:
            raise DatabaseConfigError(f"database file {str(path)!r} does not exist")
        _create_private_file(path)
    elif not os.access(path, os.R_OK | os.W_OK):
        raise DatabaseConfigError(
            f"database file {str(path)!r} is not readable and writable by this "
            "user: fix its permissions or pass another --db path"
        )

    _warn_if_world_writable(parent)
    peewee_db = pw.SqliteDatabase(
        str(path), pragmas=SQLITE_PRAGMAS, timeout=10, check_same_thread=False
    )
    try:
        peewee_db.connect(reuse_if_open=True)
        peewee_db.execute_sql("SELECT count(*) FROM sqlite_master").fetchone()
    except (pw.DatabaseError, sqlite3.DatabaseError) as exc:
        peewee_db.close()
        raise DatabaseConfigError(
            f"cannot open {str(path)!r} as a SQLite database ({exc}): "
            "pass another --db path; the file was left unchanged"
        ) from None
    return Database(peewee_db, url=f"sqlite:///{path}", is_postgres=False, path=path)


def _create_private_file(path: Path) -> None:
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    except OSError as exc:
        raise DatabaseConfigError(
            f"cannot create database file {str(path)!r}: {exc.strerror}; "
            "pass another --db path"
        ) from None
    os.close(fd)


def _warn_if_world_writable(directory: Path) -> None:
    try:
        mode = directory.stat().st_mode
    except OSError:
        return
    if mode & stat.S_IWOTH and not mode & stat.S_ISVTX:
        logger.warning(
            "database directory %s is world-writable: other users can replace "
            "the database file; move it to a private directory",
            directory,
        )


def _open_postgres(url: str) -> Database:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise DatabaseConfigError(
            "PostgreSQL needs the psycopg driver: pip install 'jobq_tui[postgres]'"
        ) from None

    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    unknown = sorted(set(query) - {"schema"})
    if unknown:
        raise DatabaseConfigError(
            f"unknown parameter {unknown[0]!r} in {_redact(url)}: only ?schema=NAME "
            "is understood"
        )
    extra: dict[str, Any] = {}
    schema = query.get("schema", [None])[0]
    if schema is not None:
        if not _SCHEMA_NAME.match(schema):
            raise DatabaseConfigError(
                f"schema name {schema!r} is invalid: use letters, digits and '_'"
            )
        extra["options"] = f"-c search_path={schema}"
    peewee_db = pw.PostgresqlDatabase(
        (parsed.path or "/").lstrip("/") or None,
        user=unquote(parsed.username) if parsed.username else None,
        password=unquote(parsed.password) if parsed.password else None,
        host=parsed.hostname or None,
        port=parsed.port or None,
        **extra,
    )
    try:
        peewee_db.connect(reuse_if_open=True)
    except pw.OperationalError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else exc
        raise DatabaseConfigError(
            f"cannot connect to PostgreSQL at {_redact(url)}: {first_line}"
        ) from None
    if schema is not None:
        exists = peewee_db.execute_sql(
            "SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)
        ).fetchone()
        if not exists:
            peewee_db.execute_sql(f'CREATE SCHEMA "{schema}"')
    return Database(peewee_db, url=url, is_postgres=True)


def _redact(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        return url.replace(f":{parsed.password}@", ":***@")
    return url


# Indexes peewee's model definitions cannot express, by name.
_EXTRA_INDEXES = {
    "jobq_job_unique_active": (
        "CREATE UNIQUE INDEX IF NOT EXISTS jobq_job_unique_active ON jobq_job "
        "(unique_key) "
        "WHERE unique_key IS NOT NULL AND state IN ('queued', 'running')"
    ),
    # Claim order. Its directions match the claim's ORDER BY priority DESC,
    # run_at, id, so a claim reads one index entry. The older all-ascending
    # index made SQLite sort every queued job on each claim.
    "jobq_job_claim": (
        "CREATE INDEX IF NOT EXISTS jobq_job_claim ON jobq_job "
        "(state, queue, priority DESC, run_at, id)"
    ),
}
_OLD_CLAIM_INDEX = "jobq_job_state_queue_priority_run_at_id"


def _prepare_schema(database: Database) -> None:
    """Create missing tables and indexes and refuse a schema newer than this code.

    Only what is missing is created, so a PostgreSQL role that may read but
    not create can still open a database someone else set up.
    """
    peewee_db = database.peewee_db
    peewee_db.bind(ALL_MODELS, bind_refs=False, bind_backrefs=False)
    try:
        existing = set(peewee_db.get_tables())
        missing = [m for m in ALL_MODELS if m._meta.table_name not in existing]
        indexes = {index.name for index in peewee_db.get_indexes("jobq_job")}
        needs_counts = not database.is_postgres and "jobq_job_count" not in existing
        changes = missing or needs_counts or _OLD_CLAIM_INDEX in indexes
        changes = changes or any(name not in indexes for name in _EXTRA_INDEXES)
        if changes:
            with database.write():
                peewee_db.create_tables(missing, safe=True)
                indexes = {index.name for index in peewee_db.get_indexes("jobq_job")}
                for name, sql in _EXTRA_INDEXES.items():
                    if name not in indexes:
                        database.execute(sql)
                if _OLD_CLAIM_INDEX in indexes:
                    database.execute(f"DROP INDEX IF EXISTS {_OLD_CLAIM_INDEX}")
                if needs_counts:
                    _create_state_counts(database)
        row = Meta.get_or_none(Meta.key == "schema_version")
        if row is None:
            with database.write():
                Meta.create(key="schema_version", value=str(SCHEMA_VERSION))
                Meta.create(key="created_by", value=_current_user())
                Meta.create(key="created_at", value=repr(time.time()))
            found = SCHEMA_VERSION
        else:
            found = int(row.value)
    except (pw.DatabaseError, sqlite3.DatabaseError) as exc:
        raise DatabaseConfigError(
            f"cannot prepare the jobq tables in {_redact(database.url)}: {exc}"
        ) from None

    if found > SCHEMA_VERSION:
        raise DatabaseConfigError(
            f"database {_redact(database.url)} has schema version {found}, newer "
            f"than this jobq ({SCHEMA_VERSION}): upgrade jobq to open it"
        )


_STATE_COUNT_TRIGGERS = (
    "CREATE TRIGGER jobq_job_count_insert AFTER INSERT ON jobq_job BEGIN "
    "INSERT INTO jobq_job_count (state, n) VALUES (NEW.state, 1) "
    "ON CONFLICT (state) DO UPDATE SET n = n + 1; END",
    "CREATE TRIGGER jobq_job_count_update AFTER UPDATE OF state ON jobq_job "
    "WHEN OLD.state <> NEW.state BEGIN "
    "UPDATE jobq_job_count SET n = n - 1 WHERE state = OLD.state; "
    "INSERT INTO jobq_job_count (state, n) VALUES (NEW.state, 1) "
    "ON CONFLICT (state) DO UPDATE SET n = n + 1; END",
    "CREATE TRIGGER jobq_job_count_delete AFTER DELETE ON jobq_job BEGIN "
    "UPDATE jobq_job_count SET n = n - 1 WHERE state = OLD.state; END",
)


def _create_state_counts(database: Database) -> None:
    """Create the per-state job counts table and its triggers (SQLite only).

    Counting with GROUP BY reads one index entry per job on every dashboard
    refresh (about 0.1 s per million jobs, measured here with SQLite 3.40).
    The triggers instead keep the counts current in the same transaction as
    each state change. The table
    is filled from jobq_job once, when it is created, inside the caller's
    write transaction.
    """
    exists = database.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'jobq_job_count'"
    ).fetchone()
    if exists:
        return
    database.execute(
        "CREATE TABLE jobq_job_count (state VARCHAR(16) NOT NULL PRIMARY KEY, "
        "n INTEGER NOT NULL)"
    )
    database.execute(
        "INSERT INTO jobq_job_count (state, n) "
        "SELECT state, COUNT(*) FROM jobq_job GROUP BY state"
    )
    for statement in _STATE_COUNT_TRIGGERS:
        database.execute(statement)


def _current_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def read_meta(database: Database, key: str) -> str | None:
    """Return a value from the jobq_meta table, or None."""
    row = database.execute(
        "SELECT value FROM jobq_meta WHERE key = :key", {"key": key}
    ).fetchone()
    return row[0] if row else None
