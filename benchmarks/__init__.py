"""Benchmarks for jobq: throughput, enqueue rate, latency, PostgreSQL, dashboards, RSS.

Run `python -m benchmarks --quick` for a smoke run that prints a JSON summary,
or `python -m benchmarks` for the full run, which also writes
docs/benchmarks.md. Each module measures one concern; `suite` runs them in
order and `report` turns the results into the Markdown page.
"""
