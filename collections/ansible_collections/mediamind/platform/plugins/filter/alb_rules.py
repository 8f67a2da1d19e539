"""Filters that turn the alb role's inventory data into ELBv2 API shapes.

Kept in Python (not Jinja loops) so tests/alb can check them directly.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

# ALB limits (Quotas for your Application Load Balancers; rule-condition-types): match evaluations
# (condition values) per rule and per condition, wildcards per rule, rules per load balancer, and the
# size of a fixed response's body.
MAX_VALUES_PER_RULE = 5
MAX_VALUES_PER_CONDITION = 3
MAX_WILDCARDS_PER_RULE = 5
MAX_RULES = 100
MAX_BODY_BYTES = 1024
CONTENT_TYPES = ("text/plain", "text/css", "text/html", "application/javascript", "application/json")
# The characters a path-pattern value may hold (API reference, RuleCondition.Values; the console's
# "Value matching"): no "%", so no value can name a percent-escape. 128 characters at most.
PATH_PATTERN_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.$/~\"'@:+&*?")
MAX_PATH_PATTERN_LENGTH = 128


def _cidr(value: str) -> str:
    """An address or CIDR as the API wants it (the source-ip condition takes CIDRs only)."""
    return str(ipaddress.ip_network(str(value).strip(), strict=False))


def alb_escaped_path_patterns(literal: str, decoded: str) -> list[str]:
    """Path patterns matching every raw path `literal` + X whose X decodes to start with `decoded`,
    except the ones where X starts with `decoded` as written (those the plain rules already match).

    Percent-decoding never changes a literal character, so such a path has `literal` + decoded[:i]
    as written, then the escape of decoded[i] (``%6A`` or ``%6a`` for ``j``), for some i. A pattern
    cannot hold ``%`` (PATH_PATTERN_CHARACTERS): ``?`` stands for it, and for a hex letter (either
    case), so ``/api/v1/%6Aobs`` is matched by ``/api/v1/?6?*``. It also matches the paths with some
    other character there (``/api/v1/x6Aobs``): a price paid on names no route has.
    """
    patterns = []
    for i, char in enumerate(decoded):
        code = f"{ord(char):02X}"
        if ord(char) > 0x7F:  # its escape is two or more (UTF-8 bytes): not this shape
            raise ValueError(f"{decoded!r}: only ASCII characters can be guarded ({char!r})")
        hex_digits = code[0] + (code[1] if code[1].isdigit() else "?")
        patterns.append(f"{literal}{decoded[:i]}?{hex_digits}*")
    return patterns


def _wildcards(value: str) -> int:
    return value.count("*") + value.count("?")


def alb_escape_guard_rules(guards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Escape guards -> alb_rules entries: the patterns of alb_escaped_path_patterns, packed into as few
    rules as the ALB's limits allow, at consecutive priorities from the guard's own.

    A guard: {priority, host, prefixes: [{literal, decoded}], fixed_response}. Every pattern has 2-3
    wildcards and a rule takes 5, so a rule holds two; the largest go first (first-fit decreasing),
    which needs one rule for every 3-wildcard pattern and fewer for the rest.
    """
    out: list[dict[str, Any]] = []
    for guard in guards:
        patterns = [
            pattern
            for prefix in guard["prefixes"]
            for pattern in alb_escaped_path_patterns(prefix.get("literal", ""), prefix["decoded"])
        ]
        budget = MAX_WILDCARDS_PER_RULE - _wildcards(guard["host"])
        bins: list[list[str]] = []
        for pattern in sorted(patterns, key=_wildcards, reverse=True):
            fits = (
                b
                for b in bins
                if len(b) < MAX_VALUES_PER_CONDITION
                and 1 + len(b) < MAX_VALUES_PER_RULE
                and sum(map(_wildcards, b)) + _wildcards(pattern) <= budget
            )
            target = next(fits, None)
            if target is None:
                bins.append([pattern])
            else:
                target.append(pattern)
        out.extend(
            {
                "priority": int(guard["priority"]) + n,
                "host": guard["host"],
                "path_patterns": values,
                "fixed_response": guard["fixed_response"],
            }
            for n, values in enumerate(bins)
        )
    return out


def alb_listener_rules(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """alb_rules entries -> elbv2_listener_rules `rules` (API-shaped conditions, actions and transforms).

    An entry: {priority, host, path_patterns?, source_ips?, target_group | fixed_response: {status_code,
    content_type?, body?}, path_rewrite?: {regex, replace}}.

    A rule whose `source_ips` is given but empty is left out: it could match no request (a forward
    exception for no address admits nobody), and the API refuses an empty source-ip condition. So when
    the NAT addresses are not known yet (a dry run), the deny rules after it still take every request.
    """
    out = []
    for rule in rules:
        conditions: list[dict[str, Any]] = [
            {"Field": "host-header", "HostHeaderConfig": {"Values": [rule["host"]]}},
        ]
        if rule.get("path_patterns"):
            conditions.append({"Field": "path-pattern", "PathPatternConfig": {"Values": list(rule["path_patterns"])}})
        if "source_ips" in rule and rule["source_ips"] is not None:
            if not rule["source_ips"]:
                continue
            cidrs = sorted({_cidr(value) for value in rule["source_ips"]})
            conditions.append({"Field": "source-ip", "SourceIpConfig": {"Values": cidrs}})
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
        entry: dict[str, Any] = {"priority": int(rule["priority"]), "conditions": conditions, "transforms": transforms}
        fixed = rule.get("fixed_response")
        if fixed:
            entry["actions"] = [
                {
                    "Type": "fixed-response",
                    "FixedResponseConfig": {
                        "StatusCode": str(fixed["status_code"]),
                        "ContentType": fixed.get("content_type") or "text/plain",
                        "MessageBody": fixed.get("body") or "",
                    },
                }
            ]
        else:
            entry["target_group_name"] = rule["target_group"]
        out.append(entry)
    return out


def _source_ip_problem(value: Any) -> str | None:
    try:
        network = ipaddress.ip_network(str(value).strip(), strict=True)
    except ValueError:
        return f"{value!r} is not an IPv4/IPv6 address or CIDR (with no host bits set)"
    if network.prefixlen == 0:
        return f"{value!r} admits every address: leave source_ips out instead"
    return None


def _path_pattern_problem(value: Any) -> str | None:
    value = str(value)
    refused = sorted(set(value) - PATH_PATTERN_CHARACTERS)
    if refused:
        return (
            f"{value!r} holds {', '.join(repr(c) for c in refused)}, which an ALB path pattern does not allow "
            "(A-Z a-z 0-9 _ - . $ / ~ \" ' @ : + & * ?); CreateRule would refuse it"
        )
    if len(value) > MAX_PATH_PATTERN_LENGTH:
        return f"{value!r} is longer than {MAX_PATH_PATTERN_LENGTH} characters"
    return None


def _fixed_response_problems(name: str, rule: dict[str, Any]) -> list[str]:
    fixed = rule["fixed_response"]
    problems = []
    if not re.fullmatch(r"[245][0-9][0-9]", str(fixed.get("status_code", ""))):
        problems.append(f"{name}.fixed_response.status_code must be a 2XX, 4XX or 5XX code")
    if (fixed.get("content_type") or "text/plain") not in CONTENT_TYPES:
        problems.append(f"{name}.fixed_response.content_type must be one of {', '.join(CONTENT_TYPES)}")
    if len(str(fixed.get("body") or "").encode()) > MAX_BODY_BYTES:
        problems.append(f"{name}.fixed_response.body is longer than {MAX_BODY_BYTES} bytes")
    if rule.get("path_rewrite"):
        problems.append(f"{name}.path_rewrite only applies to a rule with a target_group")
    return problems


def alb_rule_problems(rules: list[dict[str, Any]], target_groups: list[str]) -> list[str]:
    """Every cross-field problem of alb_rules, one message each naming the rule (empty: valid).

    The ALB's own limits are checked here so a bad rule stops at preflight, not halfway through a deploy.
    """
    problems = []
    if len(rules) > MAX_RULES:
        problems.append(f"alb_rules has {len(rules)} rules; a listener takes at most {MAX_RULES}")
    for rule in rules:
        name = f"alb_rules[priority {rule.get('priority')}]"
        has_target, fixed = bool(rule.get("target_group")), rule.get("fixed_response")
        if has_target == bool(fixed):
            problems.append(f"{name} needs exactly one of target_group and fixed_response")
        if has_target and rule["target_group"] not in target_groups:
            problems.append(f"{name}.target_group {rule['target_group']!r} is not in alb_target_groups")
        if fixed:
            problems.extend(_fixed_response_problems(name, rule))
        source_ips = rule.get("source_ips") or []
        problems.extend(f"{name}.source_ips: {p}" for p in map(_source_ip_problem, source_ips) if p)
        paths = list(rule.get("path_patterns") or [])
        problems.extend(f"{name}.path_patterns: {p}" for p in map(_path_pattern_problem, paths) if p)
        for condition, values in (("path_patterns", paths), ("source_ips", source_ips)):
            if len(values) > MAX_VALUES_PER_CONDITION:
                problems.append(
                    f"{name}.{condition} has {len(values)} values; a condition takes at most "
                    f"{MAX_VALUES_PER_CONDITION} (split the rule)"
                )
        if 1 + len(paths) + len(source_ips) > MAX_VALUES_PER_RULE:
            problems.append(
                f"{name} has {1 + len(paths) + len(source_ips)} condition values (host, path_patterns, "
                f"source_ips); a rule takes at most {MAX_VALUES_PER_RULE} (split the rule)"
            )
        wildcards = sum(str(v).count("*") + str(v).count("?") for v in [rule.get("host", ""), *paths])
        if wildcards > MAX_WILDCARDS_PER_RULE:
            problems.append(f"{name} has {wildcards} wildcards; a rule takes at most {MAX_WILDCARDS_PER_RULE}")
    return problems


def alb_egress_ports(target_groups: list[dict[str, Any]]) -> list[int]:
    """Every port the load balancer must reach its targets on (health checks use the traffic port)."""
    return sorted({int(group["port"]) for group in target_groups})


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "alb_escape_guard_rules": alb_escape_guard_rules,
            "alb_listener_rules": alb_listener_rules,
            "alb_rule_problems": alb_rule_problems,
            "alb_egress_ports": alb_egress_ports,
        }
