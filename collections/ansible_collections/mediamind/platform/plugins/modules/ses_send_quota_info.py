#!/usr/bin/python
"""Read the account's SES sending quota (an account limit no API sets)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ses_send_quota_info
short_description: Read the SES sending quota of the account in a region
description:
  - Returns C(GetSendQuota) (maximum send rate, 24-hour maximum, sent in the last 24 hours) and,
    given thresholds, whether the quota is below them.
  - The quota is raised through an AWS support case (leaving the sandbox), never through an API call,
    so a role can only read it and warn.
options:
  min_send_rate:
    description: Mails per second the platform needs; RV(below_minimum) is true when the quota is lower.
    type: float
    default: 0
  min_24_hour_send:
    description: Mails per 24 hours the platform needs.
    type: float
    default: 0
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Read the sending quota
  ses_send_quota_info:
    min_send_rate: 14
    min_24_hour_send: 50000
  register: quota
"""

RETURN = r"""
max_send_rate:
  description: Mails per second the account may send.
  returned: always
  type: float
max_24_hour_send:
  description: Mails the account may send per 24 hours.
  returned: always
  type: float
sent_last_24_hours:
  description: Mails sent in the last 24 hours.
  returned: always
  type: float
below_minimum:
  description: True when either figure is below O(min_send_rate) / O(min_24_hour_send).
  returned: always
  type: bool
sandbox_likely:
  description: True when the quota is the SES sandbox's (1 mail/s, 200 per day).
  returned: always
  type: bool
"""

import contextlib

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    from botocore.exceptions import BotoCoreError, ClientError

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.mediamind.platform.plugins.module_utils.common import aws_retry

# The quota of a new account (the SES sandbox), from the SES developer guide.
_SANDBOX_RATE = 1.0
_SANDBOX_DAY = 200.0


def main() -> None:
    argument_spec = dict(
        min_send_rate=dict(type="float", default=0),
        min_24_hour_send=dict(type="float", default=0),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    client = module.client("ses", retry_decorator=aws_retry)
    try:
        quota = client.get_send_quota(aws_retry=True)
    except (BotoCoreError, ClientError) as exc:
        module.fail_json_aws(exc, msg="cannot read the SES send quota")
    rate = float(quota.get("MaxSendRate", 0))
    day = float(quota.get("Max24HourSend", 0))
    module.exit_json(
        changed=False,
        max_send_rate=rate,
        max_24_hour_send=day,
        sent_last_24_hours=float(quota.get("SentLast24Hours", 0)),
        below_minimum=rate < module.params["min_send_rate"] or day < module.params["min_24_hour_send"],
        sandbox_likely=rate <= _SANDBOX_RATE and day <= _SANDBOX_DAY,
    )


if __name__ == "__main__":
    main()
