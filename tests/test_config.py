"""The TOML config file: valid keys load, every error names the key and file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from jobq_tui.config import ConfigFileError, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "jobq.toml"
    path.write_text(text)
    return path


def test_config_loads_every_key(tmp_path):
    path = write(
        tmp_path,
        'operators = ["alice", "bob"]\ndatabase = "jobs.db"\nrefresh_interval = 2\n'
        "drain_timeout = 10\nlease = 12\nheartbeat = 3\nconcurrency = 4\n"
        'queues = ["default", "mail"]\n',
    )
    config = load_config(path)
    assert config.operators == ("alice", "bob")
    assert config.database == "jobs.db"
    assert config.refresh_interval == 2.0
    assert config.drain_timeout == 10.0
    assert config.lease == 12.0
    assert config.heartbeat == 3.0
    assert config.concurrency == 4
    assert config.queues == ("default", "mail")


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("colour = 1\n", "'colour'"),
        ('lease = "long"\n', "'lease'"),
        ("concurrency = 0\n", "'concurrency'"),
        ("concurrency = 2.5\n", "'concurrency'"),
        ('operators = "alice"\n', "'operators'"),
        ("lease = 9\nheartbeat = 4\n", "'heartbeat'"),
        ("drain_timeout = -1\n", "'drain_timeout'"),
        ("queues = []\n", "'queues'"),
    ],
)
def test_invalid_key_error_names_key(tmp_path, text, named):
    path = write(tmp_path, text)
    with pytest.raises(ConfigFileError) as raised:
        load_config(path)
    message = str(raised.value)
    assert named in message
    assert str(path) in message
    assert "\n" not in message


def test_invalid_toml_is_one_line_error(tmp_path):
    path = write(tmp_path, "operators = [\n")
    with pytest.raises(ConfigFileError, match="not valid TOML"):
        load_config(path)


def test_missing_explicit_config_is_error(tmp_path):
    with pytest.raises(ConfigFileError, match="not found"):
        load_config(tmp_path / "nope.toml")


def test_cli_config_error_exits_2_naming_key(tmp_path):
    path = write(tmp_path, "lease = 9\nheartbeat = 4\n")
    result = subprocess.run(
        [sys.executable, "-m", "jobq_tui.cli", "--config", str(path)]
        + ["--db", str(tmp_path / "jobs.db"), "status"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "'heartbeat'" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_cli_mutation_by_non_operator_is_denied(tmp_path):
    db = tmp_path / "jobs.db"
    path = write(tmp_path, 'operators = ["someone-else"]\n')
    base = [sys.executable, "-m", "jobq_tui.cli", "--db", str(db)]
    job = subprocess.run(
        base + ["enqueue", "procedure"], capture_output=True, text=True, timeout=60
    )
    job_id = job.stdout.strip()

    cancel = subprocess.run(
        base + ["--config", str(path), "cancel", job_id],
        capture_output=True,
        text=True,
        timeout=60,
    )
    audit = subprocess.run(
        base + ["audit", "--json"], capture_output=True, text=True, timeout=60
    )
    shown = subprocess.run(
        base + ["job", job_id], capture_output=True, text=True, timeout=60
    )

    assert cancel.returncode == 1
    assert "is not an operator" in cancel.stderr
    assert '"outcome": "denied"' in audit.stdout
    assert "queued" in shown.stdout


def test_log_file_created_private(tmp_path):
    log = tmp_path / "logs" / "jobq.log"
    subprocess.run(
        [sys.executable, "-m", "jobq_tui.cli", "--db", str(tmp_path / "j.db")]
        + ["--log-file", str(log), "status"],
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert log.exists()
    assert os.stat(log).st_mode & 0o777 == 0o600
