"""Filters that turn the alb role's inventory data into ELBv2 API shapes.

Kept in Python (not Jinja loops) so tests/alb can check them directly.
"""

from __future__ import annotations

from typing import Any


def alb_listener_rules(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """alb_rules entries -> elbv2_listener_rules `rules` (API-shaped conditions and transforms).

    An entry: {priority, host, path_patterns?, target_group, path_rewrite?: {regex, replace}}.
    """
    out = []
    for rule in rules:
        conditions: list[dict[str, Any]] = [
            {"Field": "host-header", "HostHeaderConfig": {"Values": [rule["host"]]}},
        ]
        if rule.get("path_patterns"):
            conditions.append({"Field": "path-pattern", "PathPatternConfig": {"Values": list(rule["path_patterns"])}})
        transforms = []
        rewrite = rule.get("path_rewrite")
        if rewrite:
            # The ALB URL-rewrite transform: the path matching Regex is replaced
            # (capture groups as $1) before the request reaches the target.
            transforms.append(
                {
                    "Type": "url-rewrite",
                    "UrlRewriteConfig": {"Rewrites": [{"Regex": rewrite["regex"], "Replace": rewrite["replace"]}]},
                }
            )
        out.append(
            {
                "priority": int(rule["priority"]),
                "conditions": conditions,
                "target_group_name": rule["target_group"],
                "transforms": transforms,
            }
        )
    return out


def alb_egress_ports(target_groups: list[dict[str, Any]]) -> list[int]:
    """Every port the load balancer must reach its targets on (health checks use the traffic port)."""
    return sorted({int(group["port"]) for group in target_groups})


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"alb_listener_rules": alb_listener_rules, "alb_egress_ports": alb_egress_ports}
