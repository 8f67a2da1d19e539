#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ecs_service_release
short_description: Roll a new image out to a running ECS service
description:
  - Registers a new task-definition revision copied from the one the service runs now, with only the image
    of one container changed, updates the service to it, and (optionally) waits for the deployment to settle.
  - Reports success, or the deployment circuit breaker's rollback together with the stopped reasons of the
    tasks that failed.
  - Idempotent; when the service already runs the requested image nothing is registered or updated.
  - With O(migrate_command), the command (for example C(alembic upgrade head)) first runs as a one-off Fargate task
    from the NEW revision (RunTask cannot override an image), on the service's private subnets and security
    groups. Only when it exits 0 is the service updated; otherwise the new revision is deregistered and deleted
    (so no later infrastructure run takes its image for the released one) and the service is left as it was.
options:
  cluster:
    description: Name or ARN of the ECS cluster.
    type: str
    required: true
  service:
    description: Name of the ECS service.
    type: str
    required: true
  container:
    description: Container whose image changes. Defaults to the task definition's only or first essential container.
    type: str
  tag:
    description: New image tag; the repository part of the current image is kept.
    type: str
  image:
    description: Full new image reference (mutually exclusive with I(tag)).
    type: str
  wait:
    description: Wait until the deployment completes or is rolled back.
    type: bool
    default: true
  wait_timeout:
    description: Seconds to wait for the deployment.
    type: int
    default: 900
  poll_interval:
    description: Seconds between two polls while waiting.
    type: int
    default: 10
  migrate_command:
    description: Command run as a one-off task from the new revision before the service is updated
      (empty - no migration).
    type: list
    elements: str
    default: []
  migrate_timeout:
    description: Seconds the migration task may run; past them it is stopped and the release fails.
    type: int
    default: 900
  migrate_log_lines:
    description: How many of the migration's last log lines to return.
    type: int
    default: 40
author:
  - MediaMind infrastructure team
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Release tag 2026.11.29-1 of the API
  ecs_service_release:
    cluster: mediamind
    service: mediamind-service
    tag: 2026.11.29-1

- name: Release the API, running its migrations from the new image first
  ecs_service_release:
    cluster: mediamind
    service: mediamind-service
    tag: 2026.11.29-1
    migrate_command: [alembic, upgrade, head]
"""

RETURN = r"""
outcome:
  description: C(unchanged), C(updated) (not waited), C(completed), C(rolled_back), C(failed), C(timeout), or
    C(migration_failed) (the service was not touched).
  returned: always
  type: str
previous_task_definition:
  description: ARN of the revision the service ran before.
  returned: always
  type: str
task_definition:
  description: ARN of the revision the release registered (or the current one when unchanged).
  returned: always
  type: str
image:
  description: The image now requested for the container.
  returned: always
  type: str
stopped_reasons:
  description: Stopped reasons of the new revision's failed tasks when the deployment failed or was rolled back.
  returned: always
  type: list
  elements: str
migration:
  description: The migration task's result (see M(ecs_oneoff_task) - outcome, exit_code, stopped_reason,
    log_tail, ...); empty without O(migrate_command) or when nothing was released.
  returned: always
  type: dict
"""

import contextlib

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.mediamind.platform.plugins.module_utils.common import aws_retry, make_diff, wait_until
from ansible_collections.mediamind.platform.plugins.module_utils.ecs_task import OneOffTask, service_network, summary

# Fields of describe_task_definition that register_task_definition accepts back.
REGISTER_KEYS = (
    "family",
    "taskRoleArn",
    "executionRoleArn",
    "networkMode",
    "containerDefinitions",
    "volumes",
    "placementConstraints",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "pidMode",
    "ipcMode",
    "proxyConfiguration",
    "inferenceAccelerators",
    "ephemeralStorage",
    "runtimePlatform",
)


def new_image(current: str, tag: str | None, image: str | None) -> str:
    """The image reference to deploy: `image` as given, or `current` with its tag (or digest) replaced."""
    if image:
        return image
    repository = current.split("@", 1)[0]
    # A ':' after the last '/' separates the tag; one before it belongs to a registry port.
    if ":" in repository.rsplit("/", 1)[-1]:
        repository = repository.rsplit(":", 1)[0]
    return f"{repository}:{tag}"


def rollout_outcome(service: dict, new_arn: str) -> str | None:
    """completed / failed / rolled_back once the deployment of `new_arn` settled, else None."""
    if service["taskDefinition"] != new_arn:
        # The circuit breaker put the previous revision back.
        return "rolled_back"
    deployments = service.get("deployments", [])
    # Emulator gap (moto 5.2): update_service does not start a new deployment entry; the PRIMARY one
    # keeps the old taskDefinition. Fall back to PRIMARY when no deployment names the new revision.
    ours = [d for d in deployments if d.get("taskDefinition") == new_arn] or [
        d for d in deployments if d.get("status") == "PRIMARY"
    ]
    state = ours[0].get("rolloutState") if ours else None
    if state == "COMPLETED" or (state is None and service.get("runningCount", 0) >= service.get("desiredCount", 0)):
        return "completed"
    if state == "FAILED":
        return "failed"
    return None


class ServiceRelease:
    def __init__(self, module: AnsibleAWSModule):
        self.module = module
        self.ecs = module.client("ecs", retry_decorator=aws_retry)
        self.logs = module.client("logs", retry_decorator=aws_retry)
        self.params = module.params

    def describe_service(self) -> dict:
        result = self.ecs.describe_services(
            aws_retry=True, cluster=self.params["cluster"], services=[self.params["service"]]
        )
        services = [s for s in result.get("services", []) if s.get("status") == "ACTIVE"]
        if not services:
            self.module.fail_json(msg=f"service {self.params['service']} not found in cluster {self.params['cluster']}")
        return services[0]

    def pick_container(self, containers: list[dict]) -> dict:
        name = self.params["container"]
        if name:
            for container in containers:
                if container["name"] == name:
                    return container
            self.module.fail_json(msg=f"container {name} not in the task definition")
        essential = [c for c in containers if c.get("essential", True)]
        return (essential or containers)[0]

    def stopped_reasons(self, task_definition: str) -> list[str]:
        family = task_definition.rsplit("/", 1)[-1].rsplit(":", 1)[0]
        arns = self.ecs.list_tasks(
            aws_retry=True, cluster=self.params["cluster"], family=family, desiredStatus="STOPPED"
        ).get("taskArns", [])
        if not arns:
            return []
        tasks = self.ecs.describe_tasks(aws_retry=True, cluster=self.params["cluster"], tasks=arns[:100])["tasks"]
        return sorted(
            {t.get("stoppedReason", "unknown") for t in tasks if t.get("taskDefinitionArn") == task_definition}
        )

    def wait(self, new_arn: str) -> str:
        _, outcome = wait_until(
            self.describe_service,
            lambda service: rollout_outcome(service, new_arn),
            timeout=self.params["wait_timeout"],
            poll=self.params["poll_interval"],
        )
        return outcome or "timeout"

    def migrate(self, service: dict, new_arn: str, container: str) -> dict:
        """Run migrate_command from the new revision; on anything but exit 0 remove that revision."""
        runner = OneOffTask(self.ecs, self.logs)
        try:
            plan = runner.plan(
                cluster=self.params["cluster"],
                command=self.params["migrate_command"],
                task_definition=new_arn,
                container=container,
                service_description=service,
            )
            migration = runner.run(
                plan,
                timeout=self.params["migrate_timeout"],
                poll=min(self.params["poll_interval"], 6),
                log_lines=self.params["migrate_log_lines"],
                started_by="mediamind-migrate",
            )
        except BaseException:
            self.discard(new_arn)
            raise
        if migration["outcome"] != "succeeded":
            self.discard(new_arn)
        return migration

    def discard(self, arn: str) -> None:
        """Deregister and delete a revision that must never run: ecs_taskdef's keep_current_image reads the
        latest ACTIVE revision, which would otherwise be this failed one."""
        self.ecs.deregister_task_definition(aws_retry=True, taskDefinition=arn)
        self.ecs.delete_task_definitions(aws_retry=True, taskDefinitions=[arn])

    def run(self) -> dict:
        service = self.describe_service()
        current_arn = service["taskDefinition"]
        taskdef = self.ecs.describe_task_definition(aws_retry=True, taskDefinition=current_arn)["taskDefinition"]
        container = self.pick_container(taskdef["containerDefinitions"])
        image = new_image(container["image"], self.params["tag"], self.params["image"])
        result = {
            "previous_task_definition": current_arn,
            "task_definition": current_arn,
            "image": image,
            "stopped_reasons": [],
            "migration": {},
            "diff": make_diff({"image": container["image"]}, {"image": image}),
        }
        if image == container["image"]:
            return dict(result, changed=False, outcome="unchanged")
        if self.module.check_mode:
            if self.params["migrate_command"]:
                # What would run: from the revision about to be registered, on the service's network.
                result["migration"] = {
                    "outcome": "planned",
                    "container": container["name"],
                    "command": self.params["migrate_command"],
                    "network": service_network(service),
                }
            return dict(result, changed=True, outcome="updated")

        request = {key: taskdef[key] for key in REGISTER_KEYS if taskdef.get(key) not in (None, [], {})}
        for definition in request["containerDefinitions"]:
            if definition["name"] == container["name"]:
                definition["image"] = image
        tags = self.ecs.list_tags_for_resource(aws_retry=True, resourceArn=current_arn).get("tags", [])
        if tags:
            request["tags"] = tags
        new_arn = self.ecs.register_task_definition(aws_retry=True, **request)["taskDefinition"]["taskDefinitionArn"]
        if self.params["migrate_command"]:
            result["migration"] = self.migrate(service, new_arn, container["name"])
            if result["migration"]["outcome"] != "succeeded":
                # The service keeps running what it ran; the revision is gone again.
                return dict(result, changed=True, outcome="migration_failed")
        self.ecs.update_service(
            aws_retry=True, cluster=self.params["cluster"], service=self.params["service"], taskDefinition=new_arn
        )
        result["task_definition"] = new_arn
        if not self.params["wait"]:
            return dict(result, changed=True, outcome="updated")
        outcome = self.wait(new_arn)
        if outcome in ("rolled_back", "failed"):
            result["stopped_reasons"] = self.stopped_reasons(new_arn)
        return dict(result, changed=True, outcome=outcome)


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec={
            "cluster": {"type": "str", "required": True},
            "service": {"type": "str", "required": True},
            "container": {"type": "str"},
            "tag": {"type": "str"},
            "image": {"type": "str"},
            "wait": {"type": "bool", "default": True},
            "wait_timeout": {"type": "int", "default": 900},
            "poll_interval": {"type": "int", "default": 10},
            "migrate_command": {"type": "list", "elements": "str", "default": []},
            "migrate_timeout": {"type": "int", "default": 900},
            "migrate_log_lines": {"type": "int", "default": 40},
        },
        mutually_exclusive=[["tag", "image"]],
        required_one_of=[["tag", "image"]],
        supports_check_mode=True,
    )
    try:
        result = ServiceRelease(module).run()
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        module.fail_json_aws(exc, msg="release failed")
    if result["outcome"] == "migration_failed":
        tail = "\n".join(result["migration"]["log_tail"])
        line = f"release of {result['image']} stopped, service unchanged: migration {summary(result['migration'])}"
        module.fail_json(msg=f"{line}\n{tail}" if tail else line, **result)
    if result["outcome"] in ("rolled_back", "failed", "timeout"):
        module.fail_json(msg=f"release of {result['image']} {result['outcome']}", **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
