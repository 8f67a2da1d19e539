"""acm preflight: the cross-field rules of the certificate inputs, all checked by one task that names
every broken input at once. Runs only the role's preflight (tasks_from) - no AWS needed."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import preflight_refusal, run_role_preflight

ADOPTED = "arn:aws:acm:eu-central-1:123456789012:certificate/0a1b2c3d"
CONSISTENCY = (
    "acm: every acm_certificates entry needs a unique name, and a domain unless it gives an arn to adopt; "
    "acm_wait_timeout must be positive."
)


def test_requested_and_adopted_certificates_pass(tmp_path: Path) -> None:
    certificates = [
        {"name": "api", "domain": "api.example.org", "sans": ["www.example.org"]},
        {"name": "frontend", "arn": ADOPTED},
        {"name": "qdrant", "domain": "qdrant.example.org", "arn": ""},
    ]
    result = run_role_preflight("acm", {"acm_certificates": certificates}, tmp_path)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    "extra",
    [
        {"acm_certificates": [{"name": "api", "domain": "a.example.org"}, {"name": "api", "domain": "b.example.org"}]},
        {"acm_certificates": [{"name": "api"}]},
        {"acm_wait_timeout": 0},
    ],
)
def test_inconsistent_inputs_are_refused(extra: dict, tmp_path: Path) -> None:
    assert CONSISTENCY in preflight_refusal("acm", extra, tmp_path)


def test_every_broken_rule_is_named_in_one_run(tmp_path: Path) -> None:
    certificates = [
        {"name": "api", "arn": "arn:aws:iam::123456789012:server-certificate/api"},
        {"name": "frontend", "arn": ADOPTED},
        {"name": "qdrant", "arn": "not-an-arn"},
    ]
    output = preflight_refusal("acm", {"acm_certificates": certificates, "acm_wait_timeout": -1}, tmp_path)
    assert CONSISTENCY in output
    assert (
        "acm: acm_certificates entry api has arn arn:aws:iam::123456789012:server-certificate/api,"
        " which is not an ACM certificate ARN" in output
    )
    assert "acm: acm_certificates entry qdrant has arn not-an-arn, which is not an ACM certificate ARN" in output
    assert "entry frontend" not in output
