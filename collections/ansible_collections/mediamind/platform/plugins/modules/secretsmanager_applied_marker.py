#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: secretsmanager_applied_marker
short_description: Record on a secret which of its versions an action has applied
description:
  - Some actions apply a secret's value somewhere the API cannot read back (the database bootstrap sets a
    database user's password from it). A tag on the secret records the AWSCURRENT version id the action last
    applied (with a fingerprint of the action itself, for example a hash of its script), so the action runs
    again only when the secret changed (a rotation, a new password) or the action did.
  - O(state=query) reads the versions and the tags and reports which secrets are pending; it never changes
    anything (C(changed=false)), also in check mode.
  - O(state=applied) writes the tag, with the versions a previous query returned (O(versions)) so that a
    rotation between the query and the action is applied by the next run; C(changed) when a tag changes.
  - Never reads or returns a secret value.
options:
  secrets:
    description: Names or ARNs of the secrets.
    type: list
    elements: str
    required: true
  tag_key:
    description: Tag holding C(<version id>/<fingerprint>).
    type: str
    default: mediamind:applied
  fingerprint:
    description: "What else the action depends on (letters, digits and the characters C(_ . : / = + - @) only)."
    type: str
    default: ""
  versions:
    description: For O(state=applied) - the versions to record per secret (the query's C(versions)); a secret
      not listed gets its current version.
    type: dict
    default: {}
  state:
    description: C(query) reports pending secrets; C(applied) records them as applied.
    type: str
    choices: [query, applied]
    default: query
author:
  - MediaMind infrastructure team
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Find the credentials whose current version the database does not have yet
  secretsmanager_applied_marker:
    secrets: [mediamind/production/db, mediamind/dev/db]
    tag_key: mediamind:db-bootstrap
    fingerprint: "{{ script | hash('sha256') | truncate(16, end='') }}"
  register: pending

- name: Record them as applied after the bootstrap ran
  secretsmanager_applied_marker:
    secrets: [mediamind/production/db, mediamind/dev/db]
    tag_key: mediamind:db-bootstrap
    fingerprint: "{{ script | hash('sha256') | truncate(16, end='') }}"
    versions: "{{ pending.versions }}"
    state: applied
"""

RETURN = r"""
pending:
  description: The secrets (as given) whose tag does not match C(<current version>/<fingerprint>); a secret that
    does not exist yet (a dry run on an empty account) is pending.
  returned: always
  type: list
  elements: str
versions:
  description: AWSCURRENT version id per secret (as given); empty for a missing secret.
  returned: always
  type: dict
"""

import contextlib
from typing import Any

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.mediamind.platform.plugins.module_utils.common import aws_retry, make_diff, tags_to_dict


@aws_retry
def _describe(client, secret: str) -> dict[str, Any] | None:
    try:
        return client.describe_secret(SecretId=secret)
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise


@aws_retry
def _tag(client, arn: str, key: str, value: str) -> None:
    client.tag_resource(SecretId=arn, Tags=[{"Key": key, "Value": value}])


def current_version(described: dict[str, Any] | None) -> str:
    for version, stages in ((described or {}).get("VersionIdsToStages") or {}).items():
        if "AWSCURRENT" in stages:
            return version
    return ""


class AppliedMarker:
    def __init__(self, client: Any, tag_key: str, fingerprint: str) -> None:
        self.client = client
        self.tag_key = tag_key
        self.fingerprint = fingerprint

    def marker(self, version: str) -> str:
        return f"{version}/{self.fingerprint}" if self.fingerprint else version

    def read(self, secrets: list[str]) -> dict[str, dict[str, Any]]:
        found = {}
        for secret in secrets:
            described = _describe(self.client, secret)
            found[secret] = {
                "arn": (described or {}).get("ARN", ""),
                "version": current_version(described),
                "tag": tags_to_dict((described or {}).get("Tags")).get(self.tag_key, ""),
            }
        return found

    def query(self, secrets: list[str]) -> dict[str, Any]:
        found = self.read(secrets)
        pending = [s for s, f in found.items() if not f["version"] or f["tag"] != self.marker(f["version"])]
        return {"changed": False, "pending": pending, "versions": {s: f["version"] for s, f in found.items()}}

    def apply(self, secrets: list[str], versions: dict[str, str], check_mode: bool) -> dict[str, Any]:
        found = self.read(secrets)
        before, after = {}, {}
        for secret, state in found.items():
            version = versions.get(secret) or state["version"]
            wanted = self.marker(version)
            before[secret], after[secret] = state["tag"], wanted
            if state["arn"] and version and state["tag"] != wanted and not check_mode:
                _tag(self.client, state["arn"], self.tag_key, wanted)
        changed = before != after
        return {
            "changed": changed,
            "pending": [],
            "versions": {s: versions.get(s) or f["version"] for s, f in found.items()},
            "diff": make_diff(before, after),
        }


def main() -> None:
    module = AnsibleAWSModule(
        argument_spec={
            "secrets": {"type": "list", "elements": "str", "required": True},
            "tag_key": {"type": "str", "default": "mediamind:applied"},
            "fingerprint": {"type": "str", "default": ""},
            "versions": {"type": "dict", "default": {}},
            "state": {"type": "str", "choices": ["query", "applied"], "default": "query"},
        },
        supports_check_mode=True,
    )
    params = module.params
    marker = AppliedMarker(module.client("secretsmanager"), params["tag_key"], params["fingerprint"])
    try:
        if params["state"] == "query":
            result = marker.query(params["secrets"])
        else:
            result = marker.apply(params["secrets"], params["versions"], module.check_mode)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        module.fail_json_aws(exc, msg="could not read or tag the secrets")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
