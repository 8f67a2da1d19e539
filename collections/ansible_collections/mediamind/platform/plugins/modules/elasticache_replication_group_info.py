#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: elasticache_replication_group_info
short_description: Describe one ElastiCache replication group
description:
  - Returns the settings of a replication group in the option names of M(elasticache_replication_group),
    or an empty dict when it does not exist. Used to await a group that was created without waiting.
options:
  replication_group_id:
    description: Identifier of the replication group.
    type: str
    required: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - MediaMind team
"""

EXAMPLES = r"""
- name: Wait until the replication group is available
  elasticache_replication_group_info:
    replication_group_id: mediamind
  register: group
  until: group.replication_group.status | default('') == 'available'
  retries: 120
  delay: 15
"""

RETURN = r"""
replication_group:
  description: The group's settings (see M(elasticache_replication_group)); empty when it does not exist.
  returned: always
  type: dict
"""

import contextlib

with contextlib.suppress(ImportError):  # a missing boto3 is reported by AnsibleAWSModule
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.mediamind.platform.plugins.module_utils.elasticache import (
    describe_replication_group,
    list_tags,
    summary,
)


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=dict(replication_group_id=dict(type="str", required=True)),
        supports_check_mode=True,
    )
    client = module.client("elasticache")
    try:
        group = describe_replication_group(client, module.params["replication_group_id"])
        result = {}
        if group is not None:
            result = summary(group)
            result["tags"] = list_tags(client, group["ARN"])
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        module.fail_json_aws(exc, msg="DescribeReplicationGroups failed")
    module.exit_json(changed=False, replication_group=result)


if __name__ == "__main__":
    main()
