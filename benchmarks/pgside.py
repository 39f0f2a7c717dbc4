"""The local PostgreSQL server for the benchmarks: URL, probe, schemas, connections.

Every measurement runs in a schema of its own, created through jobq's
`?schema=NAME` URL parameter and dropped with DROP SCHEMA ... CASCADE when
the measurement ends, so runs leave nothing behind on the server.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
URL_VARIABLE = "JOBQ_BENCH_POSTGRES_URL"
CONNECT_TIMEOUT_SECONDS = 3
SCHEMA_PREFIX = "jobq_bench_"
_ESTABLISHED = "01"


def server_url() -> str:
    """Return the server URL from JOBQ_BENCH_POSTGRES_URL without any query string."""
    url = os.environ.get(URL_VARIABLE) or DEFAULT_URL
    return url.split("?", 1)[0]


def redact(url: str) -> str:
    """Return `url` with its password, if any, replaced by ***."""
    parsed = urlparse(url)
    if parsed.password:
        return url.replace(f":{parsed.password}@", ":***@")
    return url


def server_settings(url: str) -> dict[str, Any]:
    """Connect once and return the server's version and durability settings.

    Raises psycopg.Error, or ImportError without psycopg, when the server cannot
    be reached.
    """
    import psycopg

    with psycopg.connect(
        url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS
    ) as connection:
        settings = {}
        for name in ("server_version", "synchronous_commit", "fsync", "wal_level"):
            settings[name] = connection.execute(f"SHOW {name}").fetchone()[0]
    settings["psycopg"] = psycopg.__version__
    settings["url"] = redact(url)
    return settings


def probe(url: str) -> tuple[dict[str, Any] | None, str | None]:
    """Return (server settings, None), or (None, the reason the server is unusable)."""
    try:
        return server_settings(url), None
    except ImportError:
        return None, "psycopg is not installed (pip install 'jobq_tui[postgres]')"
    except Exception as exc:  # noqa: BLE001 - any failure means the rows are skipped
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return (
            None,
            f"no PostgreSQL at {redact(url)}: {first_line or type(exc).__name__}",
        )


@dataclass(frozen=True)
class BenchSchema:
    """A schema of its own for one measurement, and the URLs that select it."""

    base_url: str
    name: str

    @property
    def jobq_url(self) -> str:
        return f"{self.base_url}?schema={self.name}"

    def connect(self, **options: Any):
        """Open a psycopg connection whose search_path is this schema."""
        import psycopg

        return psycopg.connect(
            self.base_url,
            options=f"-c search_path={self.name}",
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            **options,
        )

    def drop(self) -> None:
        """DROP SCHEMA ... CASCADE on an autocommit connection of its own."""
        import psycopg

        with psycopg.connect(
            self.base_url, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS
        ) as connection:
            connection.execute(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE')


@contextlib.contextmanager
def fresh_schema(base_url: str, label: str) -> Iterator[BenchSchema]:
    """Yield a new schema name `jobq_bench_<random>_<label>`; drop it on exit.

    jobq creates the schema itself when it first opens `jobq_url`.
    """
    schema = BenchSchema(base_url, f"{SCHEMA_PREFIX}{secrets.token_hex(4)}_{label}")
    try:
        yield schema
    finally:
        schema.drop()


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    fd_dir = f"/proc/{pid}/fd"
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(f"{fd_dir}/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def open_connections(pid: int, port: int) -> int:
    """Count the established TCP connections of process `pid` to remote `port`.

    Reads /proc/PID/fd and /proc/PID/net/tcp{,6}, so it works on Linux only.
    """
    inodes = _socket_inodes(pid)
    count = 0
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{table}", encoding="ascii") as lines:
                next(lines)
                for line in lines:
                    fields = line.split()
                    remote_port = int(fields[2].rsplit(":", 1)[1], 16)
                    if (
                        remote_port == port
                        and fields[3] == _ESTABLISHED
                        and fields[9] in inodes
                    ):
                        count += 1
        except FileNotFoundError:
            continue
    return count


def server_port(url: str) -> int:
    """Return the port of a postgresql:// URL (5432 when it names none)."""
    return urlparse(url).port or 5432
