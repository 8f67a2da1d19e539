#!/usr/bin/python
"""Manage an ECS Fargate service in private subnets, compared on what the API returns."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ecs_fargate_service
short_description: Manage an ECS Fargate service (awsvpc, load balancer, deployment settings)
description:
  - Ensures that a Fargate service exists in O(cluster) with the given task definition, desired count,
    network configuration, load balancers, health-check grace period and deployment configuration
    (circuit breaker, minimum healthy / maximum percent), or that it does not exist.
  - Describes the service once and compares locally. Only settings the API returns are compared; the
    local emulator omits C(deploymentConfiguration) and C(healthCheckGracePeriodSeconds) from
    C(DescribeServices), so there those are sent on create and on every update but a difference in them
    alone is not detected. The request actually sent (or, in check mode, that would be sent) is returned
    as RV(request) so tests can assert it.
  - O(state=absent) scales the service to 0, then deletes it.
options:
  name:
    description: Service name.
    required: true
    type: str
  cluster:
    description: Cluster name or ARN.
    required: true
    type: str
  task_definition:
    description: Task definition ARN (family:revision or full ARN). Required with O(state=present).
    type: str
  desired_count:
    description: Number of tasks.
    type: int
    default: 1
  preserve_desired_count:
    description: Use O(desired_count) only when creating the service (autoscaling owns it afterwards).
    type: bool
    default: false
  subnets:
    description: Subnets of the tasks' network interfaces.
    type: list
    elements: str
    default: []
  security_groups:
    description: Security groups of the tasks (the emulator requires at least one).
    type: list
    elements: str
    default: []
  assign_public_ip:
    description: Whether tasks get a public IP.
    type: bool
    default: false
  load_balancers:
    description: Target groups the service registers its tasks in.
    type: list
    elements: dict
    default: []
    suboptions:
      target_group_arn: {description: Target group ARN, type: str, required: true}
      container_name: {description: Container receiving traffic, type: str, required: true}
      container_port: {description: Its port, type: int, required: true}
  service_registries:
    description:
      - Cloud Map services the tasks are registered in (their private IPs as A records), e.g. the service
        servicediscovery_dns_service made. An empty list removes the registration.
    type: list
    elements: dict
    default: []
    suboptions:
      registry_arn: {description: Cloud Map service ARN, type: str, required: true}
  health_check_grace_period_seconds:
    description: Seconds ECS ignores load balancer health checks after a task starts (only with load balancers).
    type: int
  minimum_healthy_percent:
    description: Lower bound of running tasks during a deployment, in percent of the desired count.
    type: int
    default: 100
  maximum_percent:
    description: Upper bound of running tasks during a deployment, in percent of the desired count.
    type: int
    default: 200
  circuit_breaker:
    description: Stop a failing deployment.
    type: bool
    default: true
  circuit_breaker_rollback:
    description: Roll back to the last completed deployment when the circuit breaker trips.
    type: bool
    default: true
  platform_version:
    description: Fargate platform version.
    type: str
    default: LATEST
  propagate_tags:
    description: Copy tags to tasks from the service or the task definition.
    choices: [SERVICE, TASK_DEFINITION, NONE]
    default: SERVICE
    type: str
  enable_execute_command:
    description: Allow ECS Exec into the tasks.
    type: bool
    default: false
  tags:
    description: Tags of the service.
    type: dict
    aliases: [resource_tags]
  purge_tags:
    description: Remove tags not in O(tags).
    type: bool
    default: true
  state:
    description: Whether the service exists.
    choices: [present, absent]
    default: present
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Ensure the API service
  ecs_fargate_service:
    name: mediamind-service
    cluster: mediamind
    task_definition: arn:aws:ecs:eu-central-1:123456789012:task-definition/mediamind-service:7
    desired_count: 2
    subnets: [subnet-0a, subnet-0b]
    security_groups: [sg-0123]
    load_balancers:
      - target_group_arn: arn:aws:elasticloadbalancing:eu-central-1:123456789012:targetgroup/mediamind-api/abc
        container_name: mediamind-service
        container_port: 8000
    health_check_grace_period_seconds: 60
"""

RETURN = r"""
service:
  description: The service after the change (the wanted state in check mode; empty when absent).
  returned: always
  type: dict
  contains:
    name: {description: Service name, type: str}
    arn: {description: Service ARN, type: str}
    task_definition: {description: Task definition ARN, type: str}
    desired_count: {description: Desired tasks, type: int}
    subnets: {description: Task subnets, type: list, elements: str}
    security_groups: {description: Task security groups, type: list, elements: str}
    assign_public_ip: {description: ENABLED or DISABLED, type: str}
    load_balancers: {description: Target group attachments, type: list, elements: dict}
    service_registries: {description: Cloud Map registry ARNs, type: list, elements: str}
request:
  description:
    - The CreateService or UpdateService request sent (would be sent in check mode).
    - Empty when nothing changed.
  returned: always
  type: dict
"""

import contextlib
from typing import Any

with contextlib.suppress(ImportError):
    import botocore  # AnsibleAWSModule reports a missing dependency

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags
from ansible_collections.mediamind.platform.plugins.module_utils.common import make_diff, tags_to_dict
from ansible_collections.mediamind.platform.plugins.module_utils.ecs import describe_service


def _summary(service: dict[str, Any]) -> dict[str, Any]:
    """Comparable view; keys the API did not return are left out (emulator gaps)."""
    net = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
    out: dict[str, Any] = {
        "name": service["serviceName"],
        "arn": service.get("serviceArn"),
        "task_definition": service.get("taskDefinition"),
        "desired_count": service.get("desiredCount"),
        "subnets": sorted(net.get("subnets") or []),
        "security_groups": sorted(net.get("securityGroups") or []),
        "assign_public_ip": net.get("assignPublicIp", "DISABLED"),
        "load_balancers": sorted(
            (
                {
                    "target_group_arn": lb.get("targetGroupArn"),
                    "container_name": lb.get("containerName"),
                    "container_port": lb.get("containerPort"),
                }
                for lb in service.get("loadBalancers") or []
            ),
            key=lambda lb: (lb["target_group_arn"], lb["container_name"]),
        ),
        "tags": tags_to_dict([{"Key": t["key"], "Value": t["value"]} for t in service.get("tags") or []]),
    }
    if "serviceRegistries" in service:
        out["service_registries"] = sorted(r["registryArn"] for r in service["serviceRegistries"])
    if "healthCheckGracePeriodSeconds" in service:
        out["health_check_grace_period_seconds"] = service["healthCheckGracePeriodSeconds"]
    deployment = service.get("deploymentConfiguration")
    if deployment:
        breaker = deployment.get("deploymentCircuitBreaker") or {}
        out["deployment"] = {
            "minimum_healthy_percent": deployment.get("minimumHealthyPercent"),
            "maximum_percent": deployment.get("maximumPercent"),
            "circuit_breaker": breaker.get("enable", False),
            "circuit_breaker_rollback": breaker.get("rollback", False),
        }
    if "enableExecuteCommand" in service:
        out["enable_execute_command"] = service["enableExecuteCommand"]
    return out


class ServiceManager:
    def __init__(self, module: AnsibleAWSModule) -> None:
        self.module = module
        self.params = module.params
        self.client = module.client("ecs")
        self.changed = False
        self.request: dict[str, Any] = {}

    def _wanted(self, current: dict[str, Any] | None) -> dict[str, Any]:
        p = self.params
        desired = p["desired_count"]
        if current and p["preserve_desired_count"]:
            desired = current["desired_count"]
        wanted = {
            "name": p["name"],
            "arn": current["arn"] if current else None,
            "task_definition": p["task_definition"],
            "desired_count": desired,
            "subnets": sorted(p["subnets"]),
            "security_groups": sorted(p["security_groups"]),
            "assign_public_ip": "ENABLED" if p["assign_public_ip"] else "DISABLED",
            "load_balancers": sorted(
                (dict(lb) for lb in p["load_balancers"]),
                key=lambda lb: (lb["target_group_arn"], lb["container_name"]),
            ),
            "service_registries": sorted(r["registry_arn"] for r in p["service_registries"]),
            "health_check_grace_period_seconds": p["health_check_grace_period_seconds"],
            "deployment": {
                "minimum_healthy_percent": p["minimum_healthy_percent"],
                "maximum_percent": p["maximum_percent"],
                "circuit_breaker": p["circuit_breaker"],
                "circuit_breaker_rollback": p["circuit_breaker_rollback"],
            },
            "enable_execute_command": p["enable_execute_command"],
            "tags": current["tags"] if current else {},
        }
        if wanted["health_check_grace_period_seconds"] is None:
            wanted.pop("health_check_grace_period_seconds")
        if p["tags"] is not None:
            to_set, to_remove = compare_aws_tags(wanted["tags"], p["tags"], p["purge_tags"])
            wanted["tags"] = {k: v for k, v in {**wanted["tags"], **to_set}.items() if k not in to_remove}
        return wanted

    def _common_request(self, wanted: dict[str, Any]) -> dict[str, Any]:
        request: dict[str, Any] = {
            "cluster": self.params["cluster"],
            "taskDefinition": wanted["task_definition"],
            "desiredCount": wanted["desired_count"],
            "networkConfiguration": {
                "awsvpcConfiguration": {
                    "subnets": wanted["subnets"],
                    "securityGroups": wanted["security_groups"],
                    "assignPublicIp": wanted["assign_public_ip"],
                }
            },
            "loadBalancers": [
                {
                    "targetGroupArn": lb["target_group_arn"],
                    "containerName": lb["container_name"],
                    "containerPort": lb["container_port"],
                }
                for lb in wanted["load_balancers"]
            ],
            "deploymentConfiguration": {
                "deploymentCircuitBreaker": {
                    "enable": wanted["deployment"]["circuit_breaker"],
                    "rollback": wanted["deployment"]["circuit_breaker_rollback"],
                },
                "minimumHealthyPercent": wanted["deployment"]["minimum_healthy_percent"],
                "maximumPercent": wanted["deployment"]["maximum_percent"],
            },
            "platformVersion": self.params["platform_version"],
            "propagateTags": self.params["propagate_tags"],
            "enableExecuteCommand": wanted["enable_execute_command"],
        }
        if wanted["service_registries"]:
            request["serviceRegistries"] = [{"registryArn": arn} for arn in wanted["service_registries"]]
        if "health_check_grace_period_seconds" in wanted:
            request["healthCheckGracePeriodSeconds"] = wanted["health_check_grace_period_seconds"]
        return request

    def ensure_present(self) -> dict[str, Any]:
        raw = describe_service(self.client, self.params["cluster"], self.params["name"])
        current = _summary(raw) if raw else None
        wanted = self._wanted(current)
        if current is None:
            self.changed = True
            self.request = dict(self._common_request(wanted), serviceName=wanted["name"], launchType="FARGATE")
            self.request["enableECSManagedTags"] = True
            if wanted["tags"]:
                self.request["tags"] = [{"key": k, "value": v} for k, v in wanted["tags"].items()]
            after = wanted
            if not self.module.check_mode:
                created = self.client.create_service(**self.request)["service"]
                after = dict(wanted, arn=created["serviceArn"])
            return self._result({}, after)

        # Compare only the keys the API returned (see DOCUMENTATION: emulator gaps).
        compared = [k for k in wanted if k not in ("arn", "tags") and k in current]
        drift = {k for k in compared if current[k] != wanted[k]}
        if drift:
            self.changed = True
            self.request = dict(self._common_request(wanted), service=current["arn"])
            if "service_registries" in drift:
                # UpdateService takes it (an empty list removes it): ECS starts tasks registered the new way.
                self.request["serviceRegistries"] = [{"registryArn": arn} for arn in wanted["service_registries"]]
            if not self.module.check_mode:
                self.client.update_service(**self.request)
        if current["tags"] != wanted["tags"]:
            self.changed = True
            if not self.module.check_mode:
                to_set, to_remove = compare_aws_tags(current["tags"], wanted["tags"], True)
                if to_set:
                    self.client.tag_resource(
                        resourceArn=current["arn"], tags=[{"key": k, "value": v} for k, v in to_set.items()]
                    )
                if to_remove:
                    self.client.untag_resource(resourceArn=current["arn"], tagKeys=to_remove)
        before = {k: current[k] for k in current}
        after = dict(wanted, arn=current["arn"])
        # Show in the diff only what the API can tell us about.
        after = {k: v for k, v in after.items() if k in current or k in ("arn",)}
        return self._result(before, after)

    def ensure_absent(self) -> dict[str, Any]:
        raw = describe_service(self.client, self.params["cluster"], self.params["name"])
        if raw is None:
            return self._result({}, {})
        self.changed = True
        if not self.module.check_mode:
            # Scale to zero first so the tasks drain from the load balancer, then delete.
            if raw.get("desiredCount"):
                self.client.update_service(cluster=self.params["cluster"], service=raw["serviceArn"], desiredCount=0)
            self.client.delete_service(cluster=self.params["cluster"], service=raw["serviceArn"], force=True)
        return self._result(_summary(raw), {})

    def _result(self, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
        return {
            "changed": self.changed,
            "service": after,
            "request": self.request,
            "diff": make_diff(before, after),
        }


def main() -> None:
    argument_spec = dict(
        name=dict(type="str", required=True),
        cluster=dict(type="str", required=True),
        task_definition=dict(type="str"),
        desired_count=dict(type="int", default=1),
        preserve_desired_count=dict(type="bool", default=False),
        subnets=dict(type="list", elements="str", default=[]),
        security_groups=dict(type="list", elements="str", default=[]),
        assign_public_ip=dict(type="bool", default=False),
        load_balancers=dict(
            type="list",
            elements="dict",
            default=[],
            options=dict(
                target_group_arn=dict(type="str", required=True),
                container_name=dict(type="str", required=True),
                container_port=dict(type="int", required=True),
            ),
        ),
        service_registries=dict(
            type="list",
            elements="dict",
            default=[],
            options=dict(registry_arn=dict(type="str", required=True)),
        ),
        health_check_grace_period_seconds=dict(type="int"),
        minimum_healthy_percent=dict(type="int", default=100),
        maximum_percent=dict(type="int", default=200),
        circuit_breaker=dict(type="bool", default=True),
        circuit_breaker_rollback=dict(type="bool", default=True),
        platform_version=dict(type="str", default="LATEST"),
        propagate_tags=dict(type="str", default="SERVICE", choices=["SERVICE", "TASK_DEFINITION", "NONE"]),
        enable_execute_command=dict(type="bool", default=False),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("state", "present", ["task_definition", "subnets", "security_groups"])],
    )
    manager = ServiceManager(module)
    try:
        result = manager.ensure_present() if module.params["state"] == "present" else manager.ensure_absent()
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg=f"Failed to manage the ECS service {module.params['name']}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
