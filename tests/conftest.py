"""Shared fixtures: the local emulator that `make test` started (or starts here)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import localenv  # noqa: E402


@pytest.fixture(scope="session")
def local_stack() -> localenv.Settings:
    """The running local environment (moto + TLS Redis); started when missing."""
    settings = localenv.Settings.from_env()
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "localenv.py"), "up"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"local environment did not start: {result.stderr.strip()}")
    os.environ.update(localenv.env_vars(settings))
    return settings
