"""The canonical forms the mail modules compare on (mediamind.platform module_utils/mail.py).

A wrong canonical form shows up as a module that is not idempotent (AWS's
spelling of the same setting looks like a change) or, worse, as a real change
that is never applied. These tests pin both directions.
"""

from __future__ import annotations

import json
from pathlib import Path

from ansible_collections.mediamind.platform.plugins.module_utils import mail as mm_mail
from hypothesis import given
from hypothesis import strategies as st

ROOT = Path(__file__).resolve().parents[2]

BUCKET_ARN = "arn:aws:s3:::eutop-mediamind"
RULE_ARN = (
    "arn:aws:ses:eu-central-1:123456789012:receipt-rule-set/mediamind-receipt-rule-set"
    ":receipt-rule/mediamind-receipt-rule"
)


def _policy(resources: list[str], actions: list[str]) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": actions,
                "Resource": resources,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }


# --------------------------------------------------------------------------- policy


def test_policy_json_text_and_dict_are_equal() -> None:
    policy = _policy([BUCKET_ARN, f"{BUCKET_ARN}/*"], ["s3:*"])
    assert mm_mail.canonical_policy(json.dumps(policy)) == mm_mail.canonical_policy(policy)


def test_policy_one_element_list_equals_its_element() -> None:
    # AWS may return ["s3:*"] as "s3:*".
    assert mm_mail.canonical_policy(_policy([BUCKET_ARN], ["s3:*"])) == mm_mail.canonical_policy(
        _policy(BUCKET_ARN, "s3:*")  # type: ignore[arg-type]
    )


@given(st.permutations([BUCKET_ARN, f"{BUCKET_ARN}/*", f"{BUCKET_ARN}/inbound/*"]))
def test_policy_list_order_does_not_matter(resources: list[str]) -> None:
    reference = _policy([BUCKET_ARN, f"{BUCKET_ARN}/*", f"{BUCKET_ARN}/inbound/*"], ["s3:*"])
    assert mm_mail.canonical_policy(_policy(list(resources), ["s3:*"])) == mm_mail.canonical_policy(reference)


def test_policy_prefix_change_is_a_difference() -> None:
    assert mm_mail.canonical_policy(_policy([f"{BUCKET_ARN}/inbound/*"], ["s3:PutObject"])) != (
        mm_mail.canonical_policy(_policy([f"{BUCKET_ARN}/mail/*"], ["s3:PutObject"]))
    )


# --------------------------------------------------------------------------- lifecycle


def test_lifecycle_empty_filter_equals_empty_prefix_as_s3_returns_it() -> None:
    sent = [
        {"ID": "abort", "Status": "Enabled", "Filter": {}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}
    ]
    returned = [
        {
            "ID": "abort",
            "Filter": {"Prefix": ""},
            "Status": "Enabled",
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
        }
    ]
    assert mm_mail.canonical_lifecycle(sent) == mm_mail.canonical_lifecycle(returned)


def test_lifecycle_legacy_top_level_prefix_equals_filter_prefix() -> None:
    legacy = [{"ID": "x", "Status": "Enabled", "Prefix": "inbound/", "Expiration": {"Days": 30}}]
    modern = [{"ID": "x", "Status": "Enabled", "Filter": {"Prefix": "inbound/"}, "Expiration": {"Days": 30}}]
    assert mm_mail.canonical_lifecycle(legacy) == mm_mail.canonical_lifecycle(modern)


def test_lifecycle_rule_order_does_not_matter_but_days_do() -> None:
    a = {"ID": "a", "Status": "Enabled", "Filter": {"Prefix": "inbound/"}, "Expiration": {"Days": 30}}
    b = {"ID": "b", "Status": "Enabled", "Filter": {}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}
    assert mm_mail.canonical_lifecycle([a, b]) == mm_mail.canonical_lifecycle([b, a])
    assert mm_mail.canonical_lifecycle([a, b]) != mm_mail.canonical_lifecycle([dict(a, Expiration={"Days": 31}), b])


# --------------------------------------------------------------------------- encryption


def test_encryption_sse_s3_ignores_bucket_key_flag_s3_returns() -> None:
    returned = {
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False}]
    }
    sent = {"Rules": [mm_mail.encryption_rule("AES256", None, True)]}
    assert mm_mail.canonical_encryption(returned) == mm_mail.canonical_encryption(sent) == {"algorithm": "AES256"}


def test_encryption_kms_compares_key_and_bucket_key() -> None:
    sent = {"Rules": [mm_mail.encryption_rule("aws:kms", "alias/mail", True)]}
    assert mm_mail.canonical_encryption(sent) == {
        "algorithm": "aws:kms",
        "kms_key_id": "alias/mail",
        "bucket_key_enabled": True,
    }
    assert mm_mail.canonical_encryption(None) is None


# --------------------------------------------------------------------------- receipt rules


def _rule(prefix: str = "inbound/", recipients: list[str] | None = None) -> dict:
    return mm_mail.build_receipt_rule(
        name="mediamind-receipt-rule",
        recipients=recipients or ["test@chat.csee.tech"],
        s3_action={"bucket_name": "eutop-mediamind", "object_key_prefix": prefix},
    )


def test_receipt_rule_defaults_require_tls_and_scan() -> None:
    rule = _rule()
    assert rule["TlsPolicy"] == "Require"
    assert rule["ScanEnabled"] is True
    assert rule["Enabled"] is True
    assert rule["Actions"] == [{"S3Action": {"BucketName": "eutop-mediamind", "ObjectKeyPrefix": "inbound/"}}]


def test_receipt_rule_string_booleans_and_recipient_order_are_not_changes() -> None:
    returned = dict(_rule(recipients=["b@chat.csee.tech", "a@chat.csee.tech"]), Enabled="true", ScanEnabled="true")
    assert mm_mail.canonical_receipt_rule(returned) == mm_mail.canonical_receipt_rule(
        _rule(recipients=["a@chat.csee.tech", "b@chat.csee.tech"])
    )


def test_receipt_rule_prefix_and_foreign_actions_are_changes() -> None:
    assert mm_mail.canonical_receipt_rule(_rule("inbound/")) != mm_mail.canonical_receipt_rule(_rule("mail/"))
    foreign = dict(_rule(), Actions=[*_rule()["Actions"], {"StopAction": {"Scope": "RuleSet"}}])
    assert mm_mail.canonical_receipt_rule(foreign) != mm_mail.canonical_receipt_rule(_rule())


def test_rule_position_names_the_previous_rule() -> None:
    rules = [{"Name": "first"}, {"Name": "second"}, {"Name": "third"}]
    assert mm_mail.rule_position(rules, "first") == ({"Name": "first"}, None)
    assert mm_mail.rule_position(rules, "third") == ({"Name": "third"}, "second")
    assert mm_mail.rule_position(rules, "missing") == (None, None)


def test_receipt_rule_arn_is_the_source_arn_ses_sends() -> None:
    arn = mm_mail.receipt_rule_arn(
        "eu-central-1", "123456789012", "mediamind-receipt-rule-set", "mediamind-receipt-rule"
    )
    assert arn == RULE_ARN


# --------------------------------------------------------------------------- DNS


def test_dns_records_mx_txt_and_three_dkim_cnames() -> None:
    records = mm_mail.ses_dns_records("chat.csee.tech", "eu-central-1", "tok=", ["a1", "b2", "c3"])
    by_type: dict[str, list[dict]] = {}
    for record in records:
        by_type.setdefault(record["type"], []).append(record)
    assert by_type["MX"] == [
        {
            "name": "chat.csee.tech",
            "type": "MX",
            "value": "10 inbound-smtp.eu-central-1.amazonaws.com",
            "purpose": "receiving",
        }
    ]
    assert by_type["TXT"][0]["name"] == "_amazonses.chat.csee.tech"
    assert by_type["TXT"][0]["value"] == "tok="
    assert [(r["name"], r["value"]) for r in by_type["CNAME"]] == [
        (f"{t}._domainkey.chat.csee.tech", f"{t}.dkim.amazonses.com") for t in ("a1", "b2", "c3")
    ]


def test_dns_records_before_tokens_exist_has_only_the_mx() -> None:
    # Check mode on an empty account: no token yet, nothing invented.
    assert [r["type"] for r in mm_mail.ses_dns_records("chat.csee.tech", "us-east-1", None, [])] == ["MX"]
