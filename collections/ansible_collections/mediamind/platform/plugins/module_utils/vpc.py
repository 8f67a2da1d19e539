"""boto3 calls behind the vpc role's own module (vpc_flow_log).

Neither amazon.aws nor community.aws 10 ships a VPC flow log module, so these
wrap the EC2 flow log and tag APIs, each with the project's retry policy.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.mediamind.platform.plugins.module_utils.common import aws_retry, dict_to_tags, tags_to_dict


@aws_retry
def describe_flow_logs(client, resource_id: str, log_group_name: str | None = None) -> list[dict[str, Any]]:
    """Every flow log of `resource_id` (optionally only those writing to `log_group_name`)."""
    filters = [{"Name": "resource-id", "Values": [resource_id]}]
    if log_group_name:
        filters.append({"Name": "log-group-name", "Values": [log_group_name]})
    paginator = client.get_paginator("describe_flow_logs")
    return paginator.paginate(Filters=filters).build_full_result()["FlowLogs"]


@aws_retry
def create_flow_log(client, request: dict[str, Any]) -> str:
    result = client.create_flow_logs(**request)
    if result.get("Unsuccessful"):
        # The API reports per-resource failures in the body, not as an error.
        error = result["Unsuccessful"][0].get("Error", {})
        raise RuntimeError(f"{error.get('Code')}: {error.get('Message')}")
    return result["FlowLogIds"][0]


@aws_retry
def delete_flow_logs(client, flow_log_ids: list[str]) -> None:
    if flow_log_ids:
        client.delete_flow_logs(FlowLogIds=flow_log_ids)


@aws_retry
def set_tags(client, resource_id: str, to_set: dict[str, str], to_remove: list[str]) -> None:
    if to_set:
        client.create_tags(Resources=[resource_id], Tags=dict_to_tags(to_set))
    if to_remove:
        client.delete_tags(Resources=[resource_id], Tags=[{"Key": key} for key in to_remove])


def flow_log_summary(flow_log: dict[str, Any]) -> dict[str, Any]:
    """The settings a flow log is compared on, in the module's option names."""
    return {
        "flow_log_id": flow_log.get("FlowLogId"),
        "resource_id": flow_log.get("ResourceId"),
        "traffic_type": flow_log.get("TrafficType"),
        "log_group_name": flow_log.get("LogGroupName"),
        "deliver_logs_permission_arn": flow_log.get("DeliverLogsPermissionArn"),
        "max_aggregation_interval": flow_log.get("MaxAggregationInterval"),
        "status": flow_log.get("FlowLogStatus"),
        "tags": tags_to_dict(flow_log.get("Tags")),
    }
