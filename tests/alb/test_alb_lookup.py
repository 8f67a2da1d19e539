"""alb_state=lookup (how dev finds production's load balancer) stops, naming what is missing,
when the load balancer or one of the inventory's target groups does not exist: a service must
never be deployed with an empty target group ARN. Read-only: runs against the local emulator."""

from __future__ import annotations

import subprocess
from pathlib import Path

from conftest import run_on_localhost, stack_env

ROOT = Path(__file__).resolve().parents[2]


def _lookup(local_stack, tmp_path: Path, alb_name: str) -> subprocess.CompletedProcess[str]:
    playbook = (
        "- hosts: localhost\n  gather_facts: false\n"
        "  module_defaults:\n    group/mediamind.platform.aws: {region: eu-central-1}\n  tasks:\n"
        "    - ansible.builtin.include_role: {name: alb}\n"
        f"      vars: {{alb_state: lookup, alb_name: {alb_name}, alb_security_group_name: {alb_name}-sg,\n"
        "             alb_target_groups: [{name: not-a-target-group, port: 8000, health_check_path: /health}]}\n"
    )
    return run_on_localhost(
        playbook, tmp_path, env={**stack_env(local_stack), "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")}
    )


def test_missing_load_balancer_stops_the_lookup(local_stack, tmp_path: Path) -> None:
    result = _lookup(local_stack, tmp_path, "mm-no-such-lb")
    assert result.returncode != 0, result.stdout[-2000:]
    assert "alb_name=mm-no-such-lb was not found" in result.stdout
    assert "missing target groups of alb_target_groups: not-a-target-group" in result.stdout
    assert "Publish the load balancer's outputs" not in result.stdout
