#!/usr/bin/python
"""Manage a private S3 bucket's baseline: access block, ownership, encryption, versioning, policy, lifecycle."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: s3_secure_bucket
short_description: Manage a private S3 bucket and its security baseline, with check mode and diff
description:
  - Ensures a bucket exists with the given Block Public Access, Object Ownership, default encryption,
    versioning, bucket policy, lifecycle rules and tags; or that it is gone.
  - Reads every setting once, compares locally on canonical forms (policy JSON, lifecycle rules sorted
    by ID, an empty lifecycle filter equal to prefix ""), and writes only what differs.
  - Why not amazon.aws.s3_bucket + community.aws.s3_lifecycle? Both are idempotent against the
    emulator, but neither supports check mode (Ansible skips them under C(--check)), so a plan would
    hide every bucket change; s3_lifecycle also manages one rule per call.
  - Never reads or writes the bucket's notification configuration (owned by the lambda_chatbot role).
  - A setting left unset (V(null)) is not managed.
options:
  name:
    description: Bucket name.
    required: true
    type: str
  state:
    description: Whether the bucket exists.
    choices: [present, absent]
    default: present
    type: str
  block_public_access:
    description: Turn on all four Block Public Access settings (V(false) removes the block).
    type: bool
    default: true
  object_ownership:
    description: Object Ownership rule; C(BucketOwnerEnforced) disables ACLs.
    choices: [BucketOwnerEnforced, BucketOwnerPreferred, ObjectWriter]
    type: str
    default: BucketOwnerEnforced
  encryption:
    description: Default server-side encryption (S3 cannot turn encryption off since 2023).
    choices: [AES256, "aws:kms"]
    type: str
    default: AES256
  kms_key_id:
    description: KMS key (id, alias or ARN) for O(encryption=aws:kms); the AWS managed key when unset.
    type: str
  bucket_key_enabled:
    description: S3 Bucket Keys for SSE-KMS (fewer KMS requests). Ignored for AES256.
    type: bool
    default: true
  versioning:
    description: V(true) enables, V(false) suspends (if it was ever enabled); unset leaves it alone.
    type: bool
  policy:
    description: The bucket policy (a dict or JSON string); V({}) removes it; unset leaves it alone.
    type: json
  lifecycle_rules:
    description:
      - The complete list of lifecycle rules in the S3 API's shape (C(ID), C(Status), C(Filter),
        C(Expiration), C(AbortIncompleteMultipartUpload), ...). V([]) removes the configuration;
        unset leaves it alone.
    type: list
    elements: dict
  tags:
    description: Bucket tags; unset leaves them alone.
    type: dict
    aliases: [resource_tags]
  purge_tags:
    description: Remove tags not in O(tags).
    type: bool
    default: true
  force:
    description:
      - With O(state=absent), delete every object version and delete marker first.
      - Without it a bucket that still holds objects is kept, with RV(kept)=true and a message (the
        mail in it is data; teardown goes on with everything else).
    type: bool
    default: false
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Make the mail bucket private, encrypted, with a TLS-only policy and expiring inbound mail
  s3_secure_bucket:
    name: eutop-mediamind
    encryption: AES256
    policy: "{{ lookup('ansible.builtin.template', 'policy.json.j2') }}"
    lifecycle_rules:
      - ID: expire-inbound
        Status: Enabled
        Filter: {Prefix: inbound/}
        Expiration: {Days: 30}

- name: Remove the bucket only if it is empty
  s3_secure_bucket:
    name: eutop-mediamind
    state: absent
"""

RETURN = r"""
bucket:
  description: The bucket's settings after the run (what would be, in check mode), in canonical form.
  returned: always
  type: dict
  contains:
    name: {description: Bucket name., type: str}
    arn: {description: Bucket ARN., type: str}
    region: {description: Region the module works in., type: str}
    exists: {description: Whether the bucket exists., type: bool}
    block_public_access: {description: The four Block Public Access flags., type: dict}
    object_ownership: {description: The Object Ownership rule., type: str}
    encryption: {description: "{algorithm, kms_key_id, bucket_key_enabled}", type: dict}
    versioning: {description: Enabled, Suspended or null (never enabled)., type: str}
    policy: {description: The policy document., type: dict}
    lifecycle_rules: {description: The lifecycle rules., type: list}
    tags: {description: Tags., type: dict}
kept:
  description: With O(state=absent), true when a non-empty bucket was kept because O(force) was false.
  returned: when state is absent
  type: bool
"""

import contextlib
import json
from typing import Any

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    from botocore.exceptions import BotoCoreError, ClientError

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.mediamind.platform.plugins.module_utils.common import (
    aws_retry,
    dict_to_tags,
    make_diff,
    tags_to_dict,
)
from ansible_collections.mediamind.platform.plugins.module_utils.mail import (
    canonical_encryption,
    canonical_lifecycle,
    canonical_policy,
    encryption_rule,
)

_PAB_KEYS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")

# "Not configured" answers of the S3 GET calls: an unset setting, not an error.
_NOT_SET = {
    "get_public_access_block": "NoSuchPublicAccessBlockConfiguration",
    "get_bucket_ownership_controls": "OwnershipControlsNotFoundError",
    "get_bucket_encryption": "ServerSideEncryptionConfigurationNotFoundError",
    "get_bucket_policy": "NoSuchBucketPolicy",
    "get_bucket_lifecycle_configuration": "NoSuchLifecycleConfiguration",
    "get_bucket_tagging": "NoSuchTagSet",
}


class SecureBucketManager:
    def __init__(self, module: AnsibleAWSModule) -> None:
        self.module = module
        self.params = module.params
        self.name = module.params["name"]
        self.region = module.region
        self.client = module.client("s3", retry_decorator=aws_retry)
        self.changed = False

    # ------------------------------------------------------------------ reading

    def _get(self, operation: str) -> dict[str, Any] | None:
        try:
            return getattr(self.client, operation)(Bucket=self.name, aws_retry=True)
        except is_boto3_error_code(_NOT_SET[operation]):
            return None
        except (BotoCoreError, ClientError) as exc:  # pylint: disable=duplicate-except
            self.module.fail_json_aws(exc, msg=f"{operation} failed for bucket {self.name}")
            raise  # unreachable: fail_json_aws exits (tells type checkers so)

    def exists(self) -> bool:
        try:
            self.client.head_bucket(Bucket=self.name, aws_retry=True)
            return True
        except is_boto3_error_code(["404", "NoSuchBucket", "NotFound"]):
            return False
        except (BotoCoreError, ClientError) as exc:  # pylint: disable=duplicate-except
            self.module.fail_json_aws(exc, msg=f"cannot read bucket {self.name}")
            raise  # unreachable: fail_json_aws exits (tells type checkers so)

    def describe(self) -> dict[str, Any]:
        """Every managed setting, read once, in canonical form."""
        if not self.exists():
            return {"exists": False}
        pab = (self._get("get_public_access_block") or {}).get("PublicAccessBlockConfiguration")
        ownership = (self._get("get_bucket_ownership_controls") or {}).get("OwnershipControls", {}).get("Rules", [])
        encryption = (self._get("get_bucket_encryption") or {}).get("ServerSideEncryptionConfiguration")
        policy = (self._get("get_bucket_policy") or {}).get("Policy")
        lifecycle = (self._get("get_bucket_lifecycle_configuration") or {}).get("Rules")
        tags = (self._get("get_bucket_tagging") or {}).get("TagSet")
        versioning = self.client.get_bucket_versioning(Bucket=self.name, aws_retry=True).get("Status")
        return {
            "exists": True,
            "block_public_access": {key: bool(pab.get(key)) for key in _PAB_KEYS} if pab else None,
            "object_ownership": ownership[0].get("ObjectOwnership") if ownership else None,
            "encryption": canonical_encryption(encryption),
            "versioning": versioning,
            "policy": canonical_policy(policy) if policy else None,
            "lifecycle_rules": canonical_lifecycle(lifecycle) if lifecycle else None,
            "tags": tags_to_dict(tags),
        }

    # ------------------------------------------------------------------ wanted

    def wanted(self, current: dict[str, Any]) -> dict[str, Any]:
        """The canonical state after the run: current, with every managed option applied."""
        params = self.params
        after = dict(current, exists=True)
        after["block_public_access"] = {key: True for key in _PAB_KEYS} if params["block_public_access"] else None
        after["object_ownership"] = params["object_ownership"]
        after["encryption"] = canonical_encryption(
            {"Rules": [encryption_rule(params["encryption"], params["kms_key_id"], params["bucket_key_enabled"])]}
        )
        if params["versioning"] is True:
            after["versioning"] = "Enabled"
        elif params["versioning"] is False and current.get("versioning") == "Enabled":
            # A bucket that was ever versioned can only be suspended, never unversioned.
            after["versioning"] = "Suspended"
        else:
            after["versioning"] = current.get("versioning")
        if params["policy"] is not None:
            policy = json.loads(params["policy"]) if isinstance(params["policy"], str) else params["policy"]
            after["policy"] = canonical_policy(policy) if policy else None
        if params["lifecycle_rules"] is not None:
            after["lifecycle_rules"] = canonical_lifecycle(params["lifecycle_rules"]) or None
        if params["tags"] is not None:
            tags = {} if params["purge_tags"] else dict(current.get("tags") or {})
            tags.update({str(k): str(v) for k, v in params["tags"].items()})
            after["tags"] = tags
        else:
            after.setdefault("tags", {})
        return after

    # ------------------------------------------------------------------ writing

    def _call(self, operation: str, **kwargs: Any) -> None:
        self.changed = True
        if self.module.check_mode:
            return
        try:
            getattr(self.client, operation)(aws_retry=True, **kwargs)
        except (BotoCoreError, ClientError) as exc:
            self.module.fail_json_aws(exc, msg=f"{operation} failed for bucket {self.name}")

    def ensure_present(self) -> dict[str, Any]:
        before = self.describe()
        current = before
        after = self.wanted(current)
        bucket = {"Bucket": self.name}
        if not current["exists"]:
            create: dict[str, Any] = dict(bucket)
            # us-east-1 is the only region that refuses an explicit LocationConstraint.
            if self.region and self.region != "us-east-1":
                create["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
            self._call("create_bucket", **create)
            if not self.module.check_mode:
                self.client.get_waiter("bucket_exists").wait(Bucket=self.name)
            current = {"exists": True, "tags": {}}
        self._apply_access(current, after)
        self._apply_data_settings(current, after)
        return self._result(before, after)

    def _apply_access(self, current: dict[str, Any], after: dict[str, Any]) -> None:
        """Public access block and ownership first: nothing else is ever applied to a public bucket."""
        bucket = {"Bucket": self.name}
        if after["block_public_access"] != current.get("block_public_access"):
            if after["block_public_access"]:
                config = {key: True for key in _PAB_KEYS}
                self._call("put_public_access_block", PublicAccessBlockConfiguration=config, **bucket)
            else:
                self._call("delete_public_access_block", **bucket)
        if after["object_ownership"] != current.get("object_ownership"):
            rules = {"Rules": [{"ObjectOwnership": after["object_ownership"]}]}
            self._call("put_bucket_ownership_controls", OwnershipControls=rules, **bucket)
        if after.get("policy") != current.get("policy"):
            if after.get("policy"):
                self._call("put_bucket_policy", Policy=self.params["policy"], **bucket)
            else:
                self._call("delete_bucket_policy", **bucket)

    def _apply_data_settings(self, current: dict[str, Any], after: dict[str, Any]) -> None:
        bucket = {"Bucket": self.name}
        if after["encryption"] != current.get("encryption"):
            params = self.params
            rule = encryption_rule(params["encryption"], params["kms_key_id"], params["bucket_key_enabled"])
            self._call("put_bucket_encryption", ServerSideEncryptionConfiguration={"Rules": [rule]}, **bucket)
        if after["versioning"] != current.get("versioning"):
            self._call("put_bucket_versioning", VersioningConfiguration={"Status": after["versioning"]}, **bucket)
        if after.get("lifecycle_rules") != current.get("lifecycle_rules"):
            if after.get("lifecycle_rules"):
                config = {"Rules": self.params["lifecycle_rules"]}
                self._call("put_bucket_lifecycle_configuration", LifecycleConfiguration=config, **bucket)
            else:
                self._call("delete_bucket_lifecycle", **bucket)
        if after.get("tags") != (current.get("tags") or {}):
            if after["tags"]:
                self._call("put_bucket_tagging", Tagging={"TagSet": dict_to_tags(after["tags"])}, **bucket)
            else:
                self._call("delete_bucket_tagging", **bucket)

    def _result(self, before: dict[str, Any], after: dict[str, Any], **extra: Any) -> dict[str, Any]:
        summary = dict(after, name=self.name, arn=f"arn:aws:s3:::{self.name}", region=self.region)
        return {"changed": self.changed, "bucket": summary, "diff": make_diff(before, after), **extra}

    def _is_empty(self) -> bool:
        # list_object_versions also lists the objects of a never-versioned bucket.
        result = self.client.list_object_versions(Bucket=self.name, MaxKeys=1, aws_retry=True)
        return not (result.get("Versions") or result.get("DeleteMarkers"))

    def _empty_bucket(self) -> None:
        paginator = self.client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.name):
            keys = [
                {"Key": item["Key"], "VersionId": item["VersionId"]}
                for item in (page.get("Versions") or []) + (page.get("DeleteMarkers") or [])
            ]
            if keys:
                result = self.client.delete_objects(
                    Bucket=self.name, Delete={"Objects": keys, "Quiet": True}, aws_retry=True
                )
                if result.get("Errors"):
                    # e.g. a bucket policy denying s3:DeleteObject: say so before delete_bucket fails vaguely.
                    first = result["Errors"][0]
                    reason = f"{first.get('Code')} {first.get('Message')}"
                    self.module.fail_json(msg=f"cannot delete {first.get('Key')} from {self.name}: {reason}")  # nosec B608

    def ensure_absent(self) -> dict[str, Any]:
        current = self.describe()
        if not current["exists"]:
            return self._result(current, current, kept=False)
        if not self._is_empty():
            if not self.params["force"]:
                # Reported through `kept` + `msg` (the role prints it), not module.warn():
                # amazon.aws 10 passes warnings to exit_json, which ansible-core 2.19 flags as deprecated.
                message = f"bucket {self.name} still holds objects and was kept; delete them or set force"
                return self._result(current, current, kept=True, msg=message)
            self.changed = True
            if not self.module.check_mode:
                try:
                    self._empty_bucket()
                except (BotoCoreError, ClientError) as exc:
                    self.module.fail_json_aws(exc, msg=f"cannot empty bucket {self.name}")
        self._call("delete_bucket", Bucket=self.name)
        return self._result(current, {"exists": False}, kept=False)


def main() -> None:
    argument_spec = dict(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        block_public_access=dict(type="bool", default=True),
        object_ownership=dict(
            type="str",
            default="BucketOwnerEnforced",
            choices=["BucketOwnerEnforced", "BucketOwnerPreferred", "ObjectWriter"],
        ),
        encryption=dict(type="str", default="AES256", choices=["AES256", "aws:kms"]),
        kms_key_id=dict(type="str"),
        bucket_key_enabled=dict(type="bool", default=True),
        versioning=dict(type="bool"),
        policy=dict(type="json"),
        lifecycle_rules=dict(type="list", elements="dict"),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        force=dict(type="bool", default=False),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    if module.params["kms_key_id"] and module.params["encryption"] != "aws:kms":
        module.fail_json(msg="kms_key_id is only valid with encryption=aws:kms")
    manager = SecureBucketManager(module)
    result = manager.ensure_present() if module.params["state"] == "present" else manager.ensure_absent()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
