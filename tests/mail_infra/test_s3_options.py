"""The s3 role's optional settings: SSE-KMS, versioning, and turning them back.

The Molecule scenario covers the defaults (SSE-S3, no versioning); this runs
playbooks/s3.yml on a bucket unique to the test with SSE-KMS + versioning,
reads the emulator back, checks idempotence, then returns to the defaults
(versioning can only be suspended, never removed) and checks that too.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _run(bucket: str, *args: str, **extra) -> int:
    extra_vars = {"mediamind_bucket": bucket, "s3_extra_policy_statements": [], **extra}
    result = subprocess.run(
        ["tools/playbook.sh", "local", "playbooks/s3.yml", "-e", json.dumps(extra_vars), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    match = re.search(r"changed=(\d+)\s+unreachable=0\s+failed=0", result.stdout)
    assert match, result.stdout[-3000:]
    return int(match.group(1))


def test_kms_and_versioning_converge_and_revert(local_stack) -> None:
    bucket = f"mm-s3-options-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client(
        "s3",
        endpoint_url=local_stack.endpoint_url,
        region_name="eu-central-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    kms = {"s3_encryption": "aws:kms", "s3_kms_key_id": "alias/mediamind-mail", "s3_versioning": True}
    try:
        assert _run(bucket, **kms) == 1
        rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
        assert rule["ApplyServerSideEncryptionByDefault"] == {
            "SSEAlgorithm": "aws:kms",
            "KMSMasterKeyID": "alias/mediamind-mail",
        }
        assert rule["BucketKeyEnabled"] is True
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        inbound = next(r for r in rules if r["ID"] == "expire-inbound-mail")
        assert inbound["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
        assert _run(bucket, **kms) == 0
        assert _run(bucket, "--check", **kms) == 0

        # Back to the defaults: SSE-S3, versioning suspended (S3 cannot un-version a bucket).
        assert _run(bucket, "--check") == 1
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"  # check mode changed nothing
        assert _run(bucket) == 1
        rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
        assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Suspended"
        assert _run(bucket) == 0
    finally:
        _run(bucket, s3_state="absent", s3_force_delete=True)
