"""Shared fixtures: a real SQLite file per test and services that always stop."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from jobq_tui import HandlerRegistry, JobService, JobStore, open_database
from jobq_tui.db import Database


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "jobs.db"


@pytest.fixture
def database(db_path: Path) -> Iterator[Database]:
    database = open_database(str(db_path))
    yield database
    database.close()


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
