#!/usr/bin/python
"""Manage one ELBv2 target group, with a truthful check mode."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: elbv2_target_group
short_description: Manage an Application Load Balancer target group (check mode included)
description:
  - Creates, updates or deletes the target group O(name). The target group is described once and
    compared locally; health check settings, attributes and tags are changed in place.
  - O(protocol), O(port), O(vpc_id), O(target_type) and O(protocol_version) cannot change on an existing
    target group; a difference fails with a message instead of silently replacing a group that rules
    and services point at.
  - Written because community.aws.elb_target_group (10.x) has no check mode; registering targets is
    left to ECS, which does it for services with a load balancer.
options:
  name:
    description: Name of the target group (unique per account and region, at most 32 characters).
    required: true
    type: str
  state:
    description: Whether the target group exists. Deleting fails while a listener or rule still uses it.
    choices: [present, absent]
    default: present
    type: str
  protocol:
    description: Protocol from the load balancer to the targets.
    choices: [HTTP, HTTPS]
    default: HTTP
    type: str
  protocol_version:
    description: HTTP version towards the targets.
    choices: [HTTP1, HTTP2, GRPC]
    default: HTTP1
    type: str
  port:
    description: Port the targets listen on. Required with O(state=present).
    type: int
  vpc_id:
    description: VPC of the targets. Required with O(state=present).
    type: str
  target_type:
    description: How targets are registered; Fargate tasks (awsvpc) need C(ip).
    choices: [ip, instance]
    default: ip
    type: str
  health_check:
    description: Health check settings.
    type: dict
    default: {}
    suboptions:
      path: {description: Request path., type: str, default: /}
      matcher: {description: HTTP codes counted as healthy (C(200), C(200-299), C(200,204))., type: str, default: "200"}
      interval_seconds: {description: Seconds between checks., type: int, default: 30}
      timeout_seconds: {description: Seconds without answer that fail a check., type: int, default: 5}
      healthy_threshold: {description: Consecutive successes to become healthy., type: int, default: 5}
      unhealthy_threshold: {description: Consecutive failures to become unhealthy., type: int, default: 2}
      protocol: {description: Protocol of the check., type: str, choices: [HTTP, HTTPS], default: HTTP}
      port: {description: Port of the check; C(traffic-port) is the target's port., type: str, default: traffic-port}
  attributes:
    description:
      - Target group attributes to set (for instance C(deregistration_delay.timeout_seconds)); values as strings.
      - Attributes not listed keep their current value.
    type: dict
    default: {}
  tags:
    description: Tags of the target group.
    type: dict
    aliases: [resource_tags]
  purge_tags:
    description: Remove tags not in O(tags).
    type: bool
    default: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Target group of the API's Fargate tasks
  elbv2_target_group:
    name: example-api
    port: 8000
    vpc_id: vpc-0123456789abcdef0
    health_check:
      path: /api/v1/healthcheck
      matcher: "200"
    attributes:
      deregistration_delay.timeout_seconds: "30"
"""

RETURN = r"""
target_group:
  description: The target group after the run (in check mode before creation, the wanted settings without ARN).
  returned: when O(state=present)
  type: dict
  contains:
    target_group_arn: {description: ARN (empty in check mode before creation)., type: str}
    target_group_name: {description: Name., type: str}
    port: {description: Port., type: int}
    health_check_path: {description: Health check path., type: str}
    matcher: {description: Healthy HTTP codes., type: dict}
    attributes: {description: The attributes, as a dict., type: dict}
    tags: {description: Tags., type: dict}
"""

import contextlib
from typing import Any

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports the missing dependency
    from botocore.exceptions import BotoCoreError, ClientError

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags
from ansible_collections.mediamind.platform.plugins.module_utils.common import (
    dict_to_tags,
    make_diff,
    tags_to_dict,
)
from ansible_collections.mediamind.platform.plugins.module_utils.elbv2 import call, find_target_group

# health_check option -> API field of create/modify_target_group.
_HEALTH_FIELDS = {
    "path": "HealthCheckPath",
    "interval_seconds": "HealthCheckIntervalSeconds",
    "timeout_seconds": "HealthCheckTimeoutSeconds",
    "healthy_threshold": "HealthyThresholdCount",
    "unhealthy_threshold": "UnhealthyThresholdCount",
    "protocol": "HealthCheckProtocol",
    "port": "HealthCheckPort",
}
_IMMUTABLE = {
    "protocol": "Protocol",
    "port": "Port",
    "vpc_id": "VpcId",
    "target_type": "TargetType",
    "protocol_version": "ProtocolVersion",
}


class TargetGroupManager:
    def __init__(self, module: AnsibleAWSModule) -> None:
        self.module = module
        self.client = module.client("elbv2")
        self.params = module.params
        self.check_mode = module.check_mode
        self.changed = False

    def _health_request(self) -> dict[str, Any]:
        health = self.params["health_check"]
        request: dict[str, Any] = {api: health[opt] for opt, api in _HEALTH_FIELDS.items()}
        request["HealthCheckEnabled"] = True
        request["Matcher"] = {"HttpCode": health["matcher"]}
        return request

    def _snapshot(self, group: dict[str, Any], attributes: dict[str, str], tags: dict[str, str]) -> dict[str, Any]:
        out = camel_dict_to_snake_dict({k: v for k, v in group.items() if k != "LoadBalancerArns"})
        out["load_balancer_arns"] = sorted(set(group.get("LoadBalancerArns") or []))
        out["attributes"] = attributes
        out["tags"] = tags
        return out

    def _attributes(self, arn: str) -> dict[str, str]:
        raw = call(self.client, "describe_target_group_attributes", TargetGroupArn=arn)["Attributes"]
        return {a["Key"]: a["Value"] for a in raw}

    def _tags(self, arn: str) -> dict[str, str]:
        described = call(self.client, "describe_tags", ResourceArns=[arn])["TagDescriptions"]
        return tags_to_dict(described[0]["Tags"] if described else [])

    def ensure_present(self) -> dict[str, Any]:
        for required in ("port", "vpc_id"):
            if self.params[required] is None:
                self.module.fail_json(msg=f"{required} is required with state=present")
        wanted_attributes = {k: str(v) for k, v in self.params["attributes"].items()}
        wanted_tags = self.params["tags"]
        group = find_target_group(self.client, self.params["name"])
        if group is None:
            return self._create(wanted_attributes, wanted_tags or {})

        arn = group["TargetGroupArn"]
        for option, field in _IMMUTABLE.items():
            if field in group and self.params[option] != group[field]:
                self.module.fail_json(
                    msg=f"target group {self.params['name']}: {option} is {group[field]!r}, wanted "
                    f"{self.params[option]!r}; it cannot change in place (delete the group or pick a new name)"
                )
        attributes = self._attributes(arn)
        tags = self._tags(arn)
        before = self._snapshot(group, attributes, tags)

        health = self._health_request()
        health_changes = {k: v for k, v in health.items() if group.get(k) != v}
        attr_changes = {k: v for k, v in wanted_attributes.items() if attributes.get(k) != v}
        to_set, to_remove = (
            compare_aws_tags(tags, wanted_tags, self.params["purge_tags"]) if wanted_tags is not None else ({}, [])
        )
        self.changed = bool(health_changes or attr_changes or to_set or to_remove)
        after_group = {**group, **health_changes}
        if self.changed and not self.check_mode:
            if health_changes:
                after_group = call(self.client, "modify_target_group", TargetGroupArn=arn, **health_changes)[
                    "TargetGroups"
                ][0]
            if attr_changes:
                call(
                    self.client,
                    "modify_target_group_attributes",
                    TargetGroupArn=arn,
                    Attributes=[{"Key": k, "Value": v} for k, v in attr_changes.items()],
                )
            if to_remove:
                call(self.client, "remove_tags", ResourceArns=[arn], TagKeys=to_remove)
            if to_set:
                call(self.client, "add_tags", ResourceArns=[arn], Tags=dict_to_tags(to_set))
        after_tags = {k: v for k, v in {**tags, **to_set}.items() if k not in to_remove}
        after = self._snapshot(after_group, {**attributes, **attr_changes}, after_tags)
        return {"changed": self.changed, "target_group": after, "diff": make_diff(before, after)}

    def _create(self, attributes: dict[str, str], tags: dict[str, str]) -> dict[str, Any]:
        request: dict[str, Any] = {
            "Name": self.params["name"],
            **{field: self.params[option] for option, field in _IMMUTABLE.items()},
            **self._health_request(),
        }
        if tags:
            request["Tags"] = dict_to_tags(tags)
        if self.check_mode:
            wanted = {k: v for k, v in request.items() if k not in ("Name", "Tags")}
            wanted.update({"TargetGroupName": self.params["name"], "TargetGroupArn": ""})
            after = self._snapshot(wanted, attributes, tags)
            return {"changed": True, "target_group": after, "diff": make_diff({}, after)}
        group = call(self.client, "create_target_group", **request)["TargetGroups"][0]
        if attributes:
            call(
                self.client,
                "modify_target_group_attributes",
                TargetGroupArn=group["TargetGroupArn"],
                Attributes=[{"Key": k, "Value": v} for k, v in attributes.items()],
            )
        after = self._snapshot(group, self._attributes(group["TargetGroupArn"]), tags)
        return {"changed": True, "target_group": after, "diff": make_diff({}, after)}

    def ensure_absent(self) -> dict[str, Any]:
        group = find_target_group(self.client, self.params["name"])
        if group is None:
            return {"changed": False}
        if not self.check_mode:
            call(self.client, "delete_target_group", TargetGroupArn=group["TargetGroupArn"])
        before = camel_dict_to_snake_dict({k: v for k, v in group.items() if k != "LoadBalancerArns"})
        return {"changed": True, "diff": make_diff(before, {})}


def main() -> None:
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        protocol=dict(type="str", default="HTTP", choices=["HTTP", "HTTPS"]),
        protocol_version=dict(type="str", default="HTTP1", choices=["HTTP1", "HTTP2", "GRPC"]),
        port=dict(type="int"),
        vpc_id=dict(type="str"),
        target_type=dict(type="str", default="ip", choices=["ip", "instance"]),
        health_check=dict(
            type="dict",
            default={},
            options=dict(
                path=dict(type="str", default="/"),
                matcher=dict(type="str", default="200"),
                interval_seconds=dict(type="int", default=30),
                timeout_seconds=dict(type="int", default=5),
                healthy_threshold=dict(type="int", default=5),
                unhealthy_threshold=dict(type="int", default=2),
                protocol=dict(type="str", default="HTTP", choices=["HTTP", "HTTPS"]),
                port=dict(type="str", default="traffic-port"),
            ),
        ),
        attributes=dict(type="dict", default={}),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    manager = TargetGroupManager(module)
    try:
        result = manager.ensure_present() if module.params["state"] == "present" else manager.ensure_absent()
    except (BotoCoreError, ClientError) as exc:
        module.fail_json_aws(exc, msg=f"managing target group {module.params['name']} failed")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
