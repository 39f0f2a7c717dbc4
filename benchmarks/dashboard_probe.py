"""A real dashboard in its own process, headless, reporting on itself.

Usage: python -m benchmarks.dashboard_probe --db FILE [--hold SECONDS].
It runs JobqApp(Controller(store, None), start_worker=False) under Textual's
run_test at 120x35 with the default 1 s refresh. Once the first snapshot is
applied it prints one JSON line: the time from before the Controller was
built to that moment, and VmRSS. It then keeps refreshing until --hold
seconds pass or its stdin closes, and prints a last JSON line with VmRSS,
VmHWM and how many snapshots it applied.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import threading
import time

from jobq_tui.control import Controller
from jobq_tui.db import open_database
from jobq_tui.store import JobStore
from jobq_tui.tui.app import JobqApp

from .common import read_status_kib


def _watch_stdin(closed: threading.Event) -> None:
    sys.stdin.read()
    closed.set()


async def _run(db: str, hold: float) -> None:
    stdin_closed = threading.Event()
    threading.Thread(target=_watch_stdin, args=(stdin_closed,), daemon=True).start()
    began = time.perf_counter()
    store = JobStore(open_database(db, create=False))
    app = JobqApp(Controller(store, None), start_worker=False)
    async with app.run_test(size=(120, 35)) as pilot:
        while app.snapshot is None:
            await asyncio.sleep(0.002)
        first_paint = time.perf_counter() - began
        await pilot.pause()
        pid = os.getpid()
        ready = {
            "event": "ready",
            "pid": pid,
            "first_paint_s": round(first_paint, 4),
            "rss_kib": read_status_kib(pid, "VmRSS"),
        }
        print(json.dumps(ready), flush=True)
        snapshots = 1
        last = app.snapshot
        deadline = time.monotonic() + hold
        while time.monotonic() < deadline and not stdin_closed.is_set():
            await asyncio.sleep(0.05)
            if app.snapshot is not last:
                last = app.snapshot
                snapshots += 1
        done = {
            "event": "done",
            "pid": pid,
            "rss_kib": read_status_kib(pid, "VmRSS"),
            "hwm_kib": read_status_kib(pid, "VmHWM"),
            "snapshots": snapshots,
        }
    print(json.dumps(done), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.dashboard_probe")
    parser.add_argument("--db", required=True, help="jobq database file")
    parser.add_argument(
        "--hold",
        type=float,
        default=0.0,
        help="seconds to keep refreshing after the first paint (default 0)",
    )
    args = parser.parse_args()
    asyncio.run(_run(args.db, args.hold))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
