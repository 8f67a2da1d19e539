#!/usr/bin/python
"""Converge every CloudWatch metric alarm under one name prefix in one module run."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: cloudwatch_alarm_set
short_description: Own every CloudWatch metric alarm whose name starts with a prefix
description:
  - Describes the alarms under O(prefix) once, compares each wanted alarm locally with what
    CloudWatch returns, puts only those that differ and deletes the alarms under the prefix that
    are no longer wanted. One run per environment instead of one module run per alarm.
  - amazon.aws.cloudwatch_metric_alarm converges one alarm per run and never removes an alarm a
    later inventory no longer lists; this module follows amazon.aws' ec2_vpc_igw (describe once,
    compare locally, diff, check mode).
  - Each alarm is given in the PutMetricAlarm request's shape (AlarmName, MetricName or Metrics,
    Threshold, ...). Alarm state (OK/ALARM) is never compared.
options:
  prefix:
    description: Every alarm whose name starts with this prefix belongs to this module run.
    required: true
    type: str
  alarms:
    description: PutMetricAlarm requests; every AlarmName must start with O(prefix).
    type: list
    elements: dict
    default: []
  state:
    description: C(absent) deletes every alarm under O(prefix).
    choices: [present, absent]
    default: present
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: One alarm on the database's CPU, notifying on ALARM and on OK
  cloudwatch_alarm_set:
    prefix: mediamind-production-
    alarms:
      - AlarmName: mediamind-production-rds-cpu
        AlarmDescription: "RDS CPU high. Runbook: docs/runbook.md#rds-cpu"
        Namespace: AWS/RDS
        MetricName: CPUUtilization
        Dimensions: [{Name: DBInstanceIdentifier, Value: mediamind}]
        Statistic: Average
        Period: 300
        EvaluationPeriods: 3
        Threshold: 80
        ComparisonOperator: GreaterThanOrEqualToThreshold
        TreatMissingData: breaching
        AlarmActions: [arn:aws:sns:eu-central-1:123456789012:mediamind-production-alarms]
        OKActions: [arn:aws:sns:eu-central-1:123456789012:mediamind-production-alarms]
"""

RETURN = r"""
alarms:
  description: Names of the alarms under the prefix after the run (as requested in check mode).
  returned: always
  type: list
  elements: str
created:
  description: Alarms put that did not exist.
  returned: always
  type: list
  elements: str
updated:
  description: Alarms put because a setting differed.
  returned: always
  type: list
  elements: str
deleted:
  description: Alarms under the prefix deleted because no longer wanted (or all, when absent).
  returned: always
  type: list
  elements: str
"""

import contextlib
from typing import Any

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.mediamind.platform.plugins.module_utils.common import aws_retry, make_diff

# The request keys compared; anything else CloudWatch returns (state, ARNs, timestamps) is not ours.
_SCALARS = (
    "AlarmDescription",
    "ActionsEnabled",
    "Namespace",
    "MetricName",
    "Statistic",
    "ExtendedStatistic",
    "Period",
    "Unit",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "EvaluateLowSampleCountPercentile",
)
_LISTS = ("AlarmActions", "OKActions", "InsufficientDataActions")
# What CloudWatch assumes when a request leaves these out.
_DEFAULTS = {"ActionsEnabled": True, "TreatMissingData": "missing"}


def _dimensions(dims: list[dict[str, Any]] | None) -> list[list[str]]:
    return sorted([str(d["Name"]), str(d["Value"])] for d in dims or [])


def _metric_query(query: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"Id": query["Id"], "ReturnData": query.get("ReturnData", True)}
    for key in ("Expression", "Label", "Period"):
        if query.get(key) not in (None, ""):
            out[key] = query[key]
    stat = query.get("MetricStat")
    if stat:
        metric = stat["Metric"]
        out["MetricStat"] = {
            "Namespace": metric["Namespace"],
            "MetricName": metric["MetricName"],
            "Dimensions": _dimensions(metric.get("Dimensions")),
            "Period": int(stat["Period"]),
            "Stat": stat["Stat"],
        }
    return out


def comparable(alarm: dict[str, Any]) -> dict[str, Any]:
    """The settings of a request or a described alarm, in one normal form."""
    out: dict[str, Any] = {}
    for key in _SCALARS:
        value = alarm.get(key, _DEFAULTS.get(key))
        if value in (None, ""):
            continue
        if key == "Threshold":
            value = float(value)
        elif key in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
            value = int(value)
        out[key] = value
    for key in _LISTS:
        out[key] = sorted(alarm.get(key) or [])
    if alarm.get("Dimensions"):
        out["Dimensions"] = _dimensions(alarm["Dimensions"])
    if alarm.get("Metrics"):
        out["Metrics"] = sorted((_metric_query(q) for q in alarm["Metrics"]), key=lambda q: q["Id"])
    return out


@aws_retry
def _describe(client, prefix: str) -> list[dict[str, Any]]:
    paginator = client.get_paginator("describe_alarms")
    pages = paginator.paginate(AlarmNamePrefix=prefix, AlarmTypes=["MetricAlarm"])
    return [alarm for page in pages for alarm in page.get("MetricAlarms", [])]


@aws_retry
def _put(client, request: dict[str, Any]) -> None:
    client.put_metric_alarm(**request)


@aws_retry
def _delete(client, names: list[str]) -> None:
    client.delete_alarms(AlarmNames=names)


class AlarmSetManager:
    def __init__(self, module: AnsibleAWSModule) -> None:
        self.module = module
        self.client = module.client("cloudwatch")
        self.prefix = module.params["prefix"]
        self.created: list[str] = []
        self.updated: list[str] = []
        self.deleted: list[str] = []
        try:
            self.current = {a["AlarmName"]: a for a in _describe(self.client, self.prefix)}
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            module.fail_json_aws(exc, msg=f"Could not describe the alarms under {self.prefix}")

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deleted)

    def before(self) -> dict[str, Any]:
        return {name: comparable(alarm) for name, alarm in sorted(self.current.items())}

    def _call(self, what: str, func, *args) -> None:
        if self.module.check_mode:
            return
        try:
            func(self.client, *args)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            self.module.fail_json_aws(exc, msg=f"Could not {what}")

    def _delete_names(self, names: list[str]) -> None:
        # DeleteAlarms takes at most 100 names per call.
        for start in range(0, len(names), 100):
            batch = names[start : start + 100]
            self._call(f"delete the alarms {batch}", _delete, batch)
        self.deleted.extend(names)

    def ensure_present(self, wanted: list[dict[str, Any]]) -> dict[str, Any]:
        after = {}
        for request in wanted:
            name = request["AlarmName"]
            after[name] = comparable(request)
            if name not in self.current:
                self.created.append(name)
            elif comparable(self.current[name]) != after[name]:
                self.updated.append(name)
            else:
                continue
            self._call(f"put the alarm {name}", _put, request)
        self._delete_names(sorted(set(self.current) - set(after)))
        return dict(sorted(after.items()))

    def ensure_absent(self) -> dict[str, Any]:
        self._delete_names(sorted(self.current))
        return {}


def main() -> None:
    argument_spec = dict(
        prefix=dict(type="str", required=True),
        alarms=dict(type="list", elements="dict", default=[]),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    if not params["prefix"]:
        module.fail_json(msg="prefix must not be empty: it would own every alarm of the account")
    names = [a.get("AlarmName", "") for a in params["alarms"]]
    stray = [n for n in names if not n.startswith(params["prefix"])]
    if stray:
        module.fail_json(msg=f"alarm names must start with {params['prefix']}: {stray}")
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        module.fail_json(msg=f"alarm names must be unique: {duplicates}")
    manager = AlarmSetManager(module)
    before = manager.before()
    after = manager.ensure_present(params["alarms"]) if params["state"] == "present" else manager.ensure_absent()
    module.exit_json(
        changed=manager.changed,
        alarms=sorted(after),
        created=manager.created,
        updated=manager.updated,
        deleted=manager.deleted,
        diff=make_diff(before, after),
    )


if __name__ == "__main__":
    main()
