"""alb preflight: the cross-field rules of the load balancer inputs, all checked by one task that names
every broken input at once. Runs only the role's preflight (tasks_from) - no AWS needed."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import preflight_refusal, run_role_preflight

CERT = "arn:aws:acm:eu-central-1:123456789012:certificate/0a1b2c3d"
BASE = {
    "alb_vpc_id": "vpc-0abc",
    "alb_vpc_cidr": "10.20.0.0/16",
    "alb_subnet_ids": ["subnet-a", "subnet-b"],
    "alb_certificate_arns": [CERT],
    "alb_target_groups": [{"name": "api", "port": 8000, "health_check_path": "/health"}],
    "alb_rules": [{"priority": 10, "host": "api.example.org", "target_group": "api"}],
}


def test_valid_inputs_pass(tmp_path: Path) -> None:
    result = run_role_preflight("alb", BASE, tmp_path)
    assert result.returncode == 0, result.stdout
    # The network and certificate inputs are only required for a present load balancer.
    result = run_role_preflight("alb", {"alb_state": "absent"}, tmp_path)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"alb_ssl_policy": "ELBSecurityPolicy-2016-08"}, "alb_ssl_policy=ELBSecurityPolicy-2016-08 is not a TLS 1.3"),
        ({"alb_name": "a" * 33}, "alb_name and every alb_target_groups[].name must be at most 32"),
        ({"alb_vpc_cidr": "10.20.0.0"}, "alb needs alb_vpc_id (vpc-...), alb_vpc_cidr (an IPv4 CIDR)"),
        ({"alb_access_logs_enabled": True}, "alb_access_logs_enabled is true but alb_access_logs_bucket is empty"),
        (
            {"alb_target_groups": BASE["alb_target_groups"] * 2},
            "alb_target_groups has duplicate names: ['api', 'api']",
        ),
        (
            {"alb_rules": [{"priority": 0, "host": "api.example.org", "target_group": "api"}]},
            "alb_rules priorities must be unique and within 1-50000: [0]",
        ),
        (
            {"alb_rules": [{"priority": 10, "host": "api.example.org", "target_group": "web"}]},
            "alb_rules[priority 10].target_group 'web' is not in alb_target_groups",
        ),
        (
            {
                "alb_rules": [
                    {"priority": 5, "host": "api.example.org", "source_ips": ["0.0.0.0/0"], "target_group": "api"}
                ]
            },
            "alb_rules[priority 5].source_ips: '0.0.0.0/0' admits every address",
        ),
        (
            {"alb_rules": [{"priority": 6, "host": "api.example.org", "fixed_response": {"status_code": 302}}]},
            "alb_rules[priority 6].fixed_response.status_code must be a 2XX, 4XX or 5XX code",
        ),
        (
            {"alb_rules": [{"priority": 7, "host": "api.example.org"}]},
            "alb_rules[priority 7] needs exactly one of target_group and fixed_response",
        ),
        (
            # moto stores it; AWS's CreateRule refuses a path pattern with "%".
            {
                "alb_rules": [
                    {
                        "priority": 1,
                        "host": "api.example.org",
                        "path_patterns": ["*%*"],
                        "fixed_response": {"status_code": 400},
                    }
                ]
            },
            "alb_rules[priority 1].path_patterns: '*%*' holds '%', which an ALB path pattern does not allow",
        ),
    ],
)
def test_each_rule_names_its_variable(extra: dict, message: str, tmp_path: Path) -> None:
    assert message in preflight_refusal("alb", dict(BASE, **extra), tmp_path)


def test_every_broken_rule_is_named_in_one_run(tmp_path: Path) -> None:
    extra = dict(BASE, alb_ssl_policy="ELBSecurityPolicy-2016-08", alb_subnet_ids=["subnet-a"])
    output = preflight_refusal("alb", extra, tmp_path)
    assert "alb_ssl_policy=ELBSecurityPolicy-2016-08 is not a TLS 1.3 policy" in output
    assert "alb_subnet_ids=['subnet-a']" in output
