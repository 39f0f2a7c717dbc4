"""A short run of the soak script, so CI exercises it end to end."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import worker_env


def test_soak_with_five_kills(tmp_path):
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "tests.reliability.soak",
            "--kills",
            "5",
            "--workers",
            "2",
            "--jobs",
            "60",
            "--db",
            str(tmp_path / "soak" / "jobs.db"),
            "--lease",
            "1.5",
            "--heartbeat",
            "0.5",
            "--seed",
            "7",
            "--deadline",
            "60",
        ],
        capture_output=True,
        text=True,
        timeout=110,
        cwd=Path(__file__).resolve().parents[2],
        env=worker_env(),
    )

    summary = json.loads(completed.stdout)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert summary["ok"] is True
    assert summary["jobs"] == 60
    assert summary["lost"] == 0
    assert summary["duplicates"] == 0
    assert summary["states"] == {"succeeded": 60}
    assert summary["max_runs_of_one_job"] <= 20
