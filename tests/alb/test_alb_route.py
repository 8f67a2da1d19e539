"""tools/alb_route.py against AWS's documented listener-rule semantics (rule-condition-types,
listener-rules): priority order, conditions ANDed, values ORed, host case-insensitive, path
case-sensitive, wildcards, source-ip CIDRs, the default rule last, transforms and redirects."""

from __future__ import annotations

import pytest
from alb_route import PATH_PATTERN_CHARACTERS, route, wildcard_match
from ansible_collections.mediamind.platform.plugins.filter import alb_rules as filters

TG_API = "arn:aws:elasticloadbalancing:eu-central-1:123456789012:targetgroup/api/1"
TG_DEV = "arn:aws:elasticloadbalancing:eu-central-1:123456789012:targetgroup/dev/2"
NAMES = {TG_API: "api", TG_DEV: "dev"}
INTERNET = "198.51.100.7"


def host(*values: str) -> dict:
    return {"Field": "host-header", "HostHeaderConfig": {"Values": list(values)}}


def paths(*values: str) -> dict:
    return {"Field": "path-pattern", "PathPatternConfig": {"Values": list(values)}}


def sources(*values: str) -> dict:
    return {"Field": "source-ip", "SourceIpConfig": {"Values": list(values)}}


def forward(tg: str) -> list[dict]:
    # describe_rules' spelling: TargetGroupArn and ForwardConfig both.
    return [
        {
            "Type": "forward",
            "TargetGroupArn": tg,
            "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": tg, "Weight": 1}]},
        }
    ]


def fixed(status: str, body: str = "") -> list[dict]:
    return [
        {
            "Type": "fixed-response",
            "FixedResponseConfig": {"StatusCode": status, "ContentType": "text/plain", "MessageBody": body},
        }
    ]


def rule(priority: int, conditions: list[dict], actions: list[dict], **extra) -> dict:
    return {
        "RuleArn": f"rule/{priority}",
        "Priority": str(priority),
        "Conditions": conditions,
        "Actions": actions,
        **extra,
    }


DEFAULT = {
    "RuleArn": "rule/default",
    "Priority": "default",
    "Conditions": [],
    "Actions": fixed("404", "Not found"),
    "IsDefault": True,
}


def answer(rules: list[dict], h: str = "api.x", p: str = "/", ip: str = INTERNET, **kw) -> dict:
    return route([*rules, DEFAULT], host=h, path=p, source_ip=ip, target_group_names=NAMES, **kw)


@pytest.mark.parametrize(
    ("pattern", "value", "case_sensitive", "expected"),
    [
        ("/img/*", "/img/a/b.png", True, True),
        ("/img/*", "/img", True, False),
        ("/img/*/pics", "/img/x/pics", True, True),
        ("/a?c", "/abc", True, True),
        ("/a?c", "/ac", True, False),
        ("/a?c", "/abbc", True, False),
        ("/API/*", "/api/x", True, False),
        ("*.example.com", "API.Example.COM", False, True),
        ("*.example.com", "example.com", False, False),
        # Regex metacharacters in a pattern are literal.
        ("/a.c", "/abc", True, False),
        ("/a+(b)", "/a+(b)", True, True),
        # The escape guards' shape: "?" stands for the "%" a pattern cannot hold.
        ("/api/v1/?6?*", "/api/v1/%6Aobs/email", True, True),
        ("/api/v1/?6?*", "/api/v1/%6aobs", True, True),
        ("/api/v1/?6?*", "/api/v1/jobs", True, False),
    ],
)
def test_wildcards(pattern: str, value: str, case_sensitive: bool, expected: bool) -> None:
    assert wildcard_match(pattern, value, case_sensitive=case_sensitive) is expected


def test_lowest_priority_number_wins_whatever_the_list_order() -> None:
    rules = [rule(20, [host("api.x")], fixed("418")), rule(10, [host("api.x")], forward(TG_API))]
    result = answer(rules)
    assert (result["type"], result["target_group"], result["priority"]) == ("forward", "api", 10)


def test_conditions_are_anded() -> None:
    rules = [rule(1, [host("api.x"), paths("/jobs/*")], fixed("403")), rule(2, [host("api.x")], forward(TG_API))]
    assert answer(rules, p="/jobs/email")["status_code"] == 403
    assert answer(rules, p="/other")["type"] == "forward"
    assert answer(rules, h="dev.x", p="/jobs/email")["priority"] == "default"


def test_values_within_one_condition_are_ored() -> None:
    rules = [rule(1, [host("a.x", "b.x"), paths("/one", "/two/*")], fixed("403"))]
    assert answer(rules, h="b.x", p="/one")["status_code"] == 403
    assert answer(rules, h="a.x", p="/two/x")["status_code"] == 403
    assert answer(rules, h="c.x", p="/one")["priority"] == "default"


def test_host_is_case_insensitive_and_path_case_sensitive() -> None:
    rules = [rule(1, [host("api.x"), paths("/api/v1/jobs*")], fixed("403"))]
    assert answer(rules, h="API.X", p="/api/v1/jobs/email")["status_code"] == 403
    assert answer(rules, h="api.x", p="/API/v1/jobs/email")["priority"] == "default"


def test_path_never_includes_the_query_string() -> None:
    rules = [rule(1, [paths("/a")], fixed("403"))]
    assert answer(rules, p="/a", query="x=1")["status_code"] == 403


def test_source_ip_is_matched_against_cidrs() -> None:
    rules = [
        rule(1, [host("api.x"), paths("/jobs*"), sources("203.0.113.10/32", "192.0.2.0/24")], forward(TG_API)),
        rule(2, [host("api.x"), paths("/jobs*")], fixed("403")),
    ]
    assert answer(rules, p="/jobs/rss", ip="203.0.113.10")["type"] == "forward"
    assert answer(rules, p="/jobs/rss", ip="192.0.2.200")["type"] == "forward"
    assert answer(rules, p="/jobs/rss", ip="203.0.113.11")["status_code"] == 403
    assert answer(rules, p="/jobs/rss", ip="2001:db8::1")["status_code"] == 403


def test_default_rule_is_last_and_may_be_passed_separately() -> None:
    result = route(
        [rule(1, [host("a.x")], fixed("403"))], host="b.x", path="/", source_ip=INTERNET, default_actions=fixed("404")
    )
    assert (result["status_code"], result["priority"]) == (404, "default")
    with pytest.raises(ValueError, match="default action"):
        route([], host="b.x", path="/", source_ip=INTERNET)


def test_legacy_values_spelling() -> None:
    rules = [
        rule(
            1,
            [{"Field": "host-header", "Values": ["api.x"]}, {"Field": "path-pattern", "Values": ["/a"]}],
            fixed("403"),
        )
    ]
    assert answer(rules, p="/a")["status_code"] == 403


def test_url_rewrite_is_applied_to_what_the_target_receives() -> None:
    rewrite = [
        {"Type": "url-rewrite", "UrlRewriteConfig": {"Rewrites": [{"Regex": "^/dev/api/(.*)$", "Replace": "/api/$1"}]}}
    ]
    rules = [rule(50, [host("www.x"), paths("/dev/api/*")], forward(TG_DEV), Transforms=rewrite)]
    result = answer(rules, h="www.x", p="/dev/api/v1/articles")
    assert (result["target_group"], result["path"]) == ("dev", "/api/v1/articles")


def test_host_header_rewrite() -> None:
    rewrite = [
        {
            "Type": "host-header-rewrite",
            "HostHeaderRewriteConfig": {"Rewrites": [{"Regex": "^www\\.(.*)$", "Replace": "$1"}]},
        }
    ]
    result = answer([rule(1, [host("www.x")], forward(TG_API), Transforms=rewrite)], h="www.x")
    assert result["host"] == "x"


def test_redirect_fills_in_the_request_parts() -> None:
    actions = [
        {
            "Type": "redirect",
            "RedirectConfig": {
                "Protocol": "HTTPS",
                "Port": "443",
                "Host": "#{host}",
                "Path": "/#{path}",
                "Query": "#{query}",
                "StatusCode": "HTTP_301",
            },
        }
    ]
    result = route(
        [],
        host="api.x",
        path="/a/b",
        source_ip=INTERNET,
        query="q=1",
        default_actions=actions,
        protocol="HTTP",
        port=80,
    )
    assert result == {
        "type": "redirect",
        "status_code": "HTTP_301",
        "location": "https://api.x:443/a/b?q=1",
        "priority": "default",
        "rule_arn": None,
    }


def test_method_header_and_query_conditions() -> None:
    rules = [
        rule(1, [{"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["POST"]}}], fixed("405")),
        rule(
            2,
            [{"Field": "http-header", "HttpHeaderConfig": {"HttpHeaderName": "X-Env", "Values": ["dev*"]}}],
            fixed("401"),
        ),
        rule(
            3,
            [{"Field": "query-string", "QueryStringConfig": {"Values": [{"Key": "debug", "Value": "TRUE"}]}}],
            fixed("402"),
        ),
        rule(4, [{"Field": "query-string", "QueryStringConfig": {"Values": [{"Value": "x"}]}}], fixed("409")),
    ]
    assert answer(rules, method="POST")["status_code"] == 405
    assert answer(rules, method="post")["priority"] == "default"  # methods are case-sensitive
    assert answer(rules, headers={"x-env": "Development"})["status_code"] == 401
    assert answer(rules, query="debug=true")["status_code"] == 402
    assert answer(rules, query="any=x")["status_code"] == 409


def test_last_action_answers_after_authentication() -> None:
    actions = [
        {"Type": "forward", "TargetGroupArn": TG_API, "Order": 2},
        {"Type": "authenticate-oidc", "Order": 1, "AuthenticateOidcConfig": {}},
    ]
    assert answer([rule(1, [host("api.x")], actions)])["target_group"] == "api"


def test_weighted_forward_reports_every_group() -> None:
    actions = [
        {
            "Type": "forward",
            "ForwardConfig": {
                "TargetGroups": [{"TargetGroupArn": TG_API, "Weight": 90}, {"TargetGroupArn": TG_DEV, "Weight": 10}]
            },
        }
    ]
    result = answer([rule(1, [host("api.x")], actions)])
    assert result["target_group"] == "api"
    assert result["target_groups"] == [{"arn": TG_API, "weight": 90}, {"arn": TG_DEV, "weight": 10}]


def test_regex_conditions_are_refused_not_guessed() -> None:
    rules = [rule(1, [{"Field": "path-pattern", "PathPatternConfig": {"RegexValues": ["^/a"]}}], fixed("403"))]
    with pytest.raises(ValueError, match="RegexValues"):
        answer(rules)


@pytest.mark.parametrize("pattern", ["*%*", "/api/v1/%6Aobs*", "/a b", "/a#b", "/a\\b", "/a|b"])
def test_a_path_pattern_aws_refuses_is_not_evaluated(pattern: str) -> None:
    """The moto server stores "*%*"; AWS refuses it (CreateRule): the model must not answer as if it ran.

    Checked on every rule of the listener, also one after the rule that decides.
    """
    rules = [rule(1, [host("api.x")], forward(TG_API)), rule(2, [host("api.x"), paths(pattern)], fixed("400"))]
    with pytest.raises(ValueError, match="AWS refuses"):
        answer(rules)


def test_the_model_and_the_preflight_allow_the_same_characters() -> None:
    assert PATH_PATTERN_CHARACTERS == filters.PATH_PATTERN_CHARACTERS
    assert len(PATH_PATTERN_CHARACTERS) == 26 * 2 + 10 + 14
