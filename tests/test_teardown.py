"""`make destroy` leaves nothing of ours (issue 12, "Done when"): a full local deploy on an emulator of
its own, then playbooks/teardown.yml, then every resource the emulator still holds, service by
service. moto's own furniture (the default VPC and its subnets, default security groups, AWS-managed
IAM policies) is not ours and is left out by what it is, never by a name list of ours.

What the emulator cannot finish is tolerated next to its assertion, each with its reason.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from conftest import private_stack, stack_env

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


def _playbook(stack: dict[str, str], playbook: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "tools/playbook.sh"), "local", playbook],
        cwd=ROOT,
        env={**os.environ, **stack, "ANSIBLE_NOCOLOR": "1"},
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )


def _clients(stack: dict[str, str]):
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-central-1")

    def client(service: str):
        return session.client(service, endpoint_url=stack["AWS_ENDPOINT_URL"])

    return client


def remaining(client) -> dict[str, list[str]]:
    """Everything left in the emulator that a deploy could have made, by kind (empty kinds left out)."""
    ec2 = client("ec2")
    vpcs = [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"] if not v.get("IsDefault")]
    ours = [{"Name": "vpc-id", "Values": vpcs}] if vpcs else None
    found: dict[str, list[str]] = {
        "ec2:vpc": vpcs,
        "ec2:subnet": [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"] if not s.get("DefaultForAz")],
        "ec2:security-group": [
            f"{g['GroupName']} ({g['GroupId']})"
            for g in ec2.describe_security_groups()["SecurityGroups"]
            if g["GroupName"] != "default"
        ],
        "ec2:nat-gateway": [
            n["NatGatewayId"] for n in ec2.describe_nat_gateways()["NatGateways"] if n["State"] not in ("deleted",)
        ],
        "ec2:address": [a.get("AllocationId", a.get("PublicIp")) for a in ec2.describe_addresses()["Addresses"]],
        "ec2:internet-gateway": [
            i["InternetGatewayId"]
            for i in ec2.describe_internet_gateways()["InternetGateways"]
            if not i.get("Attachments") or any(a["VpcId"] in vpcs for a in i["Attachments"])
        ],
        "ec2:route-table": [r["RouteTableId"] for r in ec2.describe_route_tables(Filters=ours)["RouteTables"]]
        if ours
        else [],
        "ec2:vpc-endpoint": [
            e["VpcEndpointId"] for e in ec2.describe_vpc_endpoints()["VpcEndpoints"] if e["State"] != "deleted"
        ],
        "ec2:flow-log": [f["FlowLogId"] for f in ec2.describe_flow_logs()["FlowLogs"]],
    }
    elbv2 = client("elbv2")
    found["elbv2:load-balancer"] = [lb["LoadBalancerName"] for lb in elbv2.describe_load_balancers()["LoadBalancers"]]
    found["elbv2:target-group"] = [tg["TargetGroupName"] for tg in elbv2.describe_target_groups()["TargetGroups"]]
    ecs = client("ecs")
    clusters = ecs.list_clusters()["clusterArns"]
    found["ecs:cluster"] = (
        [c["clusterName"] for c in ecs.describe_clusters(clusters=clusters)["clusters"] if c["status"] == "ACTIVE"]
        if clusters
        else []
    )
    found["ecs:service"] = [
        s["serviceName"]
        for cluster in clusters
        for arns in [ecs.list_services(cluster=cluster)["serviceArns"]]
        if arns
        for s in ecs.describe_services(cluster=cluster, services=arns)["services"]
        if s["status"] == "ACTIVE"
    ]
    found["ecs:task-definition"] = ecs.list_task_definitions(status="ACTIVE")["taskDefinitionArns"]
    found["ecr:repository"] = [r["repositoryName"] for r in client("ecr").describe_repositories()["repositories"]]
    found["efs:file-system"] = [f["FileSystemId"] for f in client("efs").describe_file_systems()["FileSystems"]]
    rds = client("rds")
    found["rds:instance"] = [d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"]]
    found["rds:subnet-group"] = [g["DBSubnetGroupName"] for g in rds.describe_db_subnet_groups()["DBSubnetGroups"]]
    found["rds:parameter-group"] = [
        g["DBParameterGroupName"]
        for g in rds.describe_db_parameter_groups()["DBParameterGroups"]
        if not g["DBParameterGroupName"].startswith("default.")
    ]
    elasticache = client("elasticache")
    found["elasticache:replication-group"] = [
        f"{g['ReplicationGroupId']} ({g['Status']})"
        for g in elasticache.describe_replication_groups()["ReplicationGroups"]
    ]
    found["elasticache:subnet-group"] = [
        g["CacheSubnetGroupName"]
        for g in elasticache.describe_cache_subnet_groups()["CacheSubnetGroups"]
        if g["CacheSubnetGroupName"] != "default"
    ]
    found["s3:bucket"] = [b["Name"] for b in client("s3").list_buckets()["Buckets"]]
    found["ses:receipt-rule-set"] = [s["Name"] for s in client("ses").list_receipt_rule_sets().get("RuleSets", [])]
    found["lambda:function"] = [f["FunctionName"] for f in client("lambda").list_functions()["Functions"]]
    iam = client("iam")
    found["iam:role"] = [
        r["RoleName"] for r in iam.list_roles()["Roles"] if not r["Path"].startswith("/aws-service-role/")
    ]
    found["iam:policy"] = [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]]
    found["secretsmanager:secret"] = [s["Name"] for s in client("secretsmanager").list_secrets()["SecretList"]]
    found["acm:certificate"] = [c["DomainName"] for c in client("acm").list_certificates()["CertificateSummaryList"]]
    found["sqs:queue"] = client("sqs").list_queues().get("QueueUrls", [])
    found["logs:log-group"] = [g["logGroupName"] for g in client("logs").describe_log_groups()["logGroups"]]
    found["cloudwatch:alarm"] = [a["AlarmName"] for a in client("cloudwatch").describe_alarms()["MetricAlarms"]]
    found["sns:topic"] = [t["TopicArn"] for t in client("sns").list_topics()["Topics"]]
    backup = client("backup")
    found["backup:vault"] = [
        v["BackupVaultName"]
        for v in backup.list_backup_vaults()["BackupVaultList"]
        if v["BackupVaultName"] != "Default"
    ]
    found["backup:plan"] = [p["BackupPlanName"] for p in backup.list_backup_plans()["BackupPlansList"]]
    return {kind: sorted(names) for kind, names in found.items() if names}


@pytest.fixture(scope="module")
def torn_down() -> Iterator[dict]:
    """A full local deploy, what it made, then the teardown and what is left."""
    with private_stack("teardown", 5500) as settings:
        stack = stack_env(settings)
        client = _clients(stack)
        deploy = _playbook(stack, "playbooks/site.yml")
        assert deploy.returncode == 0, deploy.stdout[-4000:]
        deployed = remaining(client)
        teardown = _playbook(stack, "playbooks/teardown.yml")
        assert teardown.returncode == 0, teardown.stdout[-4000:]
        yield {"deployed": deployed, "left": remaining(client), "teardown": teardown}


def test_the_deploy_made_every_kind_the_listing_looks_for(torn_down) -> None:
    """The listing is not vacuous: each kind it reads was there after the deploy."""
    assert {
        "ec2:vpc",
        "ec2:nat-gateway",
        "elbv2:load-balancer",
        "ecs:service",
        "ecr:repository",
        "efs:file-system",
        "rds:instance",
        "elasticache:replication-group",
        "s3:bucket",
        "lambda:function",
        "secretsmanager:secret",
        "logs:log-group",
    } <= set(torn_down["deployed"]), torn_down["deployed"]


def test_teardown_leaves_nothing_of_ours(torn_down) -> None:
    left = dict(torn_down["left"])
    # Emulator gap (ARCHITECTURE.md): a deleted ElastiCache replication group stays at "deleting"
    # for ever in moto 5.2. Deleted means asked to delete: any other status is a leftover.
    groups = left.pop("elasticache:replication-group", [])
    assert [g for g in groups if not g.endswith("(deleting)")] == [], groups
    # Its consequence: AWS refuses to delete a cache subnet group while a group uses it, so the local
    # inventory skips that step (elasticache_absent_wait: false) and the subnet group stays with it.
    # Only while its group is still there at "deleting".
    subnet_groups = left.pop("elasticache:subnet-group", [])
    assert subnet_groups in ([], ["mediamind"]), subnet_groups
    assert not subnet_groups or groups == ["mediamind (deleting)"], groups
    assert left == {}, left
