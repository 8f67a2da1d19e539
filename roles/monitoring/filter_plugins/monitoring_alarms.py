"""Filters that turn the monitoring role's targets and settings into PutMetricAlarm requests.

Kept in Python (not Jinja loops) so tests/monitoring can check them directly. Every alarm's
description ends with its runbook line (docs/runbook.md#<kind>); ALARM and OK both notify.
"""

from __future__ import annotations

from typing import Any

# kind -> (what is wrong, in the description's words). The order is the runbook's.
KINDS: dict[str, str] = {
    "alb-5xx-rate": "the load balancer answers 5xx (percent of requests)",
    "tg-5xx-rate": "targets of the group answer 5xx (percent of requests)",
    "tg-unhealthy-hosts": "targets of the group fail their health check",
    "tg-response-time": "targets of the group answer slowly (p95 seconds)",
    "ecs-running-below-desired": "the service runs fewer tasks than desired",
    "ecs-cpu-high": "the service's CPU use is high (percent)",
    "ecs-memory-high": "the service's memory use is high (percent)",
    "rds-cpu-high": "the database's CPU use is high (percent)",
    "rds-free-storage-low": "the database's free storage is low (bytes)",
    "rds-freeable-memory-low": "the database's freeable memory is low (bytes)",
    "rds-connections-high": "the database has many connections",
    "redis-engine-cpu-high": "Redis's engine CPU use is high (percent)",
    "redis-memory-high": "Redis's memory use is high (percent of maxmemory)",
    "redis-evictions": "Redis evicts keys (it is full)",
    "chatbot-errors": "the chatbot Lambda fails invocations",
    "chatbot-throttles": "the chatbot Lambda is throttled",
    "chatbot-duration-near-timeout": "the chatbot Lambda runs close to its timeout (ms)",
    "chatbot-failure-queue-depth": "mails wait in the chatbot's failure queue",
    "chatbot-failure-queue-age": "the oldest mail of the failure queue is old (seconds)",
    "ses-bounce-rate": "SES bounce rate climbs toward AWS's suspension limit",
    "ses-complaint-rate": "SES complaint rate climbs toward AWS's suspension limit",
}

_GREATER = "GreaterThanOrEqualToThreshold"
_LESS = "LessThanOrEqualToThreshold"


def _dims(**dims: str) -> list[dict[str, str]]:
    return [{"Name": k, "Value": v} for k, v in dims.items()]


def _subject(value: str) -> str:
    """A dimension value as an alarm-name suffix: targetgroup/mediamind-api/abc -> mediamind-api."""
    parts = value.split("/")
    return parts[1] if len(parts) == 3 else value


def _metric(namespace: str, name: str, stat: str, dims: list[dict[str, str]]) -> dict[str, Any]:
    return {"Namespace": namespace, "MetricName": name, "Statistic": stat, "Dimensions": dims}


def _ratio(
    namespace: str, part: str, whole: str, dims: list[dict[str, str]], period: int, label: str
) -> dict[str, Any]:
    """100 * part / whole over the period: a rate, so a quiet hour with one 5xx does not page anyone."""

    def stat(qid: str, name: str) -> dict[str, Any]:
        return {
            "Id": qid,
            "ReturnData": False,
            "MetricStat": {
                "Metric": {"Namespace": namespace, "MetricName": name, "Dimensions": dims},
                "Period": period,
                "Stat": "Sum",
            },
        }

    return {
        "Metrics": [
            stat("errors", part),
            stat("requests", whole),
            # FILL(errors, 0): a period with requests but no error has no error datapoint.
            {"Id": "rate", "Expression": "100 * FILL(errors, 0) / requests", "Label": label, "ReturnData": True},
        ]
    }


def monitoring_alarm_requests(
    targets: dict[str, Any], settings: dict[str, dict[str, Any]], prefix: str, topic_arn: str
) -> list[dict[str, Any]]:
    """The PutMetricAlarm requests for every watched resource (monitoring_targets)."""
    alarms: list[dict[str, Any]] = []

    def add(kind: str, subject: str, body: dict[str, Any], comparison: str = _GREATER, threshold: Any = None) -> None:
        s = settings[kind]
        name = f"{prefix}-{kind}" + (f"-{subject}" if subject else "")
        request = {
            "AlarmName": name,
            "AlarmDescription": f"{KINDS[kind]}{' (' + subject + ')' if subject else ''}. "
            f"Runbook: docs/runbook.md#{kind}",
            "ActionsEnabled": True,
            "AlarmActions": [topic_arn] if topic_arn else [],
            "OKActions": [topic_arn] if topic_arn else [],
            "EvaluationPeriods": int(s["evaluation_periods"]),
            "DatapointsToAlarm": int(s["datapoints"]),
            "Threshold": float(s["threshold"] if threshold is None else threshold),
            "ComparisonOperator": comparison,
            "TreatMissingData": s["treat_missing_data"],
            **body,
        }
        if "Metrics" not in body:
            request["Period"] = int(s["period"])
        alarms.append(request)

    def period(kind: str) -> int:
        return int(settings[kind]["period"])

    lb = targets.get("load_balancer") or ""
    if lb:
        body = _ratio(
            "AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "RequestCount", _dims(LoadBalancer=lb),
            period("alb-5xx-rate"), "5xx %",
        )
        add("alb-5xx-rate", "", body)
    for tg in targets.get("target_groups") or []:
        dims = _dims(TargetGroup=tg, LoadBalancer=lb)
        subject = _subject(tg)
        body = _ratio(
            "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "RequestCount", dims, period("tg-5xx-rate"), "5xx %"
        )
        add("tg-5xx-rate", subject, body)
        add("tg-unhealthy-hosts", subject, _metric("AWS/ApplicationELB", "UnHealthyHostCount", "Maximum", dims))
        response = _metric("AWS/ApplicationELB", "TargetResponseTime", "", dims)
        response.pop("Statistic")
        response["ExtendedStatistic"] = "p95"
        add("tg-response-time", subject, response)
    cluster = targets.get("ecs_cluster") or ""
    for service in targets.get("ecs_services") or []:
        dims = _dims(ClusterName=cluster, ServiceName=service)
        below = {
            "Metrics": [
                {
                    "Id": qid,
                    "ReturnData": False,
                    "MetricStat": {
                        "Metric": {"Namespace": "ECS/ContainerInsights", "MetricName": metric, "Dimensions": dims},
                        "Period": period("ecs-running-below-desired"),
                        "Stat": "Minimum" if qid == "running" else "Maximum",
                    },
                }
                for qid, metric in (("desired", "DesiredTaskCount"), ("running", "RunningTaskCount"))
            ]
            + [{"Id": "missing", "Expression": "desired - running", "Label": "tasks missing", "ReturnData": True}]
        }
        add("ecs-running-below-desired", service, below)
        add("ecs-cpu-high", service, _metric("AWS/ECS", "CPUUtilization", "Average", dims))
        add("ecs-memory-high", service, _metric("AWS/ECS", "MemoryUtilization", "Average", dims))
    db = targets.get("rds_instance_id") or ""
    if db:
        dims = _dims(DBInstanceIdentifier=db)
        add("rds-cpu-high", db, _metric("AWS/RDS", "CPUUtilization", "Average", dims))
        add("rds-free-storage-low", db, _metric("AWS/RDS", "FreeStorageSpace", "Minimum", dims), _LESS)
        add("rds-freeable-memory-low", db, _metric("AWS/RDS", "FreeableMemory", "Minimum", dims), _LESS)
        add("rds-connections-high", db, _metric("AWS/RDS", "DatabaseConnections", "Maximum", dims))
    for node in targets.get("cache_cluster_ids") or []:
        dims = _dims(CacheClusterId=node)
        add("redis-engine-cpu-high", node, _metric("AWS/ElastiCache", "EngineCPUUtilization", "Average", dims))
        add("redis-memory-high", node, _metric("AWS/ElastiCache", "DatabaseMemoryUsagePercentage", "Maximum", dims))
        add("redis-evictions", node, _metric("AWS/ElastiCache", "Evictions", "Sum", dims))
    function = targets.get("lambda_function_name") or ""
    if function:
        dims = _dims(FunctionName=function)
        add("chatbot-errors", "", _metric("AWS/Lambda", "Errors", "Sum", dims))
        add("chatbot-throttles", "", _metric("AWS/Lambda", "Throttles", "Sum", dims))
        # The threshold is a fraction of the function's timeout, in milliseconds.
        near = float(settings["chatbot-duration-near-timeout"]["threshold"]) * int(targets["lambda_timeout_seconds"]) * 1000
        add("chatbot-duration-near-timeout", "", _metric("AWS/Lambda", "Duration", "Maximum", dims), threshold=near)
    queue = targets.get("failure_queue_name") or ""
    if queue:
        dims = _dims(QueueName=queue)
        add("chatbot-failure-queue-depth", "", _metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", dims))
        add("chatbot-failure-queue-age", "", _metric("AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum", dims))
    if targets.get("ses"):
        add("ses-bounce-rate", "", _metric("AWS/SES", "Reputation.BounceRate", "Maximum", []))
        add("ses-complaint-rate", "", _metric("AWS/SES", "Reputation.ComplaintRate", "Maximum", []))
    for alarm in alarms:
        if not alarm.get("Dimensions", True):
            alarm.pop("Dimensions")
    return alarms


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"monitoring_alarm_requests": monitoring_alarm_requests}
