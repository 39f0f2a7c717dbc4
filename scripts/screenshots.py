"""Rebuild screenshots/ from the dashboard's own SVG export.

Seeds a temporary database the same way the snapshot tests do, drives the
app with Pilot at 120x35, saves SVGs and converts them with svg2png.sh
(needs Debian's librsvg2-bin, fonts-firacode and fonts-symbola).
Run: .venv/bin/python scripts/screenshots.py
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jobq_tui import HandlerRegistry, JobService, JobStore, open_database  # noqa: E402
from jobq_tui.control import Controller  # noqa: E402
from jobq_tui.tui.app import JobqApp  # noqa: E402
from tests.tui.conftest import OPERATOR, fixed_clock, seed_jobs  # noqa: E402

SIZE = (120, 35)
OUT = ROOT / "screenshots"


async def wait(pilot, predicate, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise SystemExit("the dashboard did not reach the expected view")
        await pilot.pause(0.05)


def build_app(folder: Path) -> JobqApp:
    database = open_database(str(folder / "jobs.db"))
    seed_jobs(JobStore(database, clock=fixed_clock))
    service = JobService(
        database,
        registry=HandlerRegistry(),
        clock=fixed_clock,
        new_run_id=lambda: "5e1f0a2b3c4d5e6f",
        queues=("idle",),
        concurrency=2,
        name="demo-worker",
    )
    controller = Controller(
        service.store, service, identity=OPERATOR, operators={"operator"}
    )
    return JobqApp(controller, refresh_interval=0.2, clock=fixed_clock)


async def capture(name: str, keys: list[str], ready) -> Path:
    with tempfile.TemporaryDirectory() as folder:
        app = build_app(Path(folder))
        async with app.run_test(size=SIZE) as pilot:
            await wait(
                pilot, lambda: app.snapshot is not None and app.busy_action is None
            )
            await wait(pilot, lambda: app.snapshot.status.state == "running")
            for key in keys:
                await pilot.press(key)
            await wait(pilot, lambda: ready(app))
            await pilot.pause(0.3)
            path = OUT / f"{name}.svg"
            app.save_screenshot(str(path.name), path=str(OUT))
        app.controller.service.stop(timeout=0)
    return path


async def main() -> None:
    OUT.mkdir(exist_ok=True)
    shots = [
        ("dashboard-running", [], lambda app: len(app._row_keys) == 7),
        (
            "stop-confirmation",
            ["x"],
            lambda app: type(app.screen).__name__ == "ConfirmScreen",
        ),
        (
            "status-modal",
            ["i"],
            lambda app: type(app.screen).__name__ == "StatusScreen",
        ),
        (
            "worker-controls",
            ["w"],
            lambda app: type(app.screen).__name__ == "WorkerControlsScreen",
        ),
        (
            "job-detail",
            ["5", "enter"],
            lambda app: getattr(app.screen, "detail", None) is not None,
        ),
        (
            "audit-log",
            ["t", "tab", "enter", "a"],
            lambda app: getattr(app.screen, "entries", None),
        ),
        (
            "help",
            ["question_mark"],
            lambda app: type(app.screen).__name__ == "HelpScreen",
        ),
        (
            "dashboard-stopped",
            ["x", "tab", "enter"],
            lambda app: (
                app.snapshot.status.state == "stopped" and app.busy_action is None
            ),
        ),
    ]
    svgs = [await capture(name, keys, ready) for name, keys, ready in shots]
    subprocess.run([str(ROOT / "scripts" / "svg2png.sh"), *map(str, svgs)], check=True)
    for svg in svgs:
        svg.unlink()


if __name__ == "__main__":
    asyncio.run(main())
