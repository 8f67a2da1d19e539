#!/usr/bin/python
"""Manage an AWS Backup vault, one backup plan and its resource selection together."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: backup_protection
short_description: Manage an encrypted AWS Backup vault, a backup plan and its tag-based selection
description:
  - Converges the three parts of a backup set-up at once (describe once, compare locally, diff,
    check mode, after amazon.aws' ec2_vpc_igw), that is the vault (KMS-encrypted; its key cannot change once
    created), the plan (rules in the CreateBackupPlan shape) and one resource selection.
  - amazon.aws.backup_vault fails on an account where the vault does not exist yet when the API
    answers with ResourceNotFoundException; amazon.aws.backup_selection needs the plan id of a run
    that created it. One module keeps the three consistent.
  - A selection cannot be updated in AWS Backup; a changed selection is deleted and created again.
  - C(absent) deletes the selection and the plan. The vault is deleted only when it holds no recovery
    point, or when O(delete_recovery_points) is set (then every point is deleted first); otherwise it
    is kept and its recovery point count returned, never deleted silently.
options:
  vault_name:
    description: Name of the backup vault.
    required: true
    type: str
  encryption_key_arn:
    description: KMS key ARN of the vault (fixed at creation; a different one is reported, not changed).
    type: str
    default: ''
  plan_name:
    description: Name of the backup plan.
    required: true
    type: str
  rules:
    description: Rules of the plan in the CreateBackupPlan shape (RuleName, TargetBackupVaultName, ScheduleExpression,
      StartWindowMinutes, CompletionWindowMinutes, Lifecycle, RecoveryPointTags).
    type: list
    elements: dict
    default: []
  selection:
    description: The plan's resource selection in the CreateBackupSelection shape (SelectionName, IamRoleArn, Resources,
      ListOfTags, Conditions). Empty = no selection.
    type: dict
    default: {}
  manage_selection:
    description: Whether to read and write the selection (the request is returned either way).
    type: bool
    default: true
  tags:
    description: Tags of the vault and the plan, set at creation.
    type: dict
    default: {}
  delete_recovery_points:
    description: With C(absent), delete the vault's recovery points so the vault can go too.
    type: bool
    default: false
  state:
    choices: [present, absent]
    default: present
    type: str
    description: Whether the vault, plan and selection exist.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Daily backups of everything tagged Backup=mediamind-daily, kept 35 days
  backup_protection:
    vault_name: mediamind-production
    encryption_key_arn: arn:aws:kms:eu-central-1:123456789012:key/1234
    plan_name: mediamind-production-daily
    rules:
      - RuleName: daily
        TargetBackupVaultName: mediamind-production
        ScheduleExpression: cron(0 3 * * ? *)
        StartWindowMinutes: 60
        CompletionWindowMinutes: 480
        Lifecycle: {DeleteAfterDays: 35}
    selection:
      SelectionName: tagged
      IamRoleArn: arn:aws:iam::123456789012:role/mediamind-production-backup
      Resources: ["arn:aws:rds:eu-central-1:123456789012:db:*"]
      ListOfTags: [{ConditionType: STRINGEQUALS, ConditionKey: Backup, ConditionValue: mediamind-daily}]
"""

RETURN = r"""
vault_arn:
  description: ARN of the vault ('' in check mode before it exists).
  returned: always
  type: str
plan_id:
  description: Id of the backup plan ('' in check mode before it exists).
  returned: always
  type: str
selection_request:
  description: The CreateBackupSelection body the selection converges to (sent only when it differs).
  returned: always
  type: dict
recovery_points:
  description: Recovery points in the vault (NumberOfRecoveryPoints); with C(absent), what was kept.
  returned: always
  type: int
kept_vault:
  description: With C(absent), true when the vault was kept because it still holds recovery points.
  returned: always
  type: bool
"""

import contextlib
from typing import Any

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
from ansible_collections.mediamind.platform.plugins.module_utils.common import aws_retry, make_diff

# What AWS Backup fills in when a rule leaves these out (CreateBackupPlan reference).
_RULE_DEFAULTS = {"StartWindowMinutes": 480, "CompletionWindowMinutes": 10080, "ScheduleExpressionTimezone": "Etc/UTC"}
_RULE_KEYS = (
    "RuleName",
    "TargetBackupVaultName",
    "ScheduleExpression",
    "ScheduleExpressionTimezone",
    "StartWindowMinutes",
    "CompletionWindowMinutes",
    "Lifecycle",
    "RecoveryPointTags",
    "EnableContinuousBackup",
)


def comparable_rules(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for rule in rules:
        normal = {k: rule.get(k, _RULE_DEFAULTS.get(k)) for k in _RULE_KEYS}
        lifecycle = {k: int(v) for k, v in (normal.get("Lifecycle") or {}).items() if k.endswith("Days")}
        normal["Lifecycle"] = lifecycle
        for key in ("StartWindowMinutes", "CompletionWindowMinutes"):
            normal[key] = int(normal[key])
        normal["RecoveryPointTags"] = normal.get("RecoveryPointTags") or {}
        normal["EnableContinuousBackup"] = bool(normal.get("EnableContinuousBackup"))
        out.append(normal)
    return sorted(out, key=lambda r: r["RuleName"])


def comparable_selection(selection: dict[str, Any]) -> dict[str, Any]:
    if not selection:
        return {}
    conditions = selection.get("Conditions") or {}
    return {
        "SelectionName": selection["SelectionName"],
        "IamRoleArn": selection["IamRoleArn"],
        "Resources": sorted(selection.get("Resources") or []),
        "NotResources": sorted(selection.get("NotResources") or []),
        "ListOfTags": sorted(
            (dict(t) for t in selection.get("ListOfTags") or []),
            key=lambda t: (t["ConditionKey"], t["ConditionValue"]),
        ),
        "Conditions": {
            k: sorted(v, key=lambda c: (c["ConditionKey"], c["ConditionValue"])) for k, v in conditions.items() if v
        },
    }


@aws_retry
def _describe_vault(client, name: str) -> dict[str, Any] | None:
    try:
        return client.describe_backup_vault(BackupVaultName=name)
    except is_boto3_error_code(["ResourceNotFoundException", "AccessDeniedException"]):
        # AWS answers AccessDenied for a vault that does not exist in this account.
        return None


@aws_retry
def _find_plan(client, name: str) -> dict[str, Any] | None:
    for page in client.get_paginator("list_backup_plans").paginate():
        for plan in page.get("BackupPlansList", []):
            if plan.get("BackupPlanName") == name and not plan.get("DeletionDate"):
                return client.get_backup_plan(BackupPlanId=plan["BackupPlanId"])
    return None


@aws_retry
def _selection(client, plan_id: str, name: str) -> tuple[str, dict[str, Any]]:
    for page in client.get_paginator("list_backup_selections").paginate(BackupPlanId=plan_id):
        for item in page.get("BackupSelectionsList", []):
            if item["SelectionName"] == name:
                body = client.get_backup_selection(BackupPlanId=plan_id, SelectionId=item["SelectionId"])
                return item["SelectionId"], body["BackupSelection"]
    return "", {}


class BackupManager:
    def __init__(self, module: AnsibleAWSModule) -> None:
        self.module = module
        self.client = module.client("backup")
        self.params = module.params
        self.changed = False
        self.kept_vault = False
        self.selection_id = ""
        self.selection: dict[str, Any] = {}
        try:
            self.vault = _describe_vault(self.client, self.params["vault_name"])
            self.plan = _find_plan(self.client, self.params["plan_name"])
            wanted_name = (self.params["selection"] or {}).get("SelectionName", "")
            if self.plan and self.params["manage_selection"] and wanted_name:
                self.selection_id, self.selection = _selection(self.client, self.plan["BackupPlanId"], wanted_name)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            module.fail_json_aws(exc, msg="Could not describe the backup vault, plan or selection")

    def _call(self, what: str, func, **kwargs) -> Any:
        self.changed = True
        if self.module.check_mode:
            return None
        try:
            return aws_retry(func)(**kwargs)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            self.module.fail_json_aws(exc, msg=f"Could not {what}")

    def state(self) -> dict[str, Any]:
        return {
            "vault": {
                "name": self.vault["BackupVaultName"],
                "encryption_key_arn": self.vault.get("EncryptionKeyArn", ""),
            }
            if self.vault
            else {},
            "plan": {"name": self.params["plan_name"], "rules": comparable_rules(self.plan["BackupPlan"]["Rules"])}
            if self.plan
            else {},
            "selection": comparable_selection(self.selection),
        }

    @property
    def recovery_points(self) -> int:
        return int((self.vault or {}).get("NumberOfRecoveryPoints", 0))

    def ensure_present(self) -> dict[str, Any]:
        p = self.params
        tags = p["tags"]
        if not self.vault:
            request: dict[str, Any] = {"BackupVaultName": p["vault_name"], "BackupVaultTags": tags}
            if p["encryption_key_arn"]:
                request["EncryptionKeyArn"] = p["encryption_key_arn"]
            self.vault = (
                self._call(f"create the vault {p['vault_name']}", self.client.create_backup_vault, **request) or {}
            )
            self.vault.setdefault("BackupVaultName", p["vault_name"])
            self.vault["EncryptionKeyArn"] = p["encryption_key_arn"]
        elif (
            p["encryption_key_arn"]
            and self.vault.get("EncryptionKeyArn", p["encryption_key_arn"]) != p["encryption_key_arn"]
        ):
            self.module.warn(
                f"vault {p['vault_name']} is encrypted with {self.vault.get('EncryptionKeyArn')}; "
                f"AWS Backup cannot change a vault's key (wanted {p['encryption_key_arn']}): "
                "create a new vault to change it"
            )
        plan_body = {"BackupPlanName": p["plan_name"], "Rules": p["rules"]}
        if not self.plan:
            created = self._call(
                f"create the plan {p['plan_name']}",
                self.client.create_backup_plan,
                BackupPlan=plan_body,
                BackupPlanTags=tags,
            )
            self.plan = {"BackupPlanId": (created or {}).get("BackupPlanId", ""), "BackupPlan": plan_body}
            self.selection_id, self.selection = "", {}
        elif comparable_rules(self.plan["BackupPlan"]["Rules"]) != comparable_rules(p["rules"]):
            self._call(
                f"update the plan {p['plan_name']}",
                self.client.update_backup_plan,
                BackupPlanId=self.plan["BackupPlanId"],
                BackupPlan=plan_body,
            )
        wanted = comparable_selection(p["selection"])
        if p["manage_selection"] and comparable_selection(self.selection) != wanted:
            if self.selection_id:
                self._call(
                    "replace the selection (selections cannot be updated)",
                    self.client.delete_backup_selection,
                    BackupPlanId=self.plan["BackupPlanId"],
                    SelectionId=self.selection_id,
                )
            if wanted:
                self._call(
                    "create the selection",
                    self.client.create_backup_selection,
                    BackupPlanId=self.plan["BackupPlanId"],
                    BackupSelection=p["selection"],
                )
        return {
            "vault": {"name": p["vault_name"], "encryption_key_arn": self.vault.get("EncryptionKeyArn", "")},
            "plan": {"name": p["plan_name"], "rules": comparable_rules(p["rules"])},
            "selection": wanted if p["manage_selection"] else comparable_selection(self.selection),
        }

    def _delete_recovery_points(self) -> None:
        name = self.params["vault_name"]
        try:
            pages = self.client.get_paginator("list_recovery_points_by_backup_vault").paginate(BackupVaultName=name)
            arns = [point["RecoveryPointArn"] for page in pages for point in page.get("RecoveryPoints", [])]
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            self.module.fail_json_aws(exc, msg=f"Could not list the recovery points of vault {name}")
        for arn in arns:
            self._call(
                f"delete the recovery point {arn}",
                self.client.delete_recovery_point,
                BackupVaultName=name,
                RecoveryPointArn=arn,
            )

    def ensure_absent(self) -> dict[str, Any]:
        if self.plan:
            if self.selection_id:
                self._call(
                    "delete the selection",
                    self.client.delete_backup_selection,
                    BackupPlanId=self.plan["BackupPlanId"],
                    SelectionId=self.selection_id,
                )
            self._call("delete the plan", self.client.delete_backup_plan, BackupPlanId=self.plan["BackupPlanId"])
        if not self.vault:
            return {"vault": {}, "plan": {}, "selection": {}}
        if self.recovery_points and not self.params["delete_recovery_points"]:
            self.kept_vault = True
            kept = {"name": self.vault["BackupVaultName"], "encryption_key_arn": self.vault.get("EncryptionKeyArn", "")}
            return {"vault": kept, "plan": {}, "selection": {}}
        if self.recovery_points:
            self._delete_recovery_points()
        self._call("delete the vault", self.client.delete_backup_vault, BackupVaultName=self.params["vault_name"])
        return {"vault": {}, "plan": {}, "selection": {}}


def main() -> None:
    argument_spec = dict(
        vault_name=dict(type="str", required=True),
        encryption_key_arn=dict(type="str", default=""),
        plan_name=dict(type="str", required=True),
        rules=dict(type="list", elements="dict", default=[]),
        selection=dict(type="dict", default={}),
        manage_selection=dict(type="bool", default=True),
        tags=dict(type="dict", default={}),
        delete_recovery_points=dict(type="bool", default=False),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    module = AnsibleAWSModule(argument_spec=argument_spec, supports_check_mode=True)
    if module.params["state"] == "present" and not module.params["rules"]:
        module.fail_json(msg="rules must name at least one rule")
    manager = BackupManager(module)
    before = manager.state()
    after = manager.ensure_present() if module.params["state"] == "present" else manager.ensure_absent()
    module.exit_json(
        changed=manager.changed,
        vault_arn=(manager.vault or {}).get("BackupVaultArn", ""),
        plan_id=(manager.plan or {}).get("BackupPlanId", "") if module.params["state"] == "present" else "",
        selection_request=module.params["selection"],
        recovery_points=manager.recovery_points,
        kept_vault=manager.kept_vault,
        diff=make_diff(before, after),
    )


if __name__ == "__main__":
    main()
