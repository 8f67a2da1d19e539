"""boto3 calls behind the ecr role's own module (ecr_repository).

community.aws.ecs_ecr fails in check mode on an empty account (it reads the
lifecycle policy of the repository it only pretended to create), reports
check-mode changes as "skipped" and cannot tag; these wrap the ECR calls our
module needs, each with the project's retry policy.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from ansible_collections.mediamind.platform.plugins.module_utils.common import aws_retry, dict_to_tags, tags_to_dict

# AnsibleAWSModule reports a missing botocore itself.
with contextlib.suppress(ImportError):
    import botocore


def _error_code(exc: Exception) -> str:
    return getattr(exc, "response", {}).get("Error", {}).get("Code", "")


@aws_retry
def describe_repository(client, name: str) -> dict[str, Any] | None:
    try:
        return client.describe_repositories(repositoryNames=[name])["repositories"][0]
    except botocore.exceptions.ClientError as exc:
        if _error_code(exc) == "RepositoryNotFoundException":
            return None
        raise


@aws_retry
def get_lifecycle_policy(client, name: str) -> dict[str, Any] | None:
    try:
        text = client.get_lifecycle_policy(repositoryName=name)["lifecyclePolicyText"]
    except botocore.exceptions.ClientError as exc:
        if _error_code(exc) == "LifecyclePolicyNotFoundException":
            return None
        raise
    return json.loads(text)


@aws_retry
def list_tags(client, arn: str) -> dict[str, str]:
    return tags_to_dict(client.list_tags_for_resource(resourceArn=arn).get("tags"))


@aws_retry
def create_repository(client, request: dict[str, Any]) -> dict[str, Any]:
    return client.create_repository(**request)["repository"]


@aws_retry
def put_image_tag_mutability(client, name: str, mutability: str) -> None:
    client.put_image_tag_mutability(repositoryName=name, imageTagMutability=mutability)


@aws_retry
def put_scan_on_push(client, name: str, scan_on_push: bool) -> None:
    client.put_image_scanning_configuration(
        repositoryName=name, imageScanningConfiguration={"scanOnPush": scan_on_push}
    )


@aws_retry
def put_lifecycle_policy(client, name: str, policy: dict[str, Any]) -> None:
    client.put_lifecycle_policy(repositoryName=name, lifecyclePolicyText=json.dumps(policy, sort_keys=True))


@aws_retry
def delete_lifecycle_policy(client, name: str) -> None:
    client.delete_lifecycle_policy(repositoryName=name)


@aws_retry
def set_tags(client, arn: str, to_set: dict[str, str], to_remove: list[str]) -> None:
    if to_remove:
        client.untag_resource(resourceArn=arn, tagKeys=to_remove)
    if to_set:
        client.tag_resource(resourceArn=arn, tags=dict_to_tags(to_set))


@aws_retry
def delete_repository(client, name: str, force: bool) -> None:
    client.delete_repository(repositoryName=name, force=force)


def normalize_lifecycle_policy(policy: dict[str, Any] | None) -> dict[str, Any] | None:
    """Rules ordered by priority and numbers as ints: the same policy compares equal
    whether it came from YAML (strings from templating) or from the API."""
    if policy is None:
        return None
    rules = []
    for original in policy.get("rules", []):
        rule = json.loads(json.dumps(original))  # a deep copy
        rule["rulePriority"] = int(rule["rulePriority"])
        selection = rule.get("selection", {})
        if "countNumber" in selection:
            selection["countNumber"] = int(selection["countNumber"])
        for key in ("tagPrefixList", "tagPatternList"):
            if key in selection:
                selection[key] = sorted(selection[key])
        rules.append(rule)
    return {"rules": sorted(rules, key=lambda r: r["rulePriority"])}
