#!/usr/bin/python
"""Find Secrets Manager secrets by name and return their ARNs, never a value."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: secretsmanager_secret_arn_info
short_description: ARNs of Secrets Manager secrets found by name (DescribeSecret only, no value read)
description:
  - For each name, the secret's full ARN (with the suffix Secrets Manager adds), as ECS
    C(valueFrom) references and IAM policies need it; empty when the secret does not exist or is
    scheduled for deletion.
  - Calls C(DescribeSecret) only, so a role that may describe secrets but not read them can run it.
options:
  names:
    description: Secret names.
    required: true
    type: list
    elements: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Find the platform's secrets that dev's services read
  secretsmanager_secret_arn_info:
    names: [mediamind/qdrant, mediamind/production/redis]
  register: found
"""

RETURN = r"""
arns:
  description: Name to ARN ("" when the secret does not exist).
  returned: always
  type: dict
"""

import contextlib

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.mediamind.platform.plugins.module_utils.secrets import describe_secret

# AnsibleAWSModule reports a missing botocore itself.
with contextlib.suppress(ImportError):
    import botocore


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=dict(names=dict(type="list", elements="str", required=True)),
        supports_check_mode=True,
    )
    client = module.client("secretsmanager")
    arns = {}
    try:
        for name in module.params["names"]:
            description = describe_secret(client, name)
            arns[name] = "" if description is None or "DeletedDate" in description else description["ARN"]
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg="Failed to describe the secrets")
    module.exit_json(changed=False, arns=arns)


if __name__ == "__main__":
    main()
