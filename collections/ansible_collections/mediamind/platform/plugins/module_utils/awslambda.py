"""boto3 calls behind the lambda_chatbot role's own modules.

amazon.aws 10 has no module for a bucket's Lambda notification that keeps the
bucket's other notifications (``s3_bucket_notification`` lives in community.aws
and rewrites the whole configuration), nor for a function's asynchronous
invoke configuration or reserved concurrency: these wrap the S3 and Lambda
APIs, each with the project's retry policy.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.mediamind.platform.plugins.module_utils.common import aws_retry

# The parts of a bucket notification configuration; everything but
# ResponseMetadata must be written back untouched.
NOTIFICATION_KINDS = (
    "TopicConfigurations",
    "QueueConfigurations",
    "LambdaFunctionConfigurations",
    "EventBridgeConfiguration",
)


@aws_retry
def get_bucket_notifications(client, bucket: str) -> dict[str, Any]:
    """The whole notification configuration of `bucket` (without response metadata)."""
    result = client.get_bucket_notification_configuration(Bucket=bucket)
    return {k: v for k, v in result.items() if k in NOTIFICATION_KINDS}


@aws_retry
def put_bucket_notifications(client, bucket: str, configuration: dict[str, Any]) -> None:
    client.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=configuration)


def normalize_lambda_notification(entry: dict[str, Any]) -> dict[str, Any]:
    """A comparable form of one LambdaFunctionConfigurations entry.

    S3 returns filter rule names as `Prefix`/`Suffix` while requests may use
    lower case, and the order of events and rules is not significant.
    """
    rules = entry.get("Filter", {}).get("Key", {}).get("FilterRules", [])
    return {
        "Id": entry.get("Id"),
        "LambdaFunctionArn": entry.get("LambdaFunctionArn"),
        "Events": sorted(entry.get("Events", [])),
        "FilterRules": sorted((r["Name"].lower(), r["Value"]) for r in rules),
    }


@aws_retry
def get_function_configuration(client, name: str) -> dict[str, Any] | None:
    try:
        return client.get_function(FunctionName=name)
    except client.exceptions.ResourceNotFoundException:
        return None


@aws_retry
def get_event_invoke_config(client, name: str) -> dict[str, Any] | None:
    try:
        result = client.get_function_event_invoke_config(FunctionName=name)
    except client.exceptions.ResourceNotFoundException:
        return None
    return {k: v for k, v in result.items() if k != "ResponseMetadata"}


@aws_retry
def put_event_invoke_config(client, name: str, request: dict[str, Any]) -> None:
    # put (not update) replaces the whole configuration: fields we do not set are reset.
    client.put_function_event_invoke_config(FunctionName=name, **request)


@aws_retry
def delete_event_invoke_config(client, name: str) -> None:
    client.delete_function_event_invoke_config(FunctionName=name)


@aws_retry
def put_reserved_concurrency(client, name: str, value: int) -> None:
    client.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=value)


@aws_retry
def delete_reserved_concurrency(client, name: str) -> None:
    client.delete_function_concurrency(FunctionName=name)
