"""ecs_service_release with a migration step, against the emulator's ECS and CloudWatch Logs.

Everything but the task itself is the emulator's real state (the service, its revisions, the log
stream the migration's tail is read from). Emulator gap (moto 5.2): run_task of a Fargate awsvpc task
fails inside moto and moto runs no container, so run_task/describe_tasks/stop_task answer with a
stubbed outcome: the release's own code path (register, migrate, update or discard) is the one a
real run takes."""

from __future__ import annotations

import time
import uuid
from typing import Any

import boto3
import pytest
from conftest import run_module
from oneoff_support import NoRetryArg, mm_ecs, release_module

IMAGE = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/mediamind"


class ScriptedTasks(NoRetryArg):
    """The emulator's ECS client, except that the one-off task ends with `exit_code` (None: never
    started); every run_task request is recorded."""

    def __init__(self, client: Any, exit_code: int | None) -> None:
        super().__init__(client)
        self.exit_code = exit_code
        self.runs: list[dict[str, Any]] = []

    def run_task(self, aws_retry: bool = False, **request: Any) -> dict[str, Any]:
        self.runs.append(request)
        cluster = request["cluster"]
        return {"tasks": [{"taskArn": f"arn:aws:ecs:eu-central-1:123456789012:task/{cluster}/feedc0ffee"}]}

    def describe_tasks(self, aws_retry: bool = False, **request: Any) -> dict[str, Any]:
        container: dict[str, Any] = {"name": "api"}
        if self.exit_code is None:
            container["reason"] = "ResourceInitializationError: unable to pull secrets or registry auth"
        else:
            container["exitCode"] = self.exit_code
        return {
            "tasks": [
                {
                    "taskArn": request["tasks"][0],
                    "lastStatus": "STOPPED",
                    "stoppedReason": "Essential container in task exited",
                    "containers": [container],
                }
            ]
        }


class FakeModule:
    """What ServiceRelease uses of AnsibleAWSModule: params, check_mode, client()."""

    def __init__(self, params: dict[str, Any], ecs: Any, check_mode: bool = False) -> None:
        self.params = {
            "container": "api",
            "image": None,
            "wait": True,
            "wait_timeout": 60,
            "poll_interval": 1,
            "migrate_timeout": 60,
            "migrate_log_lines": 10,
            **params,
        }
        self.check_mode = check_mode
        self._clients = {"ecs": ecs, "logs": NoRetryArg(boto3.client("logs"))}

    def client(self, name: str, retry_decorator: Any = None) -> Any:
        return self._clients[name]

    def fail_json(self, **kwargs: Any) -> None:
        raise AssertionError(kwargs)


@pytest.fixture
def service(local_stack):
    ecs, ec2, logs = boto3.client("ecs"), boto3.client("ec2"), boto3.client("logs")
    name = f"migrate-{uuid.uuid4().hex[:8]}"
    vpc = ec2.create_vpc(CidrBlock="10.98.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.98.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=name, Description="migrate test", VpcId=vpc)["GroupId"]
    ecs.create_cluster(clusterName=name)
    logs.create_log_group(logGroupName=f"/ecs/{name}")
    taskdef = ecs.register_task_definition(
        family=name,
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[
            {
                "name": "api",
                "image": f"{IMAGE}:v1",
                "essential": True,
                "portMappings": [{"containerPort": 8000}],
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {"awslogs-group": f"/ecs/{name}", "awslogs-stream-prefix": "ecs"},
                },
            }
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster=name,
        serviceName=name,
        taskDefinition=taskdef,
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group], "assignPublicIp": "DISABLED"}
        },
    )
    # What the migration container would have written to its awslogs stream (recent: CloudWatch drops
    # events older than its retention window).
    stream = "ecs/api/feedc0ffee"
    logs.create_log_stream(logGroupName=f"/ecs/{name}", logStreamName=stream)
    logs.put_log_events(
        logGroupName=f"/ecs/{name}",
        logStreamName=stream,
        logEvents=[
            {"timestamp": int(time.time() * 1000) + i, "message": line}
            for i, line in enumerate(["INFO  [alembic] Running upgrade a1 -> b2", "ERROR relation already exists"])
        ],
    )
    yield {"name": name, "taskdef": taskdef, "subnet": subnet, "group": group}
    ecs.update_service(cluster=name, service=name, desiredCount=0)
    ecs.delete_service(cluster=name, service=name, force=True)
    for arn in ecs.list_task_definitions(familyPrefix=name)["taskDefinitionArns"]:
        ecs.deregister_task_definition(taskDefinition=arn)
    ecs.delete_cluster(cluster=name)
    logs.delete_log_group(logGroupName=f"/ecs/{name}")
    ec2.delete_security_group(GroupId=group)
    ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)


def _release(service: dict[str, Any], exit_code: int | None, check_mode: bool = False) -> tuple[dict, ScriptedTasks]:
    ecs = ScriptedTasks(boto3.client("ecs"), exit_code)
    params = {
        "cluster": service["name"],
        "service": service["name"],
        "tag": "v2",
        "migrate_command": ["alembic", "upgrade", "head"],
    }
    return release_module.ServiceRelease(FakeModule(params, ecs, check_mode)).run(), ecs


def _running_arn(name: str) -> str:
    return boto3.client("ecs").describe_services(cluster=name, services=[name])["services"][0]["taskDefinition"]


def test_the_migration_runs_from_the_new_revision_then_the_service_is_updated(service) -> None:
    name = service["name"]
    result, ecs = _release(service, exit_code=0)

    assert result["outcome"] == "completed", result
    assert result["migration"]["outcome"] == "succeeded"
    [run] = ecs.runs
    # The new revision (the new image: run_task cannot override an image), the service's network, no public IP.
    assert run["taskDefinition"] == result["task_definition"] != service["taskdef"]
    assert run["launchType"] == "FARGATE"
    assert run["networkConfiguration"]["awsvpcConfiguration"] == {
        "subnets": [service["subnet"]],
        "securityGroups": [service["group"]],
        "assignPublicIp": "DISABLED",
    }
    assert run["overrides"]["containerOverrides"] == [{"name": "api", "command": ["alembic", "upgrade", "head"]}]
    assert _running_arn(name) == result["task_definition"]


@pytest.mark.parametrize("exit_code", [1, None], ids=["exit-1", "never-started"])
def test_a_failed_migration_leaves_the_service_and_what_a_deploy_keeps_unchanged(service, exit_code) -> None:
    name = service["name"]
    result, _ = _release(service, exit_code=exit_code)

    assert result["outcome"] == "migration_failed", result
    assert _running_arn(name) == service["taskdef"], "the service was updated despite the failed migration"
    if exit_code == 1:
        assert result["migration"]["exit_code"] == 1
        # The tail comes from the emulator's log stream <prefix>/<container>/<task id>.
        assert result["migration"]["log_tail"] == [
            "INFO  [alembic] Running upgrade a1 -> b2",
            "ERROR relation already exists",
        ]
    else:
        assert result["migration"]["outcome"] == "not_started"
        assert "ResourceInitializationError" in result["migration"]["stopped_reason"]

    # The failed revision is no longer ACTIVE: the latest ACTIVE revision, which ecs_taskdef's
    # keep_current_image reads, is still the one the service runs...
    ecs = boto3.client("ecs")
    assert mm_ecs.latest_task_definition(ecs, name)["taskDefinitionArn"] == service["taskdef"]
    # ...so the next infrastructure run keeps v1, not the image whose migration failed.
    planned = run_module(
        "mediamind.platform.ecs_taskdef",
        {
            "family": name,
            "cpu": "256",
            "memory": "512",
            "keep_current_image": True,
            "containers": [{"name": "api", "image": f"{IMAGE}:initial", "essential": True}],
        },
        check=True,
    )
    assert planned["task_definition"]["images"] == {"api": f"{IMAGE}:v1"}, planned


def test_check_mode_plans_the_migration_and_runs_nothing(service) -> None:
    result, ecs = _release(service, exit_code=0, check_mode=True)
    assert result["changed"] is True
    assert result["migration"]["outcome"] == "planned"
    assert result["migration"]["network"]["assignPublicIp"] == "DISABLED"
    assert ecs.runs == []
    assert _running_arn(service["name"]) == service["taskdef"]
    arns = boto3.client("ecs").list_task_definitions(familyPrefix=service["name"])["taskDefinitionArns"]
    assert arns == [service["taskdef"]], "check mode registered a revision"
