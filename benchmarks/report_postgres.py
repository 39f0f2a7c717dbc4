"""The PostgreSQL section of docs/benchmarks.md."""

from __future__ import annotations

from typing import Any


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def has_separate_run(results: dict[str, Any]) -> bool:
    """Return True if a PostgreSQL diagnostic was merged in from another run."""
    postgres = results.get("postgres", {})
    return any(
        "separate_run" in postgres.get(key, {})
        for key in ("statements_c1", "latency_split")
    )


def server_line(results: dict[str, Any]) -> str:
    """Return the PostgreSQL row of the run table: version and durability."""
    postgres = results.get("postgres", {"skipped": "not run"})
    if "server" not in postgres:
        return f"skipped: {postgres['skipped']}"
    server = postgres["server"]
    return (
        f"{server['server_version']} at {server['url']}, "
        f"synchronous_commit={server['synchronous_commit']}, fsync={server['fsync']}; "
        f"psycopg {server['psycopg']}"
    )


def _throughput_table(throughput: dict[str, Any]) -> str:
    rows = throughput["rows"]
    table_rows = []
    for consumers in throughput["consumers"]:
        jobq = rows[f"jobq_c{consumers}"]
        raw = rows[f"raw_t{consumers}"]
        table_rows.append(
            [
                consumers,
                f"**{jobq['per_second']:,.0f}**",
                ", ".join(f"{value:,.0f}" for value in jobq["runs_per_second"]),
                jobq["connections"],
                f"**{raw['per_second']:,.0f}**",
                ", ".join(f"{value:,.0f}" for value in raw["runs_per_second"]),
                raw["connections"],
                f"**{jobq['per_second'] / raw['per_second']:.0%}**",
            ]
        )
    return _table(
        [
            "Consumers",
            "jobq jobs/s (median)",
            "jobq each round",
            "jobq connections",
            "raw jobs/s (median)",
            "raw each round",
            "raw connections",
            "jobq / raw",
        ],
        table_rows,
    )


def _latency_table(rows: dict[str, Any]) -> str:
    labels = (
        (
            "jobq_in_process",
            "jobq, worker in the producer's process (`JobService.enqueue` wakes it)",
        ),
        (
            "jobq_cross_process",
            "jobq, `--worker-only` process woken by NOTIFY; producer uses "
            "`JobStore.enqueue`",
        ),
    )
    table_rows = []
    for key, label in labels:
        row = rows[key]
        if "skipped" in row:
            table_rows.append([label, f"skipped: {row['skipped']}", "", "", "", ""])
            continue
        table_rows.append(
            [
                label,
                row["count"],
                row["p50_ms"],
                row["p95_ms"],
                f"**{row['p99_ms']}**",
                row["max_ms"],
            ]
        )
    return _table(["Setup", "Jobs", "p50 ms", "p95 ms", "p99 ms", "max ms"], table_rows)


def _throughput_text(throughput: dict[str, Any]) -> str:
    if "skipped" in throughput:
        return f"Throughput rows: skipped: {throughput['skipped']}\n"
    rows = throughput["rows"]
    c1 = rows["jobq_c1"]["connections"]
    return f"""{throughput["jobs"]:,} no-op jobs are queued with one
`JobStore.enqueue_many` call into a new schema for every row, then drained.
Every row ran {throughput["rounds"]} time(s), interleaved with the others, and
shows the median; the ratio compares medians at the same number of consumers.

{_throughput_table(throughput)}

- jobq: a `JobService` with N worker threads in this process, poll interval
  0.005 s, timed from `start()` until a poll every 20 ms finds no queued or
  running job. Connections are the maximum number this process had open to
  the server during the drain, counted from /proc every poll. peewee opens
  one connection per thread, so N worker threads make N + 3: one per worker
  thread, the monitor thread, the LISTEN thread and the thread that started
  the service and polls ({c1} with one worker thread).
- Raw loop (benchmarks/pgraw.py): N threads, each with its own psycopg
  connection, over jobq's own table and indexes. One transaction runs `UPDATE
  jobq_job ... WHERE id = (SELECT id ... ORDER BY priority DESC, run_at, id
  LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING ...` and commits, and a second one
  marks the row succeeded and commits. It writes no event rows and sends no
  NOTIFY.
"""


def postgres_section(results: dict[str, Any]) -> str:
    """Return the PostgreSQL section, or a line saying why it was skipped."""
    postgres = results.get("postgres", {"skipped": "not run"})
    if "server" not in postgres:
        return f"## PostgreSQL\n\nskipped: {postgres['skipped']}\n"
    server = postgres["server"]
    data = postgres["latency"]
    cross = data["rows"]["jobq_cross_process"]
    worker_connections = cross.get("worker_connections", "not measured")
    threads = data["worker_threads"]
    cores = results["machine"]["cpu_count"]
    return f"""## PostgreSQL

Server: PostgreSQL {server["server_version"]} on this machine at {server["url"]},
synchronous_commit={server["synchronous_commit"]} and fsync={server["fsync"]}, so
every commit waits until its WAL record is flushed to disk. Each measurement
creates its own schema through the URL's `?schema=jobq_bench_<random>_<row>`
and drops it with `DROP SCHEMA ... CASCADE` when it ends. The server runs on
the same {cores} cores as the workers, so a PostgreSQL row also charges the
workers for the server's CPU time.

### Throughput

{_throughput_text(postgres["throughput"])}
{_statement_text(postgres.get("statements_c1", {"skipped": "not run"}))}
### Latency, enqueue to handler start

Same load and clocks as the SQLite latency rows: {data["rate_per_second"]:g}
jobs/s for {data["seconds"]:g} s, {data["worker_threads"]} worker threads,
jobq's default poll interval. On PostgreSQL each enqueue runs `pg_notify` in
its transaction, and an idle worker's LISTEN thread wakes the worker threads
when the commit delivers it. The `--worker-only` process held
{worker_connections} connections to the server with {threads} worker threads.

{_latency_table(data["rows"])}
{_enqueue_call_text(postgres)}"""


def _statement_text(statements: dict[str, Any]) -> str:
    if "skipped" in statements:
        return f"Statement timing: skipped: {statements['skipped']}\n"
    rows = [
        [
            "BEGIN" if row["kind"].startswith("BEGIN") else row["kind"],
            row["calls"],
            row["total_s"],
            f"{row['share_of_thread_time']:.0%}",
            row["mean_us"],
        ]
        for row in statements["statements"]
    ]
    table = _table(
        ["Statement", "Calls", "Total s", "Share of thread time", "Mean us"], rows
    )
    origin = ""
    if "separate_run" in statements:
        run = statements["separate_run"]
        origin = (
            f" This table comes from a separate run, `{run['command']}` at "
            f"{run['date_utc']}, right after the suite, on the same server."
        )
    return f"""Time per kind of statement of a JobService with
{statements["consumers"]} thread on {statements["jobs"]:,} jobs
({statements["per_second"]:,.0f} jobs/s), measured by wrapping `begin`,
`commit` and `execute_sql` of the benchmark's peewee database object, as in
the SQLite statement tables below. "other SQL" includes the polls of the
thread that waits for the queue to empty.{origin}

{table}
"""


def _statement_cause(postgres: dict[str, Any]) -> str:
    """Name the statement kinds that take a 1-thread service's time, if measured."""
    statements = postgres.get("statements_c1", {})
    if "statements" not in statements:
        return ""
    kinds = {row["kind"]: row for row in statements["statements"]}
    begin = next((row for kind, row in kinds.items() if kind.startswith("BEGIN")), None)
    parts = []
    for label, row in (
        ("COMMIT", kinds.get("COMMIT")),
        ("the event INSERTs", kinds.get("event INSERT")),
        ("peewee's explicit BEGIN", begin),
    ):
        if row is not None:
            parts.append(
                f"{label} {row['share_of_thread_time']:.0%} "
                f"({row['mean_us']:,.0f} us each)"
            )
    extra_ms = 0.0
    if begin is not None and "event INSERT" in kinds:
        extra_ms = (begin["total_s"] + kinds["event INSERT"]["total_s"]) * 1000
        extra_ms /= statements["jobs"]
    return (
        " In the statement table, "
        + ", ".join(parts)
        + " of the thread's time. The raw loop makes four round trips per job"
        " (claim, COMMIT, finish, COMMIT) and jobq makes eight, because each of"
        " its two transactions also sends BEGIN and an event INSERT; those"
        f" four extra statements took {extra_ms:.2f} ms per job."
    )


def postgres_findings(results: dict[str, Any]) -> str:
    """Return the PostgreSQL paragraphs of the causes section, or nothing."""
    postgres = results.get("postgres", {})
    throughput = postgres.get("throughput", {})
    if "rows" not in throughput:
        return ""
    rows = throughput["rows"]
    ratios = ", ".join(
        f"{rows[f'jobq_c{n}']['per_second'] / rows[f'raw_t{n}']['per_second']:.0%}"
        for n in throughput["consumers"]
    )
    counts = ", ".join(str(n) for n in throughput["consumers"])
    jobq_ms = 1000 / rows["jobq_c1"]["per_second"]
    raw_ms = 1000 / rows["raw_t1"]["per_second"]
    raw_rounds = rows["raw_t4"]["runs_per_second"]
    text = f"""**PostgreSQL throughput.** jobq reached {ratios} of the raw psycopg
loop at {counts} consumers. The 4-thread raw rounds alone spread over
{min(raw_rounds):,.0f}-{max(raw_rounds):,.0f} jobs/s, so a ratio near 50% can
fall on either side in another run. With one thread a job took {jobq_ms:.2f} ms in
jobq and {raw_ms:.2f} ms in the raw loop. Both commit twice per job and wait
for the WAL flush each time.{_statement_cause(postgres)}
"""
    in_process = postgres["latency"]["rows"]["jobq_in_process"]
    split = postgres.get("latency_split", in_process)
    if "enqueue_call_p99_ms" in split:
        text += f"""
**PostgreSQL in-process latency.** The p99 was {in_process.get("p99_ms")} ms.
{"In the separate run of the same row, the" if "separate_run" in split else "The"}
producer's `service.enqueue` call took p50 {split["enqueue_call_p50_ms"]} ms
and p99 {split["enqueue_call_p99_ms"]} ms on its own. That call commits and so
waits for the server's WAL flush, and it sets most of the tail, not the
wake-up. The worker's claim then commits once more
before the handler starts.
"""
    return text


def _enqueue_call_text(postgres: dict[str, Any]) -> str:
    """Describe how much of the in-process latency the enqueue call took."""
    row = postgres.get("latency_split", postgres["latency"]["rows"]["jobq_in_process"])
    if "enqueue_call_p50_ms" not in row:
        return ""
    origin = ""
    if "separate_run" in row:
        run = row["separate_run"]
        origin = (
            f" These figures come from a separate run of the in-process row, "
            f"`{run['command']}` at {run['date_utc']}, in which the latency was "
            f"p50 {row['p50_ms']} ms and p99 {row['p99_ms']} ms."
        )
    return f"""
In-process, the `service.enqueue` call alone (job INSERT, event INSERT,
`pg_notify` and the commit) took p50 {row["enqueue_call_p50_ms"]} ms and p99
{row["enqueue_call_p99_ms"]} ms of the delay.{origin}
"""
