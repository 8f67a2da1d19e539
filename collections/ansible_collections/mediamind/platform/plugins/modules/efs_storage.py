#!/usr/bin/python
"""Manage an encrypted EFS file system with its mount targets and one access point."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: efs_storage
short_description: Manage an encrypted EFS file system, its mount targets and an access point
description:
  - Ensures an EFS file system identified by its creation token O(name) (also its Name tag), with
    encryption at rest, optionally mount targets in given subnets with given security groups, and
    optionally one access point with a POSIX user and a root directory; or that none of it exists.
  - Written because community.aws.efs has no check mode and no access points. Describes once,
    compares locally, supports check mode and returns a diff.
  - Encryption, performance mode and the access point POSIX user or root directory cannot change in
    place, so the module fails on such a difference rather than replace storage that holds data.
options:
  name:
    description: Creation token and Name tag of the file system.
    required: true
    type: str
  encrypted:
    description: Encrypt data at rest.
    type: bool
    default: true
  kms_key_id:
    description: KMS key for encryption (default the AWS managed key).
    type: str
  performance_mode:
    description: generalPurpose or maxIO.
    choices: [generalPurpose, maxIO]
    default: generalPurpose
    type: str
  throughput_mode:
    description: bursting or elastic.
    choices: [bursting, elastic]
    default: bursting
    type: str
  mount_targets:
    description:
      - One mount target per subnet. Not given (null) leaves the mount targets alone; an empty list removes them.
    type: list
    elements: dict
    suboptions:
      subnet_id: {description: Subnet, type: str, required: true}
      security_groups: {description: Security groups of the mount target, type: list, elements: str, required: true}
  access_point:
    description: The access point clients mount through (null leaves access points alone).
    type: dict
    suboptions:
      name: {description: Name tag (identifies it), type: str, required: true}
      uid: {description: POSIX user id every request runs as, type: int, required: true}
      gid: {description: POSIX group id, type: int, required: true}
      path: {description: Root directory exposed to clients, type: str, required: true}
      permissions: {description: Mode of the root directory when EFS creates it, type: str, default: "750"}
  tags:
    description: Tags of the file system (the Name tag is always O(name)).
    type: dict
    aliases: [resource_tags]
  wait_timeout:
    description: Seconds to wait for mount targets to become available or to disappear.
    type: int
    default: 600
  state:
    description: Whether the file system exists; absent removes access points and mount targets first.
    choices: [present, absent]
    default: present
    type: str
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Ensure Qdrant's storage
  efs_storage:
    name: mediamind-qdrant
    mount_targets:
      - {subnet_id: subnet-0a, security_groups: [sg-nfs]}
      - {subnet_id: subnet-0b, security_groups: [sg-nfs]}
    access_point:
      name: mediamind-qdrant
      uid: 1000
      gid: 1000
      path: /qdrant
"""

RETURN = r"""
file_system:
  description: The storage after the change (empty when absent; ids are null in check mode for new resources).
  returned: always
  type: dict
  contains:
    file_system_id: {description: File system id, type: str}
    file_system_arn: {description: File system ARN, type: str}
    encrypted: {description: Encrypted at rest, type: bool}
    mount_targets: {description: Mount targets by subnet, type: dict}
    access_point_id: {description: Access point id, type: str}
    access_point_arn: {description: Access point ARN, type: str}
"""

import contextlib
from typing import Any

with contextlib.suppress(ImportError):
    import botocore  # AnsibleAWSModule reports a missing dependency

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.mediamind.platform.plugins.module_utils.common import (
    aws_retry,
    dict_to_tags,
    make_diff,
    tags_to_dict,
    wait_until,
)


class EfsManager:
    def __init__(self, module: AnsibleAWSModule) -> None:
        self.module = module
        self.params = module.params
        self.client = module.client("efs")
        self.changed = False

    # ------------------------------------------------------------------ reads
    @aws_retry
    def _file_system(self) -> dict[str, Any] | None:
        result = self.client.describe_file_systems(CreationToken=self.params["name"])
        systems = [fs for fs in result.get("FileSystems", []) if fs["LifeCycleState"] not in ("deleting", "deleted")]
        return systems[0] if systems else None

    @aws_retry
    def _mount_targets(self, fs_id: str) -> dict[str, dict[str, Any]]:
        targets = self.client.describe_mount_targets(FileSystemId=fs_id).get("MountTargets", [])
        out = {}
        for target in targets:
            if target["LifeCycleState"] in ("deleting", "deleted"):
                continue
            groups = self.client.describe_mount_target_security_groups(MountTargetId=target["MountTargetId"])
            out[target["SubnetId"]] = {
                "mount_target_id": target["MountTargetId"],
                "security_groups": sorted(groups.get("SecurityGroups", [])),
                "state": target["LifeCycleState"],
            }
        return out

    @aws_retry
    def _access_points(self, fs_id: str) -> list[dict[str, Any]]:
        return self.client.describe_access_points(FileSystemId=fs_id).get("AccessPoints", [])

    def _state(self, fs: dict[str, Any] | None) -> dict[str, Any]:
        if fs is None:
            return {}
        fs_id = fs["FileSystemId"]
        state: dict[str, Any] = {
            "file_system_id": fs_id,
            "file_system_arn": fs.get("FileSystemArn"),
            "encrypted": fs.get("Encrypted", False),
            "performance_mode": fs.get("PerformanceMode"),
            "throughput_mode": fs.get("ThroughputMode"),
            "tags": tags_to_dict(fs.get("Tags")),
            "mount_targets": self._mount_targets(fs_id),
            "access_points": {},
        }
        for ap in self._access_points(fs_id):
            name = tags_to_dict(ap.get("Tags")).get("Name") or ap.get("Name")
            root = ap.get("RootDirectory") or {}
            state["access_points"][name] = {
                "access_point_id": ap["AccessPointId"],
                "access_point_arn": ap.get("AccessPointArn"),
                "uid": (ap.get("PosixUser") or {}).get("Uid"),
                "gid": (ap.get("PosixUser") or {}).get("Gid"),
                "path": root.get("Path"),
                "permissions": (root.get("CreationInfo") or {}).get("Permissions"),
            }
        return state

    # ----------------------------------------------------------------- writes
    def _wait_mount_targets(self, fs_id: str, done) -> None:
        _, reached = wait_until(
            lambda: self.client.describe_mount_targets(FileSystemId=fs_id).get("MountTargets", []),
            done,
            timeout=self.params["wait_timeout"],
            poll=5,
        )
        if not reached:
            self.module.fail_json(msg=f"Timed out waiting for the mount targets of {fs_id}")

    def ensure_present(self) -> dict[str, Any]:
        p = self.params
        fs = self._file_system()
        before = self._state(fs)
        tags = dict(p["tags"] or {}, Name=p["name"])
        after = (
            dict(before)
            if before
            else {
                "file_system_id": None,
                "file_system_arn": None,
                "encrypted": p["encrypted"],
                "performance_mode": p["performance_mode"],
                "throughput_mode": p["throughput_mode"],
                "tags": tags,
                "mount_targets": {},
                "access_points": {},
            }
        )
        if fs is None:
            self.changed = True
            if not self.module.check_mode:
                request: dict[str, Any] = {
                    "CreationToken": p["name"],
                    "Encrypted": p["encrypted"],
                    "PerformanceMode": p["performance_mode"],
                    "ThroughputMode": p["throughput_mode"],
                    "Tags": dict_to_tags(tags),
                }
                if p["kms_key_id"]:
                    request["KmsKeyId"] = p["kms_key_id"]
                fs = self.client.create_file_system(**request)
                after["file_system_id"] = fs["FileSystemId"]
                after["file_system_arn"] = fs.get("FileSystemArn")
        else:
            if before["encrypted"] != p["encrypted"] or before["performance_mode"] != p["performance_mode"]:
                self.module.fail_json(
                    msg=f"EFS {p['name']}: encryption and performance mode cannot change in place "
                    "(a new file system would lose the data); migrate by hand."
                )
            if before["throughput_mode"] != p["throughput_mode"]:
                self.changed = True
                after["throughput_mode"] = p["throughput_mode"]
                if not self.module.check_mode:
                    self.client.update_file_system(FileSystemId=fs["FileSystemId"], ThroughputMode=p["throughput_mode"])
            wanted_tags = {k: v for k, v in tags.items()}
            if any(before["tags"].get(k) != v for k, v in wanted_tags.items()):
                self.changed = True
                after["tags"] = dict(before["tags"], **wanted_tags)
                if not self.module.check_mode:
                    self.client.tag_resource(ResourceId=fs["FileSystemId"], Tags=dict_to_tags(wanted_tags))
        fs_id = after["file_system_id"]
        if p["access_point"] is not None:
            self._ensure_access_point(fs_id, after)
        if p["mount_targets"] is not None:
            self._ensure_mount_targets(fs_id, after)
        return self._result(before, after)

    def _ensure_access_point(self, fs_id: str | None, after: dict[str, Any]) -> None:
        ap = self.params["access_point"]
        wanted = {"uid": ap["uid"], "gid": ap["gid"], "path": ap["path"], "permissions": ap["permissions"]}
        current = after["access_points"].get(ap["name"])
        if current is not None:
            if {k: current[k] for k in wanted} != wanted:
                self.module.fail_json(
                    msg=f"EFS access point {ap['name']} has {current}, wanted {wanted}: access points cannot "
                    "change in place; delete it by hand to let the module recreate it."
                )
            return
        self.changed = True
        entry = dict(wanted, access_point_id=None, access_point_arn=None)
        if not self.module.check_mode:
            created = self.client.create_access_point(
                ClientToken=f"{self.params['name']}-{ap['name']}"[:64],
                FileSystemId=fs_id,
                PosixUser={"Uid": ap["uid"], "Gid": ap["gid"]},
                RootDirectory={
                    "Path": ap["path"],
                    "CreationInfo": {
                        "OwnerUid": ap["uid"],
                        "OwnerGid": ap["gid"],
                        "Permissions": ap["permissions"],
                    },
                },
                Tags=dict_to_tags(dict(self.params["tags"] or {}, Name=ap["name"])),
            )
            entry.update(access_point_id=created["AccessPointId"], access_point_arn=created.get("AccessPointArn"))
        after["access_points"] = dict(after["access_points"], **{ap["name"]: entry})

    def _ensure_mount_targets(self, fs_id: str | None, after: dict[str, Any]) -> None:
        wanted = {t["subnet_id"]: sorted(t["security_groups"]) for t in self.params["mount_targets"]}
        current = after["mount_targets"]
        result = {}
        created = False
        for subnet, groups in wanted.items():
            existing = current.get(subnet)
            if existing is None:
                self.changed = True
                created = True
                entry = {"mount_target_id": None, "security_groups": groups, "state": "creating"}
                if not self.module.check_mode:
                    target = self.client.create_mount_target(FileSystemId=fs_id, SubnetId=subnet, SecurityGroups=groups)
                    entry["mount_target_id"] = target["MountTargetId"]
                result[subnet] = entry
            elif existing["security_groups"] != groups:
                self.changed = True
                if not self.module.check_mode:
                    self.client.modify_mount_target_security_groups(
                        MountTargetId=existing["mount_target_id"], SecurityGroups=groups
                    )
                result[subnet] = dict(existing, security_groups=groups)
            else:
                result[subnet] = existing
        for subnet, existing in current.items():
            if subnet not in wanted:
                self.changed = True
                if not self.module.check_mode:
                    self.client.delete_mount_target(MountTargetId=existing["mount_target_id"])
        if created and not self.module.check_mode:
            self._wait_mount_targets(str(fs_id), lambda ts: all(t["LifeCycleState"] == "available" for t in ts))
            for entry in result.values():
                entry["state"] = "available"
        after["mount_targets"] = result

    def ensure_absent(self) -> dict[str, Any]:
        fs = self._file_system()
        before = self._state(fs)
        if fs is None:
            return self._result({}, {})
        self.changed = True
        if not self.module.check_mode:
            fs_id = fs["FileSystemId"]
            for ap in before["access_points"].values():
                self.client.delete_access_point(AccessPointId=ap["access_point_id"])
            for target in before["mount_targets"].values():
                self.client.delete_mount_target(MountTargetId=target["mount_target_id"])
            # A file system with mount targets cannot be deleted.
            self._wait_mount_targets(fs_id, lambda ts: not ts)
            self.client.delete_file_system(FileSystemId=fs_id)
        return self._result(before, {})

    def _result(self, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
        summary = {}
        if after:
            ap = (after["access_points"] or {}).get((self.params["access_point"] or {}).get("name"), {})
            summary = {
                "file_system_id": after["file_system_id"],
                "file_system_arn": after["file_system_arn"],
                "encrypted": after["encrypted"],
                "mount_targets": after["mount_targets"],
                "access_point_id": ap.get("access_point_id"),
                "access_point_arn": ap.get("access_point_arn"),
            }
        return {"changed": self.changed, "file_system": summary, "diff": make_diff(before, after)}


def main() -> None:
    argument_spec = dict(
        name=dict(type="str", required=True),
        encrypted=dict(type="bool", default=True),
        kms_key_id=dict(type="str"),
        performance_mode=dict(type="str", default="generalPurpose", choices=["generalPurpose", "maxIO"]),
        throughput_mode=dict(type="str", default="bursting", choices=["bursting", "elastic"]),
        mount_targets=dict(
            type="list",
            elements="dict",
            options=dict(
                subnet_id=dict(type="str", required=True),
                security_groups=dict(type="list", elements="str", required=True),
            ),
        ),
        access_point=dict(
            type="dict",
            options=dict(
                name=dict(type="str", required=True),
                uid=dict(type="int", required=True),
                gid=dict(type="int", required=True),
                path=dict(type="str", required=True),
                permissions=dict(type="str", default="750"),
            ),
        ),
        tags=dict(type="dict", aliases=["resource_tags"]),
        wait_timeout=dict(type="int", default=600),
        state=dict(type="str", default="present", choices=["present", "absent"]),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    manager = EfsManager(module)
    try:
        result = manager.ensure_present() if module.params["state"] == "present" else manager.ensure_absent()
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as e:
        module.fail_json_aws(e, msg=f"Failed to manage the EFS storage {module.params['name']}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
