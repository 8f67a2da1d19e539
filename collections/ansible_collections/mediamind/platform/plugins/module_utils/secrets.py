"""boto3 calls and the key-by-key comparison behind secretsmanager_json_secret.

Nothing here returns or logs a secret value: the comparison yields key names only.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import uuid
from typing import Any

from ansible_collections.mediamind.platform.plugins.module_utils.common import aws_retry, dict_to_tags, tags_to_dict

# AnsibleAWSModule reports a missing botocore itself.
with contextlib.suppress(ImportError):
    import botocore

# A JSON SecretString holds flat key/value pairs: what ECS `valueFrom: <arn>:<key>::`
# and the application's environment loader expect.
SCALAR_TYPES = (str, int, float, bool)


def _error_code(exc: Exception) -> str:
    return getattr(exc, "response", {}).get("Error", {}).get("Code", "")


@aws_retry
def describe_secret(client, name: str) -> dict[str, Any] | None:
    try:
        return client.describe_secret(SecretId=name)
    except botocore.exceptions.ClientError as exc:
        if _error_code(exc) == "ResourceNotFoundException":
            return None
        raise


@aws_retry
def get_secret_string(client, arn: str) -> str | None:
    """The AWSCURRENT SecretString (None when the secret has no value yet)."""
    try:
        return client.get_secret_value(SecretId=arn).get("SecretString")
    except botocore.exceptions.ClientError as exc:
        if _error_code(exc) == "ResourceNotFoundException":
            return None
        raise


@aws_retry
def get_secret_value(client, secret_id: str) -> dict[str, Any] | None:
    """GetSecretValue's answer (None when the secret does not exist)."""
    try:
        return client.get_secret_value(SecretId=secret_id)
    except botocore.exceptions.ClientError as exc:
        if _error_code(exc) == "ResourceNotFoundException":
            return None
        raise


@aws_retry
def create_secret(client, request: dict[str, Any]) -> dict[str, Any]:
    return client.create_secret(**request)


@aws_retry
def put_secret_string(client, arn: str, secret_string: str, version_id: str | None = None) -> dict[str, Any]:
    # ClientRequestToken becomes the new version's id: known before the call, so the
    # digest tag can name it.
    return client.put_secret_value(
        SecretId=arn, SecretString=secret_string, ClientRequestToken=version_id or str(uuid.uuid4())
    )


@aws_retry
def update_secret(client, arn: str, request: dict[str, Any]) -> None:
    client.update_secret(SecretId=arn, **request)


@aws_retry
def restore_secret(client, arn: str) -> None:
    client.restore_secret(SecretId=arn)


@aws_retry
def set_tags(client, arn: str, to_set: dict[str, str], to_remove: list[str]) -> None:
    if to_remove:
        client.untag_resource(SecretId=arn, TagKeys=to_remove)
    if to_set:
        client.tag_resource(SecretId=arn, Tags=dict_to_tags(to_set))


@aws_retry
def delete_secret(client, arn: str, recovery_window_days: int) -> None:
    if recovery_window_days == 0:
        client.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
    else:
        client.delete_secret(SecretId=arn, RecoveryWindowInDays=recovery_window_days)


def secret_tags(description: dict[str, Any]) -> dict[str, str]:
    return tags_to_dict(description.get("Tags"))


def parse_document(text: str | None) -> dict[str, Any] | None:
    """The secret's JSON object, or None when it is missing or not a JSON object
    (then every wanted key counts as changed). Never raises with the text in the message."""
    if text is None:
        return None
    try:
        document = json.loads(text)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def key_changes(current: dict[str, Any] | None, wanted: dict[str, Any], purge: bool) -> dict[str, list[str]]:
    """Key names added, modified and removed going from `current` to `wanted` (no values)."""
    current = current or {}
    added = sorted(k for k in wanted if k not in current)
    modified = sorted(k for k in wanted if k in current and current[k] != wanted[k])
    removed = sorted(k for k in current if k not in wanted) if purge else []
    return {"added_keys": added, "modified_keys": modified, "removed_keys": removed}


def merged_document(current: dict[str, Any] | None, wanted: dict[str, Any], purge: bool) -> dict[str, Any]:
    """The document to store: `wanted`, plus the current keys it lacks unless purging."""
    if purge or not current:
        return dict(wanted)
    return {**current, **wanted}


# ---------------------------------------------------------------------------- digests
# Kept with the secret as a tag, readable with DescribeSecret alone: a plan (check mode)
# compares it and never calls GetSecretValue. "<AWSCURRENT version id>:<hex digest>": a
# version written by anyone else (a console edit) no longer matches, so the plan reports
# the drift the real run repairs.
DIGEST_TAG = "mediamind:document-digest"


def new_version_id() -> str:
    return str(uuid.uuid4())


def is_reference(value: Any) -> bool:
    """{"from_secret": <name or ARN>, "key": <KEY>}: the value of another secret's key,
    read in a real run only (the Redis URL the elasticache role writes)."""
    return (
        isinstance(value, dict)
        and set(value) == {"from_secret", "key"}
        and all(isinstance(v, str) and v for v in value.values())
    )


def current_version(description: dict[str, Any] | None) -> str | None:
    for version, stages in ((description or {}).get("VersionIdsToStages") or {}).items():
        if "AWSCURRENT" in stages:
            return version
    return None


def document_digest(document: dict[str, Any], key: str | None) -> str:
    """HMAC-SHA256 of the canonical JSON when a key is given (one the plan role cannot
    read: it lives in the inventory's vault), else SHA-256. A plain hash is only safe for
    documents holding at least one high-entropy value (a password, a token): a hash of a
    guessable value can be brute-forced offline by anyone allowed to read tags."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    if key:
        return "hmac-sha256=" + hmac.new(key.encode(), canonical, hashlib.sha256).hexdigest()
    return "sha256=" + hashlib.sha256(canonical).hexdigest()


def digest_tag_value(version: str | None, digest: str) -> str:
    return f"{version or ''}:{digest}"


def digest_matches(description: dict[str, Any], digest: str) -> bool:
    """Whether the stored tag says AWSCURRENT is the version written for `digest`."""
    stored = secret_tags(description).get(DIGEST_TAG, "")
    version = current_version(description)
    return bool(version) and stored == digest_tag_value(version, digest)
