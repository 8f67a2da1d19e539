"""The mail bucket's settings as the emulator holds them (verify.yml asserts on them).

argv: bucket.  A setting the bucket does not have reads as {"error": <code>}.
"""

from __future__ import annotations

import json

import state
from botocore.exceptions import ClientError


def _get(operation: str, bucket: str, key: str):
    try:
        return getattr(state.client("s3"), operation)(Bucket=bucket).get(key)
    except ClientError as exc:
        return {"error": exc.response["Error"]["Code"]}


def read(bucket: str) -> dict:
    policy = _get("get_bucket_policy", bucket, "Policy")
    tag_set = _get("get_bucket_tagging", bucket, "TagSet")
    return {
        "location": _get("get_bucket_location", bucket, "LocationConstraint"),
        "public_access_block": _get("get_public_access_block", bucket, "PublicAccessBlockConfiguration"),
        "ownership": _get("get_bucket_ownership_controls", bucket, "OwnershipControls"),
        "encryption": _get("get_bucket_encryption", bucket, "ServerSideEncryptionConfiguration"),
        "policy": json.loads(policy) if isinstance(policy, str) else policy,
        "lifecycle": _get("get_bucket_lifecycle_configuration", bucket, "Rules"),
        "versioning": state.client("s3").get_bucket_versioning(Bucket=bucket).get("Status"),
        "tags": state.tags(tag_set) if isinstance(tag_set, list) else tag_set,
    }


if __name__ == "__main__":
    state.run(read)
