"""boto3 calls behind the acm role's own module (acm_certificate_request).

community.aws.acm_certificate only imports certificates; requesting an
ACM-issued, DNS-validated certificate needs RequestCertificate, which these
wrap, each with the project's retry policy.
"""

from __future__ import annotations

import contextlib
from typing import Any

from ansible_collections.mediamind.platform.plugins.module_utils.common import aws_retry, dict_to_tags, tags_to_dict

# AnsibleAWSModule reports a missing botocore itself.
with contextlib.suppress(ImportError):
    import botocore

# Certificates in these states can still be (or are) used: the only ones a re-run
# may reuse. FAILED, VALIDATION_TIMED_OUT, REVOKED, EXPIRED and INACTIVE ones are
# dead ends: a new request is needed.
REUSABLE_STATUSES = ["PENDING_VALIDATION", "ISSUED"]


def _error_code(exc: Exception) -> str:
    return getattr(exc, "response", {}).get("Error", {}).get("Code", "")


@aws_retry
def list_certificate_arns(client, domain_name: str, statuses: list[str]) -> list[str]:
    paginator = client.get_paginator("list_certificates")
    summaries = paginator.paginate(CertificateStatuses=statuses).build_full_result()["CertificateSummaryList"]
    return [s["CertificateArn"] for s in summaries if s.get("DomainName") == domain_name]


@aws_retry
def describe_certificate(client, arn: str) -> dict[str, Any] | None:
    try:
        return client.describe_certificate(CertificateArn=arn)["Certificate"]
    except botocore.exceptions.ClientError as exc:
        if _error_code(exc) == "ResourceNotFoundException":
            return None
        raise


@aws_retry
def certificate_tags(client, arn: str) -> dict[str, str]:
    return tags_to_dict(client.list_tags_for_certificate(CertificateArn=arn).get("Tags"))


@aws_retry
def request_certificate(client, domain_name: str, sans: list[str], tags: dict[str, str]) -> str:
    request: dict[str, Any] = {"DomainName": domain_name, "ValidationMethod": "DNS"}
    if sans:
        request["SubjectAlternativeNames"] = sans
    if tags:
        request["Tags"] = dict_to_tags(tags)
    return client.request_certificate(**request)["CertificateArn"]


@aws_retry
def set_tags(client, arn: str, to_set: dict[str, str], to_remove: list[str]) -> None:
    if to_remove:
        client.remove_tags_from_certificate(CertificateArn=arn, Tags=[{"Key": k} for k in to_remove])
    if to_set:
        client.add_tags_to_certificate(CertificateArn=arn, Tags=dict_to_tags(to_set))


@aws_retry
def delete_certificate(client, arn: str) -> None:
    client.delete_certificate(CertificateArn=arn)


def validation_records(certificate: dict[str, Any]) -> list[dict[str, str]]:
    """The DNS records that prove control of each name, one per distinct record
    (a wildcard and its apex share one). Empty until ACM has generated them."""
    records: dict[str, dict[str, str]] = {}
    for option in certificate.get("DomainValidationOptions", []):
        record = option.get("ResourceRecord")
        if not record:
            continue
        records.setdefault(
            record["Name"],
            {
                "domain_name": option["DomainName"],
                "name": record["Name"],
                "type": record["Type"],
                "value": record["Value"],
                "validation_status": option.get("ValidationStatus", ""),
            },
        )
    return sorted(records.values(), key=lambda r: r["domain_name"])


def records_complete(certificate: dict[str, Any]) -> bool:
    """Whether every name of a pending DNS certificate has its record (ACM adds them
    a few seconds after the request)."""
    options = certificate.get("DomainValidationOptions", [])
    return bool(options) and all(o.get("ResourceRecord") for o in options)


def summary(certificate: dict[str, Any], tags: dict[str, str]) -> dict[str, Any]:
    names = certificate.get("SubjectAlternativeNames") or [certificate["DomainName"]]
    return {
        "arn": certificate["CertificateArn"],
        "domain_name": certificate["DomainName"],
        "subject_alternative_names": sorted(n for n in names if n != certificate["DomainName"]),
        "status": certificate.get("Status"),
        "type": certificate.get("Type"),
        "in_use_by": certificate.get("InUseBy", []),
        "not_after": str(certificate["NotAfter"]) if certificate.get("NotAfter") else None,
        "validation_records": validation_records(certificate),
        "tags": tags,
    }
