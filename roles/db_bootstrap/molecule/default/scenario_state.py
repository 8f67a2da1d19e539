"""The db_bootstrap scenario's AWS state, read and made with boto3 (never with the role).

prepare: the VPC, subnet, database security group, master and credential secrets the role
expects from other components (idempotent). lookup: their ids as JSON. verify: what the role
made, read from the emulator. gone: nothing of the role's is left. cleanup: remove prepare's.
"""

from __future__ import annotations

import contextlib
import json
import sys

import boto3

NAME = "molecule-db-admin"
TAG = "molecule-db-bootstrap"
SECRETS = {"master": f"{TAG}/master", "production": f"{TAG}/production/db", "dev": f"{TAG}/dev/db"}


def check(condition: object, message: object = "verify failed") -> None:
    """An assertion that survives python -O and names what is wrong."""
    if not condition:
        sys.exit(f"verify: {message}")


def _clients():
    kw = {"region_name": "eu-central-1"}
    return (boto3.client(n, **kw) for n in ("ec2", "secretsmanager", "ecs", "iam", "logs"))


def _vpc(ec2) -> str | None:
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [TAG]}])["Vpcs"]
    return vpcs[0]["VpcId"] if vpcs else None


def prepare() -> None:
    ec2, sm, ecs, _, _ = _clients()
    vpc = _vpc(ec2)
    if vpc is None:
        vpc = ec2.create_vpc(CidrBlock="10.77.0.0/16")["Vpc"]["VpcId"]
        ec2.create_tags(Resources=[vpc], Tags=[{"Key": "Name", "Value": TAG}])
        ec2.create_subnet(VpcId=vpc, CidrBlock="10.77.1.0/24", AvailabilityZone="eu-central-1a")
        ec2.create_security_group(GroupName=f"{TAG}-db", Description="scenario database", VpcId=vpc)
    for key, name in SECRETS.items():
        try:
            sm.describe_secret(SecretId=name)
        except sm.exceptions.ResourceNotFoundException:
            value = {"username": "master", "password": "m"} if key == "master" else {
                "engine": "postgres", "host": "db.example", "port": 5432,
                "dbname": f"mm_{key}", "username": f"mm_{key}", "password": "x",
            }  # fmt: skip
            sm.create_secret(Name=name, SecretString=json.dumps(value))
    ecs.create_cluster(clusterName=TAG)


def lookup() -> dict:
    ec2, sm, _, _, _ = _clients()
    vpc = _vpc(ec2)
    subnets = [s["SubnetId"] for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]]
    groups = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": [f"{TAG}-db"]}]
    )["SecurityGroups"]
    arns = {key: sm.describe_secret(SecretId=name)["ARN"] for key, name in SECRETS.items()}
    return {"vpc_id": vpc, "subnet_ids": subnets, "db_sg_id": groups[0]["GroupId"], "secret_arns": arns}


def verify() -> None:
    ec2, _, ecs, iam, logs = _clients()
    ids = lookup()
    arns = ids["secret_arns"]
    family = ecs.list_task_definitions(familyPrefix=NAME, status="ACTIVE")["taskDefinitionArns"]
    check(len(family) == 1, f"one ACTIVE revision after converge and idempotence: {family}")
    td = ecs.describe_task_definition(taskDefinition=family[0])["taskDefinition"]
    [container] = td["containerDefinitions"]
    check(container["image"] == "public.ecr.aws/docker/library/postgres:17-alpine", container["image"])
    check(container["user"] == "postgres")
    secrets = {s["name"]: s["valueFrom"] for s in container["secrets"]}
    check(secrets["PGPASSWORD"] == f"{arns['master']}:password::", secrets)
    check(secrets["APP_DEV_PASSWORD"] == f"{arns['dev']}:password::", secrets)
    check(secrets["APP_PRODUCTION_DB"] == f"{arns['production']}:dbname::", secrets)
    env = {e["name"]: e["value"] for e in container["environment"]}
    check(env["PGSSLMODE"] == "verify-full")
    check(env["PGHOST"] == "db.molecule.example")
    for value in env.values():
        check("password" not in value.lower() or "\\getenv" in value, "a value in the environment")
    check("taskRoleArn" not in td or not td["taskRoleArn"], "the task calls no AWS API: no task role")
    check(td["executionRoleArn"].endswith(f":role/{NAME}-execution"))

    role = f"{NAME}-execution"
    policy = iam.get_role_policy(RoleName=role, PolicyName=f"{NAME}-execution")["PolicyDocument"]
    statements = {s["Sid"]: s for s in policy["Statement"]}
    check(sorted(statements["ReadDatabaseSecrets"]["Resource"]) == sorted(arns.values()))
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        check(all("*" not in a for a in actions), statement)
    trust = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
    check(trust["Statement"][0]["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012")

    [group] = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [ids["vpc_id"]]}, {"Name": "group-name", "Values": [f"{NAME}-tasks"]}]
    )["SecurityGroups"]
    check(group["IpPermissions"] == [], "no ingress")
    egress = {(p.get("FromPort"), tuple(g["GroupId"] for g in p.get("UserIdGroupPairs", []))) for p in
              group["IpPermissionsEgress"]}  # fmt: skip
    check(egress == {(443, ()), (5432, (ids["db_sg_id"],))}, egress)

    [log_group] = logs.describe_log_groups(logGroupNamePrefix=f"/ecs/{NAME}")["logGroups"]
    check(log_group["retentionInDays"] == 14)


def gone() -> None:
    ec2, _, ecs, iam, logs = _clients()
    left = []
    if ecs.list_task_definitions(familyPrefix=NAME, status="ACTIVE")["taskDefinitionArns"]:
        left.append("task definition")
    if any(r["RoleName"] == f"{NAME}-execution" for r in iam.list_roles()["Roles"]):
        left.append("execution role")
    if logs.describe_log_groups(logGroupNamePrefix=f"/ecs/{NAME}")["logGroups"]:
        left.append("log group")
    if ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"{NAME}-tasks"]}])["SecurityGroups"]:
        left.append("security group")
    sys.exit(f"left behind: {left}" if left else 0)


def cleanup() -> None:
    ec2, sm, ecs, _, _ = _clients()
    # Tolerant: the first destroy of the sequence runs on a clean slate.
    for name in SECRETS.values():
        with contextlib.suppress(sm.exceptions.ResourceNotFoundException):
            sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    with contextlib.suppress(ecs.exceptions.ClusterNotFoundException):
        ecs.delete_cluster(cluster=TAG)
    vpc = _vpc(ec2)
    if vpc:
        for group in ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"]:
            if group["GroupName"] != "default":
                ec2.delete_security_group(GroupId=group["GroupId"])
        for subnet in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]:
            ec2.delete_subnet(SubnetId=subnet["SubnetId"])
        ec2.delete_vpc(VpcId=vpc)


if __name__ == "__main__":
    action = sys.argv[1]
    if action == "lookup":
        print(json.dumps(lookup()))
    else:
        {"prepare": prepare, "verify": verify, "gone": gone, "cleanup": cleanup}[action]()
