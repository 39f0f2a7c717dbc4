"""Banner wording for each worker state: a glyph and words, not colour alone."""

from __future__ import annotations

from jobq_tui.service import WorkerStatus
from jobq_tui.tui.banner import banner_view

NOW = 1_000_000.0


def status(state: str, *, alive: int = 2, heartbeat_age: float = 1.0) -> WorkerStatus:
    return WorkerStatus(
        state=state,
        run_id="abcdef0123456789" if state != "stopped" else None,
        name="w",
        host="h",
        pid=1,
        threads_alive=alive,
        threads_configured=2,
        handlers=["noop", "procedure"],
        queues=["default"],
        counts={},
        running_jobs=[7] if state == "stopping" else [],
        started_at=NOW - 90,
        heartbeat_at=NOW - heartbeat_age,
        heartbeat_interval=5.0,
    )


def view(worker: WorkerStatus | None, **options):
    options.setdefault("updated_at", NOW)
    options.setdefault("has_worker", True)
    return banner_view(worker, now=NOW, **options)


def test_running_banner_names_threads_and_age():
    shown = view(status("running"))
    assert shown.style_class == "running"
    assert shown.text.startswith("● Job Worker is running")
    assert "2/2 threads" in shown.text
    assert "updated 0s ago" in shown.text
    assert "up 1m" in shown.text
    assert "run abcdef01" in shown.text


def test_stopped_banner():
    shown = view(status("stopped"))
    assert shown.style_class == "stopped"
    assert shown.text.startswith("■ Job Worker is stopped")


def test_stopping_banner_counts_running_jobs():
    shown = view(status("stopping"))
    assert shown.style_class == "stopping"
    assert shown.text.startswith("◐ Job Worker is stopping…")
    assert "1 job still running" in shown.text


def test_dead_thread_marks_banner_degraded():
    shown = view(status("running", alive=1))
    assert shown.style_class == "degraded"
    assert "1/2 threads" in shown.text


def test_late_heartbeat_is_an_error():
    shown = view(status("running", heartbeat_age=16.0))
    assert shown.style_class == "error"
    assert "heartbeat is late" in shown.text


def test_stale_read_is_an_error():
    shown = view(status("running"), updated_at=NOW - 30)
    assert shown.style_class == "error"
    assert "stale" in shown.text


def test_busy_action_shows_progress_word():
    shown = view(status("running"), busy_action="stop")
    assert shown.style_class == "busy"
    assert "Stopping…" in shown.text


def test_read_error_is_shown():
    shown = view(None, error="OperationalError: disk I/O error")
    assert shown.style_class == "error"
    assert "disk I/O error" in shown.text


def test_dashboard_without_worker():
    shown = view(None, has_worker=False)
    assert shown.style_class == "watching"
    assert "No worker" in shown.text
