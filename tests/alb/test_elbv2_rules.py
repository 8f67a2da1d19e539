"""Pure parts of the alb role: rule planning and canonical forms (mm_elbv2), and
the filters that turn inventory data into API shapes (the mediamind.platform collection's alb_rules filters)."""

from __future__ import annotations

from urllib.parse import unquote

import pytest
from alb_route import wildcard_match
from ansible_collections.mediamind.platform.plugins.filter import alb_rules as filters
from ansible_collections.mediamind.platform.plugins.module_utils import elbv2 as mm
from hypothesis import given, settings
from hypothesis import strategies as st

TG_A = "arn:aws:elasticloadbalancing:eu-central-1:123456789012:targetgroup/a/1"
TG_B = "arn:aws:elasticloadbalancing:eu-central-1:123456789012:targetgroup/b/2"
REWRITE = [
    {"Type": "url-rewrite", "UrlRewriteConfig": {"Rewrites": [{"Regex": "^/dev/api/(.*)$", "Replace": "/api/$1"}]}}
]


def wanted(priority: int, host: str, tg: str = TG_A, paths=None, transforms=None) -> dict:
    conditions = [{"Field": "host-header", "HostHeaderConfig": {"Values": [host]}}]
    if paths:
        conditions.append({"Field": "path-pattern", "PathPatternConfig": {"Values": paths}})
    return {
        "Priority": priority,
        "Conditions": conditions,
        "Actions": [{"Type": "forward", "TargetGroupArn": tg}],
        "Transforms": transforms or [],
    }


def current(priority: int, host: str, tg: str = TG_A, arn: str | None = None, **extra) -> dict:
    """A rule as describe_rules returns it (legacy Values spelling, ForwardConfig, string priority)."""
    rule = {
        "RuleArn": arn or f"rule/{priority}",
        "Priority": str(priority),
        "Conditions": [{"Field": "host-header", "Values": [host]}],
        "Actions": [
            {
                "Type": "forward",
                "TargetGroupArn": tg,
                "ForwardConfig": {
                    "TargetGroups": [{"TargetGroupArn": tg, "Weight": 1}],
                    "TargetGroupStickinessConfig": {"Enabled": False},
                },
            }
        ],
        "IsDefault": False,
    }
    rule.update(extra)
    return rule


def test_api_spellings_of_one_rule_compare_equal() -> None:
    assert mm.canonical_rule(current(10, "api.x"), False) == mm.canonical_rule(wanted(10, "api.x"), False)


def test_converged_listener_needs_no_call() -> None:
    plan = mm.plan_rules(
        [current(10, "api.x"), current(20, "dev.x", TG_B)], [wanted(10, "api.x"), wanted(20, "dev.x", TG_B)], True
    )
    assert plan == {"delete": [], "set_priorities": [], "modify": [], "create": []}


def test_foreign_rule_is_deleted_only_with_purge() -> None:
    rules = [current(10, "api.x"), current(999, "foreign.x", arn="rule/foreign")]
    assert mm.plan_rules(rules, [wanted(10, "api.x")], True)["delete"] == [{"RuleArn": "rule/foreign", "Priority": 999}]
    assert mm.plan_rules(rules, [wanted(10, "api.x")], False)["delete"] == []


def test_changed_target_is_modified_in_place() -> None:
    plan = mm.plan_rules([current(10, "api.x", TG_B)], [wanted(10, "api.x", TG_A)], True)
    assert [m["RuleArn"] for m in plan["modify"]] == ["rule/10"]
    assert plan["create"] == plan["delete"] == []


def test_moved_rule_gets_its_priority_back() -> None:
    plan = mm.plan_rules([current(35, "qdrant.x", arn="rule/q")], [wanted(30, "qdrant.x")], True)
    assert plan["set_priorities"] == [{"RuleArn": "rule/q", "Priority": 30}]
    assert plan["create"] == plan["delete"] == plan["modify"] == []


def test_transforms_are_ignored_when_the_api_does_not_return_them() -> None:
    # moto: the rule was created with the rewrite but describe_rules has no Transforms key.
    plan = mm.plan_rules([current(50, "www.x")], [wanted(50, "www.x", transforms=REWRITE)], True)
    assert plan["modify"] == []


def test_transforms_are_compared_when_the_api_returns_them() -> None:
    plan = mm.plan_rules([current(50, "www.x", Transforms=[])], [wanted(50, "www.x", transforms=REWRITE)], True)
    assert [m["Priority"] for m in plan["modify"]] == [50]
    plan = mm.plan_rules([current(50, "www.x", Transforms=REWRITE)], [wanted(50, "www.x", transforms=REWRITE)], True)
    assert plan["modify"] == []


def test_redirect_defaults_compare_equal() -> None:
    sent = {"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}
    returned = {"Type": "redirect", "RedirectConfig": {**mm.REDIRECT_DEFAULTS, **sent["RedirectConfig"]}}
    assert mm.canonical_action(sent) == mm.canonical_action(returned)


@given(
    st.dictionaries(st.integers(1, 60), st.sampled_from(["a.x", "b.x", "c.x", "d.x"]), max_size=8),
    st.dictionaries(st.integers(1, 60), st.sampled_from(["a.x", "b.x", "c.x", "d.x"]), max_size=8),
)
def test_applying_the_plan_yields_the_wanted_rules(have: dict, want: dict) -> None:
    """Simulate the calls on a fake listener: the result is exactly `want`, priorities never collide."""
    rules = {p: current(p, host, arn=f"rule/{p}") for p, host in have.items()}
    plan = mm.plan_rules(list(rules.values()), [wanted(p, h) for p, h in want.items()], True)
    by_arn = {r["RuleArn"]: r for r in rules.values()}
    for item in plan["delete"]:
        del by_arn[item["RuleArn"]]
    taken = {int(r["Priority"]) for r in by_arn.values()}
    for item in plan["set_priorities"]:
        assert item["Priority"] not in taken
        taken.discard(int(by_arn[item["RuleArn"]]["Priority"]))
        by_arn[item["RuleArn"]]["Priority"] = str(item["Priority"])
        taken.add(item["Priority"])
    for item in plan["modify"]:
        by_arn[item["RuleArn"]]["Conditions"] = item["Rule"]["Conditions"]
    for index, rule in enumerate(plan["create"]):
        assert rule["Priority"] not in taken
        taken.add(rule["Priority"])
        by_arn[f"new/{index}"] = {**rule, "RuleArn": f"new/{index}"}
    result = {int(r["Priority"]): mm.canonical_conditions(r["Conditions"]) for r in by_arn.values()}
    assert result == {p: mm.canonical_conditions(wanted(p, h)["Conditions"]) for p, h in want.items()}


def test_inventory_rules_become_api_rules() -> None:
    rules = filters.alb_listener_rules(
        [
            {"priority": 10, "host": "api.x", "target_group": "api"},
            {
                "priority": 50,
                "host": "www.x",
                "path_patterns": ["/dev/api/*"],
                "target_group": "api-dev",
                "path_rewrite": {"regex": "^/dev/api/(.*)$", "replace": "/api/$1"},
            },
        ]
    )
    assert rules[0] == {
        "priority": 10,
        "conditions": [{"Field": "host-header", "HostHeaderConfig": {"Values": ["api.x"]}}],
        "target_group_name": "api",
        "transforms": [],
    }
    assert rules[1]["conditions"][1] == {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/dev/api/*"]}}
    assert rules[1]["transforms"] == REWRITE


@pytest.mark.parametrize(
    ("groups", "ports"),
    [([], []), ([{"port": 8000}, {"port": 8000}, {"port": 6333}], [6333, 8000])],
)
def test_egress_ports_are_the_target_ports(groups, ports) -> None:
    assert filters.alb_egress_ports(groups) == ports


# --------------------------------------------------------------------------- job-endpoint guard inputs


def test_fixed_response_and_source_ip_rules_become_api_rules() -> None:
    rules = filters.alb_listener_rules(
        [
            {"priority": 1, "host": "api.x", "path_patterns": ["/?6?*"], "fixed_response": {"status_code": 400}},
            {
                "priority": 5,
                "host": "api.x",
                "path_patterns": ["/api/v1/jobs*"],
                "source_ips": ["203.0.113.10", "2001:db8::1", "198.51.100.0/28", "203.0.113.10"],
                "target_group": "api",
            },
        ]
    )
    assert rules[0]["actions"] == [
        {
            "Type": "fixed-response",
            "FixedResponseConfig": {"StatusCode": "400", "ContentType": "text/plain", "MessageBody": ""},
        }
    ]
    assert "target_group_name" not in rules[0]
    assert rules[1]["conditions"][2] == {
        "Field": "source-ip",
        "SourceIpConfig": {"Values": ["198.51.100.0/28", "2001:db8::1/128", "203.0.113.10/32"]},
    }


def test_a_forward_exception_without_addresses_is_left_out_never_opened() -> None:
    """NAT addresses unknown (a dry run before the vpc role): no rule that forwards to everyone."""
    rules = filters.alb_listener_rules(
        [
            {"priority": 5, "host": "api.x", "path_patterns": ["/j*"], "source_ips": [], "target_group": "api"},
            {"priority": 6, "host": "api.x", "path_patterns": ["/j*"], "fixed_response": {"status_code": 403}},
        ]
    )
    assert [r["priority"] for r in rules] == [6]
    # Left out (None) is not the same as empty: no source condition at all.
    rules = filters.alb_listener_rules([{"priority": 10, "host": "api.x", "source_ips": None, "target_group": "api"}])
    assert rules[0]["conditions"] == [{"Field": "host-header", "HostHeaderConfig": {"Values": ["api.x"]}}]


def test_fixed_response_compares_equal_with_or_without_an_empty_body() -> None:
    sent = {
        "Type": "fixed-response",
        "FixedResponseConfig": {"StatusCode": "403", "ContentType": "text/plain", "MessageBody": ""},
    }
    returned = {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "403", "ContentType": "text/plain"}}
    assert mm.canonical_action(sent) == mm.canonical_action(returned)
    other = {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain"}}
    assert mm.canonical_action(sent) != mm.canonical_action(other)


def test_source_ip_values_compare_in_any_order() -> None:
    a = {"Field": "source-ip", "SourceIpConfig": {"Values": ["1.1.1.1/32", "2.2.2.2/32"]}}
    b = {"Field": "source-ip", "SourceIpConfig": {"Values": ["2.2.2.2/32", "1.1.1.1/32"]}}
    assert mm.canonical_condition(a) == mm.canonical_condition(b)


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"host": "a.x"}, "needs exactly one of target_group and fixed_response"),
        ({"host": "a.x", "target_group": "api", "fixed_response": {"status_code": 403}}, "exactly one of"),
        ({"host": "a.x", "target_group": "nope"}, "'nope' is not in alb_target_groups"),
        ({"host": "a.x", "fixed_response": {"status_code": 302}}, "status_code must be a 2XX, 4XX or 5XX"),
        ({"host": "a.x", "fixed_response": {"status_code": 403, "content_type": "text/xml"}}, "content_type must be"),
        ({"host": "a.x", "fixed_response": {"status_code": 403, "body": "x" * 1025}}, "longer than 1024 bytes"),
        (
            {"host": "a.x", "fixed_response": {"status_code": 403}, "path_rewrite": {"regex": "a", "replace": "b"}},
            "path_rewrite only applies",
        ),
        ({"host": "a.x", "target_group": "api", "source_ips": ["300.1.1.1"]}, "not an IPv4/IPv6 address"),
        ({"host": "a.x", "target_group": "api", "source_ips": ["10.0.0.1/24"]}, "no host bits set"),
        ({"host": "a.x", "target_group": "api", "source_ips": ["0.0.0.0/0"]}, "admits every address"),
        (
            {"host": "a.x", "target_group": "api", "source_ips": ["1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4"]},
            "a condition takes at most 3",
        ),
        (
            {
                "host": "a.x",
                "target_group": "api",
                "path_patterns": ["/a", "/b"],
                "source_ips": ["1.1.1.1", "2.2.2.2", "3.3.3.3"],
            },
            "6 condition values",
        ),
        ({"host": "*.x", "target_group": "api", "path_patterns": ["/*/*/*", "/?/?"]}, "6 wildcards"),
        # AWS allows A-Z a-z 0-9 _ - . $ / ~ " ' @ : + & * ? in a path pattern; moto takes anything.
        ({"host": "a.x", "fixed_response": {"status_code": 400}, "path_patterns": ["*%*"]}, "holds '%'"),
        ({"host": "a.x", "target_group": "api", "path_patterns": ["/a b|c"]}, "holds ' ', '|'"),
        ({"host": "a.x", "target_group": "api", "path_patterns": ["/" + "a" * 128]}, "longer than 128"),
    ],
)
def test_rule_problems_name_the_rule(rule: dict, message: str) -> None:
    problems = filters.alb_rule_problems([{"priority": 7, **rule}], ["api"])
    assert any(message in p and "alb_rules[priority 7]" in p for p in problems), problems


def test_valid_rules_have_no_problem_and_too_many_rules_do() -> None:
    good = [
        {
            "priority": 5,
            "host": "a.x",
            "path_patterns": ["/j*"],
            "source_ips": ["1.1.1.1", "2.2.2.2/32", "::1"],
            "target_group": "api",
        },
        {"priority": 6, "host": "a.x", "path_patterns": ["/j*"], "fixed_response": {"status_code": 403, "body": "no"}},
    ]
    assert filters.alb_rule_problems(good, ["api"]) == []
    many = [{"priority": p, "host": "a.x", "target_group": "api"} for p in range(1, 102)]
    assert filters.alb_rule_problems(many, ["api"]) == ["alb_rules has 101 rules; a listener takes at most 100"]


# --------------------------------------------------------------------------- escape guards

GUARDS = [
    {"priority": 11, "host": "api.x", "prefixes": [{"literal": "", "decoded": "/api/v1/jobs"}]},
    {
        "priority": 31,
        "host": "front.x",
        "prefixes": [{"literal": "/api/", "decoded": "v1/jobs"}, {"literal": "/dev/api/", "decoded": "v1/jobs"}],
    },
]
FIXED = {"status_code": 400, "body": "Bad request"}


@st.composite
def _escaped_spellings(draw, literal: str, decoded: str) -> str:
    """literal + decoded with at least one character percent-escaped (either hex case), then any tail."""
    chars = [f"%{ord(c):02X}" if draw(st.booleans()) else c for c in decoded]
    forced = draw(st.integers(0, len(decoded) - 1))
    chars[forced] = f"%{ord(decoded[forced]):02x}" if draw(st.booleans()) else f"%{ord(decoded[forced]):02X}"
    tail = draw(st.text(alphabet="abc/%2F-_", max_size=8))
    return literal + "".join(chars) + tail


def _matches_any(patterns: list[str], path: str) -> bool:
    return any(wildcard_match(p, path, case_sensitive=True) for p in patterns)


@settings(max_examples=400, deadline=None)
@given(data=st.data(), which=st.sampled_from([("", "/api/v1/jobs"), ("/api/", "v1/jobs"), ("/dev/api/", "v1/jobs")]))
def test_every_escaped_spelling_is_matched_by_a_guard_pattern(data, which) -> None:
    literal, decoded = which
    path = data.draw(_escaped_spellings(literal, decoded))
    assert unquote(path[len(literal) :]).startswith(decoded)
    assert _matches_any(filters.alb_escaped_path_patterns(literal, decoded), path), path


@pytest.mark.parametrize("i", range(12))
@pytest.mark.parametrize("case", [str.upper, str.lower])
def test_an_escape_at_each_position_is_matched(i: int, case) -> None:
    target = "/api/v1/jobs"
    path = target[:i] + case(f"%{ord(target[i]):02x}") + target[i + 1 :] + "/email"
    assert _matches_any(filters.alb_escaped_path_patterns("", target), path), path


@pytest.mark.parametrize(
    "path",
    ["/api/v1/jobs/email", "/api/v1/chatbot", "/api/v1/healthcheck", "/api/v1/articles/a%20b", "/api/v1/users/me"],
)
def test_the_guard_patterns_leave_plain_and_later_escaped_paths_alone(path: str) -> None:
    # A job path as written is the deny rules' (403), a % after the prefix cannot forge one.
    assert not _matches_any(filters.alb_escaped_path_patterns("", "/api/v1/jobs"), path)


def test_guard_rules_fit_the_alb_limits_and_hold_only_allowed_characters() -> None:
    guards = [{**g, "fixed_response": FIXED} for g in GUARDS]
    rules = filters.alb_escape_guard_rules(guards)
    assert filters.alb_rule_problems(rules, []) == []
    api = [r for r in rules if r["host"] == "api.x"]
    front = [r for r in rules if r["host"] == "front.x"]
    # 12 patterns (5 with 3 wildcards, 7 with 2) in 6 rules; 14 (6 and 8) in 7; consecutive priorities.
    assert [r["priority"] for r in api] == list(range(11, 17))
    assert [r["priority"] for r in front] == list(range(31, 38))
    assert sorted(p for r in api for p in r["path_patterns"]) == sorted(
        filters.alb_escaped_path_patterns("", "/api/v1/jobs")
    )
    assert all(r["fixed_response"] == FIXED for r in rules)


def test_only_ascii_can_be_guarded() -> None:
    with pytest.raises(ValueError, match="only ASCII"):
        filters.alb_escaped_path_patterns("", "/caf\u00e9")
