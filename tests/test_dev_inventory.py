"""inventories/dev runs its services on a platform another inventory built.

The converged local stack stands in for production's platform: the dev
inventory, pointed at the emulator, finds the network, load balancer, cluster,
registries and Redis by name (playbooks/platform_lookup.yml), converges only its
two services and its own secret, builds no platform component, and a second run
reports changed=0.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import yaml
from conftest import stack_env

ROOT = Path(__file__).resolve().parent.parent


def _run_dev(local_stack, tmp_path: Path) -> str:
    overrides = {
        # The emulator instead of the real account; the local vault's values.
        "mediamind_aws_module_defaults": {
            "region": "eu-central-1",
            "endpoint_url": local_stack.endpoint_url,
            "access_key": "testing",
            "secret_key": "testing",
        },
        # The emulator's account stands in for the real one the inventory names.
        "mediamind_expected_account_id": "123456789012",
        "mediamind_platform_redis_secret_name": "mediamind/local/redis",
        "secrets_files_dir": str(ROOT / "inventories/local/.secrets"),
        "secrets_recovery_window_days": 0,
        "vault_chatbot_api_key": "dev-test-key-not-secret",
        # The summary goes to the test's folder: outputs/dev.json belongs to whoever deployed dev.
        "mediamind_outputs_dir": str(tmp_path),
    }
    extra = tmp_path / "dev-on-emulator.yml"
    extra.write_text(yaml.safe_dump(overrides))
    result = subprocess.run(
        [
            str(ROOT / ".venv/bin/ansible-playbook"),
            "-i",
            "inventories/dev",
            "--vault-password-file",
            "inventories/local/vault-password.txt",
            "playbooks/site.yml",
            "-e",
            f"@{extra}",
        ],
        cwd=ROOT,
        env={**os.environ, **stack_env(local_stack), "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    return result.stdout


def _recap(output: str) -> dict[str, int]:
    return {m[0]: int(m[1]) for m in re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", output, re.M)}


def _executed(output: str, role: str) -> set[str]:
    """Names of the role's tasks that ran on some host (a skipped task still prints its header)."""
    names = set()
    for block in re.split(r"^TASK \[", output, flags=re.M)[1:]:
        name, _, body = block.partition("]")
        if name.startswith(f"{role} : ") and re.search(r"^(ok|changed|fatal): \[", body, re.M):
            names.add(name[len(role) + 3 :])
    return names


def test_dev_converges_on_the_shared_platform(deployed_local, local_stack, tmp_path) -> None:
    first = _run_dev(local_stack, tmp_path)
    hosts = set(_recap(first))
    assert hosts == {"mediamind-platform", "mediamind-service-dev", "mediamind-scheduler-dev"}
    # No platform component ran: vpc, alb, rds and elasticache only looked up (no task of their other files ran).
    for role in ("vpc", "alb", "rds", "elasticache"):
        names = {
            p.name: set(re.findall(r"^\s*- name: (.+)$", p.read_text(), re.M))
            for p in (ROOT / f"roles/{role}/tasks").glob("*.yml")
        }
        writers = set().union(*(v for k, v in names.items() if k not in ("main.yml", "preflight.yml", "lookup.yml")))
        writers -= names["lookup.yml"]
        ran = _executed(first, role)
        assert not ran & writers, f"dev ran {role} tasks that build or remove: {sorted(ran & writers)}"
        assert ran, f"dev did not look the {role} up"
    for role in ("lambda_chatbot", "ecs_cluster", "acm", "ecr", "s3", "ses_receipt"):
        assert not _executed(first, role), f"dev ran a platform task ({role})"
    second = _run_dev(local_stack, tmp_path)
    assert set(_recap(second).values()) == {0}, second[-3000:]
    # The summary of the dev deploy, where the test pointed it.
    assert (tmp_path / "dev.json").is_file()
