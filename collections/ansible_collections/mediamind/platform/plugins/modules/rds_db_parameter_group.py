#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: rds_db_parameter_group
short_description: Manage an RDS DB parameter group and the parameters it sets
description:
  - Creates, updates or deletes a DB parameter group; sets only the parameters given (others keep
    the family's defaults); supports check mode and diff.
  - Stands in for C(amazon.aws.rds_instance_param_group), which fails against the local emulator
    (moto answers an empty list instead of DBParameterGroupNotFound for an unknown group).
options:
  name:
    description: Name of the group.
    type: str
    required: true
  state:
    description: Whether the group should exist.
    type: str
    choices: [present, absent]
    default: present
  family:
    description: Parameter group family, for example V(postgres17). Required to create; create-only.
    type: str
  description:
    description: Description (create-only).
    type: str
  parameters:
    description: Parameter values to set (name to value).
    type: dict
    default: {}
  tags:
    description: Tags of the group.
    type: dict
    aliases: [resource_tags]
  purge_tags:
    description: Remove tags that are not in O(tags).
    type: bool
    default: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - MediaMind team
"""

EXAMPLES = r"""
- name: A PostgreSQL 17 parameter group that refuses connections without TLS
  rds_db_parameter_group:
    name: mediamind-postgres17
    family: postgres17
    description: TLS only
    parameters:
      rds.force_ssl: "1"
"""

RETURN = r"""
parameter_group:
  description: Name, family, ARN and the managed parameters' values after the run (empty when absent).
  returned: always
  type: dict
"""

import contextlib

with contextlib.suppress(ImportError):  # a missing boto3 is reported by AnsibleAWSModule
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags
from ansible_collections.mediamind.platform.plugins.module_utils.common import (
    aws_retry,
    dict_to_tags,
    make_diff,
    set_resource_tags,
    tags_to_dict,
)
from ansible_collections.mediamind.platform.plugins.module_utils.rds import (
    describe_parameter_group,
    describe_parameters,
    parameter_changes,
)


class ParameterGroupManager:
    def __init__(self, module: AnsibleAWSModule):
        self.module = module
        self.params = module.params
        self.name = module.params["name"]
        self.client = module.client("rds")
        self.changed = False
        self.group = describe_parameter_group(self.client, self.name)

    def _view(self, values: dict[str, str], tags: dict[str, str]) -> dict:
        return {
            "name": self.name,
            "family": self.group.get("DBParameterGroupFamily") if self.group else self.params["family"],
            "arn": self.group.get("DBParameterGroupArn") if self.group else None,
            "parameters": values,
            "tags": tags,
        }

    def ensure_present(self) -> tuple[dict, dict, dict]:
        want = {key: str(value) for key, value in self.params["parameters"].items()}
        wanted_tags = self.params["tags"]
        if self.group is None:
            if not self.params["family"]:
                self.module.fail_json(msg=f"family is required to create {self.name}")
            self.changed = True
            after = self._view(want, wanted_tags or {})
            if self.module.check_mode:
                return {}, after, after
            self.group = aws_retry(self.client.create_db_parameter_group)(
                DBParameterGroupName=self.name,
                DBParameterGroupFamily=self.params["family"],
                Description=self.params["description"] or self.name,
                Tags=dict_to_tags(wanted_tags),
            )["DBParameterGroup"]
            current, current_tags = {}, dict(wanted_tags or {})
        else:
            current = describe_parameters(self.client, self.name)
            current_tags = tags_to_dict(
                aws_retry(self.client.list_tags_for_resource)(ResourceName=self.group["DBParameterGroupArn"])["TagList"]
            )
        before_values = {key: current.get(key, {}).get("ParameterValue") for key in want}
        before = self._view(before_values, current_tags)
        updates = parameter_changes(current, want)
        to_set, to_remove = ({}, [])
        if wanted_tags is not None:
            to_set, to_remove = compare_aws_tags(current_tags, wanted_tags, self.params["purge_tags"])
        self.changed = self.changed or bool(updates or to_set or to_remove)
        after_tags = {**{k: v for k, v in current_tags.items() if k not in to_remove}, **to_set}
        after = self._view(want, after_tags)
        if self.module.check_mode:
            return before, after, after
        if updates:
            # ModifyDBParameterGroup takes at most 20 parameters per call.
            for start in range(0, len(updates), 20):
                aws_retry(self.client.modify_db_parameter_group)(
                    DBParameterGroupName=self.name, Parameters=updates[start : start + 20]
                )
        set_resource_tags(self.client, self.group["DBParameterGroupArn"], to_set, to_remove)
        return before, after, after

    def ensure_absent(self) -> tuple[dict, dict, dict]:
        if self.group is None:
            return {}, {}, {}
        self.changed = True
        before = {"name": self.name, "family": self.group.get("DBParameterGroupFamily")}
        if not self.module.check_mode:
            aws_retry(self.client.delete_db_parameter_group)(DBParameterGroupName=self.name)
        return before, {}, {}


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            family=dict(type="str"),
            description=dict(type="str"),
            parameters=dict(type="dict", default={}),
            tags=dict(type="dict", aliases=["resource_tags"]),
            purge_tags=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    try:
        manager = ParameterGroupManager(module)
        present = module.params["state"] == "present"
        before, after, group = manager.ensure_present() if present else manager.ensure_absent()
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        module.fail_json_aws(exc, msg=f"RDS parameter group call failed for {module.params['name']}")
    output = {"changed": manager.changed, "parameter_group": group}
    # Always returned: Ansible shows it only under --diff.
    output["diff"] = make_diff(before, after)
    module.exit_json(**output)


if __name__ == "__main__":
    main()
