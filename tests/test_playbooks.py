"""The entry playbooks refuse bad input before any AWS call.

The AWS endpoint is pointed at a closed loopback port: a run that got as far as
an AWS call would fail with a connection error instead of the validation
message these tests expect.
"""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
LOCAL_VAULT = ["--vault-password-file", str(ROOT / "inventories/local/vault-password.txt")]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(args: list[str], env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{_closed_port()}",
            "ANSIBLE_NOCOLOR": "1",
        }
    )
    env.update(env_extra or {})
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)


def _site(*extra: str) -> subprocess.CompletedProcess[str]:
    return _run(
        [str(VENV_BIN / "ansible-playbook"), "-i", "inventories/local", *LOCAL_VAULT, "playbooks/site.yml", *extra]
    )


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ('{"mediamind_env": "staging"}', "mediamind_env"),
        ('{"mediamind_hosts": "api.example.com"}', "mediamind_hosts"),
        ('{"mediamind_hosts": {"api": "a", "dev_api": "b", "qdrant": "c"}}', "frontend"),
        ('{"mediamind_ecr_repositories": "mediamind"}', "mediamind_ecr_repositories"),
        ('{"mediamind_aws_module_defaults": {"region": "eu-central-1", "endpoin_url": "x"}}', "endpoin_url"),
        ('{"mediamind_inbound_prefix": "inbound"}', "mediamind_inbound_prefix"),
        # Role inputs, checked against each role's argument_specs before any AWS call.
        ('{"vpc_nat_mdoe": "single"}', "vpc_nat_mdoe"),
        ('{"vpc_nat_mode": "sometimes"}', "vpc_nat_mode"),
        ('{"alb_rules": "x"}', "alb_rules"),
        ('{"ecs_service_cpu": "lots"}', "ecs_service_cpu"),
        ('{"rds_backup_retention_days": "a week"}', "rds_backup_retention_days"),
        # A host's role: the role playbooks/ecs.yml includes for it.
        ('{"mediamind_service_role": "postgres"}', "mediamind_service_role"),
    ],
)
def test_bad_environment_values_stop_at_validation(override: str, named: str) -> None:
    result = _site("-e", override)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert named in output
    assert "Could not connect" not in output, "the run reached AWS before validating"


def test_unknown_env_is_one_line() -> None:
    result = _run([str(ROOT / "tools/playbook.sh"), "staging", "playbooks/site.yml"])
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "unknown ENV='staging'" in result.stderr


def test_missing_vault_password_is_one_line(tmp_path: Path) -> None:
    result = _run(
        [str(ROOT / "tools/playbook.sh"), "dev", "playbooks/site.yml"],
        {"HOME": str(tmp_path), "VAULT_PASSWORD_FILE": "", "VAULT_PASSWORD": ""},
    )
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "no vault password for ENV=dev" in result.stderr


def test_production_teardown_needs_confirmation() -> None:
    result = _run([str(VENV_BIN / "ansible-playbook"), "-i", "inventories/production", "playbooks/teardown.yml"])
    assert result.returncode != 0
    assert "refusing to tear down production" in result.stdout + result.stderr
    assert "Could not connect" not in result.stdout + result.stderr
