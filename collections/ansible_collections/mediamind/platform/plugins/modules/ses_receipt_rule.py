#!/usr/bin/python
"""Manage one SES (v1) receipt rule inside an existing receipt rule set."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ses_receipt_rule
short_description: Manage an SES receipt rule (recipients, TLS, scanning, S3 action, position)
description:
  - Ensures a receipt rule exists in a receipt rule set with the given recipients, enabled flag, TLS
    policy, spam/virus scanning and S3 action; or that it does not.
  - community.aws only manages rule sets (community.aws.ses_rule_set); this module manages the rule.
  - Reads the rule set once (C(DescribeReceiptRuleSet) returns the rules in order, so the rule and
    its position come from one call), compares locally and calls C(CreateReceiptRule),
    C(UpdateReceiptRule), C(SetReceiptRulePosition) or C(DeleteReceiptRule) only when needed.
  - Recipients are compared as a set; only S3 actions are managed (any other action on the rule shows
    up as a difference and is replaced).
  - The S3 action only succeeds when the bucket policy already lets ses.amazonaws.com put objects
    (AWS tests it on create/update); apply the bucket policy first.
  - "Emulator gap: moto 5.2 implements neither C(DeleteReceiptRule) nor C(SetReceiptRulePosition);
    the module fails with a clear message there. Delete the whole rule set instead
    (community.aws.ses_rule_set state=absent), as the ses_receipt role's absent state does."
options:
  rule_set_name:
    description: The receipt rule set holding the rule (must exist; create it with community.aws.ses_rule_set).
    required: true
    type: str
    aliases: [rule_set]
  name:
    description: Name of the rule.
    required: true
    type: str
  state:
    description: Whether the rule exists.
    choices: [present, absent]
    default: present
    type: str
  enabled:
    description: Whether the rule is active.
    type: bool
    default: true
  recipients:
    description: Addresses or domains the rule applies to; empty means every recipient of verified domains.
    type: list
    elements: str
    default: []
  tls_policy:
    description: C(Require) bounces mail that did not arrive over TLS.
    choices: [Require, Optional]
    default: Require
    type: str
  scan_enabled:
    description: Spam and virus scanning (results in the X-SES-Spam-Verdict / X-SES-Virus-Verdict headers).
    type: bool
    default: true
  s3_action:
    description: Store the raw mail in S3.
    type: dict
    suboptions:
      bucket_name:
        description: Target bucket.
        required: true
        type: str
      object_key_prefix:
        description: Key prefix; the object key is the prefix followed by the SES message id.
        type: str
      topic_arn:
        description: SNS topic notified when the object is stored.
        type: str
      kms_key_arn:
        description: KMS key SES encrypts the mail with (client-side) before storing it.
        type: str
      iam_role_arn:
        description: Role SES assumes to write (instead of the bucket policy).
        type: str
  after:
    description:
      - Name of the rule this one must follow; V("") puts it first.
      - Unset leaves the position alone (a new rule goes first).
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Store mail for the chatbot address in S3, TLS only, scanned
  ses_receipt_rule:
    rule_set_name: mediamind-receipt-rule-set
    name: mediamind-receipt-rule
    recipients: [test@chat.csee.tech]
    tls_policy: Require
    scan_enabled: true
    s3_action:
      bucket_name: eutop-mediamind
      object_key_prefix: inbound/

- name: Remove the rule (AWS only; the emulator has no DeleteReceiptRule)
  ses_receipt_rule:
    rule_set_name: mediamind-receipt-rule-set
    name: mediamind-receipt-rule
    state: absent
"""

RETURN = r"""
rule:
  description: The rule after the run (what it would be in check mode), in the SES API's shape.
  returned: when state is present
  type: dict
  sample:
    Name: mediamind-receipt-rule
    Enabled: true
    TlsPolicy: Require
    Recipients: [test@chat.csee.tech]
    ScanEnabled: true
    Actions: [{S3Action: {BucketName: eutop-mediamind, ObjectKeyPrefix: inbound/}}]
after:
  description: Name of the rule before this one in the set (null when it is first).
  returned: when state is present
  type: str
rule_set_exists:
  description: Whether the rule set existed (false only in check mode before the rule set is created).
  returned: always
  type: bool
"""

import contextlib
from typing import Any

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    from botocore.exceptions import BotoCoreError, ClientError
    from botocore.parsers import ResponseParserError

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.mediamind.platform.plugins.module_utils.common import aws_retry, make_diff
from ansible_collections.mediamind.platform.plugins.module_utils.mail import (
    build_receipt_rule,
    canonical_receipt_rule,
    rule_position,
)

_UNSUPPORTED = (
    "the SES endpoint does not implement {operation} (moto 5.2 lacks it): delete the whole rule set "
    "with community.aws.ses_rule_set state=absent instead"
)


class ReceiptRuleManager:
    def __init__(self, module: AnsibleAWSModule) -> None:
        self.module = module
        self.params = module.params
        self.rule_set = module.params["rule_set_name"]
        self.name = module.params["name"]
        self.client = module.client("ses", retry_decorator=aws_retry)
        self.changed = False

    def describe(self) -> tuple[bool, dict[str, Any] | None, str | None]:
        """(rule set exists, the rule or None, name of the rule before it)."""
        try:
            rules = self.client.describe_receipt_rule_set(RuleSetName=self.rule_set, aws_retry=True).get("Rules") or []
        except is_boto3_error_code("RuleSetDoesNotExist"):
            return False, None, None
        except (BotoCoreError, ClientError) as exc:  # pylint: disable=duplicate-except
            self.module.fail_json_aws(exc, msg=f"cannot read receipt rule set {self.rule_set}")
        rule, previous = rule_position(rules, self.name)
        return True, rule, previous

    def _call(self, operation: str, **kwargs: Any) -> None:
        self.changed = True
        if self.module.check_mode:
            return
        try:
            getattr(self.client, operation)(aws_retry=True, **kwargs)
        except ResponseParserError:
            # moto answers unimplemented actions with a body botocore cannot parse.
            self.module.fail_json(msg=_UNSUPPORTED.format(operation=operation))
        except (BotoCoreError, ClientError) as exc:
            self.module.fail_json_aws(exc, msg=f"{operation} failed for rule {self.rule_set}/{self.name}")

    def ensure_present(self) -> dict[str, Any]:
        set_exists, current, previous = self.describe()
        previous_before = previous
        if not set_exists and not self.module.check_mode:
            self.module.fail_json(
                msg=f"receipt rule set {self.rule_set} does not exist: create it first (community.aws.ses_rule_set)"
            )
        params = self.params
        wanted = build_receipt_rule(
            name=self.name,
            recipients=params["recipients"],
            enabled=params["enabled"],
            tls_policy=params["tls_policy"],
            scan_enabled=params["scan_enabled"],
            s3_action=params["s3_action"],
        )
        before = canonical_receipt_rule(current)
        after = canonical_receipt_rule(wanted)
        position = params["after"]
        if current is None:
            request: dict[str, Any] = {"RuleSetName": self.rule_set, "Rule": wanted}
            if position:
                request["After"] = position
            self._call("create_receipt_rule", **request)
            previous = position
        elif before != after:
            self._call("update_receipt_rule", RuleSetName=self.rule_set, Rule=wanted)
        if position is not None and current is not None and (previous or "") != position:
            request = {"RuleSetName": self.rule_set, "RuleName": self.name}
            if position:
                request["After"] = position
            self._call("set_receipt_rule_position", **request)
            previous = position or None
        diff_before = dict(before, After=previous_before) if before else {}
        return {
            "changed": self.changed,
            "rule": wanted,
            "after": previous,
            "rule_set_exists": set_exists,
            "diff": make_diff(diff_before, dict(after, After=previous)),
        }

    def ensure_absent(self) -> dict[str, Any]:
        set_exists, current, _previous = self.describe()
        if current is not None:
            self._call("delete_receipt_rule", RuleSetName=self.rule_set, RuleName=self.name)
        return {
            "changed": self.changed,
            "rule_set_exists": set_exists,
            "diff": make_diff(canonical_receipt_rule(current), None),
        }


def main() -> None:
    argument_spec = dict(
        rule_set_name=dict(type="str", required=True, aliases=["rule_set"]),
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        enabled=dict(type="bool", default=True),
        recipients=dict(type="list", elements="str", default=[]),
        tls_policy=dict(type="str", default="Require", choices=["Require", "Optional"]),
        scan_enabled=dict(type="bool", default=True),
        s3_action=dict(
            type="dict",
            options=dict(
                bucket_name=dict(type="str", required=True),
                object_key_prefix=dict(type="str"),
                topic_arn=dict(type="str"),
                kms_key_arn=dict(type="str"),
                iam_role_arn=dict(type="str"),
            ),
        ),
        after=dict(type="str"),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    manager = ReceiptRuleManager(module)
    result = manager.ensure_present() if module.params["state"] == "present" else manager.ensure_absent()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
