"""The emulator's state for Molecule's verify steps: one reader shared by every scenario.

Each scenario's ``scenario_state.py`` keeps only its own reads and does ``import state``;
``.config/molecule/read_state.yml`` runs it with this directory on PYTHONPATH, under
``mediamind_molecule_state_env`` (config.yml), and parses the one JSON document it prints.

The rule every verify step keeps: state is read from the emulator with boto3 (describe, get,
list calls), never through the role's own modules nor from a task's result, so a bug in a
module cannot confirm itself.  Hence no default endpoint either: without AWS_ENDPOINT_URL a
read would go to real AWS, and it stops instead.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import boto3


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        sys.exit(f"state: {name} is not set (run through .config/molecule/read_state.yml)")
    return value


def endpoint() -> str:
    """The emulator's URL, as the provisioner's modules use it (mediamind_aws_module_defaults)."""
    return _env("AWS_ENDPOINT_URL")


@functools.cache
def client(service: str) -> Any:
    """A boto3 client on the emulator; one per service and run (the scripts are short-lived)."""
    return boto3.client(
        service,
        endpoint_url=endpoint(),
        region_name=_env("AWS_DEFAULT_REGION"),
        aws_access_key_id=_env("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=_env("AWS_SECRET_ACCESS_KEY"),
    )


def emit(result: object) -> None:
    """The one output: JSON on stdout, keys sorted (stable logs), datetimes as strings."""
    json.dump(result, sys.stdout, default=str, sort_keys=True)
    sys.stdout.write("\n")


def run(commands: Callable[..., object] | Mapping[str, Callable[..., object]]) -> None:
    """A script's main: argv[1] names the command (when there are several), the rest are its
    arguments; what the command returns is emitted (None: nothing, for the write steps)."""
    args = sys.argv[1:]
    if callable(commands):
        result = commands(*args)
    else:
        if not args or args[0] not in commands:
            sys.exit(f"usage: {sys.argv[0]} {'|'.join(commands)} [argument ...]")
        result = commands[args[0]](*args[1:])
    if result is not None:
        emit(result)


class Checks(list):
    """Every failed property, not just the first: verify.yml asserts that the list is empty."""

    def __call__(self, condition: object, what: object) -> None:
        if not condition:
            self.append(str(what))


def ephemeral_json(name: str) -> Any:
    """A JSON file the scenario's converge wrote (a request the emulator does not keep)."""
    return json.loads((Path(_env("MOLECULE_EPHEMERAL_DIRECTORY")) / name).read_text())


# --------------------------------------------------------------- common reads


def tags(items: Iterable[Mapping[str, str]] | None) -> dict[str, str]:
    """[{"Key": k, "Value": v}, ...] (most services' shape) as {k: v}."""
    return {t["Key"]: t["Value"] for t in items or []}


def document(doc: str | Mapping[str, Any]) -> Any:
    """An IAM policy document: boto3 decodes most, some emulator paths return the URL-encoded JSON."""
    return json.loads(unquote(doc)) if isinstance(doc, str) else doc


def ec2_filters(**values: str | list[str]) -> list[dict[str, Any]]:
    """describe_* filters from keywords; underscores stand for dashes (vpc_id -> vpc-id)."""
    return [
        {"Name": name.replace("_", "-"), "Values": value if isinstance(value, list) else [value]}
        for name, value in values.items()
    ]


def security_groups(name: str | None = None, vpc_id: str | None = None, ids: list[str] | None = None) -> list[dict]:
    """Security groups with their rules (IpPermissions, IpPermissionsEgress), by name, VPC or ids."""
    filters = {k: v for k, v in {"group_name": name, "vpc_id": vpc_id}.items() if v}
    kwargs: dict[str, Any] = {"Filters": ec2_filters(**filters)} if filters else {}
    if ids is not None:
        kwargs["GroupIds"] = ids
    return client("ec2").describe_security_groups(**kwargs)["SecurityGroups"]


def security_group(name: str | None = None, vpc_id: str | None = None, ids: list[str] | None = None) -> dict | None:
    """The one matching security group, or None (a clean emulator, or a group destroy removed)."""
    groups = security_groups(name, vpc_id, ids)
    return groups[0] if groups else None


def vpc_id(name: str) -> str | None:
    """The VPC tagged Name=<name> (what a scenario's prepare made), or None."""
    vpcs = client("ec2").describe_vpcs(Filters=ec2_filters(**{"tag:Name": name}))["Vpcs"]
    return vpcs[0]["VpcId"] if vpcs else None


def subnet_ids(**filters: str | list[str]) -> list[str]:
    """Sorted ids of the subnets matching the filters (ec2_filters' keywords)."""
    subnets = client("ec2").describe_subnets(Filters=ec2_filters(**filters))["Subnets"]
    return sorted(s["SubnetId"] for s in subnets)


def secret(secret_id: str) -> dict:
    """describe_secret without its value: ARN, description, owning service, deletion date, tags as a dict."""
    meta = client("secretsmanager").describe_secret(SecretId=secret_id)
    meta.pop("ResponseMetadata", None)
    meta["Tags"] = tags(meta.get("Tags"))
    return meta


def role_exists(name: str) -> bool:
    iam = client("iam")
    try:
        iam.get_role(RoleName=name)
    except iam.exceptions.NoSuchEntityException:
        return False
    return True


def trust_policy(role: str) -> Any:
    return document(client("iam").get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"])


def inline_policies(role: str) -> dict[str, Any]:
    """A role's inline policies, {name: document}."""
    iam = client("iam")
    return {
        name: document(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]
    }


def log_groups(prefix: str) -> list[dict]:
    return client("logs").describe_log_groups(logGroupNamePrefix=prefix)["logGroups"]


def active_task_definitions(family: str) -> list[str]:
    return client("ecs").list_task_definitions(familyPrefix=family, status="ACTIVE")["taskDefinitionArns"]


def service_active(cluster: str, service: str) -> bool:
    """Whether an ECS service is ACTIVE (a missing cluster: a clean slate, so no service either)."""
    ecs = client("ecs")
    try:
        services = ecs.describe_services(cluster=cluster, services=[service])["services"]
    except ecs.exceptions.ClusterNotFoundException:
        return False
    return any(s["status"] == "ACTIVE" for s in services)
