"""Print the SES receiving setup as the emulator holds it (JSON on stdout).

verify.yml and destroy.yml assert on this, never on a task's own result.
Usage: read_ses.py <endpoint_url> <region> <domain>
"""

from __future__ import annotations

import json
import sys

import boto3


def main() -> int:
    endpoint, region, domain = sys.argv[1:4]
    # Dummy credentials: the emulator accepts any.
    ses = boto3.client(
        "ses",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106  # nosec B106
    )
    active = ses.describe_active_receipt_rule_set()
    identities = ses.list_identities()["Identities"]
    state = {
        "active": {"name": active["Metadata"]["Name"], "rules": active.get("Rules", [])}
        if "Metadata" in active
        else None,
        "rule_sets": [rule_set["Name"] for rule_set in ses.list_receipt_rule_sets().get("RuleSets", [])],
        "identities": identities,
        "verification": ses.get_identity_verification_attributes(Identities=identities)["VerificationAttributes"]
        if identities
        else {},
        "dkim": ses.get_identity_dkim_attributes(Identities=[domain])["DkimAttributes"].get(domain, {}),
    }
    print(json.dumps(state))
    return 0


if __name__ == "__main__":
    sys.exit(main())
