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


def _ratio(*, namespace: str, part: str, whole: str, dims: list[dict[str, str]], period: int) -> dict[str, Any]:
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
            {"Id": "rate", "Expression": "100 * FILL(errors, 0) / requests", "Label": "5xx %", "ReturnData": True},
        ]
    }


class _Alarms:
    """Collects PutMetricAlarm requests; one method per watched component."""

    def __init__(self, settings: dict[str, dict[str, Any]], prefix: str, topic_arn: str) -> None:
        self.settings = settings
        self.prefix = prefix
        self.actions = [topic_arn] if topic_arn else []
        self.requests: list[dict[str, Any]] = []

    def period(self, kind: str) -> int:
        return int(self.settings[kind]["period"])

    def add(
        self, kind: str, subject: str, body: dict[str, Any], comparison: str = _GREATER, threshold: Any = None
    ) -> None:
        s = self.settings[kind]
        request = {
            "AlarmName": f"{self.prefix}-{kind}" + (f"-{subject}" if subject else ""),
            "AlarmDescription": f"{KINDS[kind]}{' (' + subject + ')' if subject else ''}. "
            f"Runbook: docs/runbook.md#{kind}",
            "ActionsEnabled": True,
            "AlarmActions": list(self.actions),
            "OKActions": list(self.actions),
            "EvaluationPeriods": int(s["evaluation_periods"]),
            "DatapointsToAlarm": int(s["datapoints"]),
            "Threshold": float(s["threshold"] if threshold is None else threshold),
            "ComparisonOperator": comparison,
            "TreatMissingData": s["treat_missing_data"],
            **body,
        }
        if "Metrics" not in body:
            request["Period"] = int(s["period"])
        if not request.get("Dimensions", True):
            request.pop("Dimensions")
        self.requests.append(request)

    def load_balancer(self, lb: str, target_groups: list[str]) -> None:
        elb = "AWS/ApplicationELB"
        if lb:
            dims = _dims(LoadBalancer=lb)
            period = self.period("alb-5xx-rate")
            body = _ratio(namespace=elb, part="HTTPCode_ELB_5XX_Count", whole="RequestCount", dims=dims, period=period)
            self.add("alb-5xx-rate", "", body)
        for tg in target_groups:
            dims = _dims(TargetGroup=tg, LoadBalancer=lb)
            subject = _subject(tg)
            period = self.period("tg-5xx-rate")
            body = _ratio(
                namespace=elb, part="HTTPCode_Target_5XX_Count", whole="RequestCount", dims=dims, period=period
            )
            self.add("tg-5xx-rate", subject, body)
            self.add("tg-unhealthy-hosts", subject, _metric(elb, "UnHealthyHostCount", "Maximum", dims))
            response = _metric(elb, "TargetResponseTime", "", dims)
            response.pop("Statistic")
            response["ExtendedStatistic"] = "p95"
            self.add("tg-response-time", subject, response)

    def services(self, cluster: str, services: list[str]) -> None:
        for service in services:
            dims = _dims(ClusterName=cluster, ServiceName=service)
            queries = [
                {
                    "Id": qid,
                    "ReturnData": False,
                    "MetricStat": {
                        "Metric": {"Namespace": "ECS/ContainerInsights", "MetricName": metric, "Dimensions": dims},
                        "Period": self.period("ecs-running-below-desired"),
                        "Stat": "Minimum" if qid == "running" else "Maximum",
                    },
                }
                for qid, metric in (("desired", "DesiredTaskCount"), ("running", "RunningTaskCount"))
            ]
            missing = {"Id": "missing", "Expression": "desired - running", "Label": "tasks missing", "ReturnData": True}
            self.add("ecs-running-below-desired", service, {"Metrics": [*queries, missing]})
            self.add("ecs-cpu-high", service, _metric("AWS/ECS", "CPUUtilization", "Average", dims))
            self.add("ecs-memory-high", service, _metric("AWS/ECS", "MemoryUtilization", "Average", dims))

    def data_stores(self, db: str, nodes: list[str]) -> None:
        if db:
            dims = _dims(DBInstanceIdentifier=db)
            self.add("rds-cpu-high", db, _metric("AWS/RDS", "CPUUtilization", "Average", dims))
            self.add("rds-free-storage-low", db, _metric("AWS/RDS", "FreeStorageSpace", "Minimum", dims), _LESS)
            self.add("rds-freeable-memory-low", db, _metric("AWS/RDS", "FreeableMemory", "Minimum", dims), _LESS)
            self.add("rds-connections-high", db, _metric("AWS/RDS", "DatabaseConnections", "Maximum", dims))
        for node in nodes:
            dims = _dims(CacheClusterId=node)
            cache = "AWS/ElastiCache"
            self.add("redis-engine-cpu-high", node, _metric(cache, "EngineCPUUtilization", "Average", dims))
            self.add("redis-memory-high", node, _metric(cache, "DatabaseMemoryUsagePercentage", "Maximum", dims))
            self.add("redis-evictions", node, _metric(cache, "Evictions", "Sum", dims))

    def chatbot(self, function: str, timeout_seconds: int, queue: str) -> None:
        if function:
            dims = _dims(FunctionName=function)
            self.add("chatbot-errors", "", _metric("AWS/Lambda", "Errors", "Sum", dims))
            self.add("chatbot-throttles", "", _metric("AWS/Lambda", "Throttles", "Sum", dims))
            # The threshold is a fraction of the function's timeout, in milliseconds.
            near = float(self.settings["chatbot-duration-near-timeout"]["threshold"]) * timeout_seconds * 1000
            body = _metric("AWS/Lambda", "Duration", "Maximum", dims)
            self.add("chatbot-duration-near-timeout", "", body, threshold=near)
        if queue:
            dims = _dims(QueueName=queue)
            depth = _metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", dims)
            self.add("chatbot-failure-queue-depth", "", depth)
            age = _metric("AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum", dims)
            self.add("chatbot-failure-queue-age", "", age)

    def ses(self) -> None:
        self.add("ses-bounce-rate", "", _metric("AWS/SES", "Reputation.BounceRate", "Maximum", []))
        self.add("ses-complaint-rate", "", _metric("AWS/SES", "Reputation.ComplaintRate", "Maximum", []))


def monitoring_alarm_requests(
    targets: dict[str, Any], settings: dict[str, dict[str, Any]], prefix: str, topic_arn: str
) -> list[dict[str, Any]]:
    """The PutMetricAlarm requests for every watched resource (monitoring_targets)."""
    alarms = _Alarms(settings, prefix, topic_arn)
    alarms.load_balancer(targets.get("load_balancer") or "", list(targets.get("target_groups") or []))
    alarms.services(targets.get("ecs_cluster") or "", list(targets.get("ecs_services") or []))
    alarms.data_stores(targets.get("rds_instance_id") or "", list(targets.get("cache_cluster_ids") or []))
    timeout = int(targets.get("lambda_timeout_seconds") or 60)
    alarms.chatbot(targets.get("lambda_function_name") or "", timeout, targets.get("failure_queue_name") or "")
    if targets.get("ses"):
        alarms.ses()
    return alarms.requests


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"monitoring_alarm_requests": monitoring_alarm_requests}
