"""s3 preflight: one task names every broken input rule of the mail bucket. Runs only the role's
preflight (tasks_from) - no AWS needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import folded_output, run_role_preflight

BASE = {"s3_bucket_name": "mediamind-mail.example", "s3_inbound_prefix": "inbound/"}


def preflight(tmp_path: Path, **extra: Any) -> tuple[int, str]:
    result = run_role_preflight("s3", dict(BASE, **extra), tmp_path)
    return result.returncode, folded_output(result)


def test_valid_inputs_pass(tmp_path: Path) -> None:
    extra = {
        "s3_encryption": "aws:kms",
        "s3_kms_key_id": "alias/mediamind-mail",
        "s3_extra_policy_statements": [{"Sid": "Extra", "Effect": "Deny", "Principal": "*", "Action": "s3:*"}],
    }
    returncode, output = preflight(tmp_path, **extra)
    assert returncode == 0, output


@pytest.mark.parametrize("name", ["media..mind", 42])
def test_bucket_name_s3_refuses_is_named(name: object, tmp_path: Path) -> None:
    returncode, output = preflight(tmp_path, s3_bucket_name=name)
    assert returncode != 0
    assert f"s3_bucket_name={name} is not a valid S3 bucket name" in output


@pytest.mark.parametrize("prefix", ["", ["inbound/"]])
def test_inbound_prefix_must_be_folder_like(prefix: object, tmp_path: Path) -> None:
    returncode, output = preflight(tmp_path, s3_inbound_prefix=prefix)
    assert returncode != 0
    assert f"s3_inbound_prefix={prefix} must be non-empty" in output


def test_kms_key_without_sse_kms_is_refused(tmp_path: Path) -> None:
    returncode, output = preflight(tmp_path, s3_kms_key_id="alias/mediamind-mail")
    assert returncode != 0
    assert "s3_kms_key_id is set but s3_encryption=AES256" in output


@pytest.mark.parametrize("statements", [[{"Sid": "NoEffect"}], {"Effect": "Deny"}])
def test_extra_statement_without_effect_is_refused(statements: object, tmp_path: Path) -> None:
    # A single statement given as a mapping is not a list of statements either.
    returncode, output = preflight(tmp_path, s3_extra_policy_statements=statements)
    assert returncode != 0
    assert "every item of s3_extra_policy_statements needs at least Effect" in output


def test_every_broken_rule_is_named_in_one_run(tmp_path: Path) -> None:
    returncode, output = preflight(tmp_path, s3_bucket_name="Bad_Name", s3_inbound_prefix="/inbound")
    assert returncode != 0
    assert "s3_bucket_name=Bad_Name is not a valid S3 bucket name" in output
    assert "s3_inbound_prefix=/inbound must be non-empty" in output
