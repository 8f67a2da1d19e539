#!/usr/bin/python
"""Manage an ECS cluster for Fargate: Container Insights, capacity providers, tags."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ecs_fargate_cluster
short_description: Manage an ECS cluster (Container Insights, Fargate capacity providers, tags)
description:
  - Ensures that an ECS cluster exists with the given Container Insights setting, capacity providers,
    default capacity provider strategy and tags, or that it does not exist.
  - Written because community.aws.ecs_cluster fails on a second run against the local emulator and
    does not manage cluster settings; it describes the cluster once, compares locally, supports check
    mode and returns a diff.
  - Settings are changed with C(UpdateCluster) (the emulator answers C(UpdateClusterSettings) with an error).
options:
  name:
    description: Name of the cluster.
    required: true
    type: str
  container_insights:
    description: The C(containerInsights) cluster setting.
    choices: [enabled, disabled, enhanced]
    default: enabled
    type: str
  capacity_providers:
    description: Capacity providers of the cluster.
    type: list
    elements: str
    default: [FARGATE, FARGATE_SPOT]
  default_capacity_provider_strategy:
    description: The strategy services use when they name no launch type or strategy.
    type: list
    elements: dict
    default: []
    suboptions:
      capacity_provider: {description: Provider name, type: str, required: true}
      weight: {description: Relative weight, type: int, default: 1}
      base: {description: Tasks placed on this provider first, type: int, default: 0}
  tags:
    description: Tags of the cluster.
    type: dict
    aliases: [resource_tags]
  purge_tags:
    description: Remove tags not in O(tags).
    default: true
    type: bool
  state:
    description: Whether the cluster exists. Deleting fails while services are still active in it.
    choices: [present, absent]
    default: present
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Ensure the cluster exists with Container Insights
  ecs_fargate_cluster:
    name: mediamind
    container_insights: enabled
    capacity_providers: [FARGATE, FARGATE_SPOT]
    default_capacity_provider_strategy:
      - capacity_provider: FARGATE
        weight: 1
    tags:
      Project: mediamind
"""

RETURN = r"""
cluster:
  description: The cluster after the change (empty when absent).
  returned: always
  type: dict
  contains:
    name: {description: Cluster name, type: str}
    arn: {description: Cluster ARN, type: str}
    container_insights: {description: The containerInsights setting, type: str}
    capacity_providers: {description: Capacity providers, type: list, elements: str}
    default_capacity_provider_strategy: {description: Default strategy, type: list, elements: dict}
    tags: {description: Tags, type: dict}
"""

import contextlib
from typing import Any

with contextlib.suppress(ImportError):
    import botocore  # AnsibleAWSModule reports a missing dependency

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags
from ansible_collections.mediamind.platform.plugins.module_utils.common import (
    aws_retry,
    make_diff,
    tags_to_dict,
)
from ansible_collections.mediamind.platform.plugins.module_utils.ecs import describe_cluster


def _summary(cluster: dict[str, Any]) -> dict[str, Any]:
    settings = {s["name"]: s["value"] for s in cluster.get("settings") or []}
    return {
        "name": cluster["clusterName"],
        "arn": cluster.get("clusterArn"),
        "container_insights": settings.get("containerInsights", "disabled"),
        "capacity_providers": sorted(cluster.get("capacityProviders") or []),
        "default_capacity_provider_strategy": sorted(
            (
                {
                    "capacity_provider": s["capacityProvider"],
                    "weight": s.get("weight", 0),
                    "base": s.get("base", 0),
                }
                for s in cluster.get("defaultCapacityProviderStrategy") or []
            ),
            key=lambda s: s["capacity_provider"],
        ),
        # ECS tags are lower-case key/value: normalise to the Title case helper.
        "tags": tags_to_dict([{"Key": t["key"], "Value": t["value"]} for t in cluster.get("tags") or []]),
    }


def _ecs_tags(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in tags.items()]


class ClusterManager:
    def __init__(self, module: AnsibleAWSModule) -> None:
        self.module = module
        self.params = module.params
        self.client = module.client("ecs", retry_decorator=aws_retry)
        self.changed = False

    def _wanted(self, current: dict[str, Any] | None) -> dict[str, Any]:
        wanted = {
            "name": self.params["name"],
            "arn": current["arn"] if current else None,
            "container_insights": self.params["container_insights"],
            "capacity_providers": sorted(self.params["capacity_providers"]),
            "default_capacity_provider_strategy": sorted(
                (dict(s) for s in self.params["default_capacity_provider_strategy"]),
                key=lambda s: s["capacity_provider"],
            ),
            "tags": current["tags"] if current else {},
        }
        if self.params["tags"] is not None:
            to_set, to_remove = compare_aws_tags(wanted["tags"], self.params["tags"], self.params["purge_tags"])
            wanted["tags"] = {k: v for k, v in {**wanted["tags"], **to_set}.items() if k not in to_remove}
        return wanted

    def _strategy_request(self, wanted: dict[str, Any]) -> list[dict[str, Any]]:
        return [
            {"capacityProvider": s["capacity_provider"], "weight": s["weight"], "base": s["base"]}
            for s in wanted["default_capacity_provider_strategy"]
        ]

    def ensure_present(self) -> dict[str, Any]:
        raw = describe_cluster(self.client, self.params["name"])
        current = _summary(raw) if raw else None
        wanted = self._wanted(current)
        if current is None:
            self.changed = True
            after = wanted
            if not self.module.check_mode:
                request: dict[str, Any] = {
                    "clusterName": wanted["name"],
                    "settings": [{"name": "containerInsights", "value": wanted["container_insights"]}],
                    "capacityProviders": wanted["capacity_providers"],
                    "defaultCapacityProviderStrategy": self._strategy_request(wanted),
                }
                if wanted["tags"]:
                    request["tags"] = _ecs_tags(wanted["tags"])
                self.client.create_cluster(aws_retry=True, **request)
                after = _summary(describe_cluster(self.client, wanted["name"]))
            return self._result({}, after)

        arn = current["arn"]
        if current["container_insights"] != wanted["container_insights"]:
            self.changed = True
            if not self.module.check_mode:
                self.client.update_cluster(
                    aws_retry=True,
                    cluster=arn,
                    settings=[{"name": "containerInsights", "value": wanted["container_insights"]}],
                )
        if (
            current["capacity_providers"] != wanted["capacity_providers"]
            or current["default_capacity_provider_strategy"] != wanted["default_capacity_provider_strategy"]
        ):
            self.changed = True
            if not self.module.check_mode:
                self.client.put_cluster_capacity_providers(
                    aws_retry=True,
                    cluster=arn,
                    capacityProviders=wanted["capacity_providers"],
                    defaultCapacityProviderStrategy=self._strategy_request(wanted),
                )
        if current["tags"] != wanted["tags"]:
            self.changed = True
            if not self.module.check_mode:
                to_set, to_remove = compare_aws_tags(current["tags"], wanted["tags"], True)
                if to_set:
                    self.client.tag_resource(aws_retry=True, resourceArn=arn, tags=_ecs_tags(to_set))
                if to_remove:
                    self.client.untag_resource(aws_retry=True, resourceArn=arn, tagKeys=to_remove)
        after = wanted
        if self.changed and not self.module.check_mode:
            after = _summary(describe_cluster(self.client, wanted["name"]))
        return self._result(current, after)

    def ensure_absent(self) -> dict[str, Any]:
        raw = describe_cluster(self.client, self.params["name"])
        if raw is None:
            return self._result({}, {})
        self.changed = True
        if not self.module.check_mode:
            self.client.delete_cluster(aws_retry=True, cluster=raw["clusterArn"])
        return self._result(_summary(raw), {})

    def _result(self, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
        return {"changed": self.changed, "cluster": after, "diff": make_diff(before, after)}


def main() -> None:
    argument_spec = dict(
        name=dict(type="str", required=True),
        container_insights=dict(type="str", default="enabled", choices=["enabled", "disabled", "enhanced"]),
        capacity_providers=dict(type="list", elements="str", default=["FARGATE", "FARGATE_SPOT"]),
        default_capacity_provider_strategy=dict(
            type="list",
            elements="dict",
            default=[],
            options=dict(
                capacity_provider=dict(type="str", required=True),
                weight=dict(type="int", default=1),
                base=dict(type="int", default=0),
            ),
        ),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    manager = ClusterManager(module)
    try:
        result = manager.ensure_present() if module.params["state"] == "present" else manager.ensure_absent()
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg=f"Failed to manage the ECS cluster {module.params['name']}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
