"""boto3 calls and comparisons behind the ECS/EFS modules (ecs_fargate_cluster, ecs_taskdef,
ecs_fargate_service, efs_storage).

The comparisons are written against what the API *returns*: AWS (and the local emulator)
add defaults to what was sent (container cpu 0, empty lists, hostPort in awsvpc mode, an EFS
rootDirectory of "/"), so both sides are normalised before they are compared; a setting the
API does not return at all is not compared (see the emulator gaps in ARCHITECTURE.md).
"""

from __future__ import annotations

import copy
from typing import Any

from ansible_collections.mediamind.platform.plugins.module_utils.common import aws_retry

# Values the ECS API fills in when they were not sent: treated as "not set" on both sides.
_EMPTY: tuple[Any, ...] = (None, [], {}, "")
_CONTAINER_DEFAULTS = {"cpu": 0, "essential": True}


def _sorted_by(items: list[dict[str, Any]] | None, key: str) -> list[dict[str, Any]]:
    return sorted(items or [], key=lambda item: str(item.get(key)))


def _normalise_port(port: dict[str, Any]) -> dict[str, Any]:
    port = dict(port)
    # awsvpc: the host port is always the container port; AWS adds it when absent.
    port.setdefault("hostPort", port.get("containerPort"))
    port.setdefault("protocol", "tcp")
    return port


def normalise_container(container: dict[str, Any]) -> dict[str, Any]:
    """A container definition with API defaults removed and lists in a stable order."""
    out: dict[str, Any] = {}
    for key, raw in container.items():
        if raw in _EMPTY or _CONTAINER_DEFAULTS.get(key, object()) == raw:
            continue
        value = raw
        if key in ("environment", "secrets"):
            value = _sorted_by(raw, "name")
        elif key == "portMappings":
            value = sorted((_normalise_port(p) for p in raw), key=lambda p: (p["containerPort"], p["protocol"]))
        elif key == "mountPoints":
            value = _sorted_by([{"readOnly": False, **m} for m in raw], "containerPath")
        elif key == "ulimits":
            value = _sorted_by(raw, "name")
        out[key] = value
    return out


def normalise_volume(volume: dict[str, Any]) -> dict[str, Any]:
    volume = copy.deepcopy(volume)
    efs = volume.get("efsVolumeConfiguration")
    if efs is not None:
        # With an access point the root directory is the access point's; AWS reports "/".
        if efs.get("rootDirectory") in (None, "/"):
            efs.pop("rootDirectory", None)
        auth = efs.get("authorizationConfig")
        if auth is not None and not auth:
            efs.pop("authorizationConfig")
    return {k: v for k, v in volume.items() if v not in _EMPTY}


def normalise_task_definition(td: dict[str, Any]) -> dict[str, Any]:
    """The comparable part of a task definition (request or describe shape)."""
    return {
        "family": td.get("family"),
        "cpu": str(td["cpu"]) if td.get("cpu") is not None else None,
        "memory": str(td["memory"]) if td.get("memory") is not None else None,
        "networkMode": td.get("networkMode"),
        "requiresCompatibilities": sorted(td.get("requiresCompatibilities") or []),
        "executionRoleArn": td.get("executionRoleArn"),
        "taskRoleArn": td.get("taskRoleArn"),
        "runtimePlatform": td.get("runtimePlatform") or None,
        "containerDefinitions": _sorted_by(
            [normalise_container(c) for c in td.get("containerDefinitions") or []], "name"
        ),
        "volumes": _sorted_by([normalise_volume(v) for v in td.get("volumes") or []], "name"),
    }


# --------------------------------------------------------------------------- ECS calls


@aws_retry
def describe_cluster(client, name: str) -> dict[str, Any] | None:
    result = client.describe_clusters(clusters=[name], include=["SETTINGS", "TAGS"])
    for cluster in result.get("clusters", []):
        if cluster.get("status") != "INACTIVE":
            return cluster
    return None


def latest_task_definition(client, family: str) -> dict[str, Any] | None:
    """The latest ACTIVE revision of `family` (with its tags), or None."""
    # Highest revision number, computed here: the emulator ignores sort=DESC.
    arns = task_definition_arns(client, family, "ACTIVE")
    if not arns:
        return None
    latest = max(arns, key=lambda arn: int(arn.rsplit(":", 1)[1]))
    result = _describe_with_tags(client, latest)
    td = result["taskDefinition"]
    td["tags"] = result.get("tags", [])
    return td


@aws_retry
def _describe_with_tags(client, arn: str) -> dict[str, Any]:
    return client.describe_task_definition(taskDefinition=arn, include=["TAGS"])


@aws_retry
def describe_task_definition(client, arn: str) -> dict[str, Any] | None:
    try:
        return client.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    except client.exceptions.ClientException:
        return None


@aws_retry
def task_definition_arns(client, family: str, status: str) -> list[str]:
    paginator = client.get_paginator("list_task_definitions")
    arns = paginator.paginate(familyPrefix=family, status=status).build_full_result()["taskDefinitionArns"]
    return [a for a in arns if a.split("/")[-1].rsplit(":", 1)[0] == family]


@aws_retry
def describe_service(client, cluster: str, name: str) -> dict[str, Any] | None:
    try:
        result = client.describe_services(cluster=cluster, services=[name], include=["TAGS"])
    except client.exceptions.ClusterNotFoundException:
        return None
    for service in result.get("services", []):
        if service.get("status") == "ACTIVE":
            return service
    return None
