"""One-off Fargate tasks (ecs_oneoff_task, ecs_service_release's migration step).

A one-off task runs a task definition once with a command override, inside the VPC
(private subnets, no public IP), and is waited until it stops. Its outcome is one of:

- ``succeeded``: the container exited 0;
- ``failed``: the container exited with another code;
- ``not_started``: the task stopped without an exit code (image pull, secrets or
  network errors: CannotPullContainerError, ResourceInitializationError, ...) or
  run_task refused it (``failures``);
- ``timeout``: still running after the timeout; the task is stopped.

The class takes its boto3 clients as arguments (plain boto3 clients: every call goes
through ``aws_retry`` here), so tests drive it with botocore's Stubber or a fake client.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ansible_collections.mediamind.platform.plugins.module_utils.common import aws_retry, wait_until

# run_task's startedBy: how an operator finds these tasks (`aws ecs list-tasks --started-by`).
STARTED_BY = "mediamind-oneoff"
OUTCOMES = ("succeeded", "failed", "not_started", "timeout")


class OneOffTaskError(Exception):
    """A request that cannot be planned (no such service, container or network)."""


@aws_retry
def _describe_services(ecs, cluster: str, service: str) -> dict[str, Any]:
    return ecs.describe_services(cluster=cluster, services=[service])


@aws_retry
def _describe_task_definition(ecs, task_definition: str) -> dict[str, Any]:
    return ecs.describe_task_definition(taskDefinition=task_definition)


@aws_retry
def _run_task(ecs, **request: Any) -> dict[str, Any]:
    return ecs.run_task(**request)


@aws_retry
def _describe_tasks(ecs, cluster: str, task_arn: str) -> dict[str, Any]:
    return ecs.describe_tasks(cluster=cluster, tasks=[task_arn])


@aws_retry
def _stop_task(ecs, cluster: str, task_arn: str, reason: str) -> None:
    ecs.stop_task(cluster=cluster, task=task_arn, reason=reason)


@aws_retry
def _log_events(logs, group: str, stream: str, limit: int) -> dict[str, Any]:
    return logs.get_log_events(logGroupName=group, logStreamName=stream, limit=limit, startFromHead=False)


def service_network(service: dict[str, Any]) -> dict[str, Any]:
    """The service's awsvpcConfiguration, with the public IP always off."""
    config = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
    return {
        "subnets": list(config.get("subnets") or []),
        "securityGroups": list(config.get("securityGroups") or []),
        "assignPublicIp": "DISABLED",
    }


def pick_container(containers: list[dict[str, Any]], name: str | None) -> dict[str, Any]:
    """The named container, or the first essential one."""
    if name:
        for container in containers:
            if container["name"] == name:
                return container
        raise OneOffTaskError(f"container {name} is not in the task definition")
    essential = [c for c in containers if c.get("essential", True)]
    if not (essential or containers):
        raise OneOffTaskError("the task definition has no container")
    return (essential or containers)[0]


class OneOffTask:
    """Plan, run and wait for one task; `sleep` and `clock` are injectable for tests."""

    def __init__(
        self,
        ecs: Any,
        logs: Any,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ecs = ecs
        self.logs = logs
        self.sleep = sleep
        self.clock = clock

    # ------------------------------------------------------------------ planning (read-only)

    def describe_service(self, cluster: str, service: str) -> dict[str, Any]:
        try:
            described = _describe_services(self.ecs, cluster, service)
        except self.ecs.exceptions.ClusterNotFoundException:
            described = {}
        found = [s for s in described.get("services", []) if s.get("status") == "ACTIVE"]
        if not found:
            raise OneOffTaskError(f"service {service} not found in cluster {cluster}")
        return found[0]

    def plan(
        self,
        cluster: str,
        command: list[str] | None,
        *,
        service: str | None = None,
        task_definition: str | None = None,
        container: str | None = None,
        subnets: list[str] | None = None,
        security_groups: list[str] | None = None,
        service_description: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """What would run: the task definition (the service's current one unless given), the
        container, its command, the network (the service's unless given) and its log stream prefix."""
        network = {"subnets": [], "securityGroups": [], "assignPublicIp": "DISABLED"}
        if service or service_description:
            described = service_description or self.describe_service(cluster, service or "")
            network = service_network(described)
            task_definition = task_definition or described["taskDefinition"]
        if subnets:
            network["subnets"] = list(subnets)
        if security_groups:
            network["securityGroups"] = list(security_groups)
        if not task_definition:
            raise OneOffTaskError("give a service or a task definition")
        if not network["subnets"] or not network["securityGroups"]:
            raise OneOffTaskError("no subnets or security groups: give a service or both subnets and security_groups")
        taskdef = _describe_task_definition(self.ecs, task_definition)["taskDefinition"]
        chosen = pick_container(taskdef.get("containerDefinitions", []), container)
        log_options = (chosen.get("logConfiguration") or {}).get("options") or {}
        awslogs = (chosen.get("logConfiguration") or {}).get("logDriver") == "awslogs"
        return {
            "cluster": cluster,
            "task_definition": taskdef["taskDefinitionArn"],
            "container": chosen["name"],
            "command": list(command) if command else None,
            "network": network,
            "log_group": log_options.get("awslogs-group", "") if awslogs else "",
            "log_stream_prefix": log_options.get("awslogs-stream-prefix", "") if awslogs else "",
        }

    @staticmethod
    def request(plan: dict[str, Any], started_by: str = STARTED_BY) -> dict[str, Any]:
        """The run_task request of a plan."""
        override: dict[str, Any] = {"name": plan["container"]}
        if plan["command"]:
            override["command"] = plan["command"]
        return {
            "cluster": plan["cluster"],
            "taskDefinition": plan["task_definition"],
            "launchType": "FARGATE",
            "count": 1,
            "startedBy": started_by[:36],
            "networkConfiguration": {"awsvpcConfiguration": plan["network"]},
            "overrides": {"containerOverrides": [override]},
        }

    # ------------------------------------------------------------------ running

    def run(
        self, plan: dict[str, Any], timeout: float, poll: float, log_lines: int, started_by: str = STARTED_BY
    ) -> dict[str, Any]:
        """Start the task, wait until it stops (at most `timeout` s), and read its outcome."""
        result: dict[str, Any] = {
            **plan,
            "task_arn": "",
            "exit_code": None,
            "stopped_reason": "",
            "stop_code": "",
            "log_stream": "",
            "log_tail": [],
        }
        started = _run_task(self.ecs, **self.request(plan, started_by))
        tasks = started.get("tasks") or []
        if not tasks:
            failures = started.get("failures") or [{"reason": "run_task started no task"}]
            reason = "; ".join(
                f"{f.get('reason', 'unknown')}" + (f" ({f['detail']})" if f.get("detail") else "") for f in failures
            )
            return dict(result, outcome="not_started", stopped_reason=reason)
        task_arn = tasks[0]["taskArn"]
        result["task_arn"] = task_arn
        if plan["log_group"]:
            task_id = task_arn.rsplit("/", 1)[-1]
            prefix = plan["log_stream_prefix"]
            result["log_stream"] = f"{prefix}/{plan['container']}/{task_id}" if prefix else task_id

        task = self._wait_stopped(plan["cluster"], task_arn, timeout, poll)
        if task is None:
            _stop_task(self.ecs, plan["cluster"], task_arn, f"one-off task timed out after {int(timeout)} s")
            result.update(outcome="timeout", stopped_reason=f"timed out after {int(timeout)} s; task stopped")
        else:
            result.update(self._outcome(task, plan["container"]))
        result["log_tail"] = self.log_tail(plan["log_group"], result["log_stream"], log_lines)
        return result

    def _wait_stopped(self, cluster: str, task_arn: str, timeout: float, poll: float) -> dict[str, Any] | None:
        # A task started a moment ago may be missing from describe_tasks (eventual
        # consistency): it is simply polled again.
        _, stopped = wait_until(
            lambda: _describe_tasks(self.ecs, cluster, task_arn).get("tasks") or [],
            lambda tasks: next((t for t in tasks if t.get("lastStatus") == "STOPPED"), None),
            timeout=timeout,
            poll=poll,
            sleep=self.sleep,
            clock=self.clock,
        )
        return stopped

    @staticmethod
    def _outcome(task: dict[str, Any], container_name: str) -> dict[str, Any]:
        container: dict[str, Any] = next(
            (c for c in task.get("containers") or [] if c.get("name") == container_name), {}
        )
        reasons = [r for r in (task.get("stoppedReason"), container.get("reason")) if r]
        outcome = {"stopped_reason": "; ".join(dict.fromkeys(reasons)), "stop_code": task.get("stopCode", "")}
        if container.get("exitCode") is None:
            return dict(outcome, outcome="not_started", exit_code=None)
        code = int(container["exitCode"])
        return dict(outcome, outcome="succeeded" if code == 0 else "failed", exit_code=code)

    def log_tail(self, group: str, stream: str, lines: int) -> list[str]:
        """The last `lines` lines of the task's log stream ([] when there is none: never started)."""
        if not group or not stream or lines <= 0:
            return []
        try:
            events = _log_events(self.logs, group, stream, lines).get("events") or []
        except self.logs.exceptions.ResourceNotFoundException:
            return []
        return [e.get("message", "").rstrip("\n") for e in events][-lines:]


def summary(result: dict[str, Any]) -> str:
    """One line saying what happened (the module's msg; the log tail follows it)."""
    task_id = result["task_arn"].rsplit("/", 1)[-1] or "(none)"
    what = f"one-off task {task_id} of {result['task_definition'].rsplit('/', 1)[-1]}"
    outcome = result["outcome"]
    if outcome == "succeeded":
        return f"{what} exited 0"
    if outcome == "failed":
        return f"{what} exited with code {result['exit_code']}"
    if outcome == "not_started":
        return f"{what} never started: {result['stopped_reason'] or 'no reason given'}"
    return f"{what} {result['stopped_reason']}"
