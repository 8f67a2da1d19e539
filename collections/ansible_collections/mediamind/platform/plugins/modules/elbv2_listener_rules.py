#!/usr/bin/python
"""Manage the complete rule set of one ALB listener, including URL-rewrite transforms."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: elbv2_listener_rules
short_description: Manage every rule of one Application Load Balancer listener
description:
  - Makes the non-default rules of the listener O(listener_arn) exactly O(rules) (with O(purge_rules=true)),
    identified by priority. Rules are described once and compared locally; the module then deletes
    unwanted rules, moves rules whose content matches a wanted rule to its priority, modifies rules
    whose conditions or actions differ, and creates what is missing.
  - Supports rule O(rules[].transforms) (host-header and URL rewrites), which amazon.aws.elb_application_lb
    and community.aws modules do not.
  - Transforms are compared only when the API returns them. The moto server accepts them but does not
    return them; there the module cannot see transform drift, and the requests it made (or would make)
    are returned in RV(requests) so a test can assert what was sent.
  - The listener's default action is not a rule here; it belongs to the listener.
options:
  listener_arn:
    description:
      - The listener whose rules are managed.
      - May be empty only in check mode, for a listener that does not exist yet; every rule is then reported
        as to be created.
    type: str
    default: ""
  rules:
    description: The wanted rules.
    type: list
    elements: dict
    default: []
    suboptions:
      priority:
        description: The rule's priority (1-50000, unique on the listener); lower is evaluated first.
        type: int
        required: true
      conditions:
        description: Conditions in the ELBv2 API shape (C(Field) plus C(HostHeaderConfig), C(PathPatternConfig), ...).
        type: list
        elements: dict
        required: true
      actions:
        description:
          - Actions in the ELBv2 API shape.
          - Leave out and set O(rules[].target_group_name) for a plain forward.
        type: list
        elements: dict
      target_group_name:
        description:
          - Shorthand for one C(forward) action to the target group of this name, resolved by the module.
          - In check mode a target group that does not exist yet is reported as a change instead of an error.
        type: str
      transforms:
        description: Transforms in the ELBv2 API shape (C(Type) url-rewrite or host-header-rewrite plus its config).
        type: list
        elements: dict
        default: []
  purge_rules:
    description: Delete the listener's rules that are not in O(rules).
    type: bool
    default: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Route by host, and rewrite /dev/api/* to /api/* for the dev API
  elbv2_listener_rules:
    listener_arn: "{{ https_listener_arn }}"
    rules:
      - priority: 10
        conditions:
          - Field: host-header
            HostHeaderConfig: {Values: [api.example.com]}
        target_group_name: example-api
      - priority: 50
        conditions:
          - Field: host-header
            HostHeaderConfig: {Values: [www.example.com]}
          - Field: path-pattern
            PathPatternConfig: {Values: ["/dev/api/*"]}
        target_group_name: example-api-dev
        transforms:
          - Type: url-rewrite
            UrlRewriteConfig:
              Rewrites:
                - Regex: "^/dev/api/(.*)$"
                  Replace: "/api/$1"
"""

RETURN = r"""
rules:
  description: The listener's non-default rules after the run (in check mode, the current ones), by priority.
  returned: always
  type: list
  elements: dict
  contains:
    rule_arn: {description: ARN of the rule., type: str}
    priority: {description: Priority., type: int}
    conditions: {description: Conditions as the API returns them., type: list}
    actions: {description: Actions as the API returns them., type: list}
    transforms: {description: Transforms, when the API returns them., type: list}
requests:
  description:
    - Every write call the module made (or, in check mode, would make), in order, with its parameters.
    - The way to see what was sent where the API does not return it (transforms on the moto server).
  returned: always
  type: list
  elements: dict
  sample: [{operation: create_rule, params: {Priority: 50, Transforms: [{Type: url-rewrite}]}}]
transforms_returned_by_api:
  description: Whether the API returned the Transforms key for the listener's rules (false on moto).
  returned: always
  type: bool
"""

import contextlib
from typing import Any

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports the missing dependency
    from botocore.exceptions import BotoCoreError, ClientError

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.mediamind.platform.plugins.module_utils.common import make_diff
from ansible_collections.mediamind.platform.plugins.module_utils.elbv2 import (
    call,
    canonical_rule,
    describe_rules,
    find_target_group,
    plan_rules,
)

# Placeholder for a target group that check mode expects a previous task to create.
_PENDING = "pending:target-group/"


class ListenerRulesManager:
    def __init__(self, module: AnsibleAWSModule) -> None:
        self.module = module
        self.client = module.client("elbv2")
        self.check_mode = module.check_mode
        self.listener_arn = module.params["listener_arn"]
        self.requests: list[dict[str, Any]] = []
        self._target_groups: dict[str, str] = {}

    # ----------------------------------------------------------------- inputs

    def _target_group_arn(self, name: str) -> str:
        if name not in self._target_groups:
            group = find_target_group(self.client, name)
            if group is None:
                if not self.check_mode:
                    self.module.fail_json(msg=f"target group {name!r} (rules[].target_group_name) does not exist")
                self._target_groups[name] = _PENDING + name
            else:
                self._target_groups[name] = group["TargetGroupArn"]
        return self._target_groups[name]

    def wanted_rules(self) -> list[dict[str, Any]]:
        wanted = []
        seen = set()
        for index, rule in enumerate(self.module.params["rules"]):
            priority = rule["priority"]
            if priority in seen:
                self.module.fail_json(msg=f"rules[{index}].priority {priority} is used twice")
            seen.add(priority)
            if bool(rule.get("actions")) == bool(rule.get("target_group_name")):
                self.module.fail_json(msg=f"rules[{index}] needs exactly one of actions and target_group_name")
            actions = rule.get("actions") or [
                {"Type": "forward", "TargetGroupArn": self._target_group_arn(rule["target_group_name"])}
            ]
            wanted.append(
                {
                    "Priority": priority,
                    "Conditions": rule["conditions"],
                    "Actions": actions,
                    "Transforms": rule.get("transforms") or [],
                }
            )
        return sorted(wanted, key=lambda r: r["Priority"])

    # ----------------------------------------------------------------- run

    def _request(self, operation: str, **params: Any) -> dict[str, Any]:
        self.requests.append({"operation": operation, "params": params})
        if self.check_mode:
            return {}
        return call(self.client, operation, **params)

    def ensure_present(self) -> dict[str, Any]:
        wanted = self.wanted_rules()
        if not self.listener_arn:
            if not self.check_mode:
                self.module.fail_json(msg="listener_arn is required outside check mode")
            current = []
        else:
            current = [r for r in describe_rules(self.client, self.listener_arn) if not r.get("IsDefault")]
        transforms_returned = any("Transforms" in r for r in current)
        plan = plan_rules(current, wanted, self.module.params["purge_rules"])

        # Deletes first: they free the priorities the moves and creates need.
        for item in plan["delete"]:
            self._request("delete_rule", RuleArn=item["RuleArn"])
        if plan["set_priorities"]:
            self._request(
                "set_rule_priorities",
                RulePriorities=[{"RuleArn": i["RuleArn"], "Priority": i["Priority"]} for i in plan["set_priorities"]],
            )
        for item in plan["modify"]:
            rule = item["Rule"]
            params: dict[str, Any] = {
                "RuleArn": item["RuleArn"],
                "Conditions": rule["Conditions"],
                "Actions": rule["Actions"],
            }
            if rule["Transforms"]:
                params["Transforms"] = rule["Transforms"]
            else:
                params["ResetTransforms"] = True
            self._request("modify_rule", **params)
        for rule in plan["create"]:
            params = {
                "ListenerArn": self.listener_arn or "(listener to be created)",
                "Priority": rule["Priority"],
                "Conditions": rule["Conditions"],
                "Actions": rule["Actions"],
            }
            if rule["Transforms"]:
                params["Transforms"] = rule["Transforms"]
            self._request("create_rule", **params)

        changed = bool(self.requests)
        after_rules = current
        if changed and not self.check_mode:
            after_rules = [r for r in describe_rules(self.client, self.listener_arn) if not r.get("IsDefault")]
        before = {str(r["Priority"]): canonical_rule(r, True) for r in current}
        # What we asked for (transforms included) is what the rules become;
        # without purge the rules we did not touch stay as they were.
        after = {str(r["Priority"]): canonical_rule(r, True) for r in wanted}
        if not self.module.params["purge_rules"]:
            moved = {i["RuleArn"] for i in plan["set_priorities"]}
            kept = {str(r["Priority"]): canonical_rule(r, True) for r in current if r["RuleArn"] not in moved}
            after = {**kept, **after}
        return {
            "changed": changed,
            "rules": [_summary(r) for r in sorted(after_rules, key=lambda r: int(r["Priority"]))],
            "requests": self.requests,
            "transforms_returned_by_api": transforms_returned,
            "diff": make_diff(before, after),
        }


def _summary(rule: dict[str, Any]) -> dict[str, Any]:
    out = {
        "rule_arn": rule["RuleArn"],
        "priority": int(rule["Priority"]),
        "conditions": rule.get("Conditions", []),
        "actions": rule.get("Actions", []),
    }
    if "Transforms" in rule:
        out["transforms"] = rule["Transforms"]
    return out


def main() -> None:
    argument_spec = dict(
        listener_arn=dict(type="str", default=""),
        rules=dict(
            type="list",
            elements="dict",
            default=[],
            options=dict(
                priority=dict(type="int", required=True),
                conditions=dict(type="list", elements="dict", required=True),
                actions=dict(type="list", elements="dict"),
                target_group_name=dict(type="str"),
                transforms=dict(type="list", elements="dict", default=[]),
            ),
        ),
        purge_rules=dict(type="bool", default=True),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    manager = ListenerRulesManager(module)
    try:
        result = manager.ensure_present()
    except (BotoCoreError, ClientError) as exc:
        module.fail_json_aws(exc, msg="managing the listener rules failed", requests=manager.requests)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
