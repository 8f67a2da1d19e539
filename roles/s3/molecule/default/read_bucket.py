"""Print the mail bucket's settings as the emulator holds them (JSON on stdout).

verify.yml asserts on this, never on a task's own result.  Usage:
read_bucket.py <bucket> <endpoint_url> <region>
"""

from __future__ import annotations

import json
import sys

import boto3
from botocore.exceptions import ClientError


def read(client, operation: str, bucket: str, key: str):
    try:
        return getattr(client, operation)(Bucket=bucket).get(key)
    except ClientError as exc:
        return {"error": exc.response["Error"]["Code"]}


def main() -> int:
    bucket, endpoint, region = sys.argv[1:4]
    # Dummy credentials: the emulator accepts any.
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106  # nosec B106
    )
    policy = read(s3, "get_bucket_policy", bucket, "Policy")
    state = {
        "location": read(s3, "get_bucket_location", bucket, "LocationConstraint"),
        "public_access_block": read(s3, "get_public_access_block", bucket, "PublicAccessBlockConfiguration"),
        "ownership": read(s3, "get_bucket_ownership_controls", bucket, "OwnershipControls"),
        "encryption": read(s3, "get_bucket_encryption", bucket, "ServerSideEncryptionConfiguration"),
        "policy": json.loads(policy) if isinstance(policy, str) else policy,
        "lifecycle": read(s3, "get_bucket_lifecycle_configuration", bucket, "Rules"),
        "versioning": s3.get_bucket_versioning(Bucket=bucket).get("Status"),
        "tags": read(s3, "get_bucket_tagging", bucket, "TagSet"),
    }
    print(json.dumps(state))
    return 0


if __name__ == "__main__":
    sys.exit(main())
