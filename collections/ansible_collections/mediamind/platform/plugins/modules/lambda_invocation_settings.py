#!/usr/bin/python
"""Manage a Lambda function's asynchronous invoke configuration and reserved concurrency."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: lambda_invocation_settings
short_description: Manage a Lambda function's async invoke configuration and reserved concurrency
description:
  - Sets how Lambda retries asynchronous invocations (S3 events are asynchronous), how old an event
    may get before it is dropped, where failed events go, and the function's reserved concurrency.
  - amazon.aws.lambda manages neither; this module follows amazon.aws' ec2_vpc_igw (describe once,
    compare locally, diff, check mode).
  - The function must exist, except in check mode (then every setting is reported as a change).
options:
  function_name:
    description: Name or ARN of the function.
    required: true
    type: str
  maximum_retry_attempts:
    description: Retries after a failed asynchronous invocation (0-2).
    type: int
    default: 2
  maximum_event_age_in_seconds:
    description: Age (60-21600 s) after which an unprocessed event is sent to the failure destination.
    type: int
    default: 3600
  on_failure_destination:
    description: ARN of the SQS queue, SNS topic, function or bus that receives failed events. Empty = none.
    type: str
    default: ''
  reserved_concurrent_executions:
    description: Reserved concurrency of the function; C(-1) removes the reservation (unreserved pool).
    type: int
    default: -1
  state:
    description: C(absent) removes the async invoke configuration and the reservation.
    choices: [present, absent]
    default: present
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Retry twice, drop events after an hour into the failure queue, reserve 5 executions
  lambda_invocation_settings:
    function_name: mediamind_chatbot
    maximum_retry_attempts: 2
    maximum_event_age_in_seconds: 3600
    on_failure_destination: arn:aws:sqs:eu-central-1:123456789012:mediamind_chatbot-failures
    reserved_concurrent_executions: 5
"""

RETURN = r"""
event_invoke_config:
  description: The async invoke configuration after the change (as requested in check mode).
  returned: always
  type: dict
  sample:
    MaximumRetryAttempts: 2
    MaximumEventAgeInSeconds: 3600
    DestinationConfig: {OnFailure: {Destination: arn:aws:sqs:eu-central-1:123456789012:q}}
reserved_concurrent_executions:
  description: The reservation after the change (-1 = none).
  returned: always
  type: int
request:
  description: The PutFunctionEventInvokeConfig request sent (or that would be sent); empty when unchanged.
  returned: always
  type: dict
"""

import contextlib
from typing import Any

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.mediamind.platform.plugins.module_utils.awslambda import (
    delete_event_invoke_config,
    delete_reserved_concurrency,
    get_event_invoke_config,
    get_function_configuration,
    put_event_invoke_config,
    put_reserved_concurrency,
)
from ansible_collections.mediamind.platform.plugins.module_utils.common import make_diff


def _comparable(config: dict[str, Any] | None) -> dict[str, Any]:
    if not config:
        return {}
    destination = config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination", "")
    return {
        "MaximumRetryAttempts": config.get("MaximumRetryAttempts"),
        "MaximumEventAgeInSeconds": config.get("MaximumEventAgeInSeconds"),
        "OnFailure": destination or "",
    }


class InvocationSettingsManager:
    def __init__(self, module: AnsibleAWSModule) -> None:
        self.module = module
        self.client = module.client("lambda")
        self.name = module.params["function_name"]
        self.changed = False
        self.request: dict[str, Any] = {}
        try:
            function = get_function_configuration(self.client, self.name)
            self.exists = function is not None
            self.concurrency = (function or {}).get("Concurrency", {}).get("ReservedConcurrentExecutions", -1)
            self.config = get_event_invoke_config(self.client, self.name) if self.exists else None
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            module.fail_json_aws(exc, msg=f"Could not read the settings of function {self.name}")
        if not self.exists and not module.check_mode and module.params["state"] == "present":
            module.fail_json(msg=f"function {self.name} does not exist")

    def _call(self, what: str, func, *args) -> None:
        self.changed = True
        if self.module.check_mode:
            return
        try:
            func(self.client, self.name, *args)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            self.module.fail_json_aws(exc, msg=f"Could not {what} of function {self.name}")

    def before(self) -> dict[str, Any]:
        return {
            "event_invoke_config": _comparable(self.config),
            "reserved_concurrent_executions": self.concurrency,
        }

    def ensure_present(self) -> dict[str, Any]:
        params = self.module.params
        request: dict[str, Any] = {
            "MaximumRetryAttempts": params["maximum_retry_attempts"],
            "MaximumEventAgeInSeconds": params["maximum_event_age_in_seconds"],
        }
        if params["on_failure_destination"]:
            request["DestinationConfig"] = {"OnFailure": {"Destination": params["on_failure_destination"]}}
        if _comparable(self.config) != _comparable(request):
            self.request = request
            self._call("set the async invoke configuration", put_event_invoke_config, request)
        wanted = params["reserved_concurrent_executions"]
        if wanted != self.concurrency:
            if wanted < 0:
                self._call("remove the reserved concurrency", delete_reserved_concurrency)
            else:
                self._call("reserve concurrency", put_reserved_concurrency, wanted)
        return {"event_invoke_config": _comparable(request), "reserved_concurrent_executions": wanted}

    def ensure_absent(self) -> dict[str, Any]:
        if self.config:
            self._call("remove the async invoke configuration", delete_event_invoke_config)
        if self.exists and self.concurrency >= 0:
            self._call("remove the reserved concurrency", delete_reserved_concurrency)
        return {"event_invoke_config": {}, "reserved_concurrent_executions": -1}


def main() -> None:
    argument_spec = dict(
        function_name=dict(type="str", required=True),
        maximum_retry_attempts=dict(type="int", default=2),
        maximum_event_age_in_seconds=dict(type="int", default=3600),
        on_failure_destination=dict(type="str", default=""),
        reserved_concurrent_executions=dict(type="int", default=-1),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    if not 0 <= params["maximum_retry_attempts"] <= 2:
        module.fail_json(msg="maximum_retry_attempts must be between 0 and 2")
    if not 60 <= params["maximum_event_age_in_seconds"] <= 21600:
        module.fail_json(msg="maximum_event_age_in_seconds must be between 60 and 21600")
    manager = InvocationSettingsManager(module)
    before = manager.before()
    after = manager.ensure_present() if params["state"] == "present" else manager.ensure_absent()
    module.exit_json(
        changed=manager.changed,
        event_invoke_config=after["event_invoke_config"],
        reserved_concurrent_executions=after["reserved_concurrent_executions"],
        request=manager.request,
        diff=make_diff(before, after),
    )


if __name__ == "__main__":
    main()
