"""The SES receiving setup as the emulator holds it (verify.yml and destroy.yml assert on it).

argv: domain.
"""

from __future__ import annotations

import state


def read(domain: str) -> dict:
    ses = state.client("ses")
    active = ses.describe_active_receipt_rule_set()
    identities = ses.list_identities()["Identities"]
    return {
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


if __name__ == "__main__":
    state.run(read)
