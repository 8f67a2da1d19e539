#!/usr/bin/python
"""Retire the KMS key behind an alias: delete the alias and schedule the key's deletion."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: kms_key_retire
short_description: Delete a KMS alias and schedule the deletion of the key it names
description:
  - The teardown half of amazon.aws.kms_key. That module schedules the deletion by key ARN, which the
    local emulator (moto 5.2) answers with an internal error, and leaves the alias pointing at a
    key pending deletion. This module finds the key through the alias, deletes the alias and
    schedules the key's deletion by key id; a second run finds no alias and changes nothing.
options:
  alias:
    description: The alias (C(alias/...)).
    required: true
    type: str
  pending_window:
    description: Days (7-30) before KMS deletes the key.
    type: int
    default: 30
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Retire the alarm topic's key
  kms_key_retire:
    alias: alias/mediamind-production-alarms
    pending_window: 7
"""

RETURN = r"""
key_id:
  description: Id of the key scheduled for deletion ('' when the alias did not exist).
  returned: always
  type: str
"""

import contextlib

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.mediamind.platform.plugins.module_utils.common import aws_retry, make_diff


@aws_retry
def _target_key(client, alias: str) -> str:
    for page in client.get_paginator("list_aliases").paginate():
        for item in page.get("Aliases", []):
            if item["AliasName"] == alias:
                return item.get("TargetKeyId", "")
    return ""


def main() -> None:
    argument_spec = dict(alias=dict(type="str", required=True), pending_window=dict(type="int", default=30))
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    alias = module.params["alias"]
    if not alias.startswith("alias/"):
        module.fail_json(msg="alias must start with alias/")
    if not 7 <= module.params["pending_window"] <= 30:
        module.fail_json(msg="pending_window must be between 7 and 30 days")
    client = module.client("kms")
    try:
        key_id = _target_key(client, alias)
        if key_id and not module.check_mode:
            aws_retry(client.delete_alias)(AliasName=alias)
            aws_retry(client.schedule_key_deletion)(KeyId=key_id, PendingWindowInDays=module.params["pending_window"])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        module.fail_json_aws(exc, msg=f"Could not retire the key behind {alias}")
    module.exit_json(
        changed=bool(key_id),
        key_id=key_id,
        diff=make_diff({"alias": alias, "key_id": key_id} if key_id else {}, {}),
    )


if __name__ == "__main__":
    main()
