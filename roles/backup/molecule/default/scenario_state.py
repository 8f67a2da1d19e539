"""The backup scenario's vault, plan, role and key, read from the emulator (verify.yml asserts on them)."""

from __future__ import annotations

import state

VAULT, PLAN, ROLE, ALIAS = "molecule-bk", "molecule-bk-daily", "molecule-bk-backup", "alias/molecule-bk-backup"


def read() -> dict:
    bk, iam, kms = (state.client(s) for s in ("backup", "iam", "kms"))
    vault = bk.describe_backup_vault(BackupVaultName=VAULT)
    plan_id = next(p["BackupPlanId"] for p in bk.list_backup_plans()["BackupPlansList"] if p["BackupPlanName"] == PLAN)
    key_id = next(a["TargetKeyId"] for a in kms.list_aliases()["Aliases"] if a["AliasName"] == ALIAS)
    return {
        "vault_key": vault.get("EncryptionKeyArn", ""),
        "vault_tags": bk.list_tags(ResourceArn=vault["BackupVaultArn"]).get("Tags", {}),
        "plan": bk.get_backup_plan(BackupPlanId=plan_id)["BackupPlan"],
        "key_arn": kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"],
        "trust": state.trust_policy(ROLE),
        "policy": state.document(iam.get_role_policy(RoleName=ROLE, PolicyName=ROLE)["PolicyDocument"]),
        "attached": iam.list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"],
    }


if __name__ == "__main__":
    state.run(read)
