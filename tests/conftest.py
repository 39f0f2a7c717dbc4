"""Shared fixtures: a real SQLite file or PostgreSQL schema per test, and
services that always stop."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from jobq_tui import HandlerRegistry, JobService, JobStore, open_database
from jobq_tui.db import Database


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "jobs.db"


POSTGRES_URL = os.environ.get(
    "JOBQ_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def postgres_skip_reason() -> str | None:
    """Return why PostgreSQL tests cannot run here, or None if they can."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed: pip install -e '.[test]'"
    try:
        psycopg.connect(POSTGRES_URL, connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {exc}".splitlines()[0]
    return None


@pytest.fixture(scope="session")
def postgres_available() -> str | None:
    return postgres_skip_reason()


def open_postgres_schema() -> tuple[Database, str]:
    """Open the test server in a new schema, so runs never see each other's rows."""
    schema = f"jobq_test_{uuid.uuid4().hex[:12]}"
    separator = "&" if "?" in POSTGRES_URL else "?"
    return open_database(f"{POSTGRES_URL}{separator}schema={schema}"), schema


def drop_postgres_schema(schema: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request, postgres_available) -> str:
    """The database backend a test runs on; every store test runs on both."""
    if request.param == "postgres" and postgres_available is not None:
        pytest.skip(postgres_available)
    if request.param == "postgres" and request.node.get_closest_marker("sqlite_only"):
        reason = request.node.get_closest_marker("sqlite_only").args[0]
        pytest.skip(f"SQLite only: {reason}")
    return request.param


@pytest.fixture
def database(db_path: Path, backend: str) -> Iterator[Database]:
    if backend == "sqlite":
        database = open_database(str(db_path))
        yield database
        database.close()
        return
    database, schema = open_postgres_schema()
    yield database
    database.close()
    drop_postgres_schema(schema)


@pytest.fixture
def store(database: Database) -> JobStore:
    return JobStore(database)


@pytest.fixture
def registry() -> HandlerRegistry:
    return HandlerRegistry()


@pytest.fixture
def make_service(
    database: Database, registry: HandlerRegistry
) -> Iterator[Callable[..., JobService]]:
    """Build services on the test's database with fast timings; stop them after."""
    services: list[JobService] = []

    def build(**settings) -> JobService:
        settings.setdefault("lease", 3.0)
        settings.setdefault("heartbeat", 0.5)
        settings.setdefault("poll_interval", 0.02)
        settings.setdefault("backoff_base", 0.05)
        settings.setdefault("drain_timeout", 5.0)
        service = JobService(
            database, registry=settings.pop("registry", registry), **settings
        )
        services.append(service)
        return service

    yield build
    for service in services:
        service.stop(timeout=0)
