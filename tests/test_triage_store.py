"""Filters, bulk actions, queue pause and failure groups in the store, both backends."""

from __future__ import annotations

import pytest

from jobq_tui import JobState
from jobq_tui.errors import InvalidJobError
from jobq_tui.filters import JobFilter, parse_filter


def fail_all(store, handler: str, error: str, count: int) -> list[int]:
    ids = store.enqueue_many(handler, [{"n": n} for n in range(count)], max_attempts=1)
    for job in store.claim("run-t", ["default"], count, lease=600):
        store.fail(job.id, "run-t", error, None, retry_delay=None)
    return ids


def test_parse_filter_tokens_and_text():
    parsed = parse_filter("state:failed handler:resize queue:mail error:Timeout big")
    assert parsed.state is JobState.FAILED
    assert parsed.handler == "resize"
    assert parsed.queue == "mail"
    assert parsed.error == "Timeout"
    assert parsed.text == "big"
    assert parse_filter(parsed.describe()) == parsed


@pytest.mark.parametrize(
    "typed", ["state:nope", "handler:", "state:failed state:queued"]
)
def test_parse_filter_rejects_bad_tokens(typed):
    with pytest.raises(InvalidJobError):
        parse_filter(typed)


def test_count_matching_follows_filter(store):
    fail_all(store, "resize", "TimeoutError: slow", 3)
    store.enqueue("resize", {"n": 99})

    assert store.count_matching(parse_filter("handler:resize")) == 4
    assert store.count_matching(parse_filter("state:failed error:Timeout")) == 3
    assert store.count_for_action("retry", parse_filter("handler:resize")) == 3


def test_bulk_retry_by_filter_in_batches(store):
    failed = fail_all(store, "resize", "OSError: gone", 7)
    totals: list[int] = []

    changed = store.bulk_apply(
        "retry",
        job_filter=JobFilter(state=JobState.FAILED),
        batch_size=3,
        on_batch=totals.append,
    )

    assert changed == 7
    assert totals[-1] == 7
    assert len(totals) >= 3
    for job_id in failed:
        assert store.get(job_id).state is JobState.QUEUED
        assert store.events(job_id)[-1].kind == "retry requested"


def test_bulk_cancel_by_ids_touches_only_queued(store):
    failed = fail_all(store, "resize", "OSError: gone", 1)
    queued = store.enqueue("resize").job_id

    changed = store.bulk_apply("cancel", ids=[failed[0], queued])

    assert changed == 1
    assert store.get(queued).state is JobState.CANCELLED
    assert store.get(failed[0]).state is JobState.FAILED


def test_bulk_delete_keeps_unfinished_jobs(store):
    failed = fail_all(store, "resize", "OSError: gone", 2)
    queued = store.enqueue("resize").job_id

    changed = store.bulk_apply("delete", job_filter=parse_filter("handler:resize"))

    assert changed == 2
    assert store.get(queued).state is JobState.QUEUED
    assert store.count_matching(JobFilter(state=JobState.FAILED)) == 0
    assert store.events(failed[0]) == []


def test_paused_queue_is_not_claimed(store):
    job_id = store.enqueue("noop", queue="mail").job_id
    assert store.set_queue_paused("mail", True, "ops") is True
    assert store.set_queue_paused("mail", True, "ops") is False

    paused_claim = store.claim("run-p", ["mail"], 1, lease=30)
    due_while_paused = store.next_due_at(["mail"])
    store.set_queue_paused("mail", False, "ops")
    resumed_claim = store.claim("run-p", ["mail"], 1, lease=30)

    assert paused_claim == []
    assert due_while_paused is None
    assert [job.id for job in resumed_claim] == [job_id]


def test_failure_groups_by_handler_and_type(store):
    fail_all(store, "resize", "TimeoutError: slow", 3)
    fail_all(store, "resize", "OSError: gone", 1)
    fail_all(store, "mail", "no colon here", 2)

    groups = {(g.handler, g.error_type): g.count for g in store.failure_groups()}

    assert groups[("resize", "TimeoutError")] == 3
    assert groups[("resize", "OSError")] == 1
    assert groups[("mail", "no colon here")] == 2


def test_queue_stats_count_and_pause(store):
    store.enqueue("noop", queue="mail")
    store.set_queue_paused("mail", True, "ops")

    stats = {queue.name: queue for queue in store.queue_stats()}

    assert stats["mail"].paused is True
    assert stats["mail"].counts["queued"] == 1
    assert len(stats["mail"].per_minute) == 10


def test_deleted_newest_job_id_is_not_reused(store, backend):
    first = fail_all(store, "resize", "OSError: gone", 1)[0]
    store.bulk_apply("delete", ids=[first])

    second = store.enqueue("resize").job_id

    assert second > first
