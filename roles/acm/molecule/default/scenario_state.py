"""The scenario's certificates and their tags as the emulator holds them (verify.yml asserts on them).

argv: the domain every certificate of the scenario ends with.
"""

from __future__ import annotations

import state


def read(domain: str) -> dict:
    acm = state.client("acm")
    out = {}
    for summary in acm.list_certificates()["CertificateSummaryList"]:
        if not summary["DomainName"].endswith(domain):
            continue
        cert = acm.describe_certificate(CertificateArn=summary["CertificateArn"])["Certificate"]
        options = cert["DomainValidationOptions"]
        out[cert["CertificateArn"]] = {
            "domain": cert["DomainName"],
            "names": sorted(cert.get("SubjectAlternativeNames", [])),
            "status": cert["Status"],
            "methods": sorted({o["ValidationMethod"] for o in options}),
            "records": sorted(o["ResourceRecord"]["Type"] for o in options),
            "tags": state.tags(acm.list_tags_for_certificate(CertificateArn=cert["CertificateArn"]).get("Tags")),
        }
    return out


if __name__ == "__main__":
    state.run(read)
