"""Controller: who may change the worker, and the audit entry every action leaves."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import pytest

import jobq_tui
from jobq_tui import JobStore, open_database
from jobq_tui.control import Controller, Identity
from jobq_tui.db import read_meta

OPERATOR = Identity(user="alice", host="ops-host", pid=4242, ssh_client="10.0.0.7")


@pytest.fixture
def running_service(make_service):
    service = make_service(concurrency=2)
    service.start()
    return service


def latest_audit(store):
    entries = store.audit_entries(limit=1)
    assert entries, "expected an audit entry"
    return entries[0]


def test_non_operator_stop_is_denied(store, running_service):
    controller = Controller(
        store, running_service, identity=OPERATOR, operators={"someone-else"}
    )

    outcome = controller.stop()

    assert outcome.ok is False
    assert "alice is not an operator" in outcome.message


def test_denied_stop_leaves_worker_running(store, running_service):
    controller = Controller(
        store, running_service, identity=OPERATOR, operators={"someone-else"}
    )

    controller.stop()

    status = running_service.status()
    assert status.state == "running"
    assert status.threads_alive == 2


def test_denied_stop_is_audited(store, running_service):
    controller = Controller(
        store, running_service, identity=OPERATOR, operators={"someone-else"}
    )

    controller.stop()

    entry = latest_audit(store)
    assert entry.action == "stop"
    assert entry.outcome == "denied"
    assert entry.username == "alice"
    assert entry.host == "ops-host"
    assert entry.pid == 4242
    assert entry.ssh_client == "10.0.0.7"
    assert "not an operator" in entry.message


def test_operator_stop_is_allowed_and_audited(store, running_service):
    controller = Controller(
        store, running_service, identity=OPERATOR, operators={"alice"}
    )

    outcome = controller.stop()

    result, attempt = store.audit_entries(limit=2)
    assert outcome.ok is True
    assert running_service.state == "stopped"
    assert attempt.action == "stop"
    assert attempt.outcome == "allowed"
    assert attempt.username == "alice"
    assert result.action == "stop"
    assert result.outcome == "succeeded"
    assert result.message == outcome.message


def test_read_only_denies_operator(store, running_service):
    controller = Controller(
        store, running_service, identity=OPERATOR, operators={"alice"}, read_only=True
    )

    outcome = controller.stop()

    assert outcome.ok is False
    assert "--read-only" in outcome.message
    assert running_service.state == "running"
    assert latest_audit(store).outcome == "denied"


def test_read_only_denies_test_job(store, running_service):
    controller = Controller(
        store, running_service, identity=OPERATOR, operators={"alice"}, read_only=True
    )

    outcome = controller.create_test_job()

    assert outcome.ok is False
    assert store.page() == []


def test_status_allowed_for_non_operator(store, running_service):
    controller = Controller(
        store, running_service, identity=OPERATOR, operators={"someone-else"}
    )

    outcome = controller.status()

    entry = latest_audit(store)
    assert outcome.ok is True
    assert outcome.data.state == "running"
    assert entry.action == "status"
    assert entry.outcome == "succeeded"


def test_default_operator_is_database_creator(store, running_service):
    creator = read_meta(store.db, "created_by")

    controller = Controller(store, running_service, identity=OPERATOR)

    assert creator
    assert controller.operators == {creator}
    assert "database creator" in controller.operators_source


def test_operator_cancel_of_queued_job(store):
    controller = Controller(store, None, identity=OPERATOR, operators={"alice"})
    job_id = store.enqueue("work", delay=3600).job_id

    outcome = controller.cancel(job_id)

    entry = latest_audit(store)
    assert outcome.ok is True
    assert store.get(job_id).state.value == "cancelled"
    assert entry.action == "cancel"
    assert entry.target == f"job {job_id}"


def test_stop_without_service_fails_and_is_audited(store):
    controller = Controller(store, None, identity=OPERATOR, operators={"alice"})

    outcome = controller.stop()

    assert outcome.ok is False
    assert "no worker runs in this process" in outcome.message
    assert latest_audit(store).outcome == "failed"


def test_no_code_path_changes_audit_entries():
    """Only INSERT and SELECT statements name the audit table anywhere in jobq."""
    package = Path(jobq_tui.__file__).parent
    statements = []
    for path in package.rglob("*.py"):
        text = path.read_text()
        for match in re.finditer(
            r"(UPDATE|DELETE FROM|INSERT INTO|FROM)\s+jobq_audit", text
        ):
            statements.append((path.name, match.group(1)))

    assert ("operations.py", "INSERT INTO") in statements
    assert [s for s in statements if s[1] in ("UPDATE", "DELETE FROM")] == []


def test_prune_keeps_audit_entries(store):
    controller = Controller(store, None, identity=OPERATOR, operators={"alice"})
    controller.cancel(store.enqueue("noop").job_id)
    before = len(store.audit_entries(limit=100))

    controller.prune(0)

    assert len(store.audit_entries(limit=100)) == before + 2


def test_postgres_role_without_writes_is_read_only(database, backend):
    if backend != "postgres":
        pytest.skip("database roles are PostgreSQL's")
    import psycopg

    from tests.conftest import POSTGRES_URL

    role = f"jobq_reader_{uuid.uuid4().hex[:8]}"
    schema = database.url.split("schema=")[1]
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'CREATE ROLE "{role}" LOGIN')
        admin.execute(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"')
        admin.execute(f'GRANT SELECT ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"')
    try:
        reader_url = database.url.replace("postgres@", f"{role}@", 1)
        reader = open_database(reader_url)
        controller = Controller(
            JobStore(reader), None, identity=OPERATOR, operators={"alice"}
        )
        allowed, reason = controller.permission()
        outcome = controller.create_test_job()
        reader.close()

        assert allowed is False
        assert role in reason
        assert outcome.ok is False
        assert "may not update jobq_job" in outcome.message
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP OWNED BY "{role}"')
            admin.execute(f'DROP ROLE "{role}"')
