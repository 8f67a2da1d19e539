#!/usr/bin/python
"""Manage one VPC flow log that delivers to CloudWatch Logs."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: vpc_flow_log
short_description: Manage a VPC flow log delivering to CloudWatch Logs
description:
  - Ensures that a resource (a VPC by default) has exactly one flow log writing to O(log_group_name)
    with the given settings, or that it has none.
  - A flow log cannot be modified in place; when a setting differs the module deletes it and
    creates a new one. Tags are updated in place.
  - Neither amazon.aws nor community.aws 10 has a flow log module; this one follows amazon.aws' ec2_vpc_igw.
options:
  resource_id:
    description: The VPC (or subnet, or network interface) whose traffic is logged.
    required: true
    type: str
  resource_type:
    description: The kind of O(resource_id).
    choices: [VPC, Subnet, NetworkInterface]
    default: VPC
    type: str
  log_group_name:
    description:
      - The CloudWatch Logs group the records go to; identifies the flow log together with O(resource_id).
      - With O(state=absent) and no O(log_group_name), every flow log of the resource is removed.
    type: str
  deliver_logs_permission_arn:
    description:
      - ARN of the IAM role the flow log service assumes to write into the group.
      - Required with O(state=present).
    type: str
  traffic_type:
    description: Which traffic is recorded.
    choices: [ACCEPT, REJECT, ALL]
    default: ALL
    type: str
  max_aggregation_interval:
    description: Seconds over which packets are aggregated into one record.
    choices: [60, 600]
    default: 600
    type: int
  tags:
    description: Tags of the flow log.
    type: dict
    aliases: [resource_tags]
  purge_tags:
    description: Remove tags not in O(tags) (keys starting with C(aws:) are kept).
    default: true
    type: bool
  state:
    description: Whether the flow log exists.
    choices: [present, absent]
    default: present
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Log all traffic of the VPC to CloudWatch Logs
  vpc_flow_log:
    resource_id: vpc-0123456789abcdef0
    log_group_name: /mediamind/vpc/flow-logs
    deliver_logs_permission_arn: arn:aws:iam::123456789012:role/mediamind-vpc-flow-logs
    traffic_type: ALL
    tags:
      Name: mediamind-flow-log

- name: Remove every flow log of the VPC
  vpc_flow_log:
    resource_id: vpc-0123456789abcdef0
    state: absent
"""

RETURN = r"""
flow_log:
  description: The flow log after the change (empty when absent).
  returned: always
  type: dict
  contains:
    flow_log_id: {description: Its id, type: str, sample: fl-0123456789abcdef0}
    resource_id: {description: The logged resource, type: str}
    traffic_type: {description: ACCEPT, REJECT or ALL, type: str}
    log_group_name: {description: Destination log group, type: str}
    deliver_logs_permission_arn: {description: The delivery role, type: str}
    max_aggregation_interval: {description: Seconds per record, type: int}
    status: {description: ACTIVE once created, type: str}
    tags: {description: Its tags, type: dict}
flow_log_ids_removed:
  description: Ids of the flow logs deleted (replaced or absent).
  returned: always
  type: list
  elements: str
"""

import contextlib
from typing import Any

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports the missing dependency
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import boto3_tag_specifications, compare_aws_tags
from ansible_collections.mediamind.platform.plugins.module_utils.common import make_diff
from ansible_collections.mediamind.platform.plugins.module_utils.vpc import (
    create_flow_log,
    delete_flow_logs,
    describe_flow_logs,
    flow_log_summary,
    set_tags,
)

# The settings that cannot change on an existing flow log (a change means replace).
IMMUTABLE = ("traffic_type", "deliver_logs_permission_arn", "max_aggregation_interval")


class FlowLogManager:
    def __init__(self, module: AnsibleAWSModule) -> None:
        self.module = module
        self.params = module.params
        self.client = module.client("ec2")
        self.changed = False
        self.removed: list[str] = []

    def _existing(self) -> list[dict[str, Any]]:
        flow_logs = describe_flow_logs(self.client, self.params["resource_id"], self.params["log_group_name"])
        return [flow_log_summary(f) for f in flow_logs]

    def _wanted(self) -> dict[str, Any]:
        return {
            "resource_id": self.params["resource_id"],
            "traffic_type": self.params["traffic_type"],
            "log_group_name": self.params["log_group_name"],
            "deliver_logs_permission_arn": self.params["deliver_logs_permission_arn"],
            "max_aggregation_interval": self.params["max_aggregation_interval"],
        }

    def _remove(self, flow_log_ids: list[str]) -> None:
        if not flow_log_ids:
            return
        self.changed = True
        self.removed.extend(flow_log_ids)
        if not self.module.check_mode:
            delete_flow_logs(self.client, flow_log_ids)

    def ensure_present(self) -> dict[str, Any]:
        existing = self._existing()
        wanted = self._wanted()
        # Keep the first one that matches every immutable setting; any other
        # flow log to the same group is a leftover or a drifted copy.
        keep = next((f for f in existing if all(f[k] == wanted[k] for k in IMMUTABLE)), None)
        self._remove([f["flow_log_id"] for f in existing if f is not keep])
        before = existing[0] if existing else {}
        tags = self.params["tags"]
        if keep is None:
            self.changed = True
            after = dict(wanted, flow_log_id=None, tags=tags or {})
            if not self.module.check_mode:
                request = {
                    "ResourceIds": [wanted["resource_id"]],
                    "ResourceType": self.params["resource_type"],
                    "TrafficType": wanted["traffic_type"],
                    "LogDestinationType": "cloud-watch-logs",
                    "LogGroupName": wanted["log_group_name"],
                    "DeliverLogsPermissionArn": wanted["deliver_logs_permission_arn"],
                    "MaxAggregationInterval": wanted["max_aggregation_interval"],
                }
                if tags:
                    request["TagSpecifications"] = boto3_tag_specifications(tags, types="vpc-flow-log")
                new_id = create_flow_log(self.client, request)
                after = next((f for f in self._existing() if f["flow_log_id"] == new_id), after)
            return self._result(before, after)
        after = dict(keep)
        if tags is not None:
            to_set, to_remove = compare_aws_tags(keep["tags"], tags, self.params["purge_tags"])
            if to_set or to_remove:
                self.changed = True
                if not self.module.check_mode:
                    set_tags(self.client, keep["flow_log_id"], to_set, to_remove)
                after["tags"] = {k: v for k, v in {**keep["tags"], **to_set}.items() if k not in to_remove}
        return self._result(before, after)

    def ensure_absent(self) -> dict[str, Any]:
        existing = self._existing()
        self._remove([f["flow_log_id"] for f in existing])
        return self._result(existing[0] if existing else {}, {})

    def _result(self, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
        return {
            "changed": self.changed,
            "flow_log": after,
            "flow_log_ids_removed": self.removed,
            "diff": make_diff(before, after),
        }


def main() -> None:
    argument_spec = dict(
        resource_id=dict(type="str", required=True),
        resource_type=dict(type="str", default="VPC", choices=["VPC", "Subnet", "NetworkInterface"]),
        log_group_name=dict(type="str"),
        deliver_logs_permission_arn=dict(type="str"),
        traffic_type=dict(type="str", default="ALL", choices=["ACCEPT", "REJECT", "ALL"]),
        max_aggregation_interval=dict(type="int", default=600, choices=[60, 600]),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("state", "present", ["log_group_name", "deliver_logs_permission_arn"])],
    )
    manager = FlowLogManager(module)
    try:
        present = module.params["state"] == "present"
        result = manager.ensure_present() if present else manager.ensure_absent()
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg="Failed to manage the VPC flow log")
    except RuntimeError as e:
        module.fail_json(msg=f"Failed to create the VPC flow log: {e}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
