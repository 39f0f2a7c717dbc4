"""Peewee models for jobs, their event history, worker runs and the audit log.

Times are UTC epoch seconds stored as floats. Models bind to `database_proxy`,
which `db.open_database` initialises.
"""

from __future__ import annotations

from enum import Enum

import peewee as pw

SCHEMA_VERSION = 1

database_proxy = pw.DatabaseProxy()


class JobState(str, Enum):
    """Lifecycle state of a job; the value is what the database stores."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in FINISHED_STATES

    def __str__(self) -> str:
        return self.value


FINISHED_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})


class JobIdField(pw.AutoField):
    """Job id that SQLite never hands out again after the newest job is deleted.

    SQLite's AUTOINCREMENT gives that guarantee; PostgreSQL sequences already do.
    """

    def ddl(self, ctx):
        nodes = super().ddl(ctx)
        if isinstance(self.model._meta.database, pw.SqliteDatabase):
            return pw.NodeList((nodes, pw.SQL("AUTOINCREMENT")))
        return nodes


class BaseModel(pw.Model):
    class Meta:
        database = database_proxy
        legacy_table_names = False


class Meta(BaseModel):
    """Key/value facts about the database itself: schema version, creator."""

    key = pw.CharField(primary_key=True, max_length=64)
    value = pw.TextField()

    class Meta:
        table_name = "jobq_meta"


class Job(BaseModel):
    """One unit of work and everything known about its runs."""

    # NOTE: SQLite files created before AUTOINCREMENT was added keep plain
    # rowids, so there a deleted newest job's id can be reused.
    id = JobIdField()
    queue = pw.CharField(max_length=100, default="default")
    handler = pw.CharField(max_length=200)
    payload_preview = pw.CharField(max_length=200, default="")
    state = pw.CharField(max_length=16, default=JobState.QUEUED.value)
    priority = pw.IntegerField(default=0)
    run_at = pw.DoubleField()
    attempts = pw.IntegerField(default=0)
    max_attempts = pw.IntegerField(default=3)
    timeout = pw.DoubleField(null=True)
    lease_expires_at = pw.DoubleField(null=True)
    run_id = pw.CharField(max_length=64, null=True)
    unique_key = pw.CharField(max_length=255, null=True)
    cancel_requested = pw.BooleanField(default=False)
    progress = pw.IntegerField(default=0)
    progress_message = pw.CharField(max_length=200, default="")
    created_at = pw.DoubleField()
    started_at = pw.DoubleField(null=True)
    finished_at = pw.DoubleField(null=True)
    # Large values come last. SQLite stores a record's columns in table order
    # and spills a long value into a chain of overflow pages, so a column after
    # a 5 MB payload costs a walk of that chain. With these last, a list query
    # reads its summary columns without touching the payload. Files created
    # before this order keep the old one, and their list reads are slower.
    error = pw.TextField(null=True)
    traceback = pw.TextField(null=True)
    result = pw.TextField(null=True)
    payload = pw.TextField(default="null")

    class Meta:
        table_name = "jobq_job"
        # The claim index, (state, queue, priority DESC, run_at, id), is created
        # with raw SQL in db._prepare_schema, since it needs a DESC column.
        indexes = (
            # Pages of one state, newest first, and the reaper's lease scan.
            (("state", "id"), False),
            (("state", "lease_expires_at"), False),
            (("run_id", "state"), False),
            (("state", "finished_at"), False),
        )


class JobEvent(BaseModel):
    """One entry of a job's history: enqueued, claimed, retried, reclaimed..."""

    id = pw.AutoField()
    job_id = pw.IntegerField(index=True)
    at = pw.DoubleField()
    kind = pw.CharField(max_length=32)
    run_id = pw.CharField(max_length=64, null=True)
    attempt = pw.IntegerField(default=0)
    message = pw.TextField(default="")

    class Meta:
        table_name = "jobq_job_event"


class WorkerRun(BaseModel):
    """One `JobService.start()`: who ran, where, and its last heartbeat."""

    run_id = pw.CharField(max_length=64, primary_key=True)
    name = pw.CharField(max_length=200)
    host = pw.CharField(max_length=255)
    pid = pw.IntegerField()
    concurrency = pw.IntegerField()
    queues = pw.TextField(default="")
    handlers = pw.TextField(default="")
    heartbeat_interval = pw.DoubleField()
    started_at = pw.DoubleField()
    heartbeat_at = pw.DoubleField()
    stopped_at = pw.DoubleField(null=True)
    stop_reason = pw.CharField(max_length=200, default="")

    class Meta:
        table_name = "jobq_worker_run"
        indexes = ((("stopped_at", "heartbeat_at"), False),)


class AuditEntry(BaseModel):
    """One operator action, allowed or denied, with its outcome. Append-only."""

    id = pw.AutoField()
    at = pw.DoubleField()
    username = pw.CharField(max_length=200)
    host = pw.CharField(max_length=255)
    pid = pw.IntegerField()
    ssh_client = pw.CharField(max_length=255, default="")
    action = pw.CharField(max_length=64)
    target = pw.CharField(max_length=255, default="")
    outcome = pw.CharField(max_length=16)
    message = pw.TextField(default="")

    class Meta:
        table_name = "jobq_audit"


class Worker(BaseModel):
    """One worker process: alive across its runs, running or paused, until it exits.

    Other processes find it here to send control requests.
    """

    worker_id = pw.CharField(max_length=64, primary_key=True)
    name = pw.CharField(max_length=200)
    host = pw.CharField(max_length=255)
    pid = pw.IntegerField()
    concurrency = pw.IntegerField()
    queues = pw.TextField(default="")
    handlers = pw.TextField(default="")
    state = pw.CharField(max_length=16)
    run_id = pw.CharField(max_length=64, null=True)
    heartbeat_interval = pw.DoubleField()
    started_at = pw.DoubleField()
    heartbeat_at = pw.DoubleField()
    exited_at = pw.DoubleField(null=True)

    class Meta:
        table_name = "jobq_worker"
        indexes = ((("exited_at", "heartbeat_at"), False),)


class ControlRequest(BaseModel):
    """A start, stop, restart or exit request for a worker in another process."""

    id = pw.AutoField()
    worker_id = pw.CharField(max_length=64)
    action = pw.CharField(max_length=16)
    requested_by = pw.CharField(max_length=200)
    requested_at = pw.DoubleField()
    state = pw.CharField(max_length=16, default="pending")
    acknowledged_at = pw.DoubleField(null=True)
    finished_at = pw.DoubleField(null=True)
    message = pw.TextField(default="")

    class Meta:
        table_name = "jobq_control_request"
        indexes = ((("worker_id", "state", "id"), False),)


class QueueSetting(BaseModel):
    """A queue's durable settings: paused queues are not claimed from."""

    name = pw.CharField(max_length=100, primary_key=True)
    paused = pw.BooleanField(default=False)
    changed_at = pw.DoubleField()
    changed_by = pw.CharField(max_length=200)

    class Meta:
        table_name = "jobq_queue"


ALL_MODELS = (
    Meta,
    Job,
    JobEvent,
    WorkerRun,
    AuditEntry,
    Worker,
    ControlRequest,
    QueueSetting,
)
