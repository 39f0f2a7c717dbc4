"""The worker banner's text: glyph, words and a style class, never colour alone."""

from __future__ import annotations

from dataclasses import dataclass

from ..service import WorkerStatus
from .format import age, plural

BUSY_WORDS = {
    "start": "Starting…",
    "stop": "Stopping…",
    "restart": "Restarting…",
}


@dataclass(frozen=True)
class BannerView:
    """The banner's text and its style class (running, stopped, busy, error...)."""

    text: str
    style_class: str


def banner_view(
    status: WorkerStatus | None,
    *,
    now: float,
    updated_at: float | None,
    has_worker: bool,
    busy_action: str | None = None,
    error: str | None = None,
    stale_after: float = 5.0,
) -> BannerView:
    """Describe the worker for the banner."""
    updated = f"updated {age(now - updated_at)} ago" if updated_at is not None else ""

    if busy_action is not None:
        words = BUSY_WORDS.get(busy_action, "Working…")
        if status is not None and status.state == "stopping":
            still = plural(len(status.running_jobs), "job", "jobs")
            words = f"{words} {still} still running"
        return BannerView(f"◌ Job Worker: {words} · {updated}", "busy")

    if error is not None:
        return BannerView(f"▲ Status unavailable: {error} · {updated}", "error")

    if not has_worker:
        return BannerView(
            f"○ No worker in this process (dashboard only) · {updated}", "watching"
        )

    if status is None:
        return BannerView("◌ Reading worker status…", "busy")

    if updated_at is not None and now - updated_at > stale_after:
        return BannerView(
            f"▲ Status is stale: last read {age(now - updated_at)} ago", "error"
        )

    heartbeat_late = (
        status.state == "running"
        and status.heartbeat_at is not None
        and now - status.heartbeat_at > 3 * status.heartbeat_interval
    )
    if heartbeat_late:
        last = age(now - status.heartbeat_at)
        return BannerView(
            f"▲ Job Worker heartbeat is late: last one {last} ago "
            f"(every {status.heartbeat_interval:g}s expected) · {updated}",
            "error",
        )

    if status.state == "running":
        threads = f"{status.threads_alive}/{status.threads_configured} threads"
        warning = ""
        if status.threads_alive < status.threads_configured:
            warning = " ⚠ some threads died"
        uptime = age(now - status.started_at) if status.started_at else "-"
        return BannerView(
            f"● Job Worker is running · {threads}{warning} · {updated} · "
            f"up {uptime} · {len(status.handlers)} handlers · run {status.run_id[:8]}",
            "running" if not warning else "degraded",
        )

    if status.state == "stopping":
        still = plural(len(status.running_jobs), "job", "jobs")
        return BannerView(
            f"◐ Job Worker is stopping… · {still} still running · {updated}",
            "stopping",
        )

    return BannerView(f"■ Job Worker is stopped · {updated}", "stopped")
