"""The db_bootstrap scenario's AWS state, read and made with boto3 (never with the role).

prepare: the VPC, subnet, database security group, master and credential secrets the role
expects from other components (idempotent). lookup: their ids. verify: every property of what the
role made that does not hold (verify.yml asserts there is none). gone: what is left of the role's
(destroy.yml asserts nothing). cleanup: remove prepare's. Clients from .config/molecule/state.py.
"""

from __future__ import annotations

import contextlib
import json

import state

NAME = "molecule-db-admin"
TAG = "molecule-db-bootstrap"
SECRETS = {"master": f"{TAG}/master", "production": f"{TAG}/production/db", "dev": f"{TAG}/dev/db"}


def prepare() -> None:
    ec2, sm, ecs = state.client("ec2"), state.client("secretsmanager"), state.client("ecs")
    vpc = state.vpc_id(TAG)
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
    vpc = state.vpc_id(TAG)
    arns = {key: state.secret(name)["ARN"] for key, name in SECRETS.items()}
    return {
        "vpc_id": vpc,
        "subnet_ids": state.subnet_ids(vpc_id=vpc),
        "db_sg_id": state.security_groups(f"{TAG}-db", vpc)[0]["GroupId"],
        "secret_arns": arns,
    }


def verify() -> list[str]:
    check = state.Checks()
    ids = lookup()
    arns = ids["secret_arns"]
    family = state.active_task_definitions(NAME)
    check(len(family) == 1, f"one ACTIVE revision after converge and idempotence: {family}")
    if not family:
        return check  # nothing more to read: say that, not a traceback
    td = state.client("ecs").describe_task_definition(taskDefinition=family[0])["taskDefinition"]
    containers = td["containerDefinitions"]
    check(len(containers) == 1, f"one container: {containers}")
    container = containers[0]
    check(container["image"] == "public.ecr.aws/docker/library/postgres:17-alpine", container["image"])
    check(container["user"] == "postgres", f"user {container['user']}")
    secrets = {s["name"]: s["valueFrom"] for s in container["secrets"]}
    check(secrets["PGPASSWORD"] == f"{arns['master']}:password::", secrets)
    check(secrets["APP_DEV_PASSWORD"] == f"{arns['dev']}:password::", secrets)
    check(secrets["APP_PRODUCTION_DB"] == f"{arns['production']}:dbname::", secrets)
    env = {e["name"]: e["value"] for e in container["environment"]}
    check(env["PGSSLMODE"] == "verify-full", env)
    check(env["PGHOST"] == "db.molecule.example", env)
    for value in env.values():
        check("password" not in value.lower() or "\\getenv" in value, "a value in the environment")
    check("taskRoleArn" not in td or not td["taskRoleArn"], "the task calls no AWS API: no task role")
    check(td["executionRoleArn"].endswith(f":role/{NAME}-execution"), td["executionRoleArn"])

    role = f"{NAME}-execution"
    policy = state.inline_policies(role)[f"{NAME}-execution"]
    statements = {s["Sid"]: s for s in policy["Statement"]}
    check(sorted(statements["ReadDatabaseSecrets"]["Resource"]) == sorted(arns.values()), statements)
    for statement in policy["Statement"]:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        check(all("*" not in a for a in actions), statement)
    trust = state.trust_policy(role)
    check(trust["Statement"][0]["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012", trust)

    groups = state.security_groups(f"{NAME}-tasks", ids["vpc_id"])
    check(len(groups) == 1, f"one tasks security group: {groups}")
    group = groups[0] if groups else {"IpPermissions": [], "IpPermissionsEgress": []}  # counted as failed above
    check(group["IpPermissions"] == [], "no ingress")
    egress = {(p.get("FromPort"), tuple(g["GroupId"] for g in p.get("UserIdGroupPairs", []))) for p in
              group["IpPermissionsEgress"]}  # fmt: skip
    check(egress == {(443, ()), (5432, (ids["db_sg_id"],))}, egress)

    log_groups = state.log_groups(f"/ecs/{NAME}")
    check([g.get("retentionInDays") for g in log_groups] == [14], f"one log group, 14 days: {log_groups}")
    return check


def gone() -> list[str]:
    left = []
    if state.active_task_definitions(NAME):
        left.append("task definition")
    if state.role_exists(f"{NAME}-execution"):
        left.append("execution role")
    if state.log_groups(f"/ecs/{NAME}"):
        left.append("log group")
    if state.security_groups(f"{NAME}-tasks"):
        left.append("security group")
    return left


def cleanup() -> None:
    ec2, sm, ecs = state.client("ec2"), state.client("secretsmanager"), state.client("ecs")
    # Tolerant: the first destroy of the sequence runs on a clean slate.
    for name in SECRETS.values():
        with contextlib.suppress(sm.exceptions.ResourceNotFoundException):
            sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
    with contextlib.suppress(ecs.exceptions.ClusterNotFoundException):
        ecs.delete_cluster(cluster=TAG)
    vpc = state.vpc_id(TAG)
    if vpc:
        for group in ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["SecurityGroups"]:
            if group["GroupName"] != "default":
                ec2.delete_security_group(GroupId=group["GroupId"])
        for subnet in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]:
            ec2.delete_subnet(SubnetId=subnet["SubnetId"])
        ec2.delete_vpc(VpcId=vpc)


if __name__ == "__main__":
    state.run({"prepare": prepare, "lookup": lookup, "verify": verify, "gone": gone, "cleanup": cleanup})
