"""lambda_chatbot preflight: one task checks every rule and names every broken one; a dry run on an
empty account ends before the checks. Runs only the role's preflight (tasks_from) - no AWS needed."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import folded_output, run_role_preflight

VALID = {
    "lambda_chatbot_vpc_id": "vpc-1",
    "lambda_chatbot_vpc_cidr": "10.0.0.0/16",
    "lambda_chatbot_subnet_ids": ["subnet-1"],
    "lambda_chatbot_api_host": "https://api.mediamind.csee.tech",
    "lambda_chatbot_api_key_secret_arn": "arn:aws:secretsmanager:eu-central-1:123456789012:secret:chat-key-AbCdEf",
    "lambda_chatbot_redis_url_secret_arn": "arn:aws:secretsmanager:eu-central-1:123456789012:secret:redis-AbCdEf",
}
LIMITS = "lambda_chatbot_timeout must be 30-900 s"
NEEDS = "lambda_chatbot needs lambda_chatbot_vpc_id (vpc-...)"
ENVIRONMENT = "lambda_chatbot_extra_environment must not set CHAT_API_KEY, REDIS_URL, ALLOW_INSECURE_REDIS"


def test_valid_inputs_pass(tmp_path: Path) -> None:
    result = run_role_preflight("lambda_chatbot", VALID, tmp_path)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"lambda_chatbot_timeout": 10}, LIMITS),
        ({"lambda_chatbot_reserved_concurrency": "many"}, LIMITS),
        ({"lambda_chatbot_vpc_id": "subnet-1"}, NEEDS),
        # A wrong type fails its own rule, never the template of every rule.
        ({"lambda_chatbot_subnet_ids": None}, NEEDS),
        ({"lambda_chatbot_extra_environment": {"REDIS_URL": "rediss://cache:6379/0"}}, ENVIRONMENT),
        ({"lambda_chatbot_extra_environment": "REDIS_URL=x"}, "lambda_chatbot_extra_environment must be a mapping"),
        (
            {"lambda_chatbot_package": "/nonexistent/chatbot.zip"},
            "lambda_chatbot_package /nonexistent/chatbot.zip is not a file",
        ),
    ],
)
def test_each_broken_rule_names_its_variable(bad: dict, message: str, tmp_path: Path) -> None:
    result = run_role_preflight("lambda_chatbot", dict(VALID, **bad), tmp_path)
    assert result.returncode != 0
    assert message in folded_output(result)
    assert "Check the rules of the lambda_chatbot inputs" in result.stdout


def test_absent_needs_no_network(tmp_path: Path) -> None:
    result = run_role_preflight("lambda_chatbot", {"lambda_chatbot_state": "absent"}, tmp_path)
    assert result.returncode == 0, result.stdout


def test_every_broken_rule_is_named_in_one_run(tmp_path: Path) -> None:
    extra = dict(VALID, lambda_chatbot_memory_size=64, lambda_chatbot_extra_environment={"CHAT_API_KEY": "k"})
    result = run_role_preflight("lambda_chatbot", extra, tmp_path)
    assert result.returncode != 0
    assert LIMITS in folded_output(result)
    assert ENVIRONMENT in folded_output(result)


def test_dry_run_on_an_empty_account_ends_before_the_checks(tmp_path: Path) -> None:
    result = run_role_preflight("lambda_chatbot", {}, tmp_path, check=True)
    assert result.returncode == 0, result.stdout
    assert "the function, its role, security group, log group, failure queue" in folded_output(result)
    # Counted as a change, like what a real run would create; the checks never ran.
    assert "changed=1" in result.stdout
    assert "Check the rules of the lambda_chatbot inputs" not in result.stdout
