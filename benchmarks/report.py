"""Turn one run's results into docs/benchmarks.md and a short JSON summary."""

from __future__ import annotations

from typing import Any

from .report_postgres import (
    has_separate_run,
    postgres_findings,
    postgres_section,
    server_line,
)
from .targets import MB, describe_drop


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _ms(value: float) -> str:
    """Format milliseconds rounded to 0.1 ms, writing 0.0 as "< 0.1 ms"."""
    return "< 0.1 ms" if value == 0 else f"{value} ms"


def _mb(kib: int) -> str:
    return f"{kib * 1024 / MB:.1f} MB"


_THROUGHPUT_ROWS = (
    ("jobq_service_c1", "jobq JobService", "1 thread", "jobq", "1"),
    ("jobq_service_c4", "jobq JobService", "4 threads", "jobq", "4"),
    (
        "jobq_cli_2x2",
        "jobq CLI `--worker-only --burst`",
        "2 processes x 2 threads",
        "jobq",
        "4",
    ),
    (
        "jobq_cli_2x2_warning_log",
        "jobq CLI, same with `--log-level WARNING`",
        "2 processes x 2 threads",
        "jobq",
        "4",
    ),
    ("huey_default_w1", "Huey SqliteHuey, defaults", "1 thread", "huey_default", None),
    ("huey_default_w4", "Huey SqliteHuey, defaults", "4 threads", "huey_default", None),
    (
        "huey_normal_w1",
        "Huey SqliteHuey, synchronous=NORMAL",
        "1 thread",
        "huey_normal",
        None,
    ),
    (
        "huey_normal_w4",
        "Huey SqliteHuey, synchronous=NORMAL",
        "4 threads",
        "huey_normal",
        None,
    ),
    ("raw_index_t1", "raw sqlite3 loop, claim-ordered index", "1 thread", "raw", None),
    ("raw_index_t4", "raw sqlite3 loop, claim-ordered index", "4 threads", "raw", None),
    ("raw_plain_t1", "raw sqlite3 loop, jobq's indexes only", "1 thread", "raw", None),
    ("raw_plain_t4", "raw sqlite3 loop, jobq's indexes only", "4 threads", "raw", None),
)


def _throughput_section(results: dict[str, Any]) -> str:
    data = results["throughput"]
    rows = data["rows"]
    durability = data["durability"]
    table_rows = []
    for key, system, workers, setting, compare in _THROUGHPUT_ROWS:
        row = rows[key]
        ratios = ""
        if compare is not None:
            raw = max(
                rows[f"raw_index_t{compare}"]["per_second"],
                rows[f"raw_plain_t{compare}"]["per_second"],
            )
            normal = rows[f"huey_normal_w{compare}"]["per_second"]
            default = rows[f"huey_default_w{compare}"]["per_second"]
            rate = row["per_second"]
            ratios = (
                f"{rate / raw:.0%} of raw; {rate / normal:.2f}x Huey NORMAL; "
                f"{rate / default:.2f}x Huey default"
            )
        rounds = ", ".join(f"{value:,.0f}" for value in row["runs_per_second"])
        table_rows.append(
            [
                system,
                workers,
                durability[setting],
                f"**{row['per_second']:,.0f}**",
                rounds,
                ratios,
            ]
        )
    table = _table(
        [
            "System",
            "Workers",
            "Journal, durability",
            "Jobs/s (median)",
            "Each round",
            "jobq ratios",
        ],
        table_rows,
    )
    cli = rows["jobq_cli_2x2"]
    return f"""## Throughput

{data["jobs"]:,} no-op jobs are queued first (jobq: one
`JobStore.enqueue_many("noop", ...)` call; Huey: one call per task; raw loop:
`enqueue_many` into a jobq schema), then drained. Every row ran
{data["rounds"]} time(s), interleaved with the other rows, and shows the
median. Ratios compare medians at the same number of workers, and "raw" is
the faster of the two raw variants.

{table}

How each row is timed:

- jobq JobService: from `start()` until a poll every 20 ms finds no queued or
  running job; the succeeded count is checked afterwards. Poll interval 0.005 s.
- jobq CLI: two `python -m jobq_tui.cli --db FILE --worker-only --burst
  --concurrency 2` processes. The rate spans the first job's `started_at` to
  the last job's `finished_at` in the database, so interpreter start-up is
  left out. Spawn-to-exit wall time in the first round was
  {cli["wall_seconds_with_startup"]} s for {data["jobs"]:,} jobs. The CLI logs at
  INFO by default, one line per finished job, to a file here.
- Huey: `huey.consumer.Consumer(huey, workers=N, periodic=False)` with thread
  workers in this process, started after the tasks were queued and timed until
  the task function had run N times. A task that returns None stores no result.
- Raw loop: `BEGIN IMMEDIATE` + `UPDATE ... RETURNING` claims one row, `COMMIT`,
  then `BEGIN IMMEDIATE` + `UPDATE` marks it succeeded, `COMMIT`, per thread
  with its own connection. "jobq's indexes only" uses the table exactly as jobq
  creates it; "claim-ordered index" adds `(state, queue, priority DESC, run_at,
  id)`.

Durability: jobq and the raw loop run WAL with synchronous=NORMAL (a commit
survives a process crash, and the last commits can be lost on power loss).
SqliteHuey opens WAL and leaves synchronous at SQLite's default (huey 3.5.4,
`SqliteStorage._create_connection` in huey/storage.py), which its
connection reported as {durability["huey_default"]} on this machine; FULL syncs
the WAL on every commit. Its `fsync` option offers only FULL or OFF. The
NORMAL rows use a `SqliteStorage` subclass that sets NORMAL on each connection, the same
durability as jobq, and are the fair comparison.
"""


def _enqueue_section(results: dict[str, Any]) -> str:
    rows = results["enqueue"]
    labels = (
        ("jobq_enqueue", "jobq `JobStore.enqueue`, one call per job"),
        ("jobq_enqueue_many", "jobq `JobStore.enqueue_many`, one call"),
        ("huey_default", "Huey task call, defaults (synchronous=FULL)"),
        ("huey_normal", "Huey task call, synchronous=NORMAL"),
    )
    table = _table(
        ["Path", "Jobs", "Seconds", "Jobs/s"],
        [
            [
                label,
                f"{rows[key]['items']:,}",
                rows[key]["seconds"],
                f"**{rows[key]['per_second']:,.0f}**",
            ]
            for key, label in labels
        ],
    )
    single = rows["jobq_enqueue"]["per_second"]
    many = rows["jobq_enqueue_many"]["per_second"]
    return f"""## Enqueue rate

Each path writes to its own new file; the payload is `{{"n": i}}`. Huey has
no batch enqueue, so each task is one transaction.

{table}

`enqueue_many` is {many / single:.1f}x faster per job than single `enqueue` calls
in this run.
"""


def _latency_section(results: dict[str, Any]) -> str:
    data = results["latency"]
    rows = data["rows"]
    labels = (
        (
            "jobq_in_process",
            "jobq, worker in the producer's process (`JobService.enqueue` wakes it)",
        ),
        (
            "jobq_in_process_background_checkpoint",
            "experiment: the same, with auto-checkpoints off and a checkpoint "
            "thread every 0.5 s",
        ),
        (
            "jobq_cross_process",
            "jobq, `--worker-only` process; producer uses `JobStore.enqueue`",
        ),
        ("huey_in_process", "Huey, consumer threads in the producer's process"),
        ("huey_cross_process", "Huey, consumer in its own process"),
    )
    table = _table(
        ["Setup", "Jobs", "p50 ms", "p95 ms", "p99 ms", "max ms"],
        [
            [
                label,
                rows[key]["count"],
                rows[key]["p50_ms"],
                rows[key]["p95_ms"],
                f"**{rows[key]['p99_ms']}**",
                rows[key]["max_ms"],
            ]
            for key, label in labels
        ],
    )
    return f"""## Latency, enqueue to handler start

A producer enqueues {data["rate_per_second"]:g} jobs/s on a fixed schedule for
{data["seconds"]:g} s. The payload carries `time.time()` taken just before the
enqueue call and the handler takes `time.time()` as its first statement, so
each figure includes the enqueue commit. Every setup runs
{data["worker_threads"]} worker threads. jobq runs its defaults
(poll_interval 0.05 s); Huey runs its defaults (WAL, synchronous=FULL, poll
0.1 s after an empty dequeue, growing 1.15x per empty poll up to 10 s).

{table}

An idle jobq worker in another process notices new jobs by reading
`PRAGMA data_version` every 10 ms (`DATA_VERSION_CHECK_SECONDS` in
jobq_tui/service.py), so that part of its latency spreads over 0-10 ms.
In-process, `JobService.enqueue` wakes a waiting worker thread at once.
"""


def _dashboard_section(results: dict[str, Any]) -> str:
    seed = results["seed"]
    sizes = results["sizes"]
    dash = results["dashboard"]
    snapshot = dash["snapshot"]
    paint = dash["first_paint"]
    worker = dash["worker"]
    medians = worker["median_per_second"]

    phase_rows = []
    labels = {
        "none": "no dashboard",
        "threads": "2 simulated dashboards (threads calling read_snapshot every 1 s)",
        "processes": "2 real dashboards (JobqApp under run_test, own processes)",
    }
    for name in ("none", "threads", "processes"):
        values = ", ".join(
            f"{result['per_second']:,.0f}" for result in worker["phases"][name]
        )
        drop = ""
        if name == "threads":
            drop = describe_drop(worker["drop_threads"])
        elif name == "processes":
            drop = describe_drop(worker["drop_processes"])
        phase_rows.append([labels[name], f"**{medians[name]:,.0f}**", values, drop])

    paint_each = ", ".join(str(value) for value in paint["all_ms"])
    cold_paint = results["memory"]["dashboard"]["first_paint_cold_process_ms"]
    measurements = _table(
        ["Measurement", "Result"],
        [
            [
                "`read_snapshot(store, None, limit=100)`, median of "
                f"{len(snapshot['all_ms'])}",
                f"**{snapshot['median_ms']} ms** (first call on a new connection "
                f"{snapshot['first_call_ms']} ms)",
            ],
            [
                "of which `store.counts()`, median",
                _ms(snapshot["counts_median_ms"]),
            ],
            [
                "of which `store.page(limit=101)`, median",
                f"{snapshot['page_median_ms']} ms",
            ],
            [
                "First paint in this process: Controller built to first DataLoaded "
                "applied under `run_test(size=(120, 35))`, median of "
                f"{len(paint['all_ms'])}",
                f"**{paint['median_ms']} ms** (each: {paint_each})",
            ],
            [
                "First paint in a new process (Textual already imported)",
                f"{cold_paint} ms",
            ],
        ],
    )

    reads = [result.get("snapshot_reads") for result in worker["phases"]["threads"]]
    applied = [
        result.get("snapshots_applied") for result in worker["phases"]["processes"]
    ]
    return f"""## Dashboard cost

The database holds {sizes["seed_succeeded"]:,} succeeded,
{sizes["seed_failed"]:,} failed, {sizes["seed_queued"]:,} queued and
{sizes["seed_running"]:,} running jobs ({seed["rows"]:,} rows,
{seed["file_mib"]:,} MiB), inserted with `executemany` in transactions of
50,000 rows in {seed["seconds"]} s. Rows carry realistic
payloads, previews, results, errors and tracebacks; event history rows are not
seeded because the dashboard's list and counts do not read them. The file was
just written, so the page cache is warm.

{measurements}

Worker throughput next to dashboards: each phase queues
{worker["jobs_per_phase"]:,} no-op jobs in a queue of their own, and a JobService
with 2 threads drains them. The phases interleave and end with one more
phase without dashboards; the table shows medians and the drop against "no dashboard".

{_table(["Phase", "Jobs/s (median)", "Each phase", "Drop"], phase_rows)}

The phases without dashboards alone vary by
{_spread(worker["phases"]["none"], medians["none"])}, which is this machine's noise
at this phase length. Snapshot reads by the simulated dashboards per phase:
{reads}. Snapshots
applied by the real dashboards per phase: {applied}.
"""


def _spread(phases: list[dict[str, Any]], median: float) -> str:
    rates = [phase["per_second"] for phase in phases]
    return f"{(max(rates) - min(rates)) / median:.0%} of their median"


def _memory_section(results: dict[str, Any]) -> str:
    memory = results["memory"]
    rows = [
        [
            "`jobq --worker-only`, 2 threads, empty database, idle",
            f"**{_mb(memory['idle_jobq_worker']['rss_kib'])}**",
            _mb(memory["idle_jobq_worker"]["hwm_kib"]),
        ],
        [
            "Huey consumer process (benchmarks.huey_worker), 2 threads, idle",
            _mb(memory["idle_huey_consumer"]["rss_kib"]),
            _mb(memory["idle_huey_consumer"]["hwm_kib"]),
        ],
        [
            f"Dashboard process on the {results['seed']['rows']:,}-row database "
            f"after {memory['dashboard']['snapshots']} refreshes",
            f"**{_mb(memory['dashboard']['rss_kib'])}**",
            _mb(memory["dashboard"]["hwm_kib"]),
        ],
    ]
    return f"""## Memory

VmRSS and VmHWM from /proc/PID/status (MB = 10^6 bytes). The worker's RSS is
read once it changes by under 1% over 1 s.

{_table(["Process", "VmRSS", "VmHWM (peak)"], rows)}
"""


def _profile_section(results: dict[str, Any]) -> str:
    profile = results["profile"]
    depth_rows = [
        [
            f"{row['depth']:,}",
            row["as_is_ms"],
            row["with_claim_index_ms"],
            f"{row['as_is_ms'] / row['with_claim_index_ms']:.1f}x",
        ]
        for row in profile["claim_cost_by_depth"]
    ]
    statement_tables = []
    for key in ("statements_c1", "statements_c4"):
        data = profile[key]
        table = _table(
            ["Statement", "Calls", "Total s", "Share of thread time", "Mean us"],
            [
                [
                    row["kind"],
                    row["calls"],
                    row["total_s"],
                    f"{row['share_of_thread_time']:.0%}",
                    row["mean_us"],
                ]
                for row in data["statements"]
            ],
        )
        statement_tables.append(
            f"JobService with {data['concurrency']} thread(s), {data['jobs']:,} jobs, "
            f"{data['per_second']:,.0f} jobs/s:\n\n{table}"
        )
    cprofile = profile["cprofile"]
    cprofile_table = _table(
        ["Function", "Calls", "Own s", "Own share"],
        [
            [
                f"`{row['function']}`",
                row["calls"],
                row["own_s"],
                f"{row['own_share']:.0%}",
            ]
            for row in cprofile["top"]
        ],
    )
    plan = "\n".join(
        f"    {line}" for line in profile["statements_c1"]["claim_query_plan"]
    )
    statements = "\n\n".join(statement_tables)
    return f"""## Where a worker's time goes

One claim plus one completion through `JobStore`, single thread, mean of the
first 200 pairs (or of all jobs, when fewer are queued), at several queue
depths. "With claim index" adds an index on
`(state, queue, priority DESC, run_at, id)` to the same schema. jobq now
creates that index itself, so this column measures a second copy of it, and
the two columns should agree within noise.

{_table(["Queued jobs", "As is, ms", "With claim index, ms", "Speed-up"], depth_rows)}

SQLite's plan for the claim statement jobq runs (captured from the run below):

{plan}

Time per kind of statement, measured by wrapping `begin`, `commit` and
`execute_sql` of the benchmark's peewee database object (shares are of the
worker threads' combined wall time):

{statements}

cProfile of one thread claiming and completing {cprofile["jobs"]:,} jobs through
`JobStore` ({cprofile["seconds_under_profiler"]} s under the profiler), by own time:

{cprofile_table}
"""


def _claim_finding(results: dict[str, Any]) -> str:
    profile = results["profile"]
    plan = " ".join(profile["statements_c1"]["claim_query_plan"])
    deepest = profile["claim_cost_by_depth"][-1]
    c1 = {row["kind"]: row for row in profile["statements_c1"]["statements"]}
    if "TEMP B-TREE" not in plan:
        return (
            "**Claims.** The claim statement's plan needs no sort in this run, so "
            "claim cost does not grow with the queue depth.\n"
        )
    return f"""**Claims sort the whole queue.** The claim orders by `priority DESC,
run_at, id`, but the claim index is `(state, queue, priority, run_at, id)`, all
ascending. SQLite uses it for `state` and `queue`, then sorts every queued row
of the same priority in a temporary B-tree to find one job (the plan above).
A claim therefore costs time in proportion to the queue depth:
{deepest["as_is_ms"]} ms per claim plus completion at {deepest["depth"]:,} queued
jobs, against {deepest["with_claim_index_ms"]} ms with an index ordered like the
claim. The claim UPDATE took {c1["claim UPDATE"]["share_of_thread_time"]:.0%} of
the single worker thread's time in the statement run, and draining a queue of
N jobs costs O(N^2) in total. Every throughput figure above includes this
cost, since each queue starts {results["throughput"]["jobs"]:,} deep. Proposed
change: create the claim index as `(state, queue, priority DESC, run_at, id)`
and drop the ascending one, also in existing databases when they are opened.
"""


def _threads_finding(results: dict[str, Any]) -> str:
    profile = results["profile"]
    c1 = {row["kind"]: row for row in profile["statements_c1"]["statements"]}
    c4 = {row["kind"]: row for row in profile["statements_c4"]["statements"]}
    begin = "BEGIN IMMEDIATE (waits for the write lock)"
    serialised = profile["serialised_writes_c4_per_second"]
    plain = profile["statements_c4"]["per_second"]
    verdict = (
        "which did not raise throughput on this machine, so no change is proposed"
        if serialised < plain * 1.10
        else "which raised throughput, so queueing writers in Python is worth a change"
    )
    return f"""**More threads mostly wait for the write lock.** SQLite allows one
writer, and each jobq thread has its own connection. A thread that finds the lock
taken sleeps in SQLite's default busy handler instead of waking when the lock
frees. That handler (sqliteDefaultBusyCallback in SQLite's main.c) sleeps 1,
2, 5, 10 ms and longer between tries. With 4 threads `BEGIN IMMEDIATE`
averaged {c4[begin]["mean_us"]:,.0f} us against {c1[begin]["mean_us"]:,.0f} us with
one thread, {c4[begin]["share_of_thread_time"]:.0%} of the threads' time. Putting
every `Database.write()` of the 4-thread service behind one process-wide lock
gave {serialised:,.0f} jobs/s against {plain:,.0f} jobs/s without it, {verdict}.
"""


def _commit_finding(results: dict[str, Any]) -> str:
    profile = results["profile"]
    c1 = {row["kind"]: row for row in profile["statements_c1"]["statements"]}
    rows = results["throughput"]["rows"]
    raw = rows["raw_index_t1"]["per_second"]
    huey = rows["huey_normal_w1"]["per_second"]
    return f"""**Two commits per job, each rewriting five indexes.** Every job costs two
write transactions (claim, then completion), each also inserting an event row.
Claim and completion both change `state`, so each rewrites entries in all five
jobq_job indexes that start with or contain it, and fires the trigger that
moves one count between two rows of jobq_job_count. Every commit copies those
pages to the WAL. COMMIT took {c1["COMMIT"]["share_of_thread_time"]:.0%} of the
single thread's time. The raw loop with the claim-ordered index pays the same
two commits on the same table, and it reached {raw:,.0f} jobs/s with one thread.
SqliteHuey with synchronous=NORMAL reached {huey:,.0f} jobs/s: its task table
has one index, and its dequeue is one transaction that deletes the row.
Beating Huey at equal durability by 2x would take fewer writes per job (for
example, claiming several jobs per transaction), not only faster Python.
"""


def _logging_finding(results: dict[str, Any]) -> str:
    rows = results["throughput"]["rows"]
    info = rows["jobq_cli_2x2"]["per_second"]
    warning = rows["jobq_cli_2x2_warning_log"]["per_second"]
    measured = (
        f"The same two CLI workers drained {info:,.0f} jobs/s at INFO and "
        f"{warning:,.0f} jobs/s with `--log-level WARNING` ({warning / info:.2f}x)."
    )
    raw = max(rows["raw_index_t4"]["per_second"], rows["raw_plain_t4"]["per_second"])
    if abs(warning / info - 1) < 0.10:
        verdict = "That difference is within this machine's noise."
    else:
        verdict = (
            "That difference is larger than 10%, so the remaining line per job "
            "still costs measurable time: against the 4-thread raw loop the CLI "
            f"workers reached {info / raw:.0%} at INFO and {warning / raw:.0%} at "
            "WARNING."
        )
    return f"""**Per-job INFO logging.** A `--worker-only` process logs at INFO by
default. The service now logs a job's "started" line at DEBUG, so INFO writes
one line per finished job. {measured} {verdict}
"""


def _checkpoint_finding(results: dict[str, Any]) -> str:
    rows = results["latency"]["rows"]
    plain = rows["jobq_in_process"]
    moved = rows["jobq_in_process_background_checkpoint"]
    return f"""**WAL checkpoints.** SQLite checkpoints the WAL inside whichever
commit pushes it past `PRAGMA wal_autocheckpoint` pages (1,000 by default),
and that commit then also writes and syncs the database file. The service's
monitor thread now runs `PRAGMA wal_checkpoint(PASSIVE)` every 0.5 s, so
commits rarely reach that threshold. As jobq runs, in-process p99 was
{plain["p99_ms"]} ms and max {plain["max_ms"]} ms. The experiment row, with
auto-checkpoints also turned off on the benchmark's connections and a thread
of its own checkpointing every 0.5 s, had p99 {moved["p99_ms"]} ms and max
{moved["max_ms"]} ms.
"""


def _dashboard_worker_note(results: dict[str, Any]) -> str:
    """Compare the worker's drop next to dashboards with the run's own noise."""
    worker = results["dashboard"]["worker"]
    alone = [phase["per_second"] for phase in worker["phases"]["none"]]
    spread = (max(alone) - min(alone)) / worker["median_per_second"]["none"]
    drop = worker["drop_processes"]
    if abs(drop) < spread:
        return (
            "Next to two dashboard processes the worker ran "
            f"{describe_drop(drop)} than alone, but the phases without dashboards "
            f"alone spread over {min(alone):,.0f}-{max(alone):,.0f} jobs/s, so this "
            "run cannot tell that effect from noise.\n"
        )
    return (
        "Next to two dashboard processes the worker ran "
        f"{describe_drop(drop)} than alone, beyond the "
        f"{min(alone):,.0f}-{max(alone):,.0f} jobs/s spread of the phases "
        "without dashboards.\n"
    )


def _findings_section(results: dict[str, Any]) -> str:
    snapshot = results["dashboard"]["snapshot"]
    cross = results["latency"]["rows"]["jobq_cross_process"]
    return f"""## Causes and changes

{_claim_finding(results)}
{_threads_finding(results)}
{_commit_finding(results)}
{_logging_finding(results)}
{_checkpoint_finding(results)}
**Dashboard counts.** On SQLite `store.counts()` now reads the jobq_job_count
table, which triggers on jobq_job keep current, instead of counting with
GROUP BY. At {results["seed"]["rows"]:,} rows it took
{_ms(snapshot["counts_median_ms"])} (median), the page of 100 rows
{snapshot["page_median_ms"]} ms, and the whole `read_snapshot`
{snapshot["median_ms"]} ms; each median comes from its own repeated calls, so
the parts need not add up.

{_dashboard_worker_note(results)}
**Cross-process wake-up.** An idle `--worker-only` process reads `PRAGMA
data_version` every 10 ms and claims once another connection has committed.
Before this change it read it once per poll interval (default 50 ms).
Enqueue-to-start latency was p50 {cross["p50_ms"]} ms and p99
{cross["p99_ms"]} ms here.

{postgres_findings(results)}"""


def _targets_section(results: dict[str, Any]) -> str:
    rows = []
    for check in results["targets"]:
        if check.get("skipped"):
            verdict = "skipped"
        else:
            verdict = "met" if check["met"] else "**not met**"
        rows.append([check["target"], check["measured"], verdict])
    return "## Targets\n\n" + _table(["Target", "Measured", "Result"], rows) + "\n"


def render_markdown(results: dict[str, Any]) -> str:
    """Return the whole benchmark page for one run."""
    machine = results["machine"]
    versions = f"{machine['peewee']} / {machine['textual']} / {machine['huey']}"
    separate_note = (
        "except the two PostgreSQL diagnostics that say they come from a separate run"
        if has_separate_run(results)
        else "with no exceptions"
    )
    header = f"""# Benchmarks

Every number on this page comes from one run of `{results["command"]}`
(benchmarks/ in this repository), which took {results["total_seconds"]:.0f} s,
{separate_note}. The
machine is small, and other people's work ran on it during the run, so
absolute numbers move by 30-50% between runs. Compare rows of the same run
and read the ratios rather than the absolute rates. `python -m benchmarks`
rewrites this page in about {results["total_seconds"] / 60:.0f} minutes;
`python -m benchmarks --quick` runs every benchmark at small sizes in under a
minute and only prints its JSON summary.

| Run | |
|---|---|
| Date | {machine["date_utc"]} |
| Command | `{results["command"]}` |
| CPU | {machine["cpu_model"]}, {machine["cpu_count"]} cores (os.cpu_count()) |
| Platform | {machine["platform"]} |
| Python | {machine["python"]} |
| SQLite | {machine["sqlite"]} |
| peewee / textual / huey | {versions} |
| PostgreSQL | {server_line(results)} |
| jobq revision | {machine["jobq_revision"]} |
"""
    sections = [
        header,
        _targets_section(results),
        _throughput_section(results),
        _enqueue_section(results),
        _latency_section(results),
        postgres_section(results),
        _dashboard_section(results),
        _memory_section(results),
        _profile_section(results),
        _findings_section(results),
    ]
    return "\n".join(sections)


def summary(results: dict[str, Any]) -> dict[str, Any]:
    """Return the headline numbers of a run for the JSON printed to stdout."""
    throughput = {
        name: row["per_second"] for name, row in results["throughput"]["rows"].items()
    }
    return {
        "mode": results["mode"],
        "total_seconds": results["total_seconds"],
        "machine": results["machine"],
        "throughput_jobs_per_second": throughput,
        "throughput_jobs": results["throughput"]["jobs"],
        "durability": results["throughput"]["durability"],
        "enqueue_jobs_per_second": {
            name: row["per_second"] for name, row in results["enqueue"].items()
        },
        "latency_ms": results["latency"]["rows"],
        "claim_cost_by_depth_ms": results["profile"]["claim_cost_by_depth"],
        "seed": results["seed"],
        "dashboard": {
            "snapshot_median_ms": results["dashboard"]["snapshot"]["median_ms"],
            "counts_median_ms": results["dashboard"]["snapshot"]["counts_median_ms"],
            "first_paint_median_ms": results["dashboard"]["first_paint"]["median_ms"],
            "worker_median_per_second": results["dashboard"]["worker"][
                "median_per_second"
            ],
            "drop_threads": results["dashboard"]["worker"]["drop_threads"],
            "drop_processes": results["dashboard"]["worker"]["drop_processes"],
        },
        "memory_kib": {
            name: {"rss": entry["rss_kib"], "hwm": entry["hwm_kib"]}
            for name, entry in results["memory"].items()
        },
        "postgres": results.get("postgres", {"skipped": "not run"}),
        "targets": results["targets"],
    }
