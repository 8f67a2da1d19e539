"""Reads the emulator for the qdrant scenario (no Ansible task results).

`lookup`: the ids prepare made, for converge; `verify`: every failed property of the converged
state (verify.yml asserts there is none); `gone`: what destroy left of Qdrant (destroy.yml asserts
nothing).
"""

from __future__ import annotations

import state

PREFIX = "molecule-qdrant"
SERVICE = "molecule-qdrant-svc"
CLIENTS = "molecule-qdrant-clients"
NAMESPACE = "molecule-qdrant.internal"
IMAGE = "qdrant/qdrant@sha256:" + "0123456789abcdef" * 4


def lookup() -> dict:
    tg = state.client("elbv2").describe_target_groups(Names=[f"{PREFIX}-tg"])["TargetGroups"][0]
    return {
        "vpc_id": state.vpc_id(PREFIX),
        "subnet_ids": state.subnet_ids(**{"tag:Name": f"{PREFIX}-private-*"}),
        "alb_sg_id": state.security_groups(f"{PREFIX}-alb")[0]["GroupId"],
        "target_group_arn": tg["TargetGroupArn"],
        "secret_arn": state.secret(f"{PREFIX}/app-env")["ARN"],
    }


def _verify_edges(check, ids: dict, svc: dict, task_sg: str) -> None:
    """Qdrant's port (load balancer and client group only) and its internal name (Cloud Map)."""
    net = svc["networkConfiguration"]["awsvpcConfiguration"]
    tasks = state.security_groups(ids=[task_sg])[0]["IpPermissions"]
    clients = state.security_groups(CLIENTS)
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
    sd = state.client("servicediscovery")
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
        outputs = state.ephemeral_json("qdrant-outputs.json")
        check(
            outputs["internal_url"] == f"http://{registry['Name']}.{NAMESPACE}:6333"
            and outputs["registry_arn"] == registry["Arn"],
            f"outputs {outputs}",
        )


def verify() -> list[str]:
    ids = lookup()
    ecs, efs = state.client("ecs"), state.client("efs")
    check = state.Checks()

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
    nfs = state.security_groups(f"{SERVICE}-efs")[0]
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
    docs = list(state.inline_policies(role).values())
    st = docs[0]["Statement"][0]
    check(
        st["Resource"] == fs["FileSystemArn"]
        and st["Condition"]["StringEquals"]["elasticfilesystem:AccessPointArn"] == ap["AccessPointArn"],
        f"task role {docs}",
    )
    sent = state.ephemeral_json("create-request.json")
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
    return check


def gone() -> list[str]:
    errors = []
    if state.client("efs").describe_file_systems(CreationToken=SERVICE)["FileSystems"]:
        errors.append("file system left")
    if state.service_active(PREFIX, SERVICE):
        errors.append("service left")
    if state.active_task_definitions(SERVICE):
        errors.append("task definitions left")
    if [n for n in state.client("servicediscovery").list_namespaces()["Namespaces"] if n["Name"] == NAMESPACE]:
        errors.append(f"namespace {NAMESPACE} left")
    groups = (f"{SERVICE}-efs", f"{SERVICE}-tasks", CLIENTS)
    errors += [f"{name} left" for name in groups if state.security_groups(name)]
    errors += [f"{role} left" for role in (f"{SERVICE}-execution", f"{SERVICE}-task") if state.role_exists(role)]
    return errors


if __name__ == "__main__":
    state.run({"lookup": lookup, "verify": verify, "gone": gone})
