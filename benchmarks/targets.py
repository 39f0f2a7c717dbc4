"""The performance targets, checked against one run's results."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MB = 1_000_000  # The targets' MB is taken as 10^6 bytes, the stricter reading.


@dataclass(frozen=True)
class Check:
    """One target with the number measured for it."""

    target: str
    measured: str
    met: bool
    skipped: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "measured": self.measured,
            "met": self.met,
            "skipped": self.skipped,
        }


def describe_drop(drop: float) -> str:
    """Format a throughput drop; a negative drop means the phase ran faster."""
    if drop >= 0:
        return f"{drop:.1%} slower"
    return f"{-drop:.1%} faster (no drop)"


def _rate(results: dict[str, Any], row: str) -> float:
    return results["throughput"]["rows"][row]["per_second"]


def _ratio_checks(results: dict[str, Any]) -> list[Check]:
    pairs = [
        ("JobService, 1 thread", "jobq_service_c1", "1"),
        ("JobService, 4 threads", "jobq_service_c4", "4"),
        ("2 CLI workers x 2 threads", "jobq_cli_2x2", "4"),
    ]
    checks = []
    for label, row, workers in pairs:
        jobq = _rate(results, row)
        raw = max(
            _rate(results, f"raw_index_t{workers}"),
            _rate(results, f"raw_plain_t{workers}"),
        )
        ratio = jobq / raw
        checks.append(
            Check(
                f"throughput >= 50% of the raw sqlite3 loop ({label} vs {workers} raw "
                "thread(s), faster raw variant)",
                f"{ratio:.0%} ({jobq:,.0f} vs {raw:,.0f} jobs/s)",
                ratio >= 0.5,
            )
        )
    for label, row, workers in pairs:
        jobq = _rate(results, row)
        for sync, sync_label in (
            ("normal", "synchronous=NORMAL like jobq"),
            ("default", "its default synchronous=FULL"),
        ):
            huey = _rate(results, f"huey_{sync}_w{workers}")
            ratio = jobq / huey
            checks.append(
                Check(
                    f"throughput >= 2x Huey-SQLite ({label} vs {workers} Huey "
                    f"worker(s), Huey with {sync_label})",
                    f"{ratio:.2f}x ({jobq:,.0f} vs {huey:,.0f} jobs/s)",
                    ratio >= 2.0,
                )
            )
    return checks


def _postgres_checks(results: dict[str, Any]) -> list[Check]:
    """Apply the throughput-ratio and latency targets to the PostgreSQL rows.

    A row that did not run yields a skipped check that names the reason.
    """
    postgres = results.get("postgres", {"skipped": "not run"})
    throughput = postgres.get("throughput", postgres)
    latency_rows = postgres.get("latency", {}).get("rows", {})
    checks = []
    for consumers in (1, 4, 8):
        target = (
            "PostgreSQL throughput >= 50% of the raw psycopg loop (JobService, "
            f"{consumers} thread(s) vs {consumers} raw thread(s))"
        )
        if "skipped" in throughput:
            reason = f"skipped: {throughput['skipped']}"
            checks.append(Check(target, reason, False, skipped=True))
            continue
        jobq = throughput["rows"][f"jobq_c{consumers}"]["per_second"]
        raw = throughput["rows"][f"raw_t{consumers}"]["per_second"]
        ratio = jobq / raw
        checks.append(
            Check(
                target,
                f"{ratio:.0%} ({jobq:,.0f} vs {raw:,.0f} jobs/s)",
                ratio >= 0.5,
            )
        )
    for key, label, limit in (
        ("jobq_in_process", "in-process", 5),
        ("jobq_cross_process", "across processes (LISTEN/NOTIFY)", 50),
    ):
        target = f"PostgreSQL enqueue->start p99 < {limit} ms {label}"
        row = latency_rows.get(key, postgres)
        if "skipped" in row:
            checks.append(Check(target, f"skipped: {row['skipped']}", False, True))
            continue
        checks.append(Check(target, f"{row['p99_ms']:.1f} ms", row["p99_ms"] < limit))
    return checks


def evaluate(results: dict[str, Any]) -> list[Check]:
    """Return every target check for `results` in the order the brief lists them."""
    checks = _ratio_checks(results)

    latency = results["latency"]["rows"]
    in_process = latency["jobq_in_process"]["p99_ms"]
    cross = latency["jobq_cross_process"]["p99_ms"]
    checks.append(
        Check(
            "enqueue->start p99 < 5 ms in-process",
            f"{in_process:.1f} ms",
            in_process < 5,
        )
    )
    checks.append(
        Check(
            "enqueue->start p99 < 50 ms across processes", f"{cross:.1f} ms", cross < 50
        )
    )

    rows = results["seed"]["rows"]
    snapshot = results["dashboard"]["snapshot"]["median_ms"]
    checks.append(
        Check(
            f"dashboard refresh database time < 30 ms ({rows:,} rows)",
            f"{snapshot:.1f} ms (read_snapshot median)",
            snapshot < 30,
        )
    )
    paint = results["dashboard"]["first_paint"]["median_ms"]
    checks.append(
        Check(f"first paint < 1 s ({rows:,} rows)", f"{paint:.0f} ms", paint < 1000)
    )

    worker = results["dashboard"]["worker"]
    for key, label in (
        ("drop_threads", "2 snapshot threads"),
        ("drop_processes", "2 dashboard processes"),
    ):
        drop = worker[key]
        checks.append(
            Check(
                f"worker throughput drop < 10% with two dashboards ({label})",
                describe_drop(drop),
                drop < 0.10,
            )
        )

    idle = results["memory"]["idle_jobq_worker"]["rss_kib"] * 1024 / MB
    checks.append(Check("idle worker RSS < 60 MB", f"{idle:.1f} MB", idle < 60))
    dash = results["memory"]["dashboard"]["rss_kib"] * 1024 / MB
    checks.append(
        Check(f"dashboard RSS < 150 MB ({rows:,} rows)", f"{dash:.1f} MB", dash < 150)
    )
    checks += _postgres_checks(results)
    return checks
