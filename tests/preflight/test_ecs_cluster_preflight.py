"""ecs_cluster preflight: one task checks every rule and names every broken one. Runs only the role's
preflight (tasks_from) - no AWS needed."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import folded_output, run_role_preflight

PROVIDERS = "may only name FARGATE, FARGATE_SPOT: the services are Fargate-only"
STRATEGY = (
    "ecs_cluster_default_capacity_provider_strategy names a provider that is not in ecs_cluster_capacity_providers="
)


def test_defaults_pass(tmp_path: Path) -> None:
    result = run_role_preflight("ecs_cluster", {}, tmp_path)
    assert result.returncode == 0, result.stdout


def test_spot_strategy_passes(tmp_path: Path) -> None:
    strategy = [{"capacity_provider": "FARGATE", "base": 1}, {"capacity_provider": "FARGATE_SPOT", "weight": 3}]
    result = run_role_preflight("ecs_cluster", {"ecs_cluster_default_capacity_provider_strategy": strategy}, tmp_path)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    ("bad", "message", "not_message"),
    [
        (
            {"ecs_cluster_capacity_providers": ["FARGATE", "EC2"]},
            "ecs_cluster_capacity_providers=['FARGATE', 'EC2']",
            STRATEGY,
        ),
        # No list: its own rule says so; the strategy's rule, which reads it, passes.
        ({"ecs_cluster_capacity_providers": 7}, f"ecs_cluster_capacity_providers=7 {PROVIDERS}", STRATEGY),
        (
            {
                "ecs_cluster_capacity_providers": ["FARGATE"],
                "ecs_cluster_default_capacity_provider_strategy": [{"capacity_provider": "FARGATE_SPOT"}],
            },
            STRATEGY,
            PROVIDERS,
        ),
        ({"ecs_cluster_default_capacity_provider_strategy": [{"weight": 1}]}, STRATEGY, PROVIDERS),
    ],
)
def test_each_broken_rule_names_its_variable(bad: dict, message: str, not_message: str, tmp_path: Path) -> None:
    result = run_role_preflight("ecs_cluster", bad, tmp_path)
    assert result.returncode != 0
    assert message in folded_output(result)
    assert not_message not in folded_output(result)


def test_every_broken_rule_is_named_in_one_run(tmp_path: Path) -> None:
    result = run_role_preflight("ecs_cluster", {"ecs_cluster_capacity_providers": ["EC2"]}, tmp_path)
    assert result.returncode != 0
    assert f"ecs_cluster_capacity_providers=['EC2'] {PROVIDERS}" in folded_output(result)
    assert STRATEGY + "['EC2']" in folded_output(result)
