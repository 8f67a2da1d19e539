"""ecs_service_release against the emulator: a release changes only the image, is
idempotent, never touches anything in check mode, and reports a rollback with the
failed tasks' stopped reasons."""

from __future__ import annotations

import threading
import time
import uuid

import boto3
import pytest
from conftest import run_module

IMAGE = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/mediamind"


def _release(check: bool = False, **args: str | int) -> dict:
    return run_module("mediamind.platform.ecs_service_release", args, check=check)


@pytest.fixture
def service(local_stack, request):
    ecs, ec2 = boto3.client("ecs"), boto3.client("ec2")
    name = f"release-{uuid.uuid4().hex[:8]}"
    vpc = ec2.create_vpc(CidrBlock="10.99.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.99.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=name, Description="release test", VpcId=vpc)["GroupId"]
    ecs.create_cluster(clusterName=name)
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
                "cpu": 128,
                "memory": 256,
                "portMappings": [{"containerPort": 8000}],
            },
            {
                "name": "sidecar",
                "image": "public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0",
                "essential": False,
                "cpu": 128,
                "memory": 256,
            },
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster=name,
        serviceName=name,
        taskDefinition=taskdef,
        desiredCount=getattr(request, "param", 1),
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group], "assignPublicIp": "DISABLED"}
        },
    )
    yield {"name": name, "taskdef": taskdef}
    ecs.update_service(cluster=name, service=name, desiredCount=0)
    ecs.delete_service(cluster=name, service=name, force=True)
    ecs.delete_cluster(cluster=name)
    ec2.delete_security_group(GroupId=group)
    ec2.delete_subnet(SubnetId=subnet)
    ec2.delete_vpc(VpcId=vpc)


def _running(name: str) -> dict:
    ecs = boto3.client("ecs")
    arn = ecs.describe_services(cluster=name, services=[name])["services"][0]["taskDefinition"]
    return ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]


def test_release_changes_only_the_image_and_is_idempotent(service) -> None:
    name = service["name"]
    before = _running(name)

    dry = _release(cluster=name, service=name, tag="v2", check=True)
    assert dry["changed"] is True
    assert _running(name)["taskDefinitionArn"] == service["taskdef"], "check mode registered or deployed"

    done = _release(cluster=name, service=name, tag="v2", poll_interval=1)
    assert done["outcome"] == "completed", done
    after = _running(name)
    assert after["revision"] == before["revision"] + 1
    api = {c["name"]: c for c in after["containerDefinitions"]}
    assert api["api"]["image"] == f"{IMAGE}:v2"
    assert api["sidecar"]["image"] == before["containerDefinitions"][1]["image"]
    for key in ("cpu", "memory", "networkMode", "requiresCompatibilities"):
        assert after[key] == before[key]

    again = _release(cluster=name, service=name, tag="v2")
    assert again["changed"] is False
    assert again["outcome"] == "unchanged"


# Two desired tasks: moto runs one (MOTO_ECS_SERVICE_RUNNING=1), so the deployment
# stays IN_PROGRESS and the release waits until the breaker acts.
@pytest.mark.parametrize("service", [2], indirect=True)
def test_release_reports_the_circuit_breaker_rollback(service) -> None:
    name, old = service["name"], service["taskdef"]
    ecs = boto3.client("ecs")

    def circuit_breaker() -> None:
        # Stand-in for ECS's deployment circuit breaker: it restores the old revision.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            current = ecs.describe_services(cluster=name, services=[name])["services"][0]["taskDefinition"]
            if current != old:
                ecs.update_service(cluster=name, service=name, taskDefinition=old)
                return
            time.sleep(0.2)

    breaker = threading.Thread(target=circuit_breaker)
    breaker.start()
    result = _release(cluster=name, service=name, tag="broken", poll_interval=2)
    breaker.join()
    assert result["failed"] is True
    assert result["outcome"] == "rolled_back", result
    # Emulator gap (moto 5.2): run_task of a Fargate awsvpc task fails inside moto
    # ('NetworkInterface' has no 'private_dns_name'), so no stopped task can be made
    # here; the stopped-reason lookup runs and returns what ECS has (nothing).
    assert result["stopped_reasons"] == []
