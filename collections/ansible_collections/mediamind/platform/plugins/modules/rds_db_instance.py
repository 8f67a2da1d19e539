#!/usr/bin/python
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: rds_db_instance
short_description: Manage an RDS DB instance whose master password RDS keeps in Secrets Manager
description:
  - Creates, modifies or deletes a single RDS DB instance with C(ManageMasterUserPassword), which
    C(amazon.aws.rds_instance) 10.x cannot send. Nobody handles the master password; RDS generates it,
    stores it in a Secrets Manager secret whose ARN the module returns, and rotates it.
  - Describes the instance once and compares locally (pending modifications count as done);
    supports check mode and diff.
  - Options left unset are not managed. Create-only settings (engine, database name, master user name,
    storage encryption, KMS keys, port) are compared; a storage encryption drift fails, others warn.
options:
  db_instance_identifier:
    description: Identifier of the instance.
    type: str
    required: true
  state:
    description: Whether the instance should exist.
    type: str
    choices: [present, absent]
    default: present
  engine:
    description: Engine, for example V(postgres). Required to create.
    type: str
  engine_version:
    description: Engine version; give the major (V(17)) so automatic minor upgrades are never undone.
    type: str
  db_instance_class:
    description: Instance class, for example V(db.t4g.micro). Required to create.
    type: str
  allocated_storage:
    description: Storage in GiB. Required to create.
    type: int
  max_allocated_storage:
    description: Upper limit in GiB for storage autoscaling.
    type: int
  storage_type:
    description: V(gp3), V(gp2), V(io1)...
    type: str
  storage_encrypted:
    description: Encrypt storage, snapshots and backups. Create-only.
    type: bool
  kms_key_id:
    description: KMS key of the storage encryption (default the AWS managed key). Create-only.
    type: str
  db_name:
    description: Database created with the instance. Create-only.
    type: str
  master_username:
    description: Master user name. Required to create. Create-only.
    type: str
  manage_master_user_password:
    description: Let RDS generate and keep the master password in Secrets Manager.
    type: bool
    default: true
  master_user_secret_kms_key_id:
    description: KMS key of the master user secret (default the Secrets Manager managed key). Create-only.
    type: str
  port:
    description: Port. Create-only.
    type: int
  db_subnet_group_name:
    description: DB subnet group (private subnets).
    type: str
  vpc_security_group_ids:
    description: VPC security groups of the instance.
    type: list
    elements: str
  db_parameter_group_name:
    description: DB parameter group. A new group is applied at the next reboot.
    type: str
  publicly_accessible:
    description: Whether the instance gets a public address.
    type: bool
  backup_retention_period:
    description: Days automated backups are kept.
    type: int
  preferred_backup_window:
    description: Daily UTC backup window, for example V(02:00-02:30).
    type: str
  preferred_maintenance_window:
    description: Weekly UTC maintenance window, for example V(sun:03:00-sun:03:30).
    type: str
  multi_az:
    description: A standby in another availability zone.
    type: bool
  deletion_protection:
    description:
      - Refuse deletion until turned off.
      - With O(state=absent), V(false) turns an instance's protection off before deleting it.
    type: bool
  auto_minor_version_upgrade:
    description: Apply minor engine versions in the maintenance window.
    type: bool
  copy_tags_to_snapshot:
    description: Copy the instance's tags to its snapshots.
    type: bool
  enable_cloudwatch_logs_exports:
    description: Log types exported to CloudWatch Logs (for PostgreSQL V(postgresql), V(upgrade)).
    type: list
    elements: str
  apply_immediately:
    description: Apply modifications now instead of in the next maintenance window.
    type: bool
    default: true
  skip_final_snapshot:
    description: On O(state=absent), delete without a final snapshot.
    type: bool
    default: false
  final_snapshot_identifier:
    description: On O(state=absent), name of the final snapshot (required unless O(skip_final_snapshot)).
    type: str
  delete_automated_backups:
    description: On O(state=absent), delete the automated backups as well.
    type: bool
    default: false
  tags:
    description: Tags of the instance.
    type: dict
    aliases: [resource_tags]
  purge_tags:
    description: Remove tags that are not in O(tags).
    type: bool
    default: true
  wait:
    description: Wait until the instance is available (present) or gone (absent).
    type: bool
    default: false
  wait_timeout:
    description: Seconds to wait.
    type: int
    default: 3600
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
author:
  - MediaMind team
"""

EXAMPLES = r"""
- name: Run the PostgreSQL instance with an RDS-managed master password
  rds_db_instance:
    db_instance_identifier: mediamind
    engine: postgres
    engine_version: "17"
    db_instance_class: db.t4g.micro
    allocated_storage: 20
    storage_encrypted: true
    master_username: mediamind
    db_subnet_group_name: mediamind
    vpc_security_group_ids: [sg-0123456789abcdef0]
    db_parameter_group_name: mediamind-postgres17
    publicly_accessible: false
    backup_retention_period: 7
    enable_cloudwatch_logs_exports: [postgresql, upgrade]
  register: db

- name: Remove it, keeping a final snapshot
  rds_db_instance:
    db_instance_identifier: mediamind
    state: absent
    final_snapshot_identifier: mediamind-final
"""

RETURN = r"""
db_instance:
  description: The instance's settings after the run (empty when absent), in this module's option names.
  returned: always
  type: dict
  contains:
    arn: {description: ARN., type: str}
    status: {description: Status (creating, available, modifying, deleting...)., type: str}
    endpoint: {description: Host name (empty until the instance is available)., type: str}
    port: {description: Port., type: int}
    master_user_secret_arn: {description: ARN of the secret with the master password., type: str}
request:
  description: The create/modify/delete request sent (or that would be sent in check mode).
  returned: when changed
  type: dict
"""

import contextlib

with contextlib.suppress(ImportError):  # a missing boto3 is reported by AnsibleAWSModule
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.mediamind.platform.plugins.module_utils.common import make_diff, set_resource_tags
from ansible_collections.mediamind.platform.plugins.module_utils.datastore import DataStoreManager
from ansible_collections.mediamind.platform.plugins.module_utils.rds import (
    CREATE_ONLY,
    DELETING,
    MODIFIABLE,
    READY_STATUSES,
    SECURITY_CRITICAL,
    changes,
    create_db_instance,
    create_request,
    delete_db_instance,
    describe_db_instance,
    modify_db_instance,
    modify_request,
    summary,
    wanted,
)


class DBInstanceManager(DataStoreManager):
    kind = "instance"
    status_key = "DBInstanceStatus"
    ready_statuses = READY_STATUSES
    deleting_status = DELETING
    poll_seconds = 20
    create_only = CREATE_ONLY
    security_critical = SECURITY_CRITICAL
    recreate_hint = "restore a snapshot into a new instance to change it"

    def __init__(self, module: AnsibleAWSModule):
        self.client = module.client("rds")
        super().__init__(module, module.params["db_instance_identifier"], changes)

    def describe(self) -> dict | None:
        return describe_db_instance(self.client, self.name)

    # ------------------------------------------------------------------ present

    def ensure_present(self) -> dict:
        self.settle_deleting()
        if self.resource is None:
            return self._create()
        return self._update()

    def _create(self) -> dict:
        missing = [
            key
            for key in ("engine", "db_instance_class", "allocated_storage", "master_username")
            if self.params[key] is None
        ]
        if missing:
            self.module.fail_json(msg=f"{', '.join(missing)} required to create {self.name}")
        self.request = create_request(self.params)
        self.changed = True
        after = {key: value for key, value in wanted(self.params).items() if value is not None}
        after["tags"] = self.params["tags"] or {}
        if self.module.check_mode:
            return {"before": None, "after": after, "db": {}}
        self.resource = create_db_instance(self.client, self.request)
        if self.params["wait"]:
            self.wait_available()
        return {"before": None, "after": after, "db": summary(self.resource)}

    def _update(self) -> dict:
        current = summary(self.resource)
        want = wanted(self.params)
        self.check_create_only(current, want, "db_instance")
        diff = changes(current, want, MODIFIABLE)
        to_set, to_remove, before, after = self.tag_plan(current, diff)
        if diff:
            self.request = modify_request(self.name, diff, current, self.params["apply_immediately"])
        self.changed = bool(diff or to_set or to_remove)
        if self.module.check_mode or not self.changed:
            if not self.changed and self.params["wait"] and not self.module.check_mode:
                self.wait_available()
                current = summary(self.resource)
            return {"before": before, "after": after, "db": current}
        if diff:
            self.wait_modifiable()
            self.resource = modify_db_instance(self.client, self.request)
        if to_set or to_remove:
            set_resource_tags(self.client, self.resource["DBInstanceArn"], to_set, to_remove)
        if self.params["wait"]:
            self.wait_available()
        return {"before": before, "after": after, "db": summary(self.resource)}

    # ------------------------------------------------------------------ absent

    def ensure_absent(self) -> dict:
        if self.gone_or_going():
            return {"before": {}, "after": {}, "db": {}}
        self.request = {
            "DBInstanceIdentifier": self.name,
            "DeleteAutomatedBackups": self.params["delete_automated_backups"],
        }
        if self.params["skip_final_snapshot"]:
            self.request["SkipFinalSnapshot"] = True
        elif self.params["final_snapshot_identifier"]:
            self.request["FinalDBSnapshotIdentifier"] = self.params["final_snapshot_identifier"]
        else:
            self.module.fail_json(msg="final_snapshot_identifier is required unless skip_final_snapshot=true")
        self.changed = True
        before = {"db_instance_identifier": self.name, "status": self.status()}
        if self.resource.get("DeletionProtection") and self.params["deletion_protection"] is False:
            self.request["lift_deletion_protection"] = True
            if not self.module.check_mode:
                lift = {"DBInstanceIdentifier": self.name, "DeletionProtection": False, "ApplyImmediately": True}
                modify_db_instance(self.client, lift)
        if not self.module.check_mode:
            delete_db_instance(self.client, {k: v for k, v in self.request.items() if k[0].isupper()})
            if self.params["wait"]:
                self.wait_gone()
        return {"before": before, "after": {}, "db": {}}


def main() -> None:
    argument_spec = dict(
        db_instance_identifier=dict(type="str", required=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        engine=dict(type="str"),
        engine_version=dict(type="str"),
        db_instance_class=dict(type="str"),
        allocated_storage=dict(type="int"),
        max_allocated_storage=dict(type="int"),
        storage_type=dict(type="str"),
        storage_encrypted=dict(type="bool"),
        kms_key_id=dict(type="str"),
        db_name=dict(type="str"),
        master_username=dict(type="str"),
        manage_master_user_password=dict(type="bool", default=True, no_log=False),
        master_user_secret_kms_key_id=dict(type="str"),
        port=dict(type="int"),
        db_subnet_group_name=dict(type="str"),
        vpc_security_group_ids=dict(type="list", elements="str"),
        db_parameter_group_name=dict(type="str"),
        publicly_accessible=dict(type="bool"),
        backup_retention_period=dict(type="int"),
        preferred_backup_window=dict(type="str"),
        preferred_maintenance_window=dict(type="str"),
        multi_az=dict(type="bool"),
        deletion_protection=dict(type="bool"),
        auto_minor_version_upgrade=dict(type="bool"),
        copy_tags_to_snapshot=dict(type="bool"),
        enable_cloudwatch_logs_exports=dict(type="list", elements="str"),
        apply_immediately=dict(type="bool", default=True),
        skip_final_snapshot=dict(type="bool", default=False),
        final_snapshot_identifier=dict(type="str"),
        delete_automated_backups=dict(type="bool", default=False),
        tags=dict(type="dict", aliases=["resource_tags"]),
        purge_tags=dict(type="bool", default=True),
        wait=dict(type="bool", default=False),
        wait_timeout=dict(type="int", default=3600),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    try:
        manager = DBInstanceManager(module)
        present = module.params["state"] == "present"
        result = manager.ensure_present() if present else manager.ensure_absent()
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        module.fail_json_aws(exc, msg=f"RDS call failed for {module.params['db_instance_identifier']}")

    output = {"changed": manager.changed, "db_instance": result["db"]}
    if manager.changed:
        output["request"] = manager.request
    # Always returned: Ansible shows it only under --diff.
    output["diff"] = make_diff(result["before"], result["after"])
    module.exit_json(**output)


if __name__ == "__main__":
    main()
