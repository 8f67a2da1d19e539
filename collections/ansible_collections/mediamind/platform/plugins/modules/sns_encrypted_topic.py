#!/usr/bin/python
"""Manage an SNS topic encrypted with a KMS key, its access policy, e-mail subscriptions and tags."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: sns_encrypted_topic
short_description: Manage an encrypted SNS topic, its policy, e-mail subscriptions and tags
description:
  - Creates or updates a standard SNS topic with server-side encryption (KmsMasterKeyId), an access
    policy, the e-mail subscriptions given and tags; C(absent) deletes the topic.
  - community.aws.sns_topic cannot set KmsMasterKeyId; this module follows amazon.aws' ec2_vpc_igw
    (describe once, compare locally, diff, check mode).
  - An e-mail subscription stays C(PendingConfirmation) until its owner clicks the link AWS mails;
    a pending subscription cannot be removed through the API (it expires after three days), so only
    confirmed ones are unsubscribed when no longer wanted.
options:
  name:
    description: Topic name.
    required: true
    type: str
  kms_master_key_id:
    description: ARN, id or alias of the KMS key that encrypts messages at rest.
    type: str
    default: ''
  policy:
    description: The topic's access policy document.
    type: dict
  display_name:
    description: Sender name of e-mail notifications.
    type: str
    default: ''
  email_subscriptions:
    description: Addresses subscribed with protocol C(email).
    type: list
    elements: str
    default: []
  tags:
    description: Tags of the topic (others are removed).
    type: dict
    default: {}
  state:
    choices: [present, absent]
    default: present
    type: str
    description: Whether the topic exists.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: The alarm topic, encrypted, mailing the on-call address
  sns_encrypted_topic:
    name: mediamind-production-alarms
    kms_master_key_id: arn:aws:kms:eu-central-1:123456789012:key/1234
    policy: "{{ topic_policy }}"
    email_subscriptions: [oncall@example.com]
    tags: {Project: mediamind}
"""

RETURN = r"""
topic_arn:
  description: ARN of the topic (computed from the account in check mode when it does not exist yet).
  returned: always
  type: str
subscriptions:
  description: Subscribed e-mail addresses and whether each is confirmed.
  returned: always
  type: list
  elements: dict
"""

import contextlib
import json
from typing import Any

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags
from ansible_collections.mediamind.platform.plugins.module_utils.common import aws_retry, make_diff

_PENDING = "PendingConfirmation"


@aws_retry
def _find_topic(client, name: str) -> str:
    for page in client.get_paginator("list_topics").paginate():
        for topic in page.get("Topics", []):
            if topic["TopicArn"].rsplit(":", 1)[-1] == name:
                return topic["TopicArn"]
    return ""


@aws_retry
def _attributes(client, arn: str) -> dict[str, str]:
    return client.get_topic_attributes(TopicArn=arn)["Attributes"]


@aws_retry
def _subscriptions(client, arn: str) -> list[dict[str, str]]:
    pages = client.get_paginator("list_subscriptions_by_topic").paginate(TopicArn=arn)
    return [s for page in pages for s in page.get("Subscriptions", []) if s.get("Protocol") == "email"]


@aws_retry
def _tags(client, arn: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in client.list_tags_for_resource(ResourceArn=arn).get("Tags", [])}


@aws_retry
def _account(module: AnsibleAWSModule) -> str:
    return module.client("sts").get_caller_identity()["Account"]


class TopicManager:
    def __init__(self, module: AnsibleAWSModule) -> None:
        self.module = module
        self.client = module.client("sns")
        self.name = module.params["name"]
        self.changed = False
        try:
            self.arn = _find_topic(self.client, self.name)
            self.attributes = _attributes(self.client, self.arn) if self.arn else {}
            self.subscriptions = _subscriptions(self.client, self.arn) if self.arn else []
            self.tags = _tags(self.client, self.arn) if self.arn else {}
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            module.fail_json_aws(exc, msg=f"Could not describe the topic {self.name}")

    def _call(self, what: str, func, **kwargs) -> Any:
        self.changed = True
        if self.module.check_mode:
            return None
        try:
            return aws_retry(func)(**kwargs)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            self.module.fail_json_aws(exc, msg=f"Could not {what} of topic {self.name}")

    def state(self) -> dict[str, Any]:
        if not self.arn:
            return {}
        policy = self.attributes.get("Policy")
        return {
            "kms_master_key_id": self.attributes.get("KmsMasterKeyId", ""),
            "display_name": self.attributes.get("DisplayName", ""),
            "policy": json.loads(policy) if policy else None,
            "email_subscriptions": sorted(s["Endpoint"] for s in self.subscriptions),
            "tags": dict(sorted(self.tags.items())),
        }

    def ensure_present(self) -> dict[str, Any]:
        params = self.module.params
        if not self.arn:
            created = self._call("create", self.client.create_topic, Name=self.name)
            self.arn = created["TopicArn"] if created else self._check_mode_arn()
        wanted_attributes = {
            "KmsMasterKeyId": params["kms_master_key_id"],
            "DisplayName": params["display_name"],
        }
        for key, value in wanted_attributes.items():
            if self.attributes.get(key, "") != value:
                self._call(
                    f"set {key}",
                    self.client.set_topic_attributes,
                    TopicArn=self.arn,
                    AttributeName=key,
                    AttributeValue=value,
                )
        current_policy = json.loads(self.attributes["Policy"]) if self.attributes.get("Policy") else None
        if params["policy"] is not None and current_policy != params["policy"]:
            self._call(
                "set the policy",
                self.client.set_topic_attributes,
                TopicArn=self.arn,
                AttributeName="Policy",
                AttributeValue=json.dumps(params["policy"]),
            )
        self._converge_subscriptions(params["email_subscriptions"])
        to_set, to_remove = compare_aws_tags(self.tags, params["tags"], purge_tags=True)
        if to_set:
            self._call(
                "tag",
                self.client.tag_resource,
                ResourceArn=self.arn,
                Tags=[{"Key": k, "Value": v} for k, v in to_set.items()],
            )
        if to_remove:
            self._call("untag", self.client.untag_resource, ResourceArn=self.arn, TagKeys=to_remove)
        return {
            "kms_master_key_id": params["kms_master_key_id"],
            "display_name": params["display_name"],
            "policy": params["policy"] if params["policy"] is not None else current_policy,
            "email_subscriptions": sorted(set(params["email_subscriptions"])),
            "tags": dict(sorted(params["tags"].items())),
        }

    def _converge_subscriptions(self, wanted: list[str]) -> None:
        have = {s["Endpoint"]: s for s in self.subscriptions}
        for address in sorted(set(wanted) - set(have)):
            self._call(
                f"subscribe {address}", self.client.subscribe, TopicArn=self.arn, Protocol="email", Endpoint=address
            )
        for address in sorted(set(have) - set(wanted)):
            if have[address]["SubscriptionArn"] != _PENDING:
                self._call(
                    f"unsubscribe {address}", self.client.unsubscribe, SubscriptionArn=have[address]["SubscriptionArn"]
                )

    def _check_mode_arn(self) -> str:
        try:
            account = _account(self.module)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            self.module.fail_json_aws(exc, msg="Could not read the account id")
        return f"arn:aws:sns:{self.module.region}:{account}:{self.name}"

    def ensure_absent(self) -> dict[str, Any]:
        if self.arn:
            self._call("delete", self.client.delete_topic, TopicArn=self.arn)
        return {}

    def subscription_report(self) -> list[dict[str, Any]]:
        if self.module.params["state"] == "absent":
            return []
        have = {s["Endpoint"]: s["SubscriptionArn"] != _PENDING for s in self.subscriptions}
        return [
            {"endpoint": a, "confirmed": have.get(a, False)}
            for a in sorted(set(self.module.params["email_subscriptions"]))
        ]


def main() -> None:
    argument_spec = dict(
        name=dict(type="str", required=True),
        kms_master_key_id=dict(type="str", default=""),
        policy=dict(type="dict"),
        display_name=dict(type="str", default=""),
        email_subscriptions=dict(type="list", elements="str", default=[]),
        tags=dict(type="dict", default={}),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    manager = TopicManager(module)
    before = manager.state()
    after = manager.ensure_present() if module.params["state"] == "present" else manager.ensure_absent()
    module.exit_json(
        changed=manager.changed,
        topic_arn=manager.arn if module.params["state"] == "present" else "",
        subscriptions=manager.subscription_report(),
        diff=make_diff(before, after),
    )


if __name__ == "__main__":
    main()
