#!/usr/bin/python
"""Manage an SES (v1) domain identity with Easy DKIM, and report the DNS records it needs."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ses_domain_identity
short_description: Manage an SES domain identity (verification + Easy DKIM) and return its DNS records
description:
  - Ensures a domain is an SES identity (C(VerifyDomainIdentity)) with Easy DKIM tokens
    (C(VerifyDomainDkim)), and returns the verification token, the DKIM tokens and the DNS records
    the operator must create (MX for receiving, the C(_amazonses) TXT, three DKIM CNAMEs).
  - community.aws.ses_identity verifies a domain but neither requests nor returns DKIM tokens.
  - Reads C(GetIdentityVerificationAttributes) and C(GetIdentityDkimAttributes) once and acts only on what is missing.
  - Verification itself happens at AWS once the records exist; the module never waits for it.
  - "Emulator gap: moto reports every identity as verified and hands out fixed DKIM tokens as soon as
    the domain exists, so C(VerifyDomainDkim) is never needed there and DkimEnabled is always true."
options:
  domain:
    description: The domain, e.g. chat.csee.tech.
    required: true
    type: str
  state:
    description: Whether the identity exists.
    choices: [present, absent]
    default: present
    type: str
  dkim:
    description: Request Easy DKIM tokens and keep DKIM signing enabled.
    type: bool
    default: true
  mx_priority:
    description: Priority of the MX record reported in RV(dns_records).
    type: int
    default: 10
  receiving_region:
    description: Region whose inbound SMTP endpoint the MX record points to; the module's region when unset.
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Make chat.csee.tech an SES identity with DKIM
  ses_domain_identity:
    domain: chat.csee.tech
  register: identity

- name: Show what to put in DNS
  ansible.builtin.debug:
    var: identity.dns_records
"""

RETURN = r"""
identity:
  description: The domain.
  returned: always
  type: str
verification_status:
  description: Pending, Success, Failed, TemporaryFailure or NotStarted (null when absent or only planned).
  returned: always
  type: str
verification_token:
  description: Value of the C(_amazonses.<domain>) TXT record (null in check mode before creation).
  returned: always
  type: str
dkim_enabled:
  description: Whether DKIM signing is enabled.
  returned: always
  type: bool
dkim_verification_status:
  description: DKIM verification status.
  returned: always
  type: str
dkim_tokens:
  description: The three Easy DKIM tokens (empty in check mode before they exist).
  returned: always
  type: list
  elements: str
dns_records:
  description: The records to create, each {name, type, value, purpose}.
  returned: when state is present
  type: list
  elements: dict
"""

import contextlib
from typing import Any

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    from botocore.exceptions import BotoCoreError, ClientError

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.mediamind.platform.plugins.module_utils.common import aws_retry, make_diff
from ansible_collections.mediamind.platform.plugins.module_utils.mail import ses_dns_records


class DomainIdentityManager:
    def __init__(self, module: AnsibleAWSModule) -> None:
        self.module = module
        self.domain = module.params["domain"].lower().rstrip(".")
        self.client = module.client("ses", retry_decorator=aws_retry)
        self.changed = False

    def describe(self) -> dict[str, Any]:
        try:
            verification = self.client.get_identity_verification_attributes(Identities=[self.domain], aws_retry=True)
            attributes = verification.get("VerificationAttributes", {}).get(self.domain)
            if attributes is None:
                return {"exists": False}
            dkim = self.client.get_identity_dkim_attributes(Identities=[self.domain], aws_retry=True)
        except (BotoCoreError, ClientError) as exc:
            self.module.fail_json_aws(exc, msg=f"cannot read SES identity {self.domain}")
        dkim_attributes = dkim.get("DkimAttributes", {}).get(self.domain, {})
        return {
            "exists": True,
            "verification_status": attributes.get("VerificationStatus"),
            "verification_token": attributes.get("VerificationToken"),
            "dkim_enabled": bool(dkim_attributes.get("DkimEnabled")),
            "dkim_verification_status": dkim_attributes.get("DkimVerificationStatus"),
            "dkim_tokens": list(dkim_attributes.get("DkimTokens") or []),
        }

    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        self.changed = True
        if self.module.check_mode:
            return {}
        try:
            return getattr(self.client, operation)(aws_retry=True, **kwargs)
        except (BotoCoreError, ClientError) as exc:
            self.module.fail_json_aws(exc, msg=f"{operation} failed for {self.domain}")
            raise  # unreachable: fail_json_aws exits (tells type checkers so)

    def ensure_present(self) -> dict[str, Any]:
        before = self.describe()
        if not before["exists"]:
            self._call("verify_domain_identity", Domain=self.domain)
        if self.module.params["dkim"]:
            if not before.get("dkim_tokens"):
                self._call("verify_domain_dkim", Domain=self.domain)
            elif not before.get("dkim_enabled"):
                self._call("set_identity_dkim_enabled", Identity=self.domain, DkimEnabled=True)
        elif before.get("dkim_enabled"):
            self._call("set_identity_dkim_enabled", Identity=self.domain, DkimEnabled=False)
        # Re-read after a change: the tokens are what AWS holds, not what a create call echoed.
        after = self.describe() if self.changed and not self.module.check_mode else dict(before, exists=True)
        if self.module.check_mode and self.changed:
            after["dkim_enabled"] = self.module.params["dkim"]
        region = self.module.params["receiving_region"] or self.module.region
        records = ses_dns_records(
            self.domain,
            region,
            after.get("verification_token"),
            after.get("dkim_tokens") if self.module.params["dkim"] else [],
            self.module.params["mx_priority"],
        )
        return self._result(before, after, dns_records=records)

    def ensure_absent(self) -> dict[str, Any]:
        before = self.describe()
        if before["exists"]:
            self._call("delete_identity", Identity=self.domain)
        return self._result(before, {"exists": False})

    def _result(self, before: dict[str, Any], after: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {
            "changed": self.changed,
            "identity": self.domain,
            "verification_status": after.get("verification_status"),
            "verification_token": after.get("verification_token"),
            "dkim_enabled": after.get("dkim_enabled", False),
            "dkim_verification_status": after.get("dkim_verification_status"),
            "dkim_tokens": after.get("dkim_tokens") or [],
            "diff": make_diff(before, after),
            **extra,
        }


def main() -> None:
    argument_spec = dict(
        domain=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        dkim=dict(type="bool", default=True),
        mx_priority=dict(type="int", default=10),
        receiving_region=dict(type="str"),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    manager = DomainIdentityManager(module)
    result = manager.ensure_present() if module.params["state"] == "present" else manager.ensure_absent()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
