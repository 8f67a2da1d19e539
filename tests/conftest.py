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


@pytest.fixture(scope="session")
def deployed_local(local_stack: localenv.Settings) -> dict:
    """`inventories/local` converged once per test session (site.yml, as `make deploy` runs it).

    Returns the parsed outputs/local.json. The run's log (at -vvv) is kept in
    .local/logs/deploy.log.
    """
    log = local_stack.log_dir / "deploy.log"
    with log.open("w") as out:
        result = subprocess.run(
            # -vvv: the secret-leak test scans this very log for vault values.
            [str(ROOT / "tools" / "playbook.sh"), "local", "playbooks/site.yml", "-vvv"],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
            timeout=1800,
        )
    if result.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-40:])
        pytest.fail(f"site.yml failed on inventories/local (full log: {log}):\n{tail}")
    import json  # noqa: PLC0415

    return json.loads((ROOT / "outputs" / "local.json").read_text())
