"""acm_certificate_request's validation records (pure functions)."""

from __future__ import annotations

from ansible_collections.mediamind.platform.plugins.module_utils.acm import (
    records_complete,
    summary,
    validation_records,
)


def _option(domain, record_name=None, status="PENDING_VALIDATION"):
    option = {"DomainName": domain, "ValidationStatus": status, "ValidationMethod": "DNS"}
    if record_name:
        option["ResourceRecord"] = {"Name": record_name, "Type": "CNAME", "Value": f"v.{record_name}"}
    return option


def test_a_wildcard_and_its_apex_share_one_record():
    cert = {
        "DomainValidationOptions": [
            _option("example.com", "_a.example.com."),
            _option("*.example.com", "_a.example.com."),
            _option("api.example.com", "_b.api.example.com."),
        ]
    }
    records = validation_records(cert)
    assert len(records) == 2
    assert {r["name"] for r in records} == {"_a.example.com.", "_b.api.example.com."}
    assert all(r["type"] == "CNAME" for r in records)


def test_records_are_incomplete_until_every_name_has_one():
    assert not records_complete({"DomainValidationOptions": []})
    assert not records_complete({"DomainValidationOptions": [_option("a.example", "_a."), _option("b.example")]})
    assert records_complete({"DomainValidationOptions": [_option("a.example", "_a.")]})


def test_summary_lists_only_the_further_names():
    cert = {
        "CertificateArn": "arn:aws:acm:eu-central-1:123456789012:certificate/x",
        "DomainName": "example.com",
        "SubjectAlternativeNames": ["example.com", "www.example.com"],
        "Status": "ISSUED",
        "DomainValidationOptions": [_option("example.com", "_a.example.com.", "SUCCESS")],
    }
    result = summary(cert, {"Name": "mediamind-frontend"})
    assert result["subject_alternative_names"] == ["www.example.com"]
    assert result["validation_records"][0]["validation_status"] == "SUCCESS"
    assert result["tags"] == {"Name": "mediamind-frontend"}
