"""Interrupted deploys converge: site.yml killed (SIGKILL, like a cancelled CI job) right after a
chosen task, with resources half-made, then re-run to completion, builds exactly the stack one
uninterrupted run builds (no duplicate VPC, NAT gateway, load balancer, rule, task definition or
service), and a further run reports changed=0.

Runs on an emulator of its own (ports 5121/6421): the reference stack is deployed first, read
(`snapshot`), the emulator is reset (`/moto-api/reset`), then the interrupted sequence runs.
Two interruption points in one sequence, each re-run meeting the previous one's leftovers:
  1. alb: the load balancer and its listeners exist; its attributes, SNI certificates and
     listener rules do not (the services' plays never ran).
  2. ecs_service: one service's task definition is registered (others mid-flight on other
     forks); no service exists yet.
Four deploys in all (two partial): 16 minutes on the shared 2-core machine at load 7 (an idle one: ~8).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import urllib.request
from collections import Counter
from pathlib import Path

import boto3
import pytest
from conftest import private_stack, stack_env

ROOT = Path(__file__).resolve().parent.parent.parent
HERE = Path(__file__).resolve().parent

# Substrings of task names (as ansible prints them: "role : task").
INTERRUPTIONS = [
    "alb : Ensure the internet-facing load balancer and its two listeners",
    "ecs_service : Ensure the task definition",
]

pytestmark = pytest.mark.slow


def _deploy(settings, log: Path, interrupt_after: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **stack_env(settings)}
    log.with_suffix(".killed").unlink(missing_ok=True)  # a previous session's marker proves nothing
    if interrupt_after:
        env.update(
            ANSIBLE_CALLBACK_PLUGINS=str(HERE / "callback_plugins"),
            ANSIBLE_CALLBACKS_ENABLED="interrupt_after",
            INTERRUPT_AFTER_TASK=interrupt_after,
            INTERRUPT_MARKER=str(log.with_suffix(".killed")),
        )
    argv = [
        str(ROOT / "tools" / "playbook.sh"),
        "local",
        "playbooks/site.yml",
        # Its own outputs folder: outputs/local.json belongs to the shared stack, which
        # another xdist worker may be deploying at the same moment.
        "-e",
        f"mediamind_outputs_dir={log.parent}",
    ]
    with log.open("w") as out:
        # A session of its own: the callback kills the whole process group (ansible-playbook
        # and its forks), and only that group.
        proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            returncode = proc.wait(timeout=1200)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=60)
            _wait_group_gone(proc.pid)
            _kill_strays(settings.state_dir)
    return subprocess.CompletedProcess(argv, returncode, log.read_text())


def _kill_strays(state_dir: Path) -> None:
    """A process that left the run's group (setsid, as an async task's wrapper does) survives the
    group kill. An Ansible process of a run against
    this stack is found by the stack's folder in its environment (the stack's own emulator and
    Redis carry it too, and are left alone)."""
    marker = f"MM_LOCAL_DIR={state_dir}".encode()
    strays = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        pid = int(environ.parent.name)
        if pid == os.getpid():
            continue
        try:
            command = (environ.parent / "cmdline").read_bytes()
            if b"ansible" in command and marker in environ.read_bytes().split(b"\0"):
                os.kill(pid, signal.SIGKILL)
                strays.append(pid)
        except (OSError, ProcessLookupError):
            continue  # exited while we looked, or not ours to read
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() and _state(pid) != "Z" for pid in strays):
        if time.monotonic() > deadline:
            pytest.fail(f"stray processes of the killed run still alive: {strays}")
        time.sleep(0.2)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"


def _group_members(pgid: int) -> list[int]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited while we looked
        # Fields after "(comm)": state, ppid, pgrp. A zombie has finished (whoever reaps it).
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def _wait_group_gone(pgid: int, timeout_s: float = 60) -> None:
    """A killed run is over only when none of its processes is left to finish a call late."""
    deadline = time.monotonic() + timeout_s
    while members := _group_members(pgid):
        if time.monotonic() > deadline:
            pytest.fail(f"processes of the killed run still alive after {timeout_s:.0f} s: {members}")
        time.sleep(0.2)


def _recap(output: str) -> dict[str, int]:
    return {m[0]: int(m[1]) for m in re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", output, re.M)}


def _changed_tasks(output: str) -> set[str]:
    """Names of the tasks that reported `changed` on some host."""
    changed, task = set(), ""
    for line in output.splitlines():
        if line.startswith("TASK ["):
            task = line[len("TASK [") : line.rindex("]")]
        elif line.startswith("changed: ["):
            changed.add(task)
    return changed


def _tag(tags: list[dict] | None, key: str = "Name") -> str:
    return next((t["Value"] for t in tags or [] if t["Key"] == key), "")


def snapshot(endpoint: str) -> dict:
    """The emulator's state without ids: names, counts, shapes. Lists are sorted, so a duplicate
    shows as a repeated entry."""
    kw = {
        "endpoint_url": endpoint,
        "region_name": "eu-central-1",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    c = lambda name: boto3.client(name, **kw)  # noqa: E731
    ec2, elbv2, ecs, iam = c("ec2"), c("elbv2"), c("ecs"), c("iam")
    snap: dict = {}

    vpcs = ec2.describe_vpcs()["Vpcs"]
    vpc_name = {v["VpcId"]: _tag(v.get("Tags")) or "(unnamed)" for v in vpcs}
    snap["vpcs"] = sorted((vpc_name[v["VpcId"]], v["CidrBlock"]) for v in vpcs if not v.get("IsDefault"))
    subnets = ec2.describe_subnets()["Subnets"]
    subnet_name = {s["SubnetId"]: _tag(s.get("Tags")) for s in subnets}
    snap["subnets"] = sorted(
        (vpc_name[s["VpcId"]], _tag(s.get("Tags")), s["CidrBlock"], s["AvailabilityZone"])
        for s in subnets
        if not s.get("DefaultForAz")
    )
    igws = ec2.describe_internet_gateways()["InternetGateways"]
    igw_ids = {g["InternetGatewayId"] for g in igws}
    snap["internet_gateways"] = sorted(
        (_tag(g.get("Tags")), sorted(vpc_name.get(a["VpcId"], "?") for a in g.get("Attachments", []))) for g in igws
    )
    nats = [n for n in ec2.describe_nat_gateways()["NatGateways"] if n["State"] not in ("deleted", "deleting")]
    nat_ids = {n["NatGatewayId"] for n in nats}
    snap["nat_gateways"] = sorted((_tag(n.get("Tags")), subnet_name.get(n["SubnetId"], "?")) for n in nats)
    snap["elastic_ips"] = sorted(_tag(a.get("Tags")) for a in ec2.describe_addresses()["Addresses"])

    def _target(route: dict) -> str:
        if route.get("GatewayId") in igw_ids:
            return "igw"
        if route.get("NatGatewayId") in nat_ids:
            return "nat"
        for key in ("GatewayId", "NatGatewayId", "VpcPeeringConnectionId", "TransitGatewayId"):
            if route.get(key):
                return route[key].split("-")[0] if route[key] != "local" else "local"
        return "?"

    snap["route_tables"] = sorted(
        (
            vpc_name[rt["VpcId"]],
            _tag(rt.get("Tags")),
            any(a.get("Main") for a in rt.get("Associations", [])),
            sorted(subnet_name.get(a["SubnetId"], "?") for a in rt.get("Associations", []) if a.get("SubnetId")),
            sorted(
                (r.get("DestinationCidrBlock") or "prefix-list", _target(r))  # pl- ids are per emulator
                for r in rt.get("Routes", [])
            ),
        )
        for rt in ec2.describe_route_tables()["RouteTables"]
        if vpc_name.get(rt["VpcId"], "(unnamed)") != "(unnamed)" or not rt.get("Associations")
    )
    snap["vpc_endpoints"] = sorted(
        (vpc_name.get(e["VpcId"], "?"), e["ServiceName"], e["VpcEndpointType"])
        for e in ec2.describe_vpc_endpoints()["VpcEndpoints"]
        if e["State"].lower() not in ("deleted", "deleting")
    )
    groups = ec2.describe_security_groups()["SecurityGroups"]
    group_name = {g["GroupId"]: g["GroupName"] for g in groups}
    snap["security_groups"] = sorted(
        (
            vpc_name.get(g["VpcId"], "?"),
            g["GroupName"],
            sorted(
                (
                    p.get("IpProtocol"),
                    p.get("FromPort"),
                    p.get("ToPort"),
                    sorted(r["CidrIp"] for r in p.get("IpRanges", [])),
                    sorted(group_name.get(u["GroupId"], "?") for u in p.get("UserIdGroupPairs", [])),
                )
                for p in g.get("IpPermissions", [])
            ),
        )
        for g in groups
        if g["GroupName"] != "default"
    )

    lbs = elbv2.describe_load_balancers()["LoadBalancers"]
    snap["load_balancers"] = sorted((lb["LoadBalancerName"], lb["Scheme"], lb["Type"]) for lb in lbs)
    tgs = elbv2.describe_target_groups()["TargetGroups"]
    tg_name = {t["TargetGroupArn"]: t["TargetGroupName"] for t in tgs}
    snap["target_groups"] = sorted((t["TargetGroupName"], t["Protocol"], t["Port"], t["TargetType"]) for t in tgs)
    listeners, rules, attributes = [], [], []
    for lb in lbs:
        attrs = elbv2.describe_load_balancer_attributes(LoadBalancerArn=lb["LoadBalancerArn"])["Attributes"]
        attributes.append((lb["LoadBalancerName"], sorted((a["Key"], a["Value"]) for a in attrs)))
        for li in elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]:
            certs = elbv2.describe_listener_certificates(ListenerArn=li["ListenerArn"])["Certificates"]
            listeners.append((lb["LoadBalancerName"], li["Protocol"], li["Port"], len(certs)))
            for r in elbv2.describe_rules(ListenerArn=li["ListenerArn"])["Rules"]:
                rules.append(
                    (
                        lb["LoadBalancerName"],
                        li["Port"],
                        r["Priority"],
                        # The NAT gateways' addresses are new in every stack: compare the rule, not them.
                        repr(
                            sorted(
                                repr(sorted(cond.items())) if cond.get("Field") != "source-ip" else "source-ip: NAT"
                                for cond in r.get("Conditions", [])
                            )
                        ),
                        sorted((a["Type"], tg_name.get(a.get("TargetGroupArn", ""), "")) for a in r.get("Actions", [])),
                    )
                )
    snap["listeners"], snap["listener_rules"], snap["lb_attributes"] = sorted(listeners), sorted(rules), attributes

    clusters = ecs.list_clusters()["clusterArns"]
    snap["ecs_clusters"] = sorted(a.split("/")[-1] for a in clusters)
    services = []
    for cluster in clusters:
        for arn in ecs.list_services(cluster=cluster)["serviceArns"]:
            for s in ecs.describe_services(cluster=cluster, services=[arn])["services"]:
                if s["status"] != "INACTIVE":
                    family = s["taskDefinition"].split("/")[-1].split(":")[0]
                    services.append((cluster.split("/")[-1], s["serviceName"], s["status"], family))
    snap["ecs_services"] = sorted(services)
    families = Counter(
        arn.split("/")[-1].split(":")[0] for arn in ecs.list_task_definitions(status="ACTIVE")["taskDefinitionArns"]
    )
    snap["ecs_task_definition_revisions"] = sorted(families.items())

    scaling = c("application-autoscaling")
    snap["scalable_targets"] = sorted(
        t["ResourceId"] for t in scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    )
    snap["scaling_policies"] = sorted(
        (p["ResourceId"], p["PolicyName"])
        for p in scaling.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]
    )

    roles = []
    for role in iam.list_roles()["Roles"]:
        name = role["RoleName"]
        inline = sorted(iam.list_role_policies(RoleName=name)["PolicyNames"])
        attached = sorted(p["PolicyName"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"])
        roles.append((name, inline, attached))
    snap["iam_roles"] = sorted(roles)
    snap["iam_policies"] = sorted(p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"])

    snap["log_groups"] = sorted(
        (g["logGroupName"], g.get("retentionInDays")) for g in c("logs").describe_log_groups()["logGroups"]
    )
    snap["secrets"] = sorted(  # RDS's managed secret is named rds!db-<random uuid>
        re.sub(r"^rds!db-.*", "rds!db-*", s["Name"]) for s in c("secretsmanager").list_secrets()["SecretList"]
    )
    snap["buckets"] = sorted(b["Name"] for b in c("s3").list_buckets()["Buckets"])
    snap["queues"] = sorted(u.rsplit("/", 1)[-1] for u in c("sqs").list_queues().get("QueueUrls", []))
    snap["lambda_functions"] = sorted(f["FunctionName"] for f in c("lambda").list_functions()["Functions"])
    snap["ecr_repositories"] = sorted(r["repositoryName"] for r in c("ecr").describe_repositories()["repositories"])
    snap["certificates"] = sorted(s["DomainName"] for s in c("acm").list_certificates()["CertificateSummaryList"])
    rds = c("rds")
    snap["db_instances"] = sorted(d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"])
    snap["db_subnet_groups"] = sorted(g["DBSubnetGroupName"] for g in rds.describe_db_subnet_groups()["DBSubnetGroups"])
    cache = c("elasticache")
    snap["cache_replication_groups"] = sorted(
        g["ReplicationGroupId"] for g in cache.describe_replication_groups()["ReplicationGroups"]
    )
    snap["cache_subnet_groups"] = sorted(
        g["CacheSubnetGroupName"] for g in cache.describe_cache_subnet_groups()["CacheSubnetGroups"]
    )
    efs = c("efs")
    snap["file_systems"] = sorted(f.get("Name", "") for f in efs.describe_file_systems()["FileSystems"])
    snap["efs_access_points"] = sorted(
        (a.get("Name", ""), a["RootDirectory"].get("Path", "")) for a in efs.describe_access_points()["AccessPoints"]
    )
    ses = c("ses")
    rule_sets = []
    for rs in ses.list_receipt_rule_sets().get("RuleSets", []):
        described = ses.describe_receipt_rule_set(RuleSetName=rs["Name"])
        rule_sets.append((rs["Name"], sorted(r["Name"] for r in described.get("Rules", []))))
    snap["ses_rule_sets"] = sorted(rule_sets)
    active = ses.describe_active_receipt_rule_set().get("Metadata", {})
    snap["ses_active_rule_set"] = active.get("Name", "")
    snap["ses_identities"] = sorted(ses.list_identities()["Identities"])
    return snap


def _count(snap: dict, key: str, name: str, index: int = 0) -> int:
    return sum(1 for entry in snap[key] if (entry[index] if isinstance(entry, tuple) else entry) == name)


def test_interrupted_deploys_converge_to_the_uninterrupted_stack() -> None:
    with private_stack("interrupt", 5121) as settings:
        logs = settings.log_dir
        logs.mkdir(parents=True, exist_ok=True)

        reference_run = _deploy(settings, logs / "reference.log")
        assert reference_run.returncode == 0, reference_run.stdout[-4000:]
        reference = snapshot(settings.endpoint_url)

        request = urllib.request.Request(f"{settings.endpoint_url}/moto-api/reset", method="POST")  # noqa: S310
        urllib.request.urlopen(request, timeout=30).close()  # noqa: S310  # nosec B310 - local emulator
        assert snapshot(settings.endpoint_url)["vpcs"] == [], "the emulator did not reset"

        for number, task in enumerate(INTERRUPTIONS, start=1):
            log = logs / f"interrupted-{number}.log"
            run = _deploy(settings, log, interrupt_after=task)
            assert log.with_suffix(".killed").exists(), f"never reached {task!r}:\n{run.stdout[-3000:]}"
            assert run.returncode == -9, f"not killed after {task!r} (rc {run.returncode})"

        rerun = _deploy(settings, logs / "rerun.log")
        assert rerun.returncode == 0, rerun.stdout[-4000:]
        settled = _deploy(settings, logs / "settled.log")
        assert settled.returncode == 0, settled.stdout[-4000:]
        converged = snapshot(settings.endpoint_url)

    differing = {k: (reference[k], converged[k]) for k in reference if reference[k] != converged[k]}
    assert not differing, f"interrupted+rerun differs from the uninterrupted run: {differing}"
    # No duplicates, named explicitly (the comparison above covers them, this says what matters).
    assert _count(converged, "vpcs", "mediamind") == 1, converged["vpcs"]
    assert len(converged["load_balancers"]) == 1, converged["load_balancers"]
    assert len(converged["nat_gateways"]) == len(reference["nat_gateways"]) >= 1
    assert len(converged["elastic_ips"]) == len(reference["elastic_ips"])
    assert len(converged["internet_gateways"]) == 1, converged["internet_gateways"]
    for key in ("ecs_services", "security_groups", "target_groups", "iam_roles", "certificates"):
        names = [entry[1] if key in ("ecs_services", "security_groups") else entry for entry in converged[key]]
        names = [n[0] if isinstance(n, tuple) else n for n in names]
        assert len(names) == len(set(names)), f"duplicate {key}: {names}"
    priorities = [(r[1], r[2]) for r in converged["listener_rules"]]
    assert len(priorities) == len(set(priorities)), converged["listener_rules"]

    # The run after the completing one changes nothing.
    recap = _recap(settled.stdout)
    assert recap, settled.stdout[-3000:]
    changed = _changed_tasks(settled.stdout)
    assert set(recap.values()) == {0}, f"third run changed {sorted(changed)}: {recap}"
