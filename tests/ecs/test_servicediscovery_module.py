"""mediamind.platform.servicediscovery_dns_service against the emulator, through `ansible -m`.

The four passes of the house style on Qdrant's internal name (check, real, check again, real
again), then what only this module decides: the TTL and tags change in place, absent removes the
service and then the namespace, and leaves a namespace another service still uses. State is read
back with boto3.
"""

from __future__ import annotations

import uuid
from typing import Any

import boto3
import pytest
from conftest import run_module

pytestmark = pytest.mark.slow


def _run(args: dict[str, Any], check: bool = False) -> dict[str, Any]:
    result = run_module("mediamind.platform.servicediscovery_dns_service", args, check=check)
    assert not result.get("failed"), result.get("msg")
    return result


@pytest.fixture
def vpc(local_stack) -> Any:
    ec2 = boto3.client("ec2", region_name="eu-central-1")
    sd = boto3.client("servicediscovery", region_name="eu-central-1")
    vpc_id = ec2.create_vpc(CidrBlock="10.124.0.0/16")["Vpc"]["VpcId"]
    namespace = f"t{uuid.uuid4().hex[:8]}.internal"
    yield sd, vpc_id, namespace
    for ns in _namespaces(sd, namespace):
        for svc in sd.list_services(Filters=[{"Name": "NAMESPACE_ID", "Values": [ns["Id"]]}])["Services"]:
            sd.delete_service(Id=svc["Id"])
        sd.delete_namespace(Id=ns["Id"])
    ec2.delete_vpc(VpcId=vpc_id)


def _namespaces(sd, name: str) -> list[dict[str, Any]]:
    return [n for n in sd.list_namespaces()["Namespaces"] if n["Name"] == name]


def _services(sd, namespace_id: str) -> list[dict[str, Any]]:
    return sd.list_services(Filters=[{"Name": "NAMESPACE_ID", "Values": [namespace_id]}])["Services"]


def test_four_passes_ttl_tags_and_absent(vpc) -> None:
    sd, vpc_id, namespace = vpc
    wanted = {"namespace": namespace, "vpc_id": vpc_id, "name": "qdrant", "ttl": 10, "tags": {"Project": "t"}}

    planned = _run(wanted, check=True)
    assert planned["changed"] is True
    assert planned["dns_name"] == f"qdrant.{namespace}"
    assert _namespaces(sd, namespace) == []

    created = _run(wanted)
    assert created["changed"] is True
    [ns] = _namespaces(sd, namespace)
    assert ns["Type"] == "DNS_PRIVATE"
    [svc] = _services(sd, ns["Id"])
    assert svc["Name"] == "qdrant"
    assert svc["DnsConfig"]["DnsRecords"] == [{"Type": "A", "TTL": 10}]
    assert svc["DnsConfig"]["RoutingPolicy"] == "MULTIVALUE"
    # ECS reports each task's health through the custom health check.
    assert sd.get_service(Id=svc["Id"])["Service"]["HealthCheckCustomConfig"] == {"FailureThreshold": 1}
    assert created["service"]["arn"] == svc["Arn"]
    assert created["dns_name"] == f"qdrant.{namespace}"
    for arn in (ns["Arn"], svc["Arn"]):
        assert sd.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "Project", "Value": "t"}]

    assert _run(wanted, check=True)["changed"] is False
    again = _run(wanted)
    assert again["changed"] is False
    assert again["service"]["arn"] == svc["Arn"]

    # TTL and tags change in place: the same service, the same ARN (ECS keeps referring to it).
    changed = _run(dict(wanted, ttl=30, tags={"Project": "u"}))
    assert changed["changed"] is True
    [svc2] = _services(sd, ns["Id"])
    assert svc2["Arn"] == svc["Arn"]
    assert sd.get_service(Id=svc["Id"])["Service"]["DnsConfig"]["DnsRecords"] == [{"Type": "A", "TTL": 30}]
    assert sd.list_tags_for_resource(ResourceARN=svc["Arn"])["Tags"] == [{"Key": "Project", "Value": "u"}]

    gone = {"namespace": namespace, "name": "qdrant", "state": "absent"}
    assert _run(gone, check=True)["changed"] is True
    assert len(_namespaces(sd, namespace)) == 1
    assert _run(gone)["changed"] is True
    assert _namespaces(sd, namespace) == []
    assert _run(gone)["changed"] is False


def test_absent_keeps_a_namespace_another_service_uses(vpc) -> None:
    sd, vpc_id, namespace = vpc
    _run({"namespace": namespace, "vpc_id": vpc_id, "name": "qdrant"})
    _run({"namespace": namespace, "vpc_id": vpc_id, "name": "other"})
    result = _run({"namespace": namespace, "name": "qdrant", "state": "absent"})
    assert result["changed"] is True
    [ns] = _namespaces(sd, namespace)
    assert [s["Name"] for s in _services(sd, ns["Id"])] == ["other"]
