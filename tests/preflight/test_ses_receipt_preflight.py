"""ses_receipt preflight: one task names every broken input rule of SES receiving. Runs only the
role's preflight (tasks_from) - no AWS needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import folded_output, run_role_preflight

BASE = {
    "ses_receipt_region": "eu-central-1",
    "ses_receipt_domain": "mail.example.org",
    "ses_receipt_recipients": ["chatbot@mail.example.org"],
    "ses_receipt_bucket": "mediamind-mail",
    "ses_receipt_prefix": "inbound/",
}


def preflight(tmp_path: Path, **extra: Any) -> tuple[int, str]:
    result = run_role_preflight("ses_receipt", dict(BASE, **extra), tmp_path)
    return result.returncode, folded_output(result)


def test_valid_inputs_pass(tmp_path: Path) -> None:
    # A bare domain and a subdomain are recipients inside the domain too.
    recipients = ["chatbot@mail.example.org", "mail.example.org", "eu.mail.example.org"]
    returncode, output = preflight(tmp_path, ses_receipt_recipients=recipients)
    assert returncode == 0, output


def test_region_without_receiving_is_refused(tmp_path: Path) -> None:
    returncode, output = preflight(tmp_path, ses_receipt_region="eu-central-2")
    assert returncode != 0
    assert "ses_receipt_region=eu-central-2 has no SES inbound SMTP endpoint" in output


@pytest.mark.parametrize("recipients", [[], ["chatbot@evilmail.example.org"]])
def test_recipients_must_be_inside_the_domain(recipients: list[str], tmp_path: Path) -> None:
    # evilmail.example.org only ends like the domain: a recipient must be in it or a subdomain.
    returncode, output = preflight(tmp_path, ses_receipt_recipients=recipients)
    assert returncode != 0
    assert f"ses_receipt_recipients={recipients} must be non-empty and every entry must be in" in output


@pytest.mark.parametrize(("bucket", "prefix"), [("", "inbound/"), ("mediamind-mail", "/inbound/")])
def test_s3_action_needs_bucket_and_folder_prefix(bucket: str, prefix: str, tmp_path: Path) -> None:
    returncode, output = preflight(tmp_path, ses_receipt_bucket=bucket, ses_receipt_prefix=prefix)
    assert returncode != 0
    assert f"ses_receipt_bucket must be set and ses_receipt_prefix={prefix} must be non-empty" in output


def test_every_broken_rule_is_named_in_one_run(tmp_path: Path) -> None:
    # Values of the wrong type get their rule's message too, never a template error.
    extra = {"ses_receipt_region": 3, "ses_receipt_recipients": [7], "ses_receipt_prefix": "inbound"}
    returncode, output = preflight(tmp_path, **extra)
    assert returncode != 0
    assert "ses_receipt_region=3 has no SES inbound SMTP endpoint" in output
    assert "ses_receipt_recipients=[7] must be non-empty and every entry must be in" in output
    assert "ses_receipt_prefix=inbound must be non-empty" in output
