#!/usr/bin/python
"""CPU target-tracking autoscaling of an ECS service (application-autoscaling)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ecs_service_autoscaling
short_description: Manage CPU target-tracking autoscaling of an ECS service
description:
  - Ensures the scalable target C(service/<cluster>/<service>) (dimension C(ecs:service:DesiredCount)) with the
    given bounds and one target-tracking policy on C(ECSServiceAverageCPUUtilization), or that neither exists.
  - Written because community.aws.application_autoscaling_policy calls the API in check mode and compares
    the policy configuration without normalising numbers (60 vs 60.0), so it is neither check-mode safe
    nor idempotent. Describes once, compares locally, supports check mode and returns a diff.
options:
  cluster:
    description: Cluster name.
    required: true
    type: str
  service:
    description: Service name.
    required: true
    type: str
  min_capacity:
    description: Fewest tasks.
    type: int
    default: 1
  max_capacity:
    description: Most tasks.
    type: int
    default: 4
  cpu_target:
    description: Average CPU utilisation (percent) the policy keeps the service at.
    type: float
    default: 60
  scale_in_cooldown:
    description: Seconds after a scale-in before another.
    type: int
    default: 300
  scale_out_cooldown:
    description: Seconds after a scale-out before another.
    type: int
    default: 60
  policy_name:
    description: Name of the policy.
    type: str
    default: cpu-target-tracking
  state:
    description: Whether the scalable target and the policy exist.
    choices: [present, absent]
    default: present
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Scale the API between 2 and 6 tasks at 60 % CPU
  ecs_service_autoscaling:
    cluster: mediamind
    service: mediamind-service
    min_capacity: 2
    max_capacity: 6
    cpu_target: 60
"""

RETURN = r"""
autoscaling:
  description: The scalable target and policy after the change (empty when absent).
  returned: always
  type: dict
  contains:
    resource_id: {description: service/<cluster>/<service>, type: str}
    min_capacity: {description: Fewest tasks, type: int}
    max_capacity: {description: Most tasks, type: int}
    cpu_target: {description: Target CPU percent, type: float}
    scale_in_cooldown: {description: Seconds, type: int}
    scale_out_cooldown: {description: Seconds, type: int}
"""

import contextlib
from typing import Any

with contextlib.suppress(ImportError):
    import botocore  # AnsibleAWSModule reports a missing dependency

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.mediamind.platform.plugins.module_utils.common import aws_retry, make_diff

NAMESPACE = "ecs"
DIMENSION = "ecs:service:DesiredCount"
METRIC = "ECSServiceAverageCPUUtilization"


class AutoscalingManager:
    def __init__(self, module: AnsibleAWSModule) -> None:
        self.module = module
        self.params = module.params
        self.client = module.client("application-autoscaling")
        self.resource_id = f"service/{self.params['cluster']}/{self.params['service']}"
        self.changed = False

    @aws_retry
    def _current(self) -> dict[str, Any]:
        targets = self.client.describe_scalable_targets(
            ServiceNamespace=NAMESPACE, ResourceIds=[self.resource_id], ScalableDimension=DIMENSION
        ).get("ScalableTargets", [])
        if not targets:
            return {}
        current: dict[str, Any] = {
            "resource_id": self.resource_id,
            "min_capacity": targets[0]["MinCapacity"],
            "max_capacity": targets[0]["MaxCapacity"],
        }
        policies = self.client.describe_scaling_policies(
            ServiceNamespace=NAMESPACE,
            ResourceId=self.resource_id,
            ScalableDimension=DIMENSION,
            PolicyNames=[self.params["policy_name"]],
        ).get("ScalingPolicies", [])
        if policies:
            config = policies[0].get("TargetTrackingScalingPolicyConfiguration") or {}
            current.update(
                cpu_target=float(config.get("TargetValue", 0)),
                metric=(config.get("PredefinedMetricSpecification") or {}).get("PredefinedMetricType"),
                scale_in_cooldown=config.get("ScaleInCooldown"),
                scale_out_cooldown=config.get("ScaleOutCooldown"),
            )
        return current

    def ensure_present(self) -> dict[str, Any]:
        p = self.params
        before = self._current()
        wanted = {
            "resource_id": self.resource_id,
            "min_capacity": p["min_capacity"],
            "max_capacity": p["max_capacity"],
            "cpu_target": float(p["cpu_target"]),
            "metric": METRIC,
            "scale_in_cooldown": p["scale_in_cooldown"],
            "scale_out_cooldown": p["scale_out_cooldown"],
        }
        target_keys = ("min_capacity", "max_capacity")
        if any(before.get(k) != wanted[k] for k in target_keys):
            self.changed = True
            if not self.module.check_mode:
                self.client.register_scalable_target(
                    ServiceNamespace=NAMESPACE,
                    ResourceId=self.resource_id,
                    ScalableDimension=DIMENSION,
                    MinCapacity=wanted["min_capacity"],
                    MaxCapacity=wanted["max_capacity"],
                )
        policy_keys = ("cpu_target", "metric", "scale_in_cooldown", "scale_out_cooldown")
        if any(before.get(k) != wanted[k] for k in policy_keys):
            self.changed = True
            if not self.module.check_mode:
                self.client.put_scaling_policy(
                    PolicyName=p["policy_name"],
                    ServiceNamespace=NAMESPACE,
                    ResourceId=self.resource_id,
                    ScalableDimension=DIMENSION,
                    PolicyType="TargetTrackingScaling",
                    TargetTrackingScalingPolicyConfiguration={
                        "TargetValue": wanted["cpu_target"],
                        "PredefinedMetricSpecification": {"PredefinedMetricType": METRIC},
                        "ScaleInCooldown": wanted["scale_in_cooldown"],
                        "ScaleOutCooldown": wanted["scale_out_cooldown"],
                    },
                )
        return self._result(before, wanted)

    def ensure_absent(self) -> dict[str, Any]:
        before = self._current()
        if before:
            self.changed = True
            if not self.module.check_mode:
                if "metric" in before:
                    self.client.delete_scaling_policy(
                        PolicyName=self.params["policy_name"],
                        ServiceNamespace=NAMESPACE,
                        ResourceId=self.resource_id,
                        ScalableDimension=DIMENSION,
                    )
                # Deregistering the target also removes any other policy on it.
                self.client.deregister_scalable_target(
                    ServiceNamespace=NAMESPACE, ResourceId=self.resource_id, ScalableDimension=DIMENSION
                )
        return self._result(before, {})

    def _result(self, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
        return {"changed": self.changed, "autoscaling": after, "diff": make_diff(before, after)}


def main() -> None:
    argument_spec = dict(
        cluster=dict(type="str", required=True),
        service=dict(type="str", required=True),
        min_capacity=dict(type="int", default=1),
        max_capacity=dict(type="int", default=4),
        cpu_target=dict(type="float", default=60),
        scale_in_cooldown=dict(type="int", default=300),
        scale_out_cooldown=dict(type="int", default=60),
        policy_name=dict(type="str", default="cpu-target-tracking"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    manager = AutoscalingManager(module)
    try:
        result = manager.ensure_present() if module.params["state"] == "present" else manager.ensure_absent()
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg=f"Failed to manage the autoscaling of {module.params['service']}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
