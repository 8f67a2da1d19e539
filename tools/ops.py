"""Day-two commands for one environment: status, logs, redrive and backups.

    python tools/ops.py status  --env ENV      (services, targets, chatbot, alarms not OK)
    python tools/ops.py backups --env ENV [--limit-points N]
    python tools/ops.py logs    --env ENV --service NAME [--minutes M] [--limit N]
    python tools/ops.py redrive --env ENV [--max N]

Names and ARNs come from outputs/<env>.json, which every `make deploy` writes;
region and credentials from the environment (for ENV=local, `make` exports the
emulator's). Nothing here changes infrastructure; redrive only replays failed
chatbot deliveries, and the chatbot's Redis deduplication keeps every mail
processed at most once however often it is replayed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions

ROOT = Path(__file__).resolve().parent.parent
CHATBOT = "chatbot"
# Bounds: an operator command reads recent history, never a whole log group or queue.
MAX_LOG_EVENTS = 10_000
REDRIVE_RECEIVE_WAIT_S = 1


class OpsError(Exception):
    """A condition the user can fix; printed as one line."""


def load_outputs(env: str) -> dict[str, Any]:
    path = ROOT / "outputs" / f"{env}.json"
    if not path.exists():
        raise OpsError(f"{path.relative_to(ROOT)} not found: run `make deploy ENV={env}` first")
    data = json.loads(path.read_text())
    return data


def components(outputs: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """Every host's outputs of one component (e.g. all ecs_service instances)."""
    return [host[name] for host in outputs.get("components", {}).values() if name in host]


def one(outputs: dict[str, Any], name: str) -> dict[str, Any]:
    found = components(outputs, name)
    if not found:
        raise OpsError(f"this environment has no {name} (outputs/{outputs['environment']}.json)")
    return found[0]


def client(service: str, outputs: dict[str, Any]) -> Any:
    return boto3.client(service, region_name=outputs.get("region") or None)


# --------------------------------------------------------------------------- status


def service_status(outputs: dict[str, Any]) -> list[str]:
    services = components(outputs, "ecs_service")
    if not services:
        return ["services: none in this environment"]
    ecs = client("ecs", outputs)
    lines = ["services:"]
    by_cluster: dict[str, list[str]] = {}
    for svc in services:
        by_cluster.setdefault(svc["cluster"], []).append(svc["name"])
    for cluster, names in sorted(by_cluster.items()):
        described = ecs.describe_services(cluster=cluster, services=names)
        for svc in sorted(described.get("services", []), key=lambda s: s["serviceName"]):
            primary = next((d for d in svc.get("deployments", []) if d.get("status") == "PRIMARY"), {})
            revision = svc["taskDefinition"].rsplit("/", 1)[-1]
            lines.append(
                f"  {svc['serviceName']:<28} {svc.get('runningCount', 0)}/{svc.get('desiredCount', 0)} running"
                f"  deployment {primary.get('rolloutState', 'n/a'):<11} {revision}"
            )
        for failure in described.get("failures", []):
            lines.append(f"  {failure.get('arn', '?')}: {failure.get('reason', 'missing')}")
    return lines


def target_health(outputs: dict[str, Any]) -> list[str]:
    albs = components(outputs, "alb")
    if not albs:
        return []
    elbv2 = client("elbv2", outputs)
    lines = ["targets:"]
    for name, arn in sorted(albs[0].get("target_group_arns", {}).items()):
        health = elbv2.describe_target_health(TargetGroupArn=arn).get("TargetHealthDescriptions", [])
        states: dict[str, int] = {}
        for target in health:
            state = target.get("TargetHealth", {}).get("State", "unknown")
            states[state] = states.get(state, 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in sorted(states.items())) or "no registered targets"
        lines.append(f"  {name:<28} {summary}")
    return lines


def chatbot_status(outputs: dict[str, Any], minutes: int = 60) -> list[str]:
    bots = components(outputs, "lambda_chatbot")
    if not bots:
        return []
    bot = bots[0]
    counts: dict[str, int] = {}
    errors = 0
    for message in recent_messages(outputs, bot["log_group"], minutes):
        try:
            record = json.loads(message)
        except ValueError:
            errors += "ERROR" in message  # the runtime's own error lines are not JSON
            continue
        if isinstance(record, dict) and "outcome" in record:
            counts[record["outcome"]] = counts.get(record["outcome"], 0) + 1
    sqs = client("sqs", outputs)
    depth = sqs.get_queue_attributes(QueueUrl=bot["queue_url"], AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"
    ]["ApproximateNumberOfMessages"]
    outcome_text = ", ".join(f"{n} {o}" for o, n in sorted(counts.items())) or "no mail"
    return [
        "chatbot:",
        f"  last {minutes} min: {outcome_text}; {counts.get('failed', 0) + errors} errors",
        f"  failure queue: {depth} message(s) waiting for `make redrive`",
    ]


def alarm_status(outputs: dict[str, Any]) -> list[str]:
    """The environment's alarms (monitoring_outputs) that are not OK, with their runbook line."""
    names = sorted({name for mon in components(outputs, "monitoring") for name in mon.get("alarms", [])})
    if not names:
        return []
    cloudwatch = client("cloudwatch", outputs)
    found = []
    for start in range(0, len(names), 100):  # DescribeAlarms takes at most 100 names
        found += cloudwatch.describe_alarms(AlarmNames=names[start : start + 100])["MetricAlarms"]
    bad = sorted((a for a in found if a["StateValue"] != "OK"), key=lambda a: (a["StateValue"], a["AlarmName"]))
    lines = [f"alarms: {len(bad)} of {len(names)} not OK"]
    for alarm in bad:
        runbook = alarm.get("AlarmDescription", "").rpartition("Runbook: ")[2]
        lines.append(f"  {alarm['StateValue']:<17} {alarm['AlarmName']}  ({runbook})")
    return lines


def status(outputs: dict[str, Any], _args: argparse.Namespace) -> list[str]:
    header = f"environment {outputs['environment']} ({outputs.get('region', '?')})"
    return [header, *service_status(outputs), *target_health(outputs), *chatbot_status(outputs), *alarm_status(outputs)]


def backups(outputs: dict[str, Any], args: argparse.Namespace) -> list[str]:
    """The latest recovery points of each resource in the environment's backup vault."""
    vaults = [b for b in components(outputs, "backup") if b.get("vault_name")]
    if not vaults:
        raise OpsError(f"this environment has no backup vault (outputs/{outputs['environment']}.json)")
    backup = client("backup", outputs)
    lines = []
    for vault in vaults:
        try:
            points = [
                point
                for page in backup.get_paginator("list_recovery_points_by_backup_vault").paginate(
                    BackupVaultName=vault["vault_name"]
                )
                for point in page.get("RecoveryPoints", [])
            ]
        except botocore.exceptions.ClientError as exc:
            # AccessDenied, a vault deleted by hand, or the emulator (moto has no recovery points).
            raise OpsError(f"could not list the recovery points of vault {vault['vault_name']}: {exc}") from exc
        lines.append(
            f"vault {vault['vault_name']}: {len(points)} recovery point(s), daily plan {vault.get('plan_name', '?')}"
        )
        by_resource: dict[str, list[dict[str, Any]]] = {}
        for point in points:
            by_resource.setdefault(point["ResourceArn"], []).append(point)
        for resource, items in sorted(by_resource.items()):
            items.sort(key=lambda p: p["CreationDate"], reverse=True)
            lines.append(f"  {resource}")
            for point in items[: args.limit_points]:
                created = point["CreationDate"].strftime("%Y-%m-%d %H:%M UTC")
                lines.append(f"    {created}  {point['Status']:<10} {point['RecoveryPointArn']}")
    return lines


# --------------------------------------------------------------------------- logs


def recent_messages(outputs: dict[str, Any], log_group: str, minutes: int, limit: int = MAX_LOG_EVENTS) -> list[str]:
    logs = client("logs", outputs)
    start = int((time.time() - minutes * 60) * 1000)
    messages: list[str] = []
    kwargs: dict[str, Any] = {"logGroupName": log_group, "startTime": start}
    try:
        while len(messages) < limit:
            page = logs.filter_log_events(**kwargs)
            messages.extend(e["message"] for e in page.get("events", []))
            if not page.get("nextToken"):
                break
            kwargs["nextToken"] = page["nextToken"]
    except logs.exceptions.ResourceNotFoundException:
        return []
    return messages[-limit:]


def log_group_of(outputs: dict[str, Any], service: str) -> str:
    if service in (CHATBOT, "mediamind_chatbot"):
        return one(outputs, "lambda_chatbot")["log_group"]
    for svc in components(outputs, "ecs_service"):
        if svc["name"] == service:
            return svc["log_group"]
    names = sorted([s["name"] for s in components(outputs, "ecs_service")] + [CHATBOT])
    raise OpsError(f"unknown SERVICE={service}: one of {', '.join(names)}")


def logs(outputs: dict[str, Any], args: argparse.Namespace) -> list[str]:
    if not args.service:
        raise OpsError("SERVICE is required: make logs SERVICE=<name>")
    group = log_group_of(outputs, args.service)
    messages = recent_messages(outputs, group, args.minutes, args.limit)
    return [f"{group}: last {len(messages)} line(s) of {args.minutes} min", *messages]


# --------------------------------------------------------------------------- redrive


def local_invoker(outputs: dict[str, Any]) -> Any:
    """The handler in-process with the deployed function's configuration, as the local dispatcher runs it."""
    sys.path.insert(0, str(ROOT / "tools"))
    import s3_dispatcher  # noqa: PLC0415 - a sibling tool, only needed locally

    bot = one(outputs, "lambda_chatbot")
    bucket = one(outputs, "s3")["bucket"]
    dispatcher = s3_dispatcher.Dispatcher(bucket=bucket)
    config, env = dispatcher.function_env(bot["function_arn"])
    sys.path.insert(0, str(s3_dispatcher.LAMBDA_SRC))
    from mediamind_chatbot import handler  # noqa: PLC0415

    pipeline = handler.build_pipeline(env)
    timeout = int(config.get("Timeout", 60))
    return lambda event: pipeline.handle(event, s3_dispatcher.LocalContext(bot["function_name"], timeout))


def aws_invoker(outputs: dict[str, Any]) -> Any:
    bot = one(outputs, "lambda_chatbot")
    lam = client("lambda", outputs)

    def invoke(event: dict[str, Any]) -> Any:
        response = lam.invoke(
            FunctionName=bot["function_arn"], InvocationType="RequestResponse", Payload=json.dumps(event).encode()
        )
        payload = json.loads(response["Payload"].read() or b"null")
        if response.get("FunctionError"):
            raise RuntimeError(f"{response['FunctionError']}: {payload}")
        return payload

    return invoke


def redrive(outputs: dict[str, Any], args: argparse.Namespace) -> list[str]:
    bot = one(outputs, "lambda_chatbot")
    invoke = local_invoker(outputs) if outputs["environment"] == "local" else aws_invoker(outputs)
    sqs = client("sqs", outputs)
    lines, replayed, kept = [], 0, 0
    while replayed + kept < args.max:
        batch = sqs.receive_message(
            QueueUrl=bot["queue_url"],
            MaxNumberOfMessages=10,
            WaitTimeSeconds=REDRIVE_RECEIVE_WAIT_S,
            VisibilityTimeout=120,
        ).get("Messages", [])
        if not batch:
            break
        for message in batch:
            record = json.loads(message["Body"])
            # Lambda's on-failure destination record carries the original event as requestPayload.
            event = record.get("requestPayload", record)
            keys = [r.get("s3", {}).get("object", {}).get("key", "?") for r in event.get("Records", [])]
            try:
                result = invoke(event)
            except Exception as exc:  # noqa: BLE001 - keep the message for the next redrive
                kept += 1
                lines.append(f"  kept     {','.join(keys)}: {type(exc).__name__}: {exc}")
                continue
            sqs.delete_message(QueueUrl=bot["queue_url"], ReceiptHandle=message["ReceiptHandle"])
            replayed += 1
            outcomes = (
                [o.get("outcome") for o in (result or {}).get("outcomes", [])] if isinstance(result, dict) else []
            )
            lines.append(f"  replayed {','.join(keys)}: {','.join(map(str, outcomes)) or 'done'}")
    return [f"redrive: {replayed} replayed, {kept} kept in the failure queue", *lines]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="MediaMind day-two commands")
    parser.add_argument("command", choices=("status", "logs", "redrive", "backups"))
    parser.add_argument("--env", default="local")
    parser.add_argument("--service", default="")
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--limit", type=int, default=200)
    parser.add_argument("--max", type=int, default=1000, help="redrive at most this many messages")
    parser.add_argument("--limit-points", type=int, default=3, help="backups: latest points per resource")
    args = parser.parse_args(argv)
    commands = {"status": status, "logs": logs, "redrive": redrive, "backups": backups}
    try:
        outputs = load_outputs(args.env)
        for line in commands[args.command](outputs, args):
            print(line)
    except OpsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
