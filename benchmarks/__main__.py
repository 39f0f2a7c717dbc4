"""Command line: `python -m benchmarks [--quick] [--output FILE] [--results FILE]`."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .common import REPO_ROOT, log
from .report import render_markdown, summary
from .settings import FULL, QUICK
from .suite import run_suite

DEFAULT_OUTPUT = REPO_ROOT / "docs" / "benchmarks.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Benchmark jobq against Huey (SqliteHuey), a raw sqlite3 loop "
        "and, on PostgreSQL (env JOBQ_BENCH_POSTGRES_URL), a raw psycopg loop. "
        "Prints a JSON summary to stdout; the full run also writes a Markdown report.",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="small sizes and a 50,000-row dashboard database; finishes in about a "
        "minute and writes no report unless --output is given",
    )
    parser.add_argument(
        "--output",
        type=Path,
        help=f"Markdown report path (default for the full run: {DEFAULT_OUTPUT})",
    )
    parser.add_argument(
        "--results",
        type=Path,
        help="also write every measured value (not only the summary) to this JSON file",
    )
    parser.add_argument(
        "--from-results",
        type=Path,
        metavar="FILE",
        help="measure nothing: render the report from a file written by --results",
    )
    args = parser.parse_args(argv)

    if args.from_results is not None:
        results = json.loads(args.from_results.read_text(encoding="utf-8"))
    else:
        sizes = QUICK if args.quick else FULL
        command = "python -m benchmarks" + (" --quick" if args.quick else "")
        results = run_suite(sizes, command)

    if args.results is not None:
        args.results.write_text(json.dumps(results, indent=2), encoding="utf-8")
        log(f"wrote {args.results}")
    full_run = results["mode"] == FULL.name
    output = args.output or (DEFAULT_OUTPUT if full_run else None)
    if output is not None:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(render_markdown(results), encoding="utf-8")
        log(f"wrote {output}")
    json.dump(summary(results), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
