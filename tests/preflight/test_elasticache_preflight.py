"""elasticache preflight: one task names every broken input rule of the cache, and never prints the
AUTH token. Runs only the role's preflight (tasks_from) - no AWS needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import folded_output, run_role_preflight

BASE = {
    "elasticache_vpc_id": "vpc-1",
    "elasticache_subnet_ids": ["subnet-1", "subnet-2"],
    "elasticache_auth_token": "a-valid-token-0123456789",
}
PRODUCTION = {
    "mediamind_env": "production",
    "elasticache_num_cache_clusters": 2,
    "elasticache_automatic_failover": True,
    "elasticache_multi_az": True,
}


def preflight(tmp_path: Path, **extra: Any) -> tuple[int, str]:
    result = run_role_preflight("elasticache", dict(BASE, **extra), tmp_path)
    return result.returncode, folded_output(result)


def test_valid_inputs_pass(tmp_path: Path) -> None:
    returncode, output = preflight(tmp_path, **PRODUCTION)
    assert returncode == 0, output


def test_absent_needs_neither_network_nor_token(tmp_path: Path) -> None:
    extra = {
        "elasticache_state": "absent",
        "elasticache_vpc_id": "",
        "elasticache_subnet_ids": [],
        "elasticache_auth_token": "",
    }
    returncode, output = preflight(tmp_path, **extra)
    assert returncode == 0, output


@pytest.mark.parametrize("name", ["my--cache", 7])
def test_replication_group_id_aws_refuses_is_named(name: object, tmp_path: Path) -> None:
    returncode, output = preflight(tmp_path, elasticache_replication_group_id=name)
    assert returncode != 0
    assert "elasticache_replication_group_id must be 1-40 lowercase letters, digits and single hyphens" in output
    assert f"starting with a letter (got '{name}')" in output


@pytest.mark.parametrize(
    ("extra", "messages"),
    [
        (
            {"elasticache_automatic_failover": True},
            ["elasticache_automatic_failover needs elasticache_num_cache_clusters"],
        ),
        (
            {"mediamind_env": "production", "elasticache_multi_az": True},
            [
                "elasticache_multi_az needs elasticache_automatic_failover",
                "production needs both elasticache_automatic_failover and elasticache_multi_az",
            ],
        ),
    ],
)
def test_failover_rules_name_their_variable(extra: dict, messages: list[str], tmp_path: Path) -> None:
    returncode, output = preflight(tmp_path, **extra)
    assert returncode != 0
    for message in messages:
        assert message in output


def test_bad_auth_token_is_refused_without_showing_it(tmp_path: Path) -> None:
    token = "has@an-at-sign-0123456789"
    returncode, output = preflight(tmp_path, elasticache_auth_token=token)
    assert returncode != 0
    assert "elasticache_auth_token (vault_elasticache_auth_token) must be 16-128 printable characters" in output
    assert token not in output


def test_every_broken_rule_is_named_in_one_run(tmp_path: Path) -> None:
    extra = {"elasticache_subnet_ids": [], "elasticache_num_cache_clusters": 7, "elasticache_auth_token": "short"}
    returncode, output = preflight(tmp_path, **extra)
    assert returncode != 0
    assert "elasticache_vpc_id and elasticache_subnet_ids are required for present" in output
    assert "elasticache_num_cache_clusters=7 must be 1 to 6" in output
    assert "elasticache_auth_token (vault_elasticache_auth_token) must be 16-128" in output
