#!/usr/bin/python
"""Manage one Lambda notification of an S3 bucket, keeping every other notification."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: s3_bucket_lambda_notification
short_description: Manage one Lambda notification of an S3 bucket without touching the others
description:
  - S3 keeps all notifications of a bucket in one document and C(PutBucketNotificationConfiguration)
    replaces it whole. This module reads the whole configuration, replaces (or removes) only the
    C(LambdaFunctionConfigurations) entry whose C(Id) is O(id), and writes everything else back
    unchanged (queue, topic, other Lambda and EventBridge notifications).
  - community.aws.s3_bucket_notification rewrites the Lambda part of the configuration; this one follows
    amazon.aws' ec2_vpc_igw (describe once, compare locally, diff, check mode).
options:
  bucket_name:
    description: The bucket whose notification configuration is managed.
    required: true
    type: str
  id:
    description: The C(Id) of our entry; how re-runs find it among the bucket's notifications.
    required: true
    type: str
  lambda_function_arn:
    description: The function S3 invokes. Required with O(state=present).
    type: str
  events:
    description: The S3 event types that trigger the function.
    type: list
    elements: str
    default: ['s3:ObjectCreated:Put']
  prefix:
    description: Only keys starting with this trigger the function (empty = no prefix filter).
    type: str
    default: ''
  suffix:
    description: Only keys ending with this trigger the function (empty = no suffix filter).
    type: str
    default: ''
  state:
    description: Whether our entry exists.
    choices: [present, absent]
    default: present
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Invoke the chatbot for each mail SES stores under inbound/
  s3_bucket_lambda_notification:
    bucket_name: eutop-mediamind
    id: mediamind-chatbot-inbound
    lambda_function_arn: arn:aws:lambda:eu-central-1:123456789012:function:mediamind_chatbot
    events: ['s3:ObjectCreated:Put']
    prefix: inbound/

- name: Remove only our notification
  s3_bucket_lambda_notification:
    bucket_name: eutop-mediamind
    id: mediamind-chatbot-inbound
    state: absent
"""

RETURN = r"""
notification:
  description: Our entry after the change (empty when absent), as S3 shapes it.
  returned: always
  type: dict
  sample:
    Id: mediamind-chatbot-inbound
    LambdaFunctionArn: arn:aws:lambda:eu-central-1:123456789012:function:mediamind_chatbot
    Events: ['s3:ObjectCreated:Put']
    Filter: {Key: {FilterRules: [{Name: prefix, Value: inbound/}]}}
other_notifications:
  description: How many entries of the bucket's configuration are not ours (left unchanged).
  returned: always
  type: int
request:
  description: The configuration sent to S3 (or that would be sent in check mode); empty when unchanged.
  returned: always
  type: dict
"""

import contextlib
import copy
from typing import Any

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.mediamind.platform.plugins.module_utils.awslambda import (
    get_bucket_notifications,
    normalize_lambda_notification,
    put_bucket_notifications,
)
from ansible_collections.mediamind.platform.plugins.module_utils.common import make_diff


class LambdaNotificationManager:
    def __init__(self, module: AnsibleAWSModule) -> None:
        self.module = module
        self.client = module.client("s3")
        self.params = module.params
        self.bucket = module.params["bucket_name"]
        self.changed = False
        self.request: dict[str, Any] = {}
        self.current = self._describe()

    def _describe(self) -> dict[str, Any]:
        try:
            return get_bucket_notifications(self.client, self.bucket)
        except botocore.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code == "NoSuchBucket" and (self.module.check_mode or self.params["state"] == "absent"):
                # Check mode on an empty account (the bucket role has not run yet), or
                # absent after the bucket is gone: there is no notification to compare.
                return {}
            self.module.fail_json_aws(exc, msg=f"Could not read the notifications of bucket {self.bucket}")
        except botocore.exceptions.BotoCoreError as exc:
            self.module.fail_json_aws(exc, msg=f"Could not read the notifications of bucket {self.bucket}")
        return {}

    def _ours(self, configuration: dict[str, Any]) -> dict[str, Any]:
        for entry in configuration.get("LambdaFunctionConfigurations", []):
            if entry.get("Id") == self.params["id"]:
                return entry
        return {}

    def _others_count(self) -> int:
        count = 0
        for kind, value in self.current.items():
            if isinstance(value, list):
                count += sum(
                    1
                    for e in value
                    if not (kind == "LambdaFunctionConfigurations" and e.get("Id") == self.params["id"])
                )
            elif value:
                count += 1
        return count

    def _wanted(self) -> dict[str, Any]:
        rules = [{"Name": name, "Value": self.params[name]} for name in ("prefix", "suffix") if self.params[name]]
        entry: dict[str, Any] = {
            "Id": self.params["id"],
            "LambdaFunctionArn": self.params["lambda_function_arn"],
            "Events": list(self.params["events"]),
        }
        if rules:
            entry["Filter"] = {"Key": {"FilterRules": rules}}
        return entry

    def _write(self, ours: dict[str, Any] | None) -> None:
        configuration = copy.deepcopy(self.current)
        others = [e for e in configuration.get("LambdaFunctionConfigurations", []) if e.get("Id") != self.params["id"]]
        if ours:
            others.append(ours)
        if others:
            configuration["LambdaFunctionConfigurations"] = others
        else:
            configuration.pop("LambdaFunctionConfigurations", None)
        self.request = configuration
        self.changed = True
        if self.module.check_mode:
            return
        try:
            put_bucket_notifications(self.client, self.bucket, configuration)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            self.module.fail_json_aws(exc, msg=f"Could not write the notifications of bucket {self.bucket}")

    def ensure_present(self) -> dict[str, Any]:
        before = self._ours(self.current)
        wanted = self._wanted()
        if not before or normalize_lambda_notification(before) != normalize_lambda_notification(wanted):
            self._write(wanted)
            return {"before": before, "after": wanted}
        return {"before": before, "after": before}

    def ensure_absent(self) -> dict[str, Any]:
        before = self._ours(self.current)
        if before:
            self._write(None)
        return {"before": before, "after": {}}


def main() -> None:
    argument_spec = dict(
        bucket_name=dict(type="str", required=True),
        id=dict(type="str", required=True),
        lambda_function_arn=dict(type="str"),
        events=dict(type="list", elements="str", default=["s3:ObjectCreated:Put"]),
        prefix=dict(type="str", default=""),
        suffix=dict(type="str", default=""),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        required_if=[("state", "present", ["lambda_function_arn"])],
        supports_check_mode=True,
    )
    manager = LambdaNotificationManager(module)
    result = manager.ensure_present() if module.params["state"] == "present" else manager.ensure_absent()
    module.exit_json(
        changed=manager.changed,
        notification=result["after"],
        other_notifications=manager._others_count(),
        request=manager.request,
        diff=make_diff(result["before"], result["after"]),
    )


if __name__ == "__main__":
    main()
