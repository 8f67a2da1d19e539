"""Reads the emulator for the ecs_service scenario (no Ansible task results).

`lookup` prints the ids prepare made (VPC, subnets, ALB group, target group, secret) as JSON for
converge; `verify` checks the converged state and prints every failed property (exit 1 when any);
`gone` checks that destroy left nothing of the services.
"""

from __future__ import annotations

import functools
import json
import os
import re
import sys
import urllib.request
from pathlib import Path

import boto3

ENDPOINT = os.environ.get("AWS_ENDPOINT_URL") or "http://127.0.0.1:5000"
KW = {
    "region_name": "eu-central-1",
    "endpoint_url": ENDPOINT,
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
}
CLUSTER = "molecule-ecs-svc"
API, SCHED = "molecule-api", "molecule-scheduler"


def client(name):
    return boto3.client(name, **KW)


def lookup() -> dict:
    ec2, elb, sm = client("ec2"), client("elbv2"), client("secretsmanager")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [CLUSTER]}])["Vpcs"][0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "tag:Name", "Values": [f"{CLUSTER}-private-*"]}])["Subnets"]
    sg = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"{CLUSTER}-alb"]}])
    tg = elb.describe_target_groups(Names=[f"{CLUSTER}-api"])["TargetGroups"][0]["TargetGroupArn"]
    secret = sm.describe_secret(SecretId=f"{CLUSTER}/app-env")["ARN"]
    return {
        "vpc_id": vpc,
        "subnet_ids": sorted(s["SubnetId"] for s in subnets),
        "alb_sg_id": sg["SecurityGroups"][0]["GroupId"],
        "target_group_arn": tg,
        "secret_arn": secret,
    }


@functools.cache
def _moto_services() -> list[dict]:
    # One read: the dump covers every service of the emulator and grows with its state.
    with urllib.request.urlopen(f"{ENDPOINT}/moto-api/data.json", timeout=120) as resp:  # noqa: S310
        return json.load(resp)["ecs"]["Service"]


def moto_state(service: str) -> dict:
    """The emulator's internal model (it keeps what DescribeServices omits, when it keeps it)."""
    return next(s for s in _moto_services() if s["name"] == service and s["status"] == "ACTIVE")


def policies(iam, role: str) -> list[dict]:
    docs = []
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        doc = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        docs.append(json.loads(doc) if isinstance(doc, str) else doc)
    return docs


def verify() -> list[str]:  # noqa: PLR0915 - one flat list of checks reads best
    ids = lookup()
    ecs, ec2, iam, logs, aas = (
        client("ecs"),
        client("ec2"),
        client("iam"),
        client("logs"),
        client("application-autoscaling"),
    )
    errors: list[str] = []

    def check(cond: bool, what: str) -> None:
        if not cond:
            errors.append(what)

    secret_like = re.compile(r"(KEY|SECRET|PASSWORD|TOKEN)", re.I)
    for name, cpu, memory in ((API, "512", "1024"), (SCHED, "256", "512")):
        td = ecs.describe_task_definition(taskDefinition=name)["taskDefinition"]
        c = td["containerDefinitions"][0]
        check(td["cpu"] == cpu and td["memory"] == memory, f"{name}: cpu/memory {td['cpu']}/{td['memory']}")
        check(
            td["networkMode"] == "awsvpc" and td["requiresCompatibilities"] == ["FARGATE"],
            f"{name}: not awsvpc/Fargate",
        )
        check(
            td["executionRoleArn"].endswith(f"role/{name}-execution"),
            f"{name}: execution role {td['executionRoleArn']}",
        )
        check(td["taskRoleArn"].endswith(f"role/{name}-task"), f"{name}: task role {td['taskRoleArn']}")
        check(td["revision"] == 1, f"{name}: idempotence registered revision {td['revision']}")
        env = {e["name"]: e["value"] for e in c.get("environment", [])}
        check(not any(secret_like.search(k) for k in env), f"{name}: secret-looking env {list(env)}")
        check(not any("@" in v for v in env.values()), f"{name}: credential URL in env {env}")
        for s in c.get("secrets", []):
            # JSON-key syntax: <secret ARN>:<json key>:: (AWSCURRENT); here the keys equal the names.
            check(
                s["valueFrom"] == f"{ids['secret_arn']}:{s['name']}::",
                f"{name}: secret {s['name']} valueFrom {s['valueFrom']}",
            )
        log = c["logConfiguration"]
        check(
            log["logDriver"] == "awslogs" and log["options"]["awslogs-group"] == f"/ecs/{name}", f"{name}: logs {log}"
        )
        groups = logs.describe_log_groups(logGroupNamePrefix=f"/ecs/{name}")["logGroups"]
        check(bool(groups) and groups[0].get("retentionInDays") == 14, f"{name}: log group {groups}")

        svc = ecs.describe_services(cluster=CLUSTER, services=[name])["services"][0]
        net = svc["networkConfiguration"]["awsvpcConfiguration"]
        check(net["assignPublicIp"] == "DISABLED", f"{name}: public IP {net}")
        check(sorted(net["subnets"]) == ids["subnet_ids"], f"{name}: subnets {net['subnets']}")
        check(svc["taskDefinition"] == td["taskDefinitionArn"], f"{name}: service runs {svc['taskDefinition']}")
        sg = ec2.describe_security_groups(GroupIds=net["securityGroups"])["SecurityGroups"][0]
        check(sg["GroupName"] == f"{name}-tasks", f"{name}: SG {sg['GroupName']}")
        # Emulator gap: DescribeServices omits deploymentConfiguration and the grace period, and
        # moto's CreateService does not even keep them (only UpdateService does). Where the
        # emulator's own model has them, check that; otherwise check the CreateService request the
        # module sent, which converge recorded.
        model = moto_state(name)
        sent = json.loads(
            (Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / f"{name}-create-request.json").read_text()
        )
        dc = model.get("deployment_configuration") or sent["deploymentConfiguration"]
        grace = model.get("health_check_grace_period_seconds") or sent.get("healthCheckGracePeriodSeconds")
        check(
            sent["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "DISABLED", f"{name}: sent {sent}"
        )
        check(
            dc
            == {
                "deploymentCircuitBreaker": {"enable": True, "rollback": True},
                "maximumPercent": 200,
                "minimumHealthyPercent": 100,
            },
            f"{name}: deployment {dc}",
        )

        exec_docs = policies(iam, f"{name}-execution")
        task_docs = policies(iam, f"{name}-task")
        for doc in exec_docs + task_docs:
            for st in doc["Statement"]:
                actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
                check(not any("*" in a for a in actions), f"{name}: wildcard action {actions}")
                if "*" in resources:
                    check(actions == ["ecr:GetAuthorizationToken"], f"{name}: Resource * for {actions}")
                if any(a.startswith("secretsmanager:") for a in actions):
                    check(resources == [ids["secret_arn"]], f"{name}: secret resources {resources}")
        trust = iam.get_role(RoleName=f"{name}-execution")["Role"]["AssumeRolePolicyDocument"]
        trust = json.loads(trust) if isinstance(trust, str) else trust
        st = trust["Statement"][0]
        check(st["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}, f"{name}: trust {st}")
        check(st["Condition"]["StringEquals"]["aws:SourceAccount"] == "123456789012", f"{name}: trust condition {st}")

        if name == API:
            check(
                svc["loadBalancers"]
                == [{"targetGroupArn": ids["target_group_arn"], "containerName": API, "containerPort": 8000}],
                f"{name}: load balancers {svc['loadBalancers']}",
            )
            check(grace == 90, f"{name}: grace {grace}")
            ingress = sg["IpPermissions"]
            check(
                len(ingress) == 1
                and ingress[0]["FromPort"] == 8000
                and not ingress[0]["IpRanges"]
                and [p["GroupId"] for p in ingress[0]["UserIdGroupPairs"]] == [ids["alb_sg_id"]],
                f"{name}: ingress {ingress}",
            )
            check(c["portMappings"][0]["containerPort"] == 8000, f"{name}: ports {c['portMappings']}")
            s3 = [st for d in task_docs for st in d["Statement"]]
            check(bool(s3) and all(a.startswith("s3:") for st in s3 for a in st["Action"]), f"{name}: task role {s3}")
            pol = aas.describe_scaling_policies(ServiceNamespace="ecs", ResourceId=f"service/{CLUSTER}/{API}")
            cfg = pol["ScalingPolicies"][0]["TargetTrackingScalingPolicyConfiguration"]
            check(cfg["TargetValue"] == 60.0, f"{name}: autoscaling {cfg}")
        else:
            check(svc["loadBalancers"] == [], f"{name}: load balancers {svc['loadBalancers']}")
            check(grace is None, f"{name}: grace period without a load balancer {grace}")
            check(sg["IpPermissions"] == [], f"{name}: scheduler has ingress {sg['IpPermissions']}")
            check(env.get("EMAIL_JOB_INTERVAL") == "-1", f"{name}: env {env}")
            check(task_docs == [], f"{name}: scheduler task role has policies {task_docs}")
            check({s["name"] for s in c["secrets"]} == {"REDIS_URL", "API_KEY"}, f"{name}: secrets {c['secrets']}")
    return errors


def gone() -> list[str]:
    ecs, iam, logs, ec2 = client("ecs"), client("iam"), client("logs"), client("ec2")
    errors = []
    for name in (API, SCHED):
        try:
            svcs = ecs.describe_services(cluster=CLUSTER, services=[name])["services"]
        except ecs.exceptions.ClusterNotFoundException:
            svcs = []  # a clean slate: no cluster, so no service either
        if any(s["status"] == "ACTIVE" for s in svcs):
            errors.append(f"{name}: service still active")
        if ecs.list_task_definitions(familyPrefix=name, status="ACTIVE")["taskDefinitionArns"]:
            errors.append(f"{name}: task definitions left")
        for role in (f"{name}-execution", f"{name}-task"):
            try:
                iam.get_role(RoleName=role)
                errors.append(f"{role} left")
            except iam.exceptions.NoSuchEntityException:
                pass
        if logs.describe_log_groups(logGroupNamePrefix=f"/ecs/{name}")["logGroups"]:
            errors.append(f"/ecs/{name} left")
        if ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"{name}-tasks"]}])[
            "SecurityGroups"
        ]:
            errors.append(f"{name}-tasks SG left")
    return errors


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "lookup":
        print(json.dumps(lookup()))
        sys.exit(0)
    problems = verify() if mode == "verify" else gone()
    print(json.dumps(problems, indent=1))
    sys.exit(1 if problems else 0)
