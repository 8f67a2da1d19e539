"""qdrant preflight: one task checks every rule and names every broken one; a dry run on an empty
account ends before the checks. The image rule's own tests are in tests/ecs/test_ecs_service_preflight.py.
Runs only the role's preflight (tasks_from) - no AWS needed."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from conftest import folded_output, run_role_preflight

ROOT = Path(__file__).resolve().parents[2]

VALID = {
    "qdrant_vpc_id": "vpc-1",
    "qdrant_subnet_ids": ["subnet-1"],
    "qdrant_secret_arn": "arn:aws:secretsmanager:eu-central-1:123456789012:secret:mediamind/app-env-AbCdEf",
    "qdrant_image": "qdrant/qdrant@sha256:" + "0123456789abcdef" * 4,
}
NETWORK = (
    "qdrant_vpc_id, qdrant_subnet_ids (private subnets) and qdrant_secret_arn (holding QDRANT_API_KEY) are required"
)


def test_stopped_qdrant_passes(tmp_path: Path) -> None:
    result = run_role_preflight("qdrant", dict(VALID, qdrant_desired_count=0), tmp_path)
    assert result.returncode == 0, result.stdout


def test_absent_needs_no_network(tmp_path: Path) -> None:
    result = run_role_preflight("qdrant", {"qdrant_state": "absent"}, tmp_path)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"qdrant_desired_count": 2}, "qdrant_desired_count=2 must be 0 or 1"),
        ({"qdrant_desired_count": "two"}, "qdrant_desired_count=two must be 0 or 1"),
        ({"qdrant_secret_arn": "mediamind/app-env"}, NETWORK),
        # A wrong type fails its own rule, never the template of every rule.
        ({"qdrant_subnet_ids": None}, NETWORK),
        ({"qdrant_storage_path": "storage"}, "qdrant_storage_path=storage must be absolute paths"),
        # Each source range becomes a value of the load balancer's source-ip condition.
        ({"qdrant_source_cidrs": ["10.0.0.300/24"]}, "qdrant_source_cidrs: '10.0.0.300/24' is not an IPv4/IPv6 CIDR"),
        ({"qdrant_source_cidrs": ["198.51.100.7/24"]}, "qdrant_source_cidrs: '198.51.100.7/24' is not an IPv4/IPv6"),
        ({"qdrant_source_cidrs": ["0.0.0.0/0"]}, "qdrant_source_cidrs: '0.0.0.0/0' admits every address"),
        (
            {"qdrant_source_cidrs": ["192.0.2.0/28", "198.51.100.0/28", "203.0.113.0/28", "10.1.0.0/16"]},
            "qdrant_source_cidrs has 4 entries; the load balancer's rule takes at most 3",
        ),
        ({"qdrant_discovery_namespace": "Mediamind internal"}, "qdrant_discovery_namespace=Mediamind internal must be"),
    ],
)
def test_each_broken_rule_names_its_variable(bad: dict, message: str, tmp_path: Path) -> None:
    result = run_role_preflight("qdrant", dict(VALID, **bad), tmp_path)
    assert result.returncode != 0
    assert message in folded_output(result)


@pytest.mark.parametrize("cidrs", [[], ["198.51.100.0/24"], ["192.0.2.10/32", "2001:db8::/32", "203.0.113.0/28"]])
def test_source_ranges_that_the_load_balancer_takes_pass(cidrs: list[str], tmp_path: Path) -> None:
    extra = dict(VALID, qdrant_source_cidrs=cidrs, qdrant_discovery_namespace="mediamind.internal")
    result = run_role_preflight("qdrant", extra, tmp_path)
    assert result.returncode == 0, result.stdout


def test_every_broken_rule_is_named_in_one_run(tmp_path: Path) -> None:
    extra = dict(VALID, qdrant_desired_count=3, qdrant_efs_root_directory="qdrant")
    result = run_role_preflight("qdrant", extra, tmp_path)
    assert result.returncode != 0
    text = folded_output(result)
    assert "qdrant_desired_count=3 must be 0 or 1" in text
    assert "qdrant_efs_root_directory=qdrant and qdrant_storage_path=/qdrant/storage must be absolute" in text


def test_dry_run_on_an_empty_account_ends_before_the_checks(tmp_path: Path) -> None:
    result = run_role_preflight("qdrant", {}, tmp_path, check=True)
    assert result.returncode == 0, result.stdout
    assert "mediamind-qdrant: the network or the environment secret does not exist yet" in folded_output(result)
    assert "Check the cross-field rules of the qdrant inputs" not in result.stdout


def test_site_preflight_refuses_a_tag_before_any_aws_call(tmp_path: Path) -> None:
    """The role's digest rule, checked by playbooks/preflight.yml for the Qdrant host: the run stops
    before the account guard's first call (nothing listens on the endpoint), naming the variable."""
    result = subprocess.run(
        [
            str(ROOT / ".venv/bin/ansible-playbook"),
            "-i",
            "inventories/local",
            "--vault-password-file",
            "inventories/local/vault-password.txt",
            "playbooks/preflight.yml",
            # The local inventory keeps its tag (the emulator never pulls); the real ones require a digest.
            "-e",
            '{"qdrant_image_require_digest": true}',
        ],
        cwd=ROOT,
        env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "AWS_ENDPOINT_URL": "http://127.0.0.1:9"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = " ".join((result.stdout + result.stderr).split())
    assert result.returncode != 0, output[-3000:]
    assert "qdrant_image=qdrant/qdrant:v1.13.4 must be pinned by digest" in output, output[-3000:]
    assert "Read the caller identity once per run" not in output


def test_the_production_inventory_pins_qdrant_by_digest_or_is_refused(tmp_path: Path) -> None:
    """Production's value has the digest's shape; until the team fills in the real digest, the
    all-zero placeholder is refused by the role's own check."""
    host_vars = yaml.safe_load((ROOT / "inventories/production/host_vars/mediamind-qdrant.yml").read_text())
    image = host_vars["qdrant_image"]
    assert re.fullmatch(r"qdrant/qdrant@sha256:[0-9a-f]{64}", image), image
    assert "qdrant_image_require_digest" not in host_vars
    result = run_role_preflight("qdrant", dict(VALID, qdrant_image=image), tmp_path)
    if image.endswith("0" * 64):
        assert result.returncode != 0
        assert f"qdrant_image={image} must be pinned by digest" in folded_output(result)
    else:
        assert result.returncode == 0, result.stdout
