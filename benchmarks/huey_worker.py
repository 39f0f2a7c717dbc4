"""A Huey consumer in its own process, for the cross-process latency run.

Usage: python -m benchmarks.huey_worker --db FILE --sync default --workers 2
--out FILE. Each latency task appends "ENQUEUED STARTED" (epoch seconds) to
--out. The process prints one JSON line once its consumer runs, and stops
gracefully on SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
from pathlib import Path

from .hueyside import (
    SYNC_DEFAULT,
    SYNC_NORMAL,
    append_line_sink,
    build_huey,
    set_latency_sink,
    start_consumer,
)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.huey_worker")
    parser.add_argument("--db", type=Path, required=True, help="SqliteHuey file")
    parser.add_argument("--sync", choices=[SYNC_DEFAULT, SYNC_NORMAL], required=True)
    parser.add_argument("--workers", type=int, default=2, help="worker threads")
    parser.add_argument("--out", type=Path, required=True, help="file for start times")
    parser.add_argument(
        "--initial-delay",
        type=float,
        default=0.1,
        help="Huey's poll interval after an empty dequeue, in seconds (default 0.1)",
    )
    args = parser.parse_args()

    app = build_huey(args.db, args.sync)
    set_latency_sink(append_line_sink(args.out))
    consumer = start_consumer(app.huey, args.workers, args.initial_delay)
    stop = threading.Event()
    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, lambda signum, frame: stop.set())
    print(json.dumps({"ready": True, "pid": os.getpid()}), flush=True)
    stop.wait()
    consumer.stop(graceful=True)
    app.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
