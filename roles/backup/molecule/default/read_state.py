"""Prints the scenario's vault, plan, role and key as JSON, read from the emulator.

Endpoint and credentials come from the environment, as in the other scenarios.
"""

import json

import boto3

bk, iam, kms = (boto3.client(s) for s in ("backup", "iam", "kms"))
vault = bk.describe_backup_vault(BackupVaultName="molecule-bk")
plan_id = next(
    p["BackupPlanId"] for p in bk.list_backup_plans()["BackupPlansList"] if p["BackupPlanName"] == "molecule-bk-daily"
)
plan = bk.get_backup_plan(BackupPlanId=plan_id)["BackupPlan"]
key_id = next(a["TargetKeyId"] for a in kms.list_aliases()["Aliases"] if a["AliasName"] == "alias/molecule-bk-backup")
role = iam.get_role(RoleName="molecule-bk-backup")["Role"]
print(
    json.dumps(
        {
            "vault_key": vault.get("EncryptionKeyArn", ""),
            "vault_tags": bk.list_tags(ResourceArn=vault["BackupVaultArn"]).get("Tags", {}),
            "plan": plan,
            "key_arn": kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"],
            "trust": role["AssumeRolePolicyDocument"],
            "policy": iam.get_role_policy(RoleName="molecule-bk-backup", PolicyName="molecule-bk-backup")[
                "PolicyDocument"
            ],
            "attached": iam.list_attached_role_policies(RoleName="molecule-bk-backup")["AttachedPolicies"],
        },
        default=str,
    )
)
