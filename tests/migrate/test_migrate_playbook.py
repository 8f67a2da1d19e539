"""playbooks/migrate.yml against the emulator: only the API services migrate, a service without
migrations is refused by name, and a missing service is named. (A migration that runs is the
module's business: moto runs no container, see test_oneoff_task.py.)"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from conftest import stack_env

ROOT = Path(__file__).resolve().parents[2]


def _migrate(local_stack, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "tools/playbook.sh"), "local", "playbooks/migrate.yml", *extra],
        cwd=ROOT,
        env={**os.environ, **stack_env(local_stack), "ANSIBLE_NOCOLOR": "1", "ANSIBLE_STRATEGY": "linear"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_a_service_without_migrations_is_refused_naming_those_with_them(local_stack) -> None:
    result = _migrate(local_stack, "-e", "migrate_service=mediamind-scheduler")
    out = " ".join(result.stdout.split())
    assert result.returncode != 0
    assert (
        "mediamind-scheduler has no migrations: give SERVICE=<one of mediamind-service, mediamind-service-dev>" in out
    )


def test_only_the_api_services_migrate_and_a_missing_service_is_named(local_stack) -> None:
    # Dry run on an emulator without the services: the plan describes each API service and fails
    # naming it; the schedulers and Qdrant leave the play before any AWS call.
    result = _migrate(local_stack, "--check")
    out = " ".join(result.stdout.split())
    assert result.returncode != 0
    assert "service mediamind-service not found in cluster mediamind" in out
    assert "service mediamind-service-dev not found in cluster mediamind" in out
    for host in ("mediamind-scheduler", "mediamind-scheduler-dev", "mediamind-qdrant"):
        assert f"fatal: [{host}]" not in out
        assert f"failed: [{host}]" not in out
