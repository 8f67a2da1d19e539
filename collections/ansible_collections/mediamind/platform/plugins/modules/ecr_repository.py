#!/usr/bin/python
"""Manage one ECR repository: scanning, encryption, tag mutability, lifecycle policy, tags."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: ecr_repository
short_description: Manage an ECR repository with its scan, mutability, lifecycle policy and tags
description:
  - Ensures an ECR repository exists with the given image scanning, tag mutability, lifecycle policy
    and tags, or that it does not exist.
  - Encryption is set at creation; ECR cannot change it afterwards, so a different O(encryption_type)
    on an existing repository is an error, never a silent replacement.
  - Written because community.aws.ecs_ecr fails in check mode on an empty account, reports check-mode
    changes as skipped and cannot tag. Follows amazon.aws' ec2_vpc_igw.
options:
  name:
    description: Repository name.
    required: true
    type: str
  image_tag_mutability:
    description: Whether a pushed tag may be overwritten.
    choices: [MUTABLE, IMMUTABLE]
    default: IMMUTABLE
    type: str
  scan_on_push:
    description: Scan each pushed image for vulnerabilities (basic scanning).
    default: true
    type: bool
  encryption_type:
    description: Encryption at rest, applied at creation only.
    choices: [AES256, KMS]
    default: AES256
    type: str
  kms_key:
    description:
      - KMS key (ARN, id or alias) with O(encryption_type=KMS).
      - Compared with the repository's key only when given as an ARN (ECR returns the key ARN).
    type: str
  lifecycle_policy:
    description:
      - The lifecycle policy (a dict with C(rules)). Omitted means the current policy is left alone;
        an empty dict removes it.
    type: dict
  tags:
    description: Tags of the repository.
    type: dict
    aliases: [resource_tags]
  purge_tags:
    description: Remove tags not in O(tags) (keys starting with C(aws:) are kept).
    default: true
    type: bool
  force_delete:
    description: With O(state=absent), delete the repository even if it still holds images.
    default: false
    type: bool
  state:
    description: Whether the repository exists.
    choices: [present, absent]
    default: present
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Ensure the API image repository exists
  ecr_repository:
    name: mediamind
    image_tag_mutability: IMMUTABLE
    scan_on_push: true
    lifecycle_policy:
      rules:
        - rulePriority: 1
          selection: {tagStatus: untagged, countType: sinceImagePushed, countUnit: days, countNumber: 7}
          action: {type: expire}
    tags:
      Project: mediamind

- name: Delete a repository and its images
  ecr_repository:
    name: mediamind
    state: absent
    force_delete: true
"""

RETURN = r"""
repository:
  description: The repository after the change (empty when absent; in check mode the would-be state).
  returned: always
  type: dict
  contains:
    name: {description: Repository name, type: str, sample: mediamind}
    arn: {description: Its ARN (null when only check mode "created" it), type: str}
    uri: {description: Push/pull URI (null when only check mode "created" it), type: str}
    image_tag_mutability: {description: MUTABLE or IMMUTABLE, type: str}
    scan_on_push: {description: Whether pushes are scanned, type: bool}
    encryption_type: {description: AES256 or KMS, type: str}
    kms_key: {description: The KMS key ARN (KMS only), type: str}
    lifecycle_policy: {description: The lifecycle policy (null when none), type: dict}
    tags: {description: Its tags, type: dict}
"""

import contextlib
from typing import Any

# AnsibleAWSModule reports a missing botocore itself.
with contextlib.suppress(ImportError):
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags
from ansible_collections.mediamind.platform.plugins.module_utils.common import dict_to_tags, make_diff
from ansible_collections.mediamind.platform.plugins.module_utils.ecr import (
    create_repository,
    delete_lifecycle_policy,
    delete_repository,
    describe_repository,
    get_lifecycle_policy,
    list_tags,
    normalize_lifecycle_policy,
    put_image_tag_mutability,
    put_lifecycle_policy,
    put_scan_on_push,
    set_tags,
)


class RepositoryManager:
    def __init__(self, module: AnsibleAWSModule) -> None:
        self.module = module
        self.params = module.params
        self.name = module.params["name"]
        self.client = module.client("ecr")
        self.changed = False

    def _current(self) -> dict[str, Any] | None:
        repo = describe_repository(self.client, self.name)
        if repo is None:
            return None
        encryption = repo.get("encryptionConfiguration", {"encryptionType": "AES256"})
        return {
            "name": repo["repositoryName"],
            "arn": repo["repositoryArn"],
            "uri": repo["repositoryUri"],
            "image_tag_mutability": repo["imageTagMutability"],
            "scan_on_push": repo.get("imageScanningConfiguration", {}).get("scanOnPush", False),
            "encryption_type": encryption["encryptionType"],
            "kms_key": encryption.get("kmsKey"),
            "lifecycle_policy": normalize_lifecycle_policy(get_lifecycle_policy(self.client, self.name)),
            "tags": list_tags(self.client, repo["repositoryArn"]),
        }

    def _check_encryption(self, current: dict[str, Any]) -> None:
        wanted_type, wanted_key = self.params["encryption_type"], self.params["kms_key"]
        # ECR returns the key ARN: an alias or key id given here cannot be compared.
        key_differs = bool(wanted_key) and wanted_key.startswith("arn:") and current["kms_key"] != wanted_key
        differs = current["encryption_type"] != wanted_type or (wanted_type == "KMS" and key_differs)
        if differs:
            self.module.fail_json(
                msg=(
                    f"Repository {self.name} is encrypted with {current['encryption_type']} "
                    f"({current['kms_key'] or 'AWS managed'}); ECR cannot change the encryption of an "
                    "existing repository: delete it (with its images) or keep its encryption."
                )
            )

    def ensure_present(self) -> dict[str, Any]:
        current = self._current()
        policy = self.params["lifecycle_policy"]
        wanted_policy = normalize_lifecycle_policy(policy) if policy else None
        tags = self.params["tags"]
        if current is None:
            return self._create(wanted_policy, tags or {})
        self._check_encryption(current)
        after = dict(current)
        mutability = self.params["image_tag_mutability"]
        if current["image_tag_mutability"] != mutability:
            self._apply(put_image_tag_mutability, self.name, mutability)
            after["image_tag_mutability"] = mutability
        scan = self.params["scan_on_push"]
        if current["scan_on_push"] != scan:
            self._apply(put_scan_on_push, self.name, scan)
            after["scan_on_push"] = scan
        if policy is not None and current["lifecycle_policy"] != wanted_policy:
            if wanted_policy is None:
                self._apply(delete_lifecycle_policy, self.name)
            else:
                self._apply(put_lifecycle_policy, self.name, wanted_policy)
            after["lifecycle_policy"] = wanted_policy
        if tags is not None:
            to_set, to_remove = compare_aws_tags(current["tags"], tags, self.params["purge_tags"])
            if to_set or to_remove:
                self._apply(set_tags, current["arn"], to_set, to_remove)
                after["tags"] = {k: v for k, v in {**current["tags"], **to_set}.items() if k not in to_remove}
        return self._result(current, after)

    def _create(self, wanted_policy: dict[str, Any] | None, tags: dict[str, str]) -> dict[str, Any]:
        self.changed = True
        encryption = {"encryptionType": self.params["encryption_type"]}
        if self.params["encryption_type"] == "KMS" and self.params["kms_key"]:
            encryption["kmsKey"] = self.params["kms_key"]
        after = {
            "name": self.name,
            "arn": None,
            "uri": None,
            "image_tag_mutability": self.params["image_tag_mutability"],
            "scan_on_push": self.params["scan_on_push"],
            "encryption_type": encryption["encryptionType"],
            "kms_key": encryption.get("kmsKey"),
            "lifecycle_policy": wanted_policy,
            "tags": tags,
        }
        if self.module.check_mode:
            return self._result({}, after)
        request: dict[str, Any] = {
            "repositoryName": self.name,
            "imageTagMutability": self.params["image_tag_mutability"],
            "imageScanningConfiguration": {"scanOnPush": self.params["scan_on_push"]},
            "encryptionConfiguration": encryption,
        }
        if tags:
            request["tags"] = dict_to_tags(tags)
        create_repository(self.client, request)
        if wanted_policy is not None:
            put_lifecycle_policy(self.client, self.name, wanted_policy)
        return self._result({}, self._current() or after)

    def ensure_absent(self) -> dict[str, Any]:
        current = self._current()
        if current is not None:
            self._apply(delete_repository, self.name, self.params["force_delete"])
        return self._result(current or {}, {})

    def _apply(self, call, *args) -> None:
        self.changed = True
        if not self.module.check_mode:
            call(self.client, *args)

    def _result(self, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
        return {"changed": self.changed, "repository": after, "diff": make_diff(before, after)}


def main() -> None:
    argument_spec = dict(
        name=dict(type="str", required=True),
        image_tag_mutability=dict(type="str", default="IMMUTABLE", choices=["MUTABLE", "IMMUTABLE"]),
        scan_on_push=dict(type="bool", default=True),
        encryption_type=dict(type="str", default="AES256", choices=["AES256", "KMS"]),
        kms_key=dict(type="str", no_log=False),
        lifecycle_policy=dict(type="dict"),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        force_delete=dict(type="bool", default=False),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    manager = RepositoryManager(module)
    try:
        result = manager.ensure_present() if module.params["state"] == "present" else manager.ensure_absent()
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg=f"Failed to manage the ECR repository {module.params['name']}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
