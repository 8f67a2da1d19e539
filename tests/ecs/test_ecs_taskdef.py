"""ecs_taskdef: the comparison that makes task definitions idempotent (pure), and the
release-safety rule against the emulator (an infra run keeps the image a release deployed)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import boto3
import pytest
from ansible_collections.mediamind.platform.plugins.module_utils import ecs as mm_ecs
from conftest import run_module

ROOT = Path(__file__).resolve().parents[2]


SECRET = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:mediamind/app-env-AbCdEf"


def _request(**container_over) -> dict:
    container = {
        "name": "api",
        "image": "repo:1",
        "essential": True,
        "portMappings": [{"containerPort": 8000, "protocol": "tcp"}],
        "environment": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}],
        "secrets": [
            {"name": "Z", "valueFrom": f"{SECRET}:Z::"},
            {"name": "DB_PASSWORD", "valueFrom": f"{SECRET}:DB_PASSWORD::"},
        ],
        "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/api"}},
    }
    container.update(container_over)
    return {
        "family": "api",
        "cpu": "256",
        "memory": "512",
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "containerDefinitions": [container],
        "volumes": [
            {
                "name": "data",
                "efsVolumeConfiguration": {
                    "fileSystemId": "fs-1",
                    "transitEncryption": "ENABLED",
                    "authorizationConfig": {"accessPointId": "fsap-1", "iam": "ENABLED"},
                },
            }
        ],
    }


def _as_described(request: dict) -> dict:
    """What DescribeTaskDefinition returns for `request`: defaults added, lists reordered."""
    described = json.loads(json.dumps(request))
    c = described["containerDefinitions"][0]
    c.update(cpu=0, mountPoints=[], volumesFrom=[], systemControls=[])
    c["portMappings"] = [dict(p, hostPort=p["containerPort"]) for p in c["portMappings"]]
    c["environment"] = list(reversed(c["environment"]))
    c["secrets"] = list(reversed(c["secrets"]))
    described["volumes"][0]["efsVolumeConfiguration"]["rootDirectory"] = "/"
    described.update(revision=3, status="ACTIVE", compatibilities=["EC2", "FARGATE"], placementConstraints=[])
    return described


def test_described_revision_equals_its_request() -> None:
    request = _request()
    assert mm_ecs.normalise_task_definition(_as_described(request)) == mm_ecs.normalise_task_definition(request)


@pytest.mark.parametrize(
    "change",
    [
        {"image": "repo:2"},
        {"environment": [{"name": "A", "value": "1"}]},
        {"secrets": [{"name": "Z", "valueFrom": f"{SECRET}:OTHER::"}]},
        {"portMappings": [{"containerPort": 9000, "protocol": "tcp"}]},
        {"command": ["serve"]},
    ],
)
def test_a_real_difference_is_seen(change: dict) -> None:
    current = _as_described(_request())
    assert mm_ecs.normalise_task_definition(current) != mm_ecs.normalise_task_definition(_request(**change))


def test_task_level_differences_are_seen() -> None:
    current = mm_ecs.normalise_task_definition(_as_described(_request()))
    for key, value in (("cpu", "512"), ("memory", "1024"), ("taskRoleArn", "arn:aws:iam::1:role/x")):
        assert current != mm_ecs.normalise_task_definition(dict(_request(), **{key: value}))


# --------------------------------------------------------------------------- emulator


def _taskdef(args: dict, check: bool = False) -> dict:
    return run_module("mediamind.platform.ecs_taskdef", args, check=check)


@pytest.fixture
def family(local_stack):
    name = f"taskdef-{uuid.uuid4().hex[:8]}"
    yield name
    _taskdef({"family": name, "state": "absent"})


def _args(family: str, image: str, keep: bool, env_value: str = "1") -> dict:
    request = _request(image=image, environment=[{"name": "A", "value": env_value}])
    return {
        "family": family,
        "cpu": "256",
        "memory": "512",
        "containers": [dict(request["containerDefinitions"][0], name=family)],
        "keep_current_image": keep,
    }


def test_secrets_are_idempotent_and_check_mode_is_truthful(family: str) -> None:
    first = _taskdef(_args(family, "repo:1", keep=True))
    assert first["changed"]
    assert first["registered"]
    assert not _taskdef(_args(family, "repo:1", keep=True), check=True)["changed"]
    again = _taskdef(_args(family, "repo:1", keep=True))
    assert not again["changed"], again["diff"]
    planned = _taskdef(_args(family, "repo:1", keep=True, env_value="2"), check=True)
    assert planned["changed"]
    assert planned["task_definition"]["arn"].endswith(f"{family}:2")
    ecs = boto3.client("ecs")
    assert ecs.list_task_definitions(familyPrefix=family)["taskDefinitionArns"][-1].endswith(":1")


def test_an_infra_run_keeps_the_released_image(family: str) -> None:
    _taskdef(_args(family, "repo:initial", keep=True))
    ecs = boto3.client("ecs")
    # What a release does: a new revision of the running one with only the image changed.
    current = ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]
    container = dict(current["containerDefinitions"][0], image="repo:2026.11.29-1")
    ecs.register_task_definition(
        family=family,
        containerDefinitions=[container],
        cpu=current["cpu"],
        memory=current["memory"],
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
    )
    # An unrelated setting changes in the inventory: a new revision, but the released image stays.
    result = _taskdef(_args(family, "repo:initial", keep=True, env_value="2"))
    assert result["registered"]
    assert result["images_kept"] == [family]
    assert (
        ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]["containerDefinitions"][0]["image"]
        == "repo:2026.11.29-1"
    )
    # A pin in the inventory wins.
    pinned = _taskdef(_args(family, "repo:pinned", keep=False, env_value="2"))
    assert pinned["registered"]
    assert (
        ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]["containerDefinitions"][0]["image"]
        == "repo:pinned"
    )


def test_absent_deregisters_every_revision(family: str) -> None:
    _taskdef(_args(family, "repo:1", keep=False))
    _taskdef(_args(family, "repo:2", keep=False))
    result = _taskdef({"family": family, "state": "absent"})
    assert result["changed"]
    assert len(result["deregistered"]) == 2
    ecs = boto3.client("ecs")
    assert ecs.list_task_definitions(familyPrefix=family, status="ACTIVE")["taskDefinitionArns"] == []
    assert not _taskdef({"family": family, "state": "absent"})["changed"]
