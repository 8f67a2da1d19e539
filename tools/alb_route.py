"""What an Application Load Balancer listener does with one request, from its rules.

    from alb_route import route
    rules = elbv2.describe_rules(ListenerArn=https_listener_arn)["Rules"]   # default rule included
    answer = route(rules, host="api.mediamind.csee.tech", path="/api/v1/jobs/email", source_ip="198.51.100.7")
    # {"type": "fixed-response", "status_code": 403, "content_type": "text/plain", "body": "Forbidden",
    #  "priority": 6, "rule_arn": "..."}

`route(rules, *, host, path, source_ip, method="GET", headers=None, query="", default_actions=None,
target_group_names=None, protocol="HTTPS", port=443) -> dict` returns one of

- ``{"type": "forward", "target_group_arn": arn, "target_group": name-or-arn, "target_groups": [{arn, weight}],
  "host": host, "path": path, "priority": p, "rule_arn": arn}``: `path`/`host` are what the target receives
  after the rule's transforms (url-rewrite, host-header-rewrite) when the rules carry them;
- ``{"type": "fixed-response", "status_code": int, "content_type": str|None, "body": str, ...}``;
- ``{"type": "redirect", "status_code": "HTTP_301", "location": url, ...}``;

with `priority` "default" when no rule matched. `rules` are describe_rules entries (shape of the ELBv2
API, boto3); the entry with ``IsDefault`` is the default rule, or pass the listener's `default_actions`.
`target_group_names` ({arn: name}) fills in `target_group`.

The semantics are AWS's documented ones (rule-condition-types, listener-rules, the API reference):

- rules are evaluated by ascending priority, the default rule last; the first rule whose conditions
  all hold (AND) decides; within one condition the values are alternatives (OR);
- host-header: case-insensitive, ``*`` (0 or more characters) and ``?`` (exactly one), whole host;
- path-pattern: case-sensitive, ``*`` and ``?``, against the whole path (never the query string); the
  ALB does not decode percent-escapes before matching (no AWS document says it does: see
  docs/job-endpoints.md), so ``path`` is the raw request path, as sent. A value may only hold
  ``A-Z a-z 0-9 _ - . $ / ~ " ' @ : + & * ?`` (no ``%``): the API refuses any other, while the moto
  server stores it, so a rule with one raises ValueError here instead of being evaluated;
- source-ip: the connection's source address in any of the CIDRs (never X-Forwarded-For);
- http-request-method: exact and case-sensitive; http-header: name case-insensitive, value
  case-insensitive with wildcards; query-string: key/value pairs, case-insensitive with wildcards, a
  pair without key matches any key's value; several http-header / query-string conditions are ANDed;
- actions run in ``Order``; authenticate-* actions are assumed to pass; the last action answers.

Not modelled (a ValueError says so rather than a wrong answer): RegexValues conditions (the moto server
cannot store them: create_rule answers 500, so no rule of ours uses them). Transforms are
applied when a rule carries them; the moto server never returns them (ARCHITECTURE.md), so a test on
moto adds the ones the role sent before calling route().
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import parse_qsl

__all__ = ["PATH_PATTERN_CHARACTERS", "route", "wildcard_match"]

# RuleCondition.Values in the ELBv2 API reference (and the console's "Value matching" for a path).
PATH_PATTERN_CHARACTERS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.$/~\"'@:+&*?")


def wildcard_match(pattern: str, value: str, *, case_sensitive: bool) -> bool:
    """An ALB match evaluation: ``*`` is 0 or more characters, ``?`` exactly one, the rest literal."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    flags = re.DOTALL | (0 if case_sensitive else re.IGNORECASE)
    return re.fullmatch(regex, value, flags) is not None


def _values(condition: dict[str, Any], config_key: str) -> list[Any]:
    config = condition.get(config_key) or {}
    if config.get("RegexValues") or condition.get("RegexValues"):
        raise ValueError(f"{condition['Field']} RegexValues conditions are not modelled by alb_route")
    # Legacy spelling: host-header / path-pattern with a bare Values list.
    return list(config.get("Values") or condition.get("Values") or [])


def _host(condition: dict[str, Any], request: dict[str, Any]) -> bool:
    values = _values(condition, "HostHeaderConfig")
    return any(wildcard_match(v, request["host"], case_sensitive=False) for v in values)


def _path(condition: dict[str, Any], request: dict[str, Any]) -> bool:
    values = _values(condition, "PathPatternConfig")
    return any(wildcard_match(v, request["path"], case_sensitive=True) for v in values)


def _source_ip(condition: dict[str, Any], request: dict[str, Any]) -> bool:
    address = ipaddress.ip_address(request["source_ip"])
    cidrs = _values(condition, "SourceIpConfig")
    return any(address in ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


def _method(condition: dict[str, Any], request: dict[str, Any]) -> bool:
    return request["method"] in _values(condition, "HttpRequestMethodConfig")


def _header(condition: dict[str, Any], request: dict[str, Any]) -> bool:
    config = condition["HttpHeaderConfig"]
    name = config["HttpHeaderName"].lower()
    present = [v for k, v in request["headers"].items() if k.lower() == name]
    return any(wildcard_match(p, v, case_sensitive=False) for p in config["Values"] for v in present)


def _query(condition: dict[str, Any], request: dict[str, Any]) -> bool:
    for wanted in _values(condition, "QueryStringConfig"):
        for key, value in request["query"]:
            key_ok = "Key" not in wanted or wildcard_match(wanted["Key"], key, case_sensitive=False)
            if key_ok and wildcard_match(wanted["Value"], value, case_sensitive=False):
                return True
    return False


_CONDITIONS = {
    "host-header": _host,
    "path-pattern": _path,
    "source-ip": _source_ip,
    "http-request-method": _method,
    "http-header": _header,
    "query-string": _query,
}


def _condition_holds(condition: dict[str, Any], request: dict[str, Any]) -> bool:
    check = _CONDITIONS.get(condition["Field"])
    if check is None:
        raise ValueError(f"unknown condition field {condition['Field']!r}")
    return check(condition, request)


def _check_path_patterns(rules: list[dict[str, Any]]) -> None:
    """Refuse what AWS refuses, on any rule of the listener, matched or not."""
    for rule in rules:
        for condition in rule.get("Conditions") or []:
            if condition["Field"] != "path-pattern":
                continue
            for value in _values(condition, "PathPatternConfig"):
                refused = sorted(set(value) - PATH_PATTERN_CHARACTERS)
                if refused:
                    raise ValueError(
                        f"priority {rule.get('Priority')}: path pattern {value!r} holds {refused}, "
                        "which AWS refuses (CreateRule/ModifyRule)"
                    )


def _apply_transforms(transforms: list[dict[str, Any]], host: str, path: str) -> tuple[str, str]:
    for transform in transforms:
        if transform["Type"] == "url-rewrite":
            for rewrite in transform["UrlRewriteConfig"]["Rewrites"]:
                path = re.sub(rewrite["Regex"], _python_replacement(rewrite["Replace"]), path, count=1)
        elif transform["Type"] == "host-header-rewrite":
            for rewrite in transform["HostHeaderRewriteConfig"]["Rewrites"]:
                host = re.sub(rewrite["Regex"], _python_replacement(rewrite["Replace"]), host, count=1)
    return host, path


def _python_replacement(replace: str) -> str:
    # The ALB writes capture groups as $1; re.sub wants \g<1> (and a literal backslash doubled).
    return re.sub(r"\$(\d+)", r"\\g<\1>", replace.replace("\\", "\\\\"))


def _answer(actions: list[dict[str, Any]], request: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    ordered = sorted(enumerate(actions), key=lambda pair: (pair[1].get("Order", pair[0] + 1), pair[0]))
    final = ordered[-1][1]
    kind = final["Type"]
    if kind == "forward":
        forward = final.get("ForwardConfig") or {}
        groups = [
            {"arn": g["TargetGroupArn"], "weight": int(g.get("Weight", 1))} for g in forward.get("TargetGroups") or []
        ]
        if not groups:
            groups = [{"arn": final["TargetGroupArn"], "weight": 1}]
        # With weights, the one a request goes to is random; report the heaviest (the only one here).
        main = max(groups, key=lambda g: g["weight"])["arn"]
        return {
            "type": "forward",
            "target_group_arn": main,
            "target_group": names.get(main, main),
            "target_groups": groups,
            "host": request["target_host"],
            "path": request["target_path"],
        }
    if kind == "fixed-response":
        config = final["FixedResponseConfig"]
        return {
            "type": "fixed-response",
            "status_code": int(config["StatusCode"]),
            "content_type": config.get("ContentType"),
            "body": config.get("MessageBody", ""),
        }
    if kind == "redirect":
        config = final["RedirectConfig"]
        parts = {
            "#{protocol}": request["protocol"].lower(),
            "#{host}": request["host"],
            "#{port}": str(request["port"]),
            "#{path}": request["path"].lstrip("/"),
            "#{query}": request["raw_query"],
        }

        def fill(value: str) -> str:
            for key, replacement in parts.items():
                value = value.replace(key, replacement)
            return value

        protocol = fill(config.get("Protocol", "#{protocol}")).lower()
        query = fill(config.get("Query", "#{query}"))
        location = (
            f"{protocol}://{fill(config.get('Host', '#{host}'))}:{fill(config.get('Port', '#{port}'))}"
            f"{fill(config.get('Path', '/#{path}'))}" + (f"?{query}" if query else "")
        )
        return {"type": "redirect", "status_code": config["StatusCode"], "location": location}
    raise ValueError(f"action type {kind!r} cannot answer a request")


def route(
    rules: list[dict[str, Any]],
    *,
    host: str,
    path: str,
    source_ip: str,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    query: str = "",
    default_actions: list[dict[str, Any]] | None = None,
    target_group_names: dict[str, str] | None = None,
    protocol: str = "HTTPS",
    port: int = 443,
) -> dict[str, Any]:
    """The listener's answer to one request (see the module docstring for the shapes)."""
    request = {
        "host": host,
        "path": path,
        "source_ip": source_ip,
        "method": method,
        "headers": headers or {},
        "query": parse_qsl(query, keep_blank_values=True),
        "raw_query": query,
        "protocol": protocol,
        "port": port,
    }
    default = next((r for r in rules if r.get("IsDefault")), None)
    ordered = sorted((r for r in rules if not r.get("IsDefault")), key=lambda r: int(r["Priority"]))
    names = target_group_names or {}
    _check_path_patterns(ordered)
    for rule in ordered:
        if all(_condition_holds(c, request) for c in rule.get("Conditions") or []):
            request["target_host"], request["target_path"] = _apply_transforms(rule.get("Transforms") or [], host, path)
            return {
                **_answer(rule["Actions"], request, names),
                "priority": int(rule["Priority"]),
                "rule_arn": rule.get("RuleArn"),
            }
    actions = default["Actions"] if default is not None else default_actions
    if not actions:
        raise ValueError("no rule matched and the listener's default action is unknown (pass default_actions)")
    request["target_host"], request["target_path"] = host, path
    return {**_answer(actions, request, names), "priority": "default", "rule_arn": (default or {}).get("RuleArn")}
