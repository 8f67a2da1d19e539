"""ecr_repository compares lifecycle policies after normalising them (pure function)."""

from __future__ import annotations

from ansible_collections.mediamind.platform.plugins.module_utils.ecr import normalize_lifecycle_policy


def _rule(priority, number, **selection):
    return {
        "rulePriority": priority,
        "selection": {"countNumber": number, **selection},
        "action": {"type": "expire"},
    }


def test_templated_strings_and_rule_order_do_not_count_as_a_change():
    from_yaml = {"rules": [_rule("2", "30", tagStatus="tagged", tagPatternList=["*"]), _rule(1, "7")]}
    from_api = {"rules": [_rule(1, 7), _rule(2, 30, tagStatus="tagged", tagPatternList=["*"])]}
    assert normalize_lifecycle_policy(from_yaml) == normalize_lifecycle_policy(from_api)


def test_a_different_count_is_a_change():
    assert normalize_lifecycle_policy({"rules": [_rule(1, 7)]}) != normalize_lifecycle_policy({"rules": [_rule(1, 8)]})


def test_no_policy_stays_none():
    assert normalize_lifecycle_policy(None) is None
