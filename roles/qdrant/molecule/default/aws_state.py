"""Reads the emulator for the qdrant scenario (no Ansible task results).

`lookup` prints the ids prepare made as JSON for converge; `verify` checks the converged state and
prints every failed property (exit 1 when any); `gone` checks that destroy left nothing of Qdrant.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import boto3

ENDPOINT = os.environ.get("AWS_ENDPOINT_URL") or "http://127.0.0.1:5000"
KW = {
    "region_name": "eu-central-1",
    "endpoint_url": ENDPOINT,
    "aws_access_key_id": "testing",
    "aws_secret_access_key": "testing",
}
PREFIX = "molecule-qdrant"
SERVICE = "molecule-qdrant-svc"
CLIENTS = "molecule-qdrant-clients"
NAMESPACE = "molecule-qdrant.internal"
IMAGE = "qdrant/qdrant@sha256:" + "0123456789abcdef" * 4


def client(name):
    return boto3.client(name, **KW)


def lookup() -> dict:
    ec2, elb, sm = client("ec2"), client("elbv2"), client("secretsmanager")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [PREFIX]}])["Vpcs"][0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "tag:Name", "Values": [f"{PREFIX}-private-*"]}])["Subnets"]
    sg = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"{PREFIX}-alb"]}])
    return {
        "vpc_id": vpc,
        "subnet_ids": sorted(s["SubnetId"] for s in subnets),
        "alb_sg_id": sg["SecurityGroups"][0]["GroupId"],
        "target_group_arn": elb.describe_target_groups(Names=[f"{PREFIX}-tg"])["TargetGroups"][0]["TargetGroupArn"],
        "secret_arn": sm.describe_secret(SecretId=f"{PREFIX}/app-env")["ARN"],
    }


def _verify_edges(check, ids: dict, svc: dict, task_sg: str) -> None:
    """Qdrant's port (load balancer and client group only) and its internal name (Cloud Map)."""
    ec2 = client("ec2")
    net = svc["networkConfiguration"]["awsvpcConfiguration"]
    tasks = ec2.describe_security_groups(GroupIds=[task_sg])["SecurityGroups"][0]["IpPermissions"]
    clients = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [CLIENTS]}])["SecurityGroups"]
    check(len(clients) == 1, f"client groups {clients}")
    client_sg = clients[0]["GroupId"] if clients else None
    # Qdrant's port from the load balancer and the client group's members only: no CIDR at all.
    check(
        len(tasks) == 1
        and tasks[0]["FromPort"] == 6333
        and tasks[0]["ToPort"] == 6333
        and not tasks[0]["IpRanges"]
        and not tasks[0].get("Ipv6Ranges")
        and sorted(p["GroupId"] for p in tasks[0]["UserIdGroupPairs"]) == sorted([ids["alb_sg_id"], client_sg]),
        f"task ingress {tasks}",
    )
    # The client group is a membership marker: no traffic of its own.
    check(
        bool(clients) and not clients[0]["IpPermissions"] and not clients[0]["IpPermissionsEgress"],
        f"client group rules {clients}",
    )
    check(client_sg not in net["securityGroups"], f"Qdrant's tasks are no client of themselves {net}")

    # The internal name: a private DNS namespace, a multivalue A-record service in it, and the
    # ECS service registering its tasks there (their private IPs become the name's records).
    sd = client("servicediscovery")
    namespaces = [n for n in sd.list_namespaces()["Namespaces"] if n["Name"] == NAMESPACE]
    check(len(namespaces) == 1 and namespaces[0]["Type"] == "DNS_PRIVATE", f"namespaces {namespaces}")
    registry = None
    if namespaces:
        found = sd.list_services(Filters=[{"Name": "NAMESPACE_ID", "Values": [namespaces[0]["Id"]]}])["Services"]
        check([f["Name"] for f in found] == ["qdrant"], f"Cloud Map services {found}")
        registry = found[0] if found else None
    if registry:
        check(registry["DnsConfig"]["DnsRecords"] == [{"Type": "A", "TTL": 10}], f"records {registry}")
        check(
            svc.get("serviceRegistries") == [{"registryArn": registry["Arn"]}],
            f"service registries {svc.get('serviceRegistries')}",
        )
        outputs = json.loads((Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "qdrant-outputs.json").read_text())
        check(
            outputs["internal_url"] == f"http://{registry['Name']}.{NAMESPACE}:6333"
            and outputs["registry_arn"] == registry["Arn"],
            f"outputs {outputs}",
        )


def verify() -> list[str]:
    ids = lookup()
    ecs, ec2, efs, iam = client("ecs"), client("ec2"), client("efs"), client("iam")
    errors: list[str] = []

    def check(cond: bool, what: str) -> None:
        if not cond:
            errors.append(what)

    fs = efs.describe_file_systems(CreationToken=SERVICE)["FileSystems"]
    check(len(fs) == 1, f"file systems {fs}")
    fs = fs[0]
    check(fs["Encrypted"] is True, f"EFS not encrypted {fs}")
    aps = efs.describe_access_points(FileSystemId=fs["FileSystemId"])["AccessPoints"]
    check(len(aps) == 1, f"access points {aps}")
    ap = aps[0]
    check(ap["PosixUser"] == {"Uid": 1000, "Gid": 1000}, f"posix user {ap['PosixUser']}")
    check(ap["RootDirectory"]["Path"] == "/qdrant", f"root directory {ap['RootDirectory']}")
    mts = efs.describe_mount_targets(FileSystemId=fs["FileSystemId"])["MountTargets"]
    check(sorted(m["SubnetId"] for m in mts) == ids["subnet_ids"], f"mount targets {mts}")

    svc = ecs.describe_services(cluster=PREFIX, services=[SERVICE])["services"][0]
    net = svc["networkConfiguration"]["awsvpcConfiguration"]
    check(net["assignPublicIp"] == "DISABLED", f"public IP {net}")
    task_sg = net["securityGroups"][0]
    nfs = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"{SERVICE}-efs"]}])[
        "SecurityGroups"
    ][0]
    ingress = nfs["IpPermissions"]
    check(
        len(ingress) == 1
        and ingress[0]["FromPort"] == 2049
        and ingress[0]["ToPort"] == 2049
        and not ingress[0]["IpRanges"]
        and [p["GroupId"] for p in ingress[0]["UserIdGroupPairs"]] == [task_sg],
        f"NFS ingress {ingress}",
    )
    for m in mts:
        groups = efs.describe_mount_target_security_groups(MountTargetId=m["MountTargetId"])["SecurityGroups"]
        check(groups == [nfs["GroupId"]], f"mount target groups {groups}")
    _verify_edges(check, ids, svc, task_sg)
    check(
        svc["loadBalancers"]
        == [{"targetGroupArn": ids["target_group_arn"], "containerName": SERVICE, "containerPort": 6333}],
        f"load balancers {svc['loadBalancers']}",
    )

    td = ecs.describe_task_definition(taskDefinition=SERVICE)["taskDefinition"]
    c = td["containerDefinitions"][0]
    check(td["cpu"] == "512" and td["memory"] == "1024", f"size {td['cpu']}/{td['memory']}")
    check(c["image"] == IMAGE, f"image {c['image']}")
    check(
        c["secrets"] == [{"name": "QDRANT__SERVICE__API_KEY", "valueFrom": ids["secret_arn"] + ":QDRANT_API_KEY::"}],
        f"secrets {c['secrets']}",
    )
    check(not any("API_KEY" in e["name"] for e in c.get("environment", [])), f"env {c.get('environment')}")
    vol = td["volumes"][0]["efsVolumeConfiguration"]
    check(
        vol["fileSystemId"] == fs["FileSystemId"]
        and vol["transitEncryption"] == "ENABLED"
        and vol["authorizationConfig"] == {"accessPointId": ap["AccessPointId"], "iam": "ENABLED"},
        f"volume {vol}",
    )
    check(
        c["mountPoints"]
        == [{"sourceVolume": td["volumes"][0]["name"], "containerPath": "/qdrant/storage", "readOnly": False}],
        f"mount points {c['mountPoints']}",
    )
    check(td["revision"] == 1, f"idempotence registered revision {td['revision']}")
    role = td["taskRoleArn"].split("/")[-1]
    names = iam.list_role_policies(RoleName=role)["PolicyNames"]
    docs = [iam.get_role_policy(RoleName=role, PolicyName=n)["PolicyDocument"] for n in names]
    docs = [json.loads(d) if isinstance(d, str) else d for d in docs]
    st = docs[0]["Statement"][0]
    check(
        st["Resource"] == fs["FileSystemArn"]
        and st["Condition"]["StringEquals"]["elasticfilesystem:AccessPointArn"] == ap["AccessPointArn"],
        f"task role {docs}",
    )
    sent = json.loads((Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "create-request.json").read_text())
    # Emulator gap (as in ecs_service): deploymentConfiguration is not kept by moto's CreateService.
    check(
        sent["deploymentConfiguration"]
        == {
            "deploymentCircuitBreaker": {"enable": True, "rollback": True},
            "minimumHealthyPercent": 0,
            "maximumPercent": 100,
        },
        f"deployment {sent['deploymentConfiguration']}",
    )
    return errors


def gone() -> list[str]:
    ecs, efs, ec2, iam = client("ecs"), client("efs"), client("ec2"), client("iam")
    errors = []
    if efs.describe_file_systems(CreationToken=SERVICE)["FileSystems"]:
        errors.append("file system left")
    try:
        svcs = ecs.describe_services(cluster=PREFIX, services=[SERVICE])["services"]
        if any(s["status"] == "ACTIVE" for s in svcs):
            errors.append("service left")
    except ecs.exceptions.ClusterNotFoundException:
        pass
    if ecs.list_task_definitions(familyPrefix=SERVICE, status="ACTIVE")["taskDefinitionArns"]:
        errors.append("task definitions left")
    if [n for n in client("servicediscovery").list_namespaces()["Namespaces"] if n["Name"] == NAMESPACE]:
        errors.append(f"namespace {NAMESPACE} left")
    for name in (f"{SERVICE}-efs", f"{SERVICE}-tasks", CLIENTS):
        if ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [name]}])["SecurityGroups"]:
            errors.append(f"{name} left")
    for role in (f"{SERVICE}-execution", f"{SERVICE}-task"):
        try:
            iam.get_role(RoleName=role)
            errors.append(f"{role} left")
        except iam.exceptions.NoSuchEntityException:
            pass
    return errors


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "lookup":
        print(json.dumps(lookup()))
        sys.exit(0)
    problems = verify() if mode == "verify" else gone()
    print(json.dumps(problems, indent=1))
    sys.exit(1 if problems else 0)
