"""Reads the emulator for the ecs_service scenario (no Ansible task results).

`lookup`: the ids prepare made (VPC, subnets, ALB group, target group, secret), for converge;
`verify`: every failed property of the converged state (verify.yml asserts there is none);
`gone`: what destroy left of the services (destroy.yml asserts nothing).
"""

from __future__ import annotations

import functools
import json
import re
import urllib.request

import state

CLUSTER = "molecule-ecs-svc"
API, SCHED = "molecule-api", "molecule-scheduler"


def lookup() -> dict:
    tg = state.client("elbv2").describe_target_groups(Names=[f"{CLUSTER}-api"])["TargetGroups"][0]
    return {
        "vpc_id": state.vpc_id(CLUSTER),
        "subnet_ids": state.subnet_ids(**{"tag:Name": f"{CLUSTER}-private-*"}),
        "alb_sg_id": state.security_groups(f"{CLUSTER}-alb")[0]["GroupId"],
        "target_group_arn": tg["TargetGroupArn"],
        "secret_arn": state.secret(f"{CLUSTER}/app-env")["ARN"],
    }


@functools.cache
def _moto_services() -> list[dict]:
    # One read: the dump covers every service of the emulator and grows with its state.
    with urllib.request.urlopen(f"{state.endpoint()}/moto-api/data.json", timeout=120) as resp:  # noqa: S310
        return json.load(resp)["ecs"]["Service"]


def moto_state(service: str) -> dict:
    """The emulator's internal model (it keeps what DescribeServices omits, when it keeps it)."""
    return next(s for s in _moto_services() if s["name"] == service and s["status"] == "ACTIVE")


def verify() -> list[str]:  # noqa: PLR0915 - one flat list of checks reads best
    ids = lookup()
    ecs, aas = state.client("ecs"), state.client("application-autoscaling")
    check = state.Checks()

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
        groups = state.log_groups(f"/ecs/{name}")
        check(bool(groups) and groups[0].get("retentionInDays") == 14, f"{name}: log group {groups}")

        svc = ecs.describe_services(cluster=CLUSTER, services=[name])["services"][0]
        net = svc["networkConfiguration"]["awsvpcConfiguration"]
        check(net["assignPublicIp"] == "DISABLED", f"{name}: public IP {net}")
        check(sorted(net["subnets"]) == ids["subnet_ids"], f"{name}: subnets {net['subnets']}")
        check(svc["taskDefinition"] == td["taskDefinitionArn"], f"{name}: service runs {svc['taskDefinition']}")
        sg = state.security_groups(ids=net["securityGroups"])[0]
        check(sg["GroupName"] == f"{name}-tasks", f"{name}: SG {sg['GroupName']}")
        # Emulator gap: DescribeServices omits deploymentConfiguration and the grace period, and
        # moto's CreateService does not even keep them (only UpdateService does). Where the
        # emulator's own model has them, check that; otherwise check the CreateService request the
        # module sent, which converge recorded.
        model = moto_state(name)
        sent = state.ephemeral_json(f"{name}-create-request.json")
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

        exec_docs = list(state.inline_policies(f"{name}-execution").values())
        task_docs = list(state.inline_policies(f"{name}-task").values())
        for doc in exec_docs + task_docs:
            for st in doc["Statement"]:
                actions = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                resources = st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
                check(not any("*" in a for a in actions), f"{name}: wildcard action {actions}")
                if "*" in resources:
                    check(actions == ["ecr:GetAuthorizationToken"], f"{name}: Resource * for {actions}")
                if any(a.startswith("secretsmanager:") for a in actions):
                    check(resources == [ids["secret_arn"]], f"{name}: secret resources {resources}")
        st = state.trust_policy(f"{name}-execution")["Statement"][0]
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
    return check


def gone() -> list[str]:
    errors = []
    for name in (API, SCHED):
        if state.service_active(CLUSTER, name):
            errors.append(f"{name}: service still active")
        if state.active_task_definitions(name):
            errors.append(f"{name}: task definitions left")
        errors += [f"{role} left" for role in (f"{name}-execution", f"{name}-task") if state.role_exists(role)]
        if state.log_groups(f"/ecs/{name}"):
            errors.append(f"/ecs/{name} left")
        if state.security_groups(f"{name}-tasks"):
            errors.append(f"{name}-tasks SG left")
    return errors


if __name__ == "__main__":
    state.run({"lookup": lookup, "verify": verify, "gone": gone})
