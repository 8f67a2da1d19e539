#!/usr/bin/python
"""Register an ECS task definition revision only when it differs from the latest ACTIVE one."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ecs_taskdef
short_description: Idempotent ECS task definitions (Fargate), keeping a released image
description:
  - Compares the wanted task definition with the latest ACTIVE revision of O(family) after
    normalising both (API defaults such as container cpu 0, empty lists, hostPort in awsvpc mode and an
    EFS rootDirectory of "/" are ignored; environment and secrets are compared as sets by name) and
    registers a new revision only when the container definitions, cpu, memory, roles, network mode,
    runtime platform or volumes differ.
  - Written because community.aws.ecs_taskdefinition registers a new revision on every run when
    containers carry C(secrets).
  - With O(keep_current_image=true), each container keeps the image of the same-named container in the
    latest ACTIVE revision (the one a release registered), so an infrastructure run never reverts a
    release; the given image is used only when there is no revision yet or the container is new.
  - O(state=absent) deregisters every ACTIVE revision of the family and asks ECS to delete them.
options:
  family:
    description: Task definition family.
    required: true
    type: str
  containers:
    description: Container definitions in the ECS API shape (camelCase keys, as for RegisterTaskDefinition).
    type: list
    elements: dict
    default: []
  cpu:
    description: Task CPU units (Fargate combinations, e.g. 256, 512, 1024, 2048).
    type: str
  memory:
    description: Task memory in MiB.
    type: str
  network_mode:
    description: Network mode; Fargate requires awsvpc.
    default: awsvpc
    type: str
  launch_types:
    description: C(requiresCompatibilities).
    type: list
    elements: str
    default: [FARGATE]
  execution_role_arn:
    description: Role the ECS agent uses to pull images, read secrets and write logs.
    type: str
  task_role_arn:
    description: Role the application's code runs as.
    type: str
  volumes:
    description: Volumes in the ECS API shape (e.g. with C(efsVolumeConfiguration)).
    type: list
    elements: dict
    default: []
  runtime_platform:
    description: C(runtimePlatform) in the API shape, for example C(cpuArchitecture=X86_64).
    type: dict
  keep_current_image:
    description: Keep each container's image from the latest ACTIVE revision (see description).
    type: bool
    default: false
  tags:
    description: Tags of a newly registered revision (existing revisions are not re-tagged).
    type: dict
    aliases: [resource_tags]
  state:
    description: present registers when needed; absent deregisters and deletes every ACTIVE revision.
    choices: [present, absent]
    default: present
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Ensure the scheduler's task definition
  ecs_taskdef:
    family: mediamind-scheduler
    cpu: "256"
    memory: "512"
    execution_role_arn: arn:aws:iam::123456789012:role/mediamind-scheduler-execution
    task_role_arn: arn:aws:iam::123456789012:role/mediamind-scheduler-task
    keep_current_image: true
    containers:
      - name: mediamind-scheduler
        image: 123456789012.dkr.ecr.eu-central-1.amazonaws.com/mediamind-scheduler:latest-release
        essential: true
        environment:
          - {name: QUEUE_NAME, value: mediamind}
        secrets:
          - name: REDIS_URL
            valueFrom: "arn:aws:secretsmanager:eu-central-1:123456789012:secret:mediamind/app-env-AbCdEf:REDIS_URL::"
"""

RETURN = r"""
task_definition:
  description: The revision in force after the run (the wanted one in check mode; empty when absent).
  returned: always
  type: dict
  contains:
    arn: {description: Revision ARN (in check mode the ARN the next revision will get), type: str}
    family: {description: Family, type: str}
    revision: {description: Revision number, type: int}
    images: {description: Image per container name, type: dict}
registered:
  description: Whether a new revision was (or in check mode would be) registered.
  returned: always
  type: bool
images_kept:
  description: Containers whose image was taken from the latest ACTIVE revision.
  returned: always
  type: list
  elements: str
deregistered:
  description: ARNs deregistered (absent).
  returned: always
  type: list
  elements: str
"""

import contextlib
import copy
from typing import Any

with contextlib.suppress(ImportError):
    import botocore  # AnsibleAWSModule reports a missing dependency

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.mediamind.platform.plugins.module_utils.common import make_diff
from ansible_collections.mediamind.platform.plugins.module_utils.ecs import (
    latest_task_definition,
    normalise_task_definition,
    task_definition_arns,
)


class TaskDefinitionManager:
    def __init__(self, module: AnsibleAWSModule) -> None:
        self.module = module
        self.params = module.params
        self.client = module.client("ecs")
        self.changed = False

    def _request(self, latest: dict[str, Any] | None) -> tuple[dict[str, Any], list[str]]:
        containers = copy.deepcopy(self.params["containers"])
        kept: list[str] = []
        if self.params["keep_current_image"] and latest:
            current_images = {c["name"]: c["image"] for c in latest.get("containerDefinitions", [])}
            for container in containers:
                image = current_images.get(container["name"])
                if image and image != container.get("image"):
                    container["image"] = image
                    kept.append(container["name"])
        request: dict[str, Any] = {
            "family": self.params["family"],
            "containerDefinitions": containers,
            "networkMode": self.params["network_mode"],
            "requiresCompatibilities": self.params["launch_types"],
        }
        optional = {
            "cpu": self.params["cpu"],
            "memory": self.params["memory"],
            "executionRoleArn": self.params["execution_role_arn"],
            "taskRoleArn": self.params["task_role_arn"],
            "volumes": self.params["volumes"] or None,
            "runtimePlatform": self.params["runtime_platform"],
        }
        request.update({k: v for k, v in optional.items() if v is not None})
        if self.params["tags"]:
            request["tags"] = [{"key": k, "value": v} for k, v in self.params["tags"].items()]
        return request, kept

    def _predicted_arn(self, latest: dict[str, Any] | None, revision: int) -> str:
        if latest:
            prefix = latest["taskDefinitionArn"].rsplit(":", 1)[0]
            return f"{prefix}:{revision}"
        account = self.module.client("sts").get_caller_identity()["Account"]
        region = self.module.region
        return f"arn:aws:ecs:{region}:{account}:task-definition/{self.params['family']}:{revision}"

    @staticmethod
    def _summary(td: dict[str, Any]) -> dict[str, Any]:
        return {
            "arn": td.get("taskDefinitionArn"),
            "family": td.get("family"),
            "revision": td.get("revision"),
            "images": {c["name"]: c.get("image") for c in td.get("containerDefinitions", [])},
        }

    def ensure_present(self) -> dict[str, Any]:
        latest = latest_task_definition(self.client, self.params["family"])
        request, kept = self._request(latest)
        wanted = normalise_task_definition(request)
        before = normalise_task_definition(latest) if latest else {}
        if latest and before == wanted:
            return self._result(before, wanted, self._summary(latest), registered=False, kept=kept)
        self.changed = True
        summary = self._summary(request)
        summary["revision"] = (latest or {}).get("revision", 0) + 1
        # Check mode: the ARN the next revision will have, so later tasks can be planned.
        summary["arn"] = self._predicted_arn(latest, summary["revision"])
        if not self.module.check_mode:
            td = self.client.register_task_definition(**request)["taskDefinition"]
            summary = self._summary(td)
        return self._result(before, wanted, summary, registered=True, kept=kept)

    def ensure_absent(self) -> dict[str, Any]:
        arns = task_definition_arns(self.client, self.params["family"], "ACTIVE")
        latest = latest_task_definition(self.client, self.params["family"]) if arns else None
        if arns:
            self.changed = True
            if not self.module.check_mode:
                for arn in arns:
                    self.client.deregister_task_definition(taskDefinition=arn)
                # Deregistered revisions stay INACTIVE forever unless deleted (API since 2023);
                # the call takes at most 10 ARNs.
                for start in range(0, len(arns), 10):
                    self.client.delete_task_definitions(taskDefinitions=arns[start : start + 10])
        before = normalise_task_definition(latest) if latest else {}
        result = self._result(before, {}, {}, registered=False, kept=[])
        result["deregistered"] = arns
        return result

    def _result(self, before, after, summary, registered: bool, kept: list[str]) -> dict[str, Any]:
        return {
            "changed": self.changed,
            "task_definition": summary,
            "registered": registered,
            "images_kept": kept,
            "deregistered": [],
            "diff": make_diff(before, after),
        }


def main() -> None:
    argument_spec = dict(
        family=dict(type="str", required=True),
        containers=dict(type="list", elements="dict", default=[]),
        cpu=dict(type="str"),
        memory=dict(type="str"),
        network_mode=dict(type="str", default="awsvpc"),
        launch_types=dict(type="list", elements="str", default=["FARGATE"]),
        execution_role_arn=dict(type="str"),
        task_role_arn=dict(type="str"),
        volumes=dict(type="list", elements="dict", default=[]),
        runtime_platform=dict(type="dict"),
        keep_current_image=dict(type="bool", default=False),
        tags=dict(type="dict", aliases=["resource_tags"]),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("state", "present", ["containers", "cpu", "memory"])],
    )
    manager = TaskDefinitionManager(module)
    try:
        result = manager.ensure_present() if module.params["state"] == "present" else manager.ensure_absent()
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg=f"Failed to manage the task definition family {module.params['family']}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
