"""Pure helpers of the mail modules (s3_secure_bucket, ses_receipt_rule, ses_domain_identity).

Everything here is a function over plain dicts: no boto3, no Ansible, so the
canonical forms the modules compare on can be unit-tested on their own
(tests/mail_infra/test_mm_mail.py).  The modules make the API calls.

"Canonical" means: the shape both what we want and what AWS (or moto) returns
are reduced to before comparing, so that a re-run finds no change when the
only differences are ones AWS introduces itself (key order, a one-element list
returned as a string, an empty lifecycle Filter returned as Prefix "", a
boolean returned as the string "true").
"""

from __future__ import annotations

import json
from typing import Any

# --------------------------------------------------------------------------- policies


def canonical_policy(policy: Any) -> Any:
    """An IAM/bucket policy in a form two equivalent policies share.

    AWS stores a policy as sent but may return a one-element list as its only
    element and reorder lists (Action, Resource); both are equivalent.
    """
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except ValueError:
            return policy
    return _canonical(policy)


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _canonical(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        items = [_canonical(item) for item in value]
        if len(items) == 1:
            return items[0]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    return value


# --------------------------------------------------------------------------- lifecycle


def canonical_lifecycle_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """One S3 lifecycle rule (boto3 shape) with AWS's equivalent spellings unified.

    - a legacy top-level `Prefix` becomes `Filter.Prefix`;
    - an empty `Filter` (whole bucket) becomes `Filter: {Prefix: ""}`, which is
      how S3 (and moto) returns it;
    - `None` values and empty dicts are dropped.
    """
    out = {key: value for key, value in rule.items() if value not in (None, {}, []) and key != "Prefix"}
    rule_filter = dict(rule.get("Filter") or {})
    if "Prefix" in rule and "Prefix" not in rule_filter and not rule_filter:
        rule_filter["Prefix"] = rule["Prefix"] or ""
    if not rule_filter:
        rule_filter = {"Prefix": ""}
    out["Filter"] = rule_filter
    out.setdefault("Status", "Enabled")
    return _canonical(out)


def canonical_lifecycle(rules: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """A rule list sorted by ID (the order of lifecycle rules carries no meaning)."""
    return sorted((canonical_lifecycle_rule(rule) for rule in rules or []), key=lambda rule: rule.get("ID", ""))


# --------------------------------------------------------------------------- encryption


def encryption_rule(algorithm: str, kms_key_id: str | None = None, bucket_key_enabled: bool | None = None) -> dict:
    """The ServerSideEncryptionConfiguration rule we send for `algorithm`."""
    default: dict[str, Any] = {"SSEAlgorithm": algorithm}
    rule: dict[str, Any] = {"ApplyServerSideEncryptionByDefault": default}
    if algorithm == "aws:kms":
        if kms_key_id:
            default["KMSMasterKeyID"] = kms_key_id
        # S3 Bucket Keys cut KMS request costs; they only exist for SSE-KMS.
        rule["BucketKeyEnabled"] = bool(bucket_key_enabled)
    return rule


def canonical_encryption(config: dict[str, Any] | None) -> dict[str, Any] | None:
    """{algorithm, kms_key_id, bucket_key_enabled} of the first rule, or None."""
    rules = (config or {}).get("Rules") or []
    if not rules:
        return None
    rule = rules[0]
    default = rule.get("ApplyServerSideEncryptionByDefault") or {}
    algorithm = default.get("SSEAlgorithm")
    out: dict[str, Any] = {"algorithm": algorithm}
    if algorithm == "aws:kms":
        out["kms_key_id"] = default.get("KMSMasterKeyID")
        out["bucket_key_enabled"] = bool(rule.get("BucketKeyEnabled"))
    return out


# --------------------------------------------------------------------------- SES receipt rules


def _as_bool(value: Any) -> bool:
    """SES returns booleans; moto's query parser may hand back "true"/"false"."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def canonical_s3_action(action: dict[str, Any]) -> dict[str, Any]:
    keys = ("BucketName", "ObjectKeyPrefix", "TopicArn", "KmsKeyArn", "IamRoleArn")
    return {key: action[key] for key in keys if action.get(key)}


def canonical_receipt_rule(rule: dict[str, Any] | None) -> dict[str, Any] | None:
    """A receipt rule (boto3 shape) reduced to what the module manages.

    Recipients are a set (SES matches any of them), so they are sorted.  Only
    S3 actions are managed; other action types are kept as returned so that a
    foreign action shows up as a difference instead of vanishing silently.
    """
    if rule is None:
        return None
    actions = []
    for action in rule.get("Actions") or []:
        if "S3Action" in action:
            actions.append({"S3Action": canonical_s3_action(action["S3Action"])})
        else:
            actions.append(_canonical(action))
    return {
        "Name": rule.get("Name"),
        "Enabled": _as_bool(rule.get("Enabled", False)),
        "TlsPolicy": rule.get("TlsPolicy") or "Optional",
        "Recipients": sorted(rule.get("Recipients") or []),
        "ScanEnabled": _as_bool(rule.get("ScanEnabled", False)),
        "Actions": actions,
    }


def build_receipt_rule(
    *,
    name: str,
    recipients: list[str],
    enabled: bool = True,
    tls_policy: str = "Require",
    scan_enabled: bool = True,
    s3_action: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The `Rule` structure create/update_receipt_rule take, from module options."""
    actions = []
    if s3_action:
        actions.append(
            {
                "S3Action": canonical_s3_action(
                    {
                        "BucketName": s3_action.get("bucket_name"),
                        "ObjectKeyPrefix": s3_action.get("object_key_prefix"),
                        "TopicArn": s3_action.get("topic_arn"),
                        "KmsKeyArn": s3_action.get("kms_key_arn"),
                        "IamRoleArn": s3_action.get("iam_role_arn"),
                    }
                )
            }
        )
    return {
        "Name": name,
        "Enabled": enabled,
        "TlsPolicy": tls_policy,
        "Recipients": list(recipients),
        "ScanEnabled": scan_enabled,
        "Actions": actions,
    }


def rule_position(rules: list[dict[str, Any]], name: str) -> tuple[dict[str, Any] | None, str | None]:
    """(the rule called `name`, the name of the rule before it or None) in a rule set's ordered list."""
    previous = None
    for rule in rules:
        if rule.get("Name") == name:
            return rule, previous
        previous = rule.get("Name")
    return None, None


def receipt_rule_arn(region: str, account_id: str, rule_set: str, rule: str, partition: str = "aws") -> str:
    """The ARN SES uses as aws:SourceArn when a receipt rule writes to S3."""
    return f"arn:{partition}:ses:{region}:{account_id}:receipt-rule-set/{rule_set}:receipt-rule/{rule}"


# --------------------------------------------------------------------------- DNS


def ses_dns_records(
    domain: str, region: str, verification_token: str | None, dkim_tokens: list[str] | None, mx_priority: int = 10
) -> list[dict[str, Any]]:
    """The records an operator must create for SES to verify, sign and receive for `domain`."""
    records: list[dict[str, Any]] = [
        {
            "name": domain,
            "type": "MX",
            "value": f"{mx_priority} inbound-smtp.{region}.amazonaws.com",
            "purpose": "receiving",
        }
    ]
    if verification_token:
        records.append(
            {"name": f"_amazonses.{domain}", "type": "TXT", "value": verification_token, "purpose": "verification"}
        )
    for token in dkim_tokens or []:
        records.append(
            {
                "name": f"{token}._domainkey.{domain}",
                "type": "CNAME",
                "value": f"{token}.dkim.amazonses.com",
                "purpose": "dkim",
            }
        )
    return records
