"""The one-off task runner (mediamind.platform module_utils/ecs_task.py behind ecs_oneoff_task and the
release's migration step): the requests it sends and its control flow against stubbed task outcomes.

Emulator gap (moto 5.2): run_task of a Fargate awsvpc task fails inside moto, and moto runs no
container, so every outcome here is a stubbed ECS answer (botocore's Stubber checks each request
against the expected parameters and each answer against the API's model)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from oneoff_support import FakeClock, mm_ecs_task

CLUSTER = "mediamind"
SERVICE = "mediamind-service"
TASKDEF = "arn:aws:ecs:eu-central-1:123456789012:task-definition/mediamind-service:7"
TASK = "arn:aws:ecs:eu-central-1:123456789012:task/mediamind/0123456789abcdef0123456789abcdef"
TASK_ID = TASK.rsplit("/", 1)[-1]
NETWORK = {
    "subnets": ["subnet-private-a", "subnet-private-b"],
    "securityGroups": ["sg-service"],
    "assignPublicIp": "DISABLED",
}
COMMAND = ["alembic", "upgrade", "head"]


def _client(name: str) -> Any:
    return boto3.client(name, region_name="eu-central-1", aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture
def stubs() -> Iterator[tuple[Stubber, Stubber, mm_ecs_task.OneOffTask, FakeClock]]:
    ecs, logs = _client("ecs"), _client("logs")
    clock = FakeClock()
    with Stubber(ecs) as ecs_stub, Stubber(logs) as logs_stub:
        yield ecs_stub, logs_stub, mm_ecs_task.OneOffTask(ecs, logs, sleep=clock.sleep, clock=clock.clock), clock
        ecs_stub.assert_no_pending_responses()
        logs_stub.assert_no_pending_responses()


def _service(public_ip: str = "ENABLED") -> dict[str, Any]:
    # The service's own setting is ignored: a one-off task never gets a public IP.
    return {
        "serviceName": SERVICE,
        "status": "ACTIVE",
        "taskDefinition": TASKDEF,
        "networkConfiguration": {"awsvpcConfiguration": {**NETWORK, "assignPublicIp": public_ip}},
    }


def _taskdef() -> dict[str, Any]:
    return {
        "taskDefinition": {
            "taskDefinitionArn": TASKDEF,
            "family": "mediamind-service",
            "revision": 7,
            "containerDefinitions": [
                {
                    "name": SERVICE,
                    "image": "123456789012.dkr.ecr.eu-central-1.amazonaws.com/mediamind:2026.11.29-1",
                    "essential": True,
                    "logConfiguration": {
                        "logDriver": "awslogs",
                        "options": {"awslogs-group": f"/ecs/{SERVICE}", "awslogs-stream-prefix": "ecs"},
                    },
                }
            ],
        }
    }


def _expect_plan(ecs_stub: Stubber) -> None:
    ecs_stub.add_response("describe_services", {"services": [_service()]}, {"cluster": CLUSTER, "services": [SERVICE]})
    ecs_stub.add_response("describe_task_definition", _taskdef(), {"taskDefinition": TASKDEF})


def _expect_run(ecs_stub: Stubber) -> None:
    ecs_stub.add_response(
        "run_task",
        {"tasks": [{"taskArn": TASK, "lastStatus": "PROVISIONING"}], "failures": []},
        {
            "cluster": CLUSTER,
            "taskDefinition": TASKDEF,
            "launchType": "FARGATE",
            "count": 1,
            "startedBy": "mediamind-migrate",
            "networkConfiguration": {"awsvpcConfiguration": NETWORK},
            "overrides": {"containerOverrides": [{"name": SERVICE, "command": COMMAND}]},
        },
    )


def _expect_status(ecs_stub: Stubber, status: str, **container: Any) -> None:
    task: dict[str, Any] = {"taskArn": TASK, "lastStatus": status}
    if status == "STOPPED":
        task.update(
            stoppedReason=container.pop("stoppedReason", "Essential container in task exited"),
            stopCode=container.pop("stopCode", "EssentialContainerExited"),
            containers=[{"name": SERVICE, **container}],
        )
    ecs_stub.add_response("describe_tasks", {"tasks": [task], "failures": []}, {"cluster": CLUSTER, "tasks": [TASK]})


def _expect_logs(logs_stub: Stubber, lines: list[str]) -> None:
    logs_stub.add_response(
        "get_log_events",
        {"events": [{"timestamp": i, "message": line + "\n", "ingestionTime": i} for i, line in enumerate(lines)]},
        {
            "logGroupName": f"/ecs/{SERVICE}",
            "logStreamName": f"ecs/{SERVICE}/{TASK_ID}",
            "limit": 20,
            "startFromHead": False,
        },
    )


def _plan_and_run(runner: mm_ecs_task.OneOffTask, timeout: float = 600) -> dict[str, Any]:
    plan = runner.plan(cluster=CLUSTER, service=SERVICE, command=COMMAND)
    return runner.run(plan, timeout=timeout, poll=5, log_lines=20, started_by="mediamind-migrate")


def test_exit_0_runs_the_services_current_revision_on_its_private_network(stubs) -> None:
    ecs_stub, logs_stub, runner, clock = stubs
    _expect_plan(ecs_stub)
    _expect_run(ecs_stub)
    _expect_status(ecs_stub, "PENDING")
    _expect_status(ecs_stub, "RUNNING")
    _expect_status(ecs_stub, "STOPPED", exitCode=0)
    _expect_logs(logs_stub, ["INFO  [alembic.runtime.migration] Running upgrade a1 -> b2"])

    result = _plan_and_run(runner)

    assert result["outcome"] == "succeeded"
    assert result["exit_code"] == 0
    assert result["task_arn"] == TASK
    assert result["network"]["assignPublicIp"] == "DISABLED"
    assert result["log_stream"] == f"ecs/{SERVICE}/{TASK_ID}"
    assert result["log_tail"] == ["INFO  [alembic.runtime.migration] Running upgrade a1 -> b2"]
    assert clock.sleeps == [5, 5], "polled every poll interval until STOPPED"
    assert mm_ecs_task.summary(result).endswith("exited 0")


def test_exit_1_fails_with_one_line_and_the_log_tail(stubs) -> None:
    ecs_stub, logs_stub, runner, _ = stubs
    _expect_plan(ecs_stub)
    _expect_run(ecs_stub)
    _expect_status(ecs_stub, "STOPPED", exitCode=1)
    tail = ["Traceback (most recent call last):", "sqlalchemy.exc.ProgrammingError: relation already exists"]
    _expect_logs(logs_stub, tail)

    result = _plan_and_run(runner)

    assert result["outcome"] == "failed"
    assert result["exit_code"] == 1
    assert result["log_tail"] == tail
    line = mm_ecs_task.summary(result)
    assert "\n" not in line
    assert line == f"one-off task {TASK_ID} of mediamind-service:7 exited with code 1"


def test_a_task_that_never_started_fails_with_its_reason(stubs) -> None:
    ecs_stub, logs_stub, runner, _ = stubs
    _expect_plan(ecs_stub)
    _expect_run(ecs_stub)
    _expect_status(
        ecs_stub,
        "STOPPED",
        stoppedReason="Task failed to start",
        stopCode="TaskFailedToStart",
        reason="CannotPullContainerError: pull image manifest has been retried 5 time(s)",
    )
    # No container ran, so its stream does not exist.
    logs_stub.add_client_error(
        "get_log_events", "ResourceNotFoundException", "The specified log stream does not exist."
    )

    result = _plan_and_run(runner)

    assert result["outcome"] == "not_started"
    assert result["exit_code"] is None
    assert result["stop_code"] == "TaskFailedToStart"
    assert "CannotPullContainerError" in result["stopped_reason"]
    assert result["log_tail"] == []
    assert "never started: Task failed to start; CannotPullContainerError" in mm_ecs_task.summary(result)


def test_run_task_failures_are_a_task_that_never_started(stubs) -> None:
    ecs_stub, _, runner, _ = stubs
    _expect_plan(ecs_stub)
    ecs_stub.add_response(
        "run_task",
        {"tasks": [], "failures": [{"reason": "RESOURCE:ENI", "detail": "no free addresses in subnet"}]},
    )

    result = _plan_and_run(runner)

    assert result["outcome"] == "not_started"
    assert result["task_arn"] == ""
    assert result["stopped_reason"] == "RESOURCE:ENI (no free addresses in subnet)"


def test_timeout_stops_the_task_and_fails(stubs) -> None:
    ecs_stub, logs_stub, runner, clock = stubs
    _expect_plan(ecs_stub)
    _expect_run(ecs_stub)
    # timeout 12 s, poll 5 s: polled at 0, 5, 10 and 15 s, then stopped.
    for _ in range(4):
        _expect_status(ecs_stub, "RUNNING")
    ecs_stub.add_response(
        "stop_task",
        {"task": {"taskArn": TASK}},
        {"cluster": CLUSTER, "task": TASK, "reason": "one-off task timed out after 12 s"},
    )
    _expect_logs(logs_stub, ["INFO  waiting for a lock on table alembic_version"])

    result = _plan_and_run(runner, timeout=12)

    assert result["outcome"] == "timeout"
    assert result["exit_code"] is None
    assert result["log_tail"] == ["INFO  waiting for a lock on table alembic_version"]
    assert clock.now == 15
    assert "timed out after 12 s; task stopped" in mm_ecs_task.summary(result)


def test_a_task_definition_without_a_network_is_refused_before_any_call(stubs) -> None:
    _, _, runner, _ = stubs
    with pytest.raises(mm_ecs_task.OneOffTaskError, match="subnets"):
        runner.plan(cluster=CLUSTER, task_definition="mediamind-db-admin", command=["true"])


def test_a_missing_service_is_named(stubs) -> None:
    ecs_stub, _, runner, _ = stubs
    ecs_stub.add_response("describe_services", {"services": [], "failures": [{"arn": SERVICE, "reason": "MISSING"}]})
    with pytest.raises(mm_ecs_task.OneOffTaskError, match=f"service {SERVICE} not found"):
        runner.plan(cluster=CLUSTER, service=SERVICE, command=COMMAND)


def test_no_command_keeps_the_images_command_and_explicit_network_wins() -> None:
    plan = {
        "cluster": CLUSTER,
        "task_definition": "arn:aws:ecs:eu-central-1:123456789012:task-definition/mediamind-db-admin:3",
        "container": "mediamind-db-admin",
        "command": None,
        "network": {"subnets": ["subnet-a"], "securityGroups": ["sg-db-admin"], "assignPublicIp": "DISABLED"},
    }
    request = mm_ecs_task.OneOffTask.request(plan, started_by="x" * 50)
    assert request["overrides"] == {"containerOverrides": [{"name": "mediamind-db-admin"}]}
    assert request["startedBy"] == "x" * 36, "ECS accepts at most 36 characters"
    assert request["launchType"] == "FARGATE"
    assert request["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "DISABLED"
