"""boto3 calls and pure comparison helpers behind the alb role's own modules.

elbv2_listener_rules, elbv2_listener_certificates and elbv2_target_group use
these.  The comparison helpers are pure (no AWS) so tests/alb can check them
directly: every shape the API may return for the same setting (for instance
``Values`` vs ``HostHeaderConfig.Values``, ``TargetGroupArn`` vs
``ForwardConfig``) is brought to one canonical form before comparing.
"""

from __future__ import annotations

import json
from typing import Any

from ansible_collections.mediamind.platform.plugins.module_utils.common import aws_retry

# Condition field -> the *Config key the API uses for it.
CONDITION_CONFIG_KEYS = {
    "host-header": "HostHeaderConfig",
    "path-pattern": "PathPatternConfig",
    "http-request-method": "HttpRequestMethodConfig",
    "source-ip": "SourceIpConfig",
    "http-header": "HttpHeaderConfig",
    "query-string": "QueryStringConfig",
}

# What AWS fills in for a redirect's unset parts: a request that leaves them
# out must compare equal to the rule AWS returns.
REDIRECT_DEFAULTS = {
    "Protocol": "#{protocol}",
    "Port": "#{port}",
    "Host": "#{host}",
    "Path": "/#{path}",
    "Query": "#{query}",
}


# --------------------------------------------------------------------------- canonical forms


def canonical_condition(condition: dict[str, Any]) -> dict[str, Any]:
    """One condition, as {Field, Config} with its values sorted."""
    field = condition["Field"]
    config_key = CONDITION_CONFIG_KEYS.get(field)
    config = dict(condition.get(config_key) or {}) if config_key else {}
    if not config and condition.get("Values"):
        # Legacy shape: host-header / path-pattern with a bare Values list.
        config = {"Values": list(condition["Values"])}
    if "Values" in config:
        values = config["Values"]
        if values and isinstance(values[0], dict):  # query-string key/value pairs
            config["Values"] = sorted(values, key=lambda item: json.dumps(item, sort_keys=True))
        else:
            config["Values"] = sorted(values)
    return {"Field": field, "Config": config}


def canonical_conditions(conditions: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return sorted(
        (canonical_condition(c) for c in conditions or []),
        key=lambda item: json.dumps(item, sort_keys=True),
    )


def canonical_action(action: dict[str, Any]) -> dict[str, Any]:
    """One action without the API's redundant spellings and defaults."""
    kind = action["Type"]
    out: dict[str, Any] = {"Type": kind}
    if kind == "forward":
        groups = []
        forward = action.get("ForwardConfig") or {}
        for group in forward.get("TargetGroups") or []:
            groups.append({"TargetGroupArn": group["TargetGroupArn"], "Weight": int(group.get("Weight", 1))})
        if not groups and action.get("TargetGroupArn"):
            groups.append({"TargetGroupArn": action["TargetGroupArn"], "Weight": 1})
        out["TargetGroups"] = sorted(groups, key=lambda item: item["TargetGroupArn"])
        stickiness = forward.get("TargetGroupStickinessConfig") or {}
        out["Stickiness"] = {
            "Enabled": bool(stickiness.get("Enabled", False)),
            "DurationSeconds": stickiness.get("DurationSeconds") if stickiness.get("Enabled") else None,
        }
    elif kind == "redirect":
        config = dict(REDIRECT_DEFAULTS)
        config.update({k: str(v) for k, v in (action.get("RedirectConfig") or {}).items()})
        out["RedirectConfig"] = config
    elif kind == "fixed-response":
        # An empty body may be sent and left out of the answer (or the other way round): the same rule.
        config = {k: str(v) for k, v in (action.get("FixedResponseConfig") or {}).items() if v not in (None, "")}
        out["FixedResponseConfig"] = config
    else:
        # authenticate-* actions: compared as given, minus the order key.
        out.update({k: v for k, v in action.items() if k not in ("Type", "Order")})
    return out


def canonical_actions(actions: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    # Order decides evaluation; when absent the list order is the order.
    ordered = sorted(enumerate(actions or []), key=lambda pair: (pair[1].get("Order", pair[0] + 1), pair[0]))
    return [canonical_action(action) for _, action in ordered]


def canonical_transforms(transforms: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [json.loads(json.dumps(t, sort_keys=True)) for t in transforms or []]


def canonical_rule(rule: dict[str, Any], compare_transforms: bool) -> dict[str, Any]:
    """What two rules are compared on (Transforms only when the API shows them)."""
    out = {
        "Conditions": canonical_conditions(rule.get("Conditions")),
        "Actions": canonical_actions(rule.get("Actions")),
    }
    if compare_transforms:
        out["Transforms"] = canonical_transforms(rule.get("Transforms"))
    return out


# --------------------------------------------------------------------------- rule planning


def plan_rules(
    current: list[dict[str, Any]],
    wanted: list[dict[str, Any]],
    purge: bool,
) -> dict[str, list]:
    """The calls that turn the listener's rules `current` into `wanted`.

    `current` are describe_rules entries (the default rule excluded), `wanted`
    are dicts with Priority (int), Conditions, Actions and optional Transforms.
    Matching: a wanted rule first pairs with the current rule at its priority
    (modified in place when different); an unpaired wanted rule then takes an
    unpaired current rule with the same content (only its priority moves);
    everything left is created, and unpaired current rules are deleted (purge).

    Transforms are compared only for rules whose description carries the
    `Transforms` key: the moto server accepts them but never returns them, and
    a comparison against a missing key would report a change on every run.
    """
    by_priority = {int(rule["Priority"]): rule for rule in current}
    plan: dict[str, list] = {"delete": [], "set_priorities": [], "modify": [], "create": []}
    unpaired_wanted = []
    paired_current = set()
    for rule in wanted:
        existing = by_priority.get(rule["Priority"])
        if existing is None:
            unpaired_wanted.append(rule)
            continue
        paired_current.add(existing["RuleArn"])
        if _differs(existing, rule):
            plan["modify"].append({"RuleArn": existing["RuleArn"], "Priority": rule["Priority"], "Rule": rule})

    leftovers = [r for r in current if r["RuleArn"] not in paired_current]
    for rule in unpaired_wanted:
        twin = next((r for r in leftovers if not _differs(r, rule)), None)
        if twin is not None:
            leftovers.remove(twin)
            plan["set_priorities"].append({"RuleArn": twin["RuleArn"], "Priority": rule["Priority"]})
        else:
            plan["create"].append(rule)
    if purge:
        plan["delete"] = [{"RuleArn": r["RuleArn"], "Priority": int(r["Priority"])} for r in leftovers]
    return plan


def _differs(existing: dict[str, Any], wanted: dict[str, Any]) -> bool:
    compare_transforms = "Transforms" in existing
    return canonical_rule(existing, compare_transforms) != canonical_rule(wanted, compare_transforms)


# --------------------------------------------------------------------------- boto3 calls


@aws_retry
def describe_rules(client, listener_arn: str) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"ListenerArn": listener_arn}
    while True:
        page = client.describe_rules(**kwargs)
        rules.extend(page.get("Rules", []))
        if not page.get("NextMarker"):
            return rules
        kwargs["Marker"] = page["NextMarker"]


@aws_retry
def describe_listener_certificates(client, listener_arn: str) -> list[dict[str, Any]]:
    certs: list[dict[str, Any]] = []
    kwargs: dict[str, Any] = {"ListenerArn": listener_arn}
    while True:
        page = client.describe_listener_certificates(**kwargs)
        certs.extend(page.get("Certificates", []))
        if not page.get("NextMarker"):
            return certs
        kwargs["Marker"] = page["NextMarker"]


def find_target_group(client, name: str) -> dict[str, Any] | None:
    """The target group called `name`, or None."""
    try:
        return _describe_target_groups_by_name(client, name)
    except client.exceptions.TargetGroupNotFoundException:
        return None


@aws_retry
def _describe_target_groups_by_name(client, name: str) -> dict[str, Any] | None:
    groups = client.describe_target_groups(Names=[name]).get("TargetGroups", [])
    return groups[0] if groups else None


@aws_retry
def call(client, operation: str, **params: Any) -> dict[str, Any]:
    """One API call by name, with the project's retry policy."""
    return getattr(client, operation)(**params)
