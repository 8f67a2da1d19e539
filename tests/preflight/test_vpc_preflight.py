"""vpc preflight: the cross-field rules of the network inputs, all checked by one task that names every
broken input at once. Runs only the role's preflight (tasks_from) - no AWS needed."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import preflight_refusal, run_role_preflight


def test_defaults_and_explicit_subnets_pass(tmp_path: Path) -> None:
    extra = {
        "vpc_public_subnet_cidrs": ["10.20.0.0/20", "10.20.16.0/20"],
        "vpc_private_subnet_cidrs": ["10.20.128.0/20", "10.20.144.0/20"],
    }
    assert run_role_preflight("vpc", {}, tmp_path).returncode == 0
    result = run_role_preflight("vpc", extra, tmp_path)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"vpc_cidr": "10.20.0.0/8"}, "vpc_cidr=10.20.0.0/8 must be an IPv4 network address"),
        ({"vpc_az_count": 1}, "vpc_az_count=1 must be at least 2"),
        ({"vpc_subnet_newbits": 13}, "vpc_subnet_newbits=13 must give at least 2 x vpc_az_count=2 subnets"),
        (
            {"vpc_private_subnet_cidrs": ["10.20.128.0/20", "10.99.0.0/20"]},
            "vpc_private_subnet_cidrs=['10.20.128.0/20', '10.99.0.0/20'] must be empty (computed) or list exactly",
        ),
        (
            {"vpc_public_subnet_cidrs": ["10.20.0.0/20"]},
            "vpc_public_subnet_cidrs=['10.20.0.0/20'] must be empty (computed) or list exactly",
        ),
        (
            {
                "vpc_public_subnet_cidrs": ["10.20.0.0/20", "10.20.16.0/20"],
                "vpc_private_subnet_cidrs": ["10.20.16.0/20", "10.20.32.0/20"],
            },
            "vpc_public_subnet_cidrs and vpc_private_subnet_cidrs must all differ",
        ),
    ],
)
def test_each_rule_names_its_variable(extra: dict, message: str, tmp_path: Path) -> None:
    assert message in preflight_refusal("vpc", extra, tmp_path)


def test_every_broken_rule_is_named_in_one_run(tmp_path: Path) -> None:
    # An invalid vpc_cidr must not break the rules that use it (they defer to the vpc_cidr rule).
    extra = {"vpc_cidr": "not-a-cidr", "vpc_az_count": 1, "vpc_public_subnet_cidrs": ["10.20.0.0/20", "10.20.16.0/20"]}
    output = preflight_refusal("vpc", extra, tmp_path)
    assert "vpc_cidr=not-a-cidr must be an IPv4 network address" in output
    assert "vpc_az_count=1 must be at least 2" in output
    assert "vpc_public_subnet_cidrs=['10.20.0.0/20', '10.20.16.0/20'] must be empty" in output
    assert "Error while resolving" not in output
