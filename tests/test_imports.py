"""Importing the core must not load Textual, which only the dashboard needs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CORE_MODULES = ["jobq_tui", "jobq_tui.service", "jobq_tui.cli", "jobq_tui.commands"]

PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
loaded = sorted(m for m in sys.modules if m == "textual" or m.startswith("textual."))
print(json.dumps(loaded))
"""


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_does_not_import_textual(module):
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, module],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout) == []
