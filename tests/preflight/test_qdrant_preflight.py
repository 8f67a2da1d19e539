"""qdrant preflight: one task checks every rule and names every broken one; a dry run on an empty
account ends before the checks. The image rule's own tests are in tests/ecs/test_ecs_service_preflight.py.
Runs only the role's preflight (tasks_from) - no AWS needed."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import folded_output, run_role_preflight

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
