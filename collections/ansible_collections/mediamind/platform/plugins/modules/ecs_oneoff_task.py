#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ecs_oneoff_task
short_description: Run a one-off Fargate task inside the VPC and wait for its exit code
description:
  - Runs one task from a task definition (or from a service's current task definition, on the service's
    private subnets and security groups) with a command override, never with a public IP, and waits until it
    stops.
  - Returns the container's exit code, the stopped reason and the tail of its CloudWatch log stream (the
    awslogs group and stream prefix of the container's C(logConfiguration),
    stream C(<prefix>/<container>/<task id>)).
  - Exit code 0 succeeds; any other exit code, a task that never started (for example
    C(CannotPullContainerError), C(ResourceInitializationError), or C(failures) from RunTask) and a timeout
    fail the module with one line and the log tail. On timeout the task is stopped.
  - An action, like M(ansible.builtin.command) - C(changed=true) whenever a task ran. In check mode it reports
    what it would run (task definition, container, command, network) and runs nothing (C(changed=false)).
options:
  cluster:
    description: Name or ARN of the ECS cluster.
    type: str
    required: true
  service:
    description:
      - Service whose current task definition and network (awsvpcConfiguration) the task uses.
      - Mutually exclusive with O(task_definition); one of the two is required.
    type: str
  task_definition:
    description: Family, family:revision or ARN of the task definition to run (then O(subnets) and
      O(security_groups) are required).
    type: str
  container:
    description: Container whose command is overridden (and whose log stream is read). Defaults to the first
      essential container.
    type: str
  command:
    description: Command override (exec form). Empty keeps the image's command.
    type: list
    elements: str
    default: []
  subnets:
    description: Subnets of the task (default with O(service) - the service's).
    type: list
    elements: str
    default: []
  security_groups:
    description: Security groups of the task (default with O(service) - the service's).
    type: list
    elements: str
    default: []
  started_by:
    description: C(startedBy) of the task (at most 36 characters), to find it with C(list-tasks --started-by).
    type: str
    default: mediamind-oneoff
  wait_timeout:
    description: Seconds the task may run; past them it is stopped and the module fails.
    type: int
    default: 900
  poll_interval:
    description: Seconds between two polls of the task's status.
    type: int
    default: 6
  log_lines:
    description: How many of the last log lines to return.
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
- name: Run the API's migrations from the task definition the service runs now
  ecs_oneoff_task:
    cluster: mediamind
    service: mediamind-service
    container: mediamind-service
    command: [alembic, upgrade, head]
    wait_timeout: 900
  register: migration

- name: Run a task definition on given subnets
  ecs_oneoff_task:
    cluster: mediamind
    task_definition: mediamind-db-admin
    subnets: [subnet-0123456789abcdef0]
    security_groups: [sg-0123456789abcdef0]
"""

RETURN = r"""
outcome:
  description: C(succeeded), C(failed) (non-zero exit), C(not_started), C(timeout), or C(planned) in check mode.
  returned: always
  type: str
task_definition:
  description: ARN of the task definition the task runs (or would run).
  returned: always
  type: str
container:
  description: Container whose command was overridden.
  returned: always
  type: str
command:
  description: The command override (null when the image's command runs).
  returned: always
  type: list
  elements: str
network:
  description: The task's awsvpcConfiguration (subnets, securityGroups, assignPublicIp DISABLED).
  returned: always
  type: dict
task_arn:
  description: ARN of the task (empty in check mode or when RunTask started none).
  returned: always
  type: str
exit_code:
  description: The container's exit code (null when it never started, timed out or in check mode).
  returned: always
  type: int
stopped_reason:
  description: Why the task stopped (with the container's reason when it has one), or why it never started.
  returned: always
  type: str
stop_code:
  description: ECS's stopCode (for example C(EssentialContainerExited), C(TaskFailedToStart)).
  returned: always
  type: str
log_stream:
  description: The container's awslogs stream (empty without awslogs).
  returned: always
  type: str
log_tail:
  description: The last O(log_lines) lines of that stream.
  returned: always
  type: list
  elements: str
"""

import contextlib

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.mediamind.platform.plugins.module_utils.ecs_task import OneOffTask, OneOffTaskError, summary


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec={
            "cluster": {"type": "str", "required": True},
            "service": {"type": "str"},
            "task_definition": {"type": "str"},
            "container": {"type": "str"},
            "command": {"type": "list", "elements": "str", "default": []},
            "subnets": {"type": "list", "elements": "str", "default": []},
            "security_groups": {"type": "list", "elements": "str", "default": []},
            "started_by": {"type": "str", "default": "mediamind-oneoff"},
            "wait_timeout": {"type": "int", "default": 900},
            "poll_interval": {"type": "int", "default": 6},
            "log_lines": {"type": "int", "default": 40},
        },
        mutually_exclusive=[["service", "task_definition"]],
        required_one_of=[["service", "task_definition"]],
        required_by={"task_definition": ["subnets", "security_groups"]},
        supports_check_mode=True,
    )
    params = module.params
    # Plain clients: the class wraps every call in the project's AWSRetry policy itself.
    runner = OneOffTask(module.client("ecs"), module.client("logs"))
    try:
        plan = runner.plan(
            cluster=params["cluster"],
            command=params["command"],
            service=params["service"],
            task_definition=params["task_definition"],
            container=params["container"],
            subnets=params["subnets"],
            security_groups=params["security_groups"],
        )
        if module.check_mode:
            module.exit_json(
                changed=False,
                outcome="planned",
                msg=f"would run {plan['task_definition'].rsplit('/', 1)[-1]} ({plan['container']}: "
                f"{' '.join(plan['command'] or ['<image command>'])})",
                **plan,
                task_arn="",
                exit_code=None,
                stopped_reason="",
                stop_code="",
                log_stream="",
                log_tail=[],
            )
        result = runner.run(
            plan,
            timeout=params["wait_timeout"],
            poll=params["poll_interval"],
            log_lines=params["log_lines"],
            started_by=params["started_by"],
        )
    except OneOffTaskError as exc:
        module.fail_json(msg=str(exc))
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        module.fail_json_aws(exc, msg="one-off task failed")
    line = summary(result)
    # A task was started (or refused by RunTask, which is an attempt too): an action, like a command.
    if result["outcome"] != "succeeded":
        tail = "\n".join(result["log_tail"])
        module.fail_json(msg=f"{line}\n{tail}" if tail else line, changed=bool(result["task_arn"]), **result)
    module.exit_json(changed=True, msg=line, **result)


if __name__ == "__main__":
    main()
