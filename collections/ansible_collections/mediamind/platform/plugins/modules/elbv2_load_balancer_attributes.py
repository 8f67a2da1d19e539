#!/usr/bin/python
"""Set attributes of one ELBv2 load balancer, comparing only the ones asked for."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: elbv2_load_balancer_attributes
short_description: Manage selected attributes of an Application Load Balancer
description:
  - Makes the attributes named in O(attributes) of the load balancer O(load_balancer_arn) have the given
    values; attributes not named are left alone. Described once, compared locally, one modify call.
  - An attribute the API does not return counts as different and is set.
  - amazon.aws.elb_application_lb (10.x) reads every attribute it manages by key from the API's answer
    and fails with a KeyError when the API leaves one out (the moto server returns only attributes that
    were set), so the alb role creates the load balancer with it and sets attributes here.
options:
  load_balancer_arn:
    description:
      - The load balancer.
      - May be empty only in check mode, for a load balancer that does not exist yet; every attribute is then
        reported as to be set.
    type: str
    default: ""
  attributes:
    description:
      - Attribute keys (for instance C(idle_timeout.timeout_seconds)) and their values.
      - Booleans as C(true)/C(false).
    type: dict
    required: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Drop invalid headers, strictest desync mitigation, 2 minute idle timeout
  elbv2_load_balancer_attributes:
    load_balancer_arn: "{{ alb_arn }}"
    attributes:
      routing.http.drop_invalid_header_fields.enabled: "true"
      routing.http.desync_mitigation_mode: strictest
      idle_timeout.timeout_seconds: "120"
"""

RETURN = r"""
attributes:
  description: The named attributes after the run (in check mode, the wanted values).
  returned: always
  type: dict
changed_attributes:
  description: The attributes set (or that would be), with their new values.
  returned: always
  type: dict
"""

import contextlib
from typing import Any

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports the missing dependency
    from botocore.exceptions import BotoCoreError, ClientError

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.mediamind.platform.plugins.module_utils.common import make_diff
from ansible_collections.mediamind.platform.plugins.module_utils.elbv2 import call


def _text(value: Any) -> str:
    # The API speaks strings; YAML booleans become "true"/"false".
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


class LoadBalancerAttributesManager:
    def __init__(self, module: AnsibleAWSModule) -> None:
        self.module = module
        self.client = module.client("elbv2")
        self.arn = module.params["load_balancer_arn"]

    def ensure_present(self) -> dict[str, Any]:
        wanted = {key: _text(value) for key, value in self.module.params["attributes"].items()}
        if not self.arn:
            if not self.module.check_mode:
                self.module.fail_json(msg="load_balancer_arn is required outside check mode")
            current: dict[str, str] = {}
        else:
            raw = call(self.client, "describe_load_balancer_attributes", LoadBalancerArn=self.arn)["Attributes"]
            current = {a["Key"]: a["Value"] for a in raw}
        before = {key: current.get(key) for key in wanted}
        changes = {key: value for key, value in wanted.items() if current.get(key) != value}
        if changes and not self.module.check_mode:
            call(
                self.client,
                "modify_load_balancer_attributes",
                LoadBalancerArn=self.arn,
                Attributes=[{"Key": k, "Value": v} for k, v in changes.items()],
            )
        return {
            "changed": bool(changes),
            "attributes": wanted,
            "changed_attributes": changes,
            "diff": make_diff(before, wanted),
        }


def main() -> None:
    argument_spec = dict(
        load_balancer_arn=dict(type="str", default=""),
        attributes=dict(type="dict", required=True),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    try:
        result = LoadBalancerAttributesManager(module).ensure_present()
    except (BotoCoreError, ClientError) as exc:
        module.fail_json_aws(exc, msg="setting the load balancer attributes failed")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
