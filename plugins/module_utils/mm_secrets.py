"""boto3 calls and the key-by-key comparison behind secretsmanager_json_secret.

Nothing here returns or logs a secret value: the comparison yields key names only.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from ansible.module_utils.mediamind_aws import aws_retry, dict_to_tags, tags_to_dict

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
def create_secret(client, request: dict[str, Any]) -> dict[str, Any]:
    return client.create_secret(**request)


@aws_retry
def put_secret_string(client, arn: str, secret_string: str) -> dict[str, Any]:
    return client.put_secret_value(SecretId=arn, SecretString=secret_string)


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
