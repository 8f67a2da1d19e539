#!/usr/bin/python
"""Manage the additional (SNI) certificates of one HTTPS listener."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: elbv2_listener_certificates
short_description: Manage the SNI certificates of an HTTPS listener
description:
  - Makes the non-default certificates of the listener O(listener_arn) exactly O(certificate_arns)
    (with O(purge=true)). The listener serves them by SNI; its default certificate belongs to the
    listener itself (set by amazon.aws.elb_application_lb) and is never touched here.
  - amazon.aws.elb_application_lb only adds further certificates when it creates a listener and never
    compares them afterwards, so it cannot keep that list right.
options:
  listener_arn:
    description:
      - The HTTPS listener.
      - May be empty only in check mode, for a listener that does not exist yet; every certificate is then
        reported as to be added.
    type: str
    default: ""
  certificate_arns:
    description:
      - ARNs of the certificates served by SNI besides the default one.
      - The default certificate may be listed; it is ignored.
    type: list
    elements: str
    default: []
  purge:
    description: Remove SNI certificates that are not in O(certificate_arns).
    type: bool
    default: true
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Serve the dev API and Qdrant certificates by SNI
  elbv2_listener_certificates:
    listener_arn: "{{ https_listener_arn }}"
    certificate_arns:
      - arn:aws:acm:eu-central-1:123456789012:certificate/11111111-2222-3333-4444-555555555555
      - arn:aws:acm:eu-central-1:123456789012:certificate/66666666-7777-8888-9999-000000000000
"""

RETURN = r"""
certificate_arns:
  description: The listener's SNI certificates after the run (in check mode, the wanted ones), sorted.
  returned: always
  type: list
  elements: str
default_certificate_arn:
  description: The listener's default certificate (empty when the listener does not exist yet).
  returned: always
  type: str
added:
  description: Certificates added (or that would be).
  returned: always
  type: list
  elements: str
removed:
  description: Certificates removed (or that would be).
  returned: always
  type: list
  elements: str
"""

import contextlib
from typing import Any

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports the missing dependency
    from botocore.exceptions import BotoCoreError, ClientError

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.mediamind.platform.plugins.module_utils.common import make_diff
from ansible_collections.mediamind.platform.plugins.module_utils.elbv2 import call, describe_listener_certificates


class ListenerCertificatesManager:
    def __init__(self, module: AnsibleAWSModule) -> None:
        self.module = module
        self.client = module.client("elbv2")
        self.listener_arn = module.params["listener_arn"]

    def ensure_present(self) -> dict[str, Any]:
        if not self.listener_arn and not self.module.check_mode:
            self.module.fail_json(msg="listener_arn is required outside check mode")
        current = describe_listener_certificates(self.client, self.listener_arn) if self.listener_arn else []
        default = next((c["CertificateArn"] for c in current if c.get("IsDefault")), "")
        sni = {c["CertificateArn"] for c in current if not c.get("IsDefault")}
        wanted = {arn for arn in self.module.params["certificate_arns"] if arn != default}
        added = sorted(wanted - sni)
        removed = sorted(sni - wanted) if self.module.params["purge"] else []
        if not self.module.check_mode:
            # The API takes one certificate per call (a documented limit).
            for arn in added:
                call(
                    self.client,
                    "add_listener_certificates",
                    ListenerArn=self.listener_arn,
                    Certificates=[{"CertificateArn": arn}],
                )
            for arn in removed:
                call(
                    self.client,
                    "remove_listener_certificates",
                    ListenerArn=self.listener_arn,
                    Certificates=[{"CertificateArn": arn}],
                )
        after = sorted((sni | set(added)) - set(removed))
        return {
            "changed": bool(added or removed),
            "certificate_arns": after,
            "default_certificate_arn": default,
            "added": added,
            "removed": removed,
            "diff": make_diff({"sni_certificates": sorted(sni)}, {"sni_certificates": after}),
        }


def main() -> None:
    argument_spec = dict(
        listener_arn=dict(type="str", default=""),
        certificate_arns=dict(type="list", elements="str", default=[]),
        purge=dict(type="bool", default=True),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    try:
        result = ListenerCertificatesManager(module).ensure_present()
    except (BotoCoreError, ClientError) as exc:
        module.fail_json_aws(exc, msg="managing the listener certificates failed")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
