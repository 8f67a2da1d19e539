#!/usr/bin/python
"""Request (or adopt) a DNS-validated ACM certificate and report its validation records."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: acm_certificate_request
short_description: Request a DNS-validated ACM certificate, report its validation records, optionally wait
description:
  - Ensures an ACM-issued certificate for O(domain_name) and O(subject_alternative_names) exists, validated by
    DNS, and returns the CNAME records that prove control of each name; or deletes it.
  - Idempotent. A certificate is ours when its C(Name) tag is O(name), its domain is O(domain_name) and its
    names are exactly the wanted ones, and its status is C(PENDING_VALIDATION) or C(ISSUED). Such a certificate
    is reused (tags updated in place); otherwise a new one is requested. Failed, timed-out, revoked or expired
    certificates are never reused.
  - With O(certificate_arn) the module adopts an existing certificate; it only describes it (no request, no
    tag change) and with O(state=absent) deletes exactly that certificate.
  - Written because community.aws.acm_certificate only imports certificates. Follows amazon.aws' ec2_vpc_igw.
options:
  name:
    description:
      - Identity of the certificate, stored in its C(Name) tag; how re-runs and O(state=absent) find it.
      - Required unless O(certificate_arn) is given.
    type: str
  domain_name:
    description: The certificate's primary name. Required to request a certificate.
    type: str
  subject_alternative_names:
    description: Further names on the certificate (the primary name is implied).
    type: list
    elements: str
    default: []
  certificate_arn:
    description: An existing certificate to adopt (describe only) or, with O(state=absent), to delete.
    type: str
  tags:
    description: Tags of a requested certificate, besides C(Name).
    type: dict
    aliases: [resource_tags]
  purge_tags:
    description: Remove tags not in O(tags) (C(Name) and keys starting with C(aws:) are kept).
    default: true
    type: bool
  validation_records_timeout:
    description:
      - Seconds to wait for ACM to generate the validation records after a request (usually a few seconds).
      - The module still succeeds when they are late; it then returns the records it has.
    default: 60
    type: int
  wait:
    description: Wait until the certificate is C(ISSUED) (the validation records must exist in DNS by then).
    default: false
    type: bool
  wait_timeout:
    description: Seconds to wait for issuance with O(wait=true); the module fails when it runs out.
    default: 600
    type: int
  state:
    description: Whether the certificate exists.
    choices: [present, absent]
    default: present
    type: str
notes:
  - Deleting a certificate still attached to a load balancer fails (C(ResourceInUseException)); remove the
    listener first.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Request the API's certificate and show the CNAME to create
  acm_certificate_request:
    name: mediamind-api
    domain_name: api.mediamind.csee.tech
    tags:
      Project: mediamind
  register: api_cert

- name: Adopt a certificate issued elsewhere
  acm_certificate_request:
    certificate_arn: arn:aws:acm:eu-central-1:123456789012:certificate/0a1b2c3d-0000-1111-2222-333344445555

- name: Wait until the front end's certificate is issued
  acm_certificate_request:
    name: mediamind-frontend
    domain_name: mediamind.csee.tech
    subject_alternative_names: [www.mediamind.csee.tech]
    wait: true
    wait_timeout: 900

- name: Delete the certificates named mediamind-api
  acm_certificate_request:
    name: mediamind-api
    domain_name: api.mediamind.csee.tech
    state: absent
"""

RETURN = r"""
certificate:
  description: The certificate after the change (empty when absent; in check mode the would-be request).
  returned: always
  type: dict
  contains:
    arn: {description: Its ARN (null when only check mode "requested" it), type: str}
    domain_name: {description: Primary name, type: str, sample: api.mediamind.csee.tech}
    subject_alternative_names: {description: Further names, type: list, elements: str}
    status: {description: PENDING_VALIDATION, ISSUED, FAILED, ..., type: str}
    type: {description: AMAZON_ISSUED or IMPORTED, type: str}
    in_use_by: {description: ARNs of the load balancers using it, type: list, elements: str}
    not_after: {description: Expiry, type: str}
    validation_records:
      description: One CNAME per distinct record to create in the DNS zone (empty until ACM generated them).
      type: list
      elements: dict
      contains:
        domain_name: {description: The name it validates, type: str}
        name: {description: Record name, type: str}
        type: {description: Record type (CNAME), type: str}
        value: {description: Record value, type: str}
        validation_status: {description: PENDING_VALIDATION, SUCCESS or FAILED, type: str}
    tags: {description: Its tags, type: dict}
requested:
  description: Whether a new certificate was requested.
  returned: always
  type: bool
deleted_arns:
  description: ARNs deleted with O(state=absent).
  returned: always
  type: list
  elements: str
"""

import contextlib
from typing import Any

# AnsibleAWSModule reports a missing botocore itself.
with contextlib.suppress(ImportError):
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags
from ansible_collections.mediamind.platform.plugins.module_utils.acm import (
    REUSABLE_STATUSES,
    certificate_tags,
    delete_certificate,
    describe_certificate,
    list_certificate_arns,
    records_complete,
    request_certificate,
    set_tags,
    summary,
)
from ansible_collections.mediamind.platform.plugins.module_utils.common import make_diff, wait_until

POLL_SECONDS = 3
# Statuses after which waiting for ISSUED is pointless.
DEAD_STATUSES = {"FAILED", "VALIDATION_TIMED_OUT", "REVOKED", "EXPIRED", "INACTIVE"}


class CertificateManager:
    def __init__(self, module: AnsibleAWSModule) -> None:
        self.module = module
        self.params = module.params
        self.client = module.client("acm")
        self.changed = False
        self.requested = False
        self.deleted: list[str] = []

    # ------------------------------------------------------------------ lookups

    def _wanted_names(self) -> set[str]:
        return {self.params["domain_name"], *self.params["subject_alternative_names"]}

    def _ours(self, statuses: list[str] | None) -> list[dict[str, Any]]:
        """Certificates with our Name tag, our domain and exactly our names (newest first)."""
        found = []
        for arn in list_certificate_arns(self.client, self.params["domain_name"], statuses or []):
            cert = describe_certificate(self.client, arn)
            if cert is None:
                continue
            tags = certificate_tags(self.client, arn)
            names = set(cert.get("SubjectAlternativeNames") or [cert["DomainName"]]) | {cert["DomainName"]}
            if tags.get("Name") == self.params["name"] and names == self._wanted_names():
                found.append((cert, tags))
        found.sort(key=lambda ct: str(ct[0].get("CreatedAt", "")), reverse=True)
        # Prefer an issued certificate over a pending one.
        found.sort(key=lambda ct: ct[0].get("Status") != "ISSUED")
        return [summary(cert, tags) for cert, tags in found]

    def _describe(self, arn: str) -> dict[str, Any] | None:
        cert = describe_certificate(self.client, arn)
        return None if cert is None else summary(cert, certificate_tags(self.client, arn))

    # ------------------------------------------------------------------ states

    def ensure_present(self) -> dict[str, Any]:
        if self.params["certificate_arn"]:
            current = self._describe(self.params["certificate_arn"])
            if current is None:
                self.module.fail_json(msg=f"Certificate {self.params['certificate_arn']} does not exist")
                raise AssertionError  # unreachable: fail_json exits (tells type checkers so)
            return self._result(current, self._maybe_wait(current))
        existing = self._ours(REUSABLE_STATUSES)
        wanted_tags = {**(self.params["tags"] or {}), "Name": self.params["name"]}
        if not existing:
            return self._request(wanted_tags)
        current = existing[0]
        after = dict(current)
        if self.params["tags"] is not None:
            to_set, to_remove = compare_aws_tags(current["tags"], wanted_tags, self.params["purge_tags"])
            if to_set or to_remove:
                self.changed = True
                if not self.module.check_mode:
                    set_tags(self.client, current["arn"], to_set, to_remove)
                after["tags"] = {k: v for k, v in {**current["tags"], **to_set}.items() if k not in to_remove}
        if not records_complete_summary(after) and not self.module.check_mode:
            after = self._poll_records(after["arn"]) or after
        return self._result(current, self._maybe_wait(after))

    def _request(self, tags: dict[str, str]) -> dict[str, Any]:
        self.changed = self.requested = True
        sans = sorted(self._wanted_names() - {self.params["domain_name"]})
        after = {
            "arn": None,
            "domain_name": self.params["domain_name"],
            "subject_alternative_names": sans,
            "status": "PENDING_VALIDATION",
            "type": "AMAZON_ISSUED",
            "in_use_by": [],
            "not_after": None,
            "validation_records": [],
            "tags": tags,
        }
        if self.module.check_mode:
            return self._result({}, after)
        # ACM lists the primary name among the SANs itself; sending it too is harmless.
        arn = request_certificate(self.client, self.params["domain_name"], [self.params["domain_name"], *sans], tags)
        after = self._poll_records(arn) or after
        return self._result({}, self._maybe_wait(after))

    def ensure_absent(self) -> dict[str, Any]:
        if self.params["certificate_arn"]:
            current = self._describe(self.params["certificate_arn"])
            doomed = [current] if current else []
        else:
            # Any status: failed or expired copies of ours are removed too.
            doomed = self._ours(None)
        for cert in doomed:
            self.changed = True
            self.deleted.append(cert["arn"])
            if not self.module.check_mode:
                delete_certificate(self.client, cert["arn"])
        return self._result(doomed[0] if doomed else {}, {})

    # ------------------------------------------------------------------ waiting

    def _poll_records(self, arn: str) -> dict[str, Any] | None:
        """ACM fills in the DNS records a few seconds after the request."""
        cert, _ = wait_until(
            lambda: describe_certificate(self.client, arn),
            lambda c: c is None or records_complete(c) or c.get("Status") != "PENDING_VALIDATION",
            timeout=self.params["validation_records_timeout"],
            poll=POLL_SECONDS,
        )
        return None if cert is None else summary(cert, certificate_tags(self.client, arn))

    def _maybe_wait(self, cert: dict[str, Any]) -> dict[str, Any]:
        if not self.params["wait"] or cert.get("arn") is None or cert["status"] == "ISSUED":
            return cert
        if self.module.check_mode:
            return cert
        current, settled = wait_until(
            lambda: self._describe(cert["arn"]) or cert,
            lambda c: c["status"] == "ISSUED" or c["status"] in DEAD_STATUSES,
            timeout=self.params["wait_timeout"],
            poll=POLL_SECONDS,
        )
        if current["status"] in DEAD_STATUSES:
            self.module.fail_json(
                msg=f"Certificate {cert['arn']} is {current['status']}: it will never be issued",
                certificate=current,
            )
        if not settled:
            self.module.fail_json(
                msg=(
                    f"Certificate {cert['arn']} was not issued within {self.params['wait_timeout']}s "
                    "(still {status}): are the validation CNAME records in DNS?".format(status=current["status"])
                ),
                certificate=current,
            )
        return current

    def _result(self, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
        return {
            "changed": self.changed,
            "certificate": after,
            "requested": self.requested,
            "deleted_arns": self.deleted,
            "diff": make_diff(
                {k: v for k, v in before.items() if k != "validation_records"},
                {k: v for k, v in after.items() if k != "validation_records"},
            ),
        }


def records_complete_summary(cert: dict[str, Any]) -> bool:
    return cert["status"] != "PENDING_VALIDATION" or len(cert["validation_records"]) > 0


def main() -> None:
    argument_spec = dict(
        name=dict(type="str"),
        domain_name=dict(type="str"),
        subject_alternative_names=dict(type="list", elements="str", default=[]),
        certificate_arn=dict(type="str"),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        validation_records_timeout=dict(type="int", default=60),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=600),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    module = AnsibleAWSModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_one_of=[("certificate_arn", "name")],
        mutually_exclusive=[("certificate_arn", "name")],
        required_by={"name": ("domain_name",)},
    )
    manager = CertificateManager(module)
    try:
        result = manager.ensure_present() if module.params["state"] == "present" else manager.ensure_absent()
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        target = module.params["certificate_arn"] or module.params["name"]
        module.fail_json_aws(e, msg=f"Failed to manage the ACM certificate {target}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
