"""boto3 calls and comparisons behind the rds_db_instance module.

amazon.aws.rds_instance (10.x) has no ManageMasterUserPassword: it can only
send a password we would have to keep in the vault.  With the password managed
by RDS in Secrets Manager nobody ever sees it, and its rotation is AWS's job.
These wrap the RDS instance API with the project's retry policy; the pure
functions (summary, changes, requests) are unit tested without AWS.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.mediamind.platform.plugins.module_utils.common import aws_retry, dict_to_tags, tags_to_dict

READY_STATUSES = ("available", "storage-optimization", "backing-up")
DELETING = "deleting"

# Option name -> CreateDBInstance/ModifyDBInstance parameter, for settings
# ModifyDBInstance can change.
MODIFIABLE = {
    "db_instance_class": "DBInstanceClass",
    "engine_version": "EngineVersion",
    "allocated_storage": "AllocatedStorage",
    "max_allocated_storage": "MaxAllocatedStorage",
    "storage_type": "StorageType",
    "db_subnet_group_name": "DBSubnetGroupName",
    "vpc_security_group_ids": "VpcSecurityGroupIds",
    "db_parameter_group_name": "DBParameterGroupName",
    "publicly_accessible": "PubliclyAccessible",
    "backup_retention_period": "BackupRetentionPeriod",
    "preferred_backup_window": "PreferredBackupWindow",
    "preferred_maintenance_window": "PreferredMaintenanceWindow",
    "multi_az": "MultiAZ",
    "deletion_protection": "DeletionProtection",
    "auto_minor_version_upgrade": "AutoMinorVersionUpgrade",
    "copy_tags_to_snapshot": "CopyTagsToSnapshot",
    "enable_cloudwatch_logs_exports": "EnableCloudwatchLogsExports",
    "manage_master_user_password": "ManageMasterUserPassword",
}
# Settings only CreateDBInstance takes (or that need a replacement).
CREATE_ONLY = {
    "engine": "Engine",
    "db_name": "DBName",
    "master_username": "MasterUsername",
    "storage_encrypted": "StorageEncrypted",
    "kms_key_id": "KmsKeyId",
    "port": "Port",
    "master_user_secret_kms_key_id": "MasterUserSecretKmsKeyId",
}
# Create-only settings whose drift fails the run instead of warning.
SECURITY_CRITICAL = ("storage_encrypted",)


@aws_retry
def describe_db_instance(client, identifier: str) -> dict[str, Any] | None:
    try:
        found = client.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
    except client.exceptions.DBInstanceNotFoundFault:
        return None
    return found[0] if found else None


@aws_retry
def create_db_instance(client, request: dict[str, Any]) -> dict[str, Any]:
    return client.create_db_instance(**request)["DBInstance"]


@aws_retry
def modify_db_instance(client, request: dict[str, Any]) -> dict[str, Any]:
    return client.modify_db_instance(**request)["DBInstance"]


@aws_retry
def delete_db_instance(client, request: dict[str, Any]) -> None:
    client.delete_db_instance(**request)


def summary(db: dict[str, Any]) -> dict[str, Any]:
    """The instance's settings in the module's option names (pending values applied)."""
    endpoint = db.get("Endpoint") or {}
    secret = db.get("MasterUserSecret") or {}
    subnet_group = db.get("DBSubnetGroup") or {}
    params = db.get("DBParameterGroups") or [{}]
    result = {
        "db_instance_identifier": db.get("DBInstanceIdentifier"),
        "arn": db.get("DBInstanceArn"),
        "status": db.get("DBInstanceStatus"),
        "engine": db.get("Engine"),
        "engine_version": db.get("EngineVersion"),
        "db_instance_class": db.get("DBInstanceClass"),
        "db_name": db.get("DBName"),
        "master_username": db.get("MasterUsername"),
        "allocated_storage": db.get("AllocatedStorage"),
        "max_allocated_storage": db.get("MaxAllocatedStorage"),
        "storage_type": db.get("StorageType"),
        "storage_encrypted": db.get("StorageEncrypted"),
        "kms_key_id": db.get("KmsKeyId"),
        "db_subnet_group_name": subnet_group.get("DBSubnetGroupName"),
        "vpc_security_group_ids": sorted(
            sg["VpcSecurityGroupId"] for sg in db.get("VpcSecurityGroups") or [] if sg.get("Status") != "removing"
        ),
        "db_parameter_group_name": params[0].get("DBParameterGroupName"),
        "parameter_apply_status": params[0].get("ParameterApplyStatus"),
        "publicly_accessible": db.get("PubliclyAccessible"),
        "backup_retention_period": db.get("BackupRetentionPeriod"),
        "preferred_backup_window": db.get("PreferredBackupWindow"),
        "preferred_maintenance_window": db.get("PreferredMaintenanceWindow"),
        "multi_az": db.get("MultiAZ"),
        "deletion_protection": db.get("DeletionProtection"),
        "auto_minor_version_upgrade": db.get("AutoMinorVersionUpgrade"),
        "copy_tags_to_snapshot": db.get("CopyTagsToSnapshot"),
        "enable_cloudwatch_logs_exports": sorted(db.get("EnabledCloudwatchLogsExports") or []),
        "manage_master_user_password": bool(secret),
        "master_user_secret_arn": secret.get("SecretArn"),
        "master_user_secret_kms_key_id": secret.get("KmsKeyId"),
        "port": endpoint.get("Port") or db.get("DbInstancePort"),
        "endpoint": endpoint.get("Address"),
        "tags": tags_to_dict(db.get("TagList")),
    }
    # A modification AWS accepted but applies later (maintenance window, or
    # still in progress) is not a difference: comparing against the pending
    # value keeps a second run from sending it again.
    pending = db.get("PendingModifiedValues") or {}
    for option, field in MODIFIABLE.items():
        if field in pending:
            result[option] = pending[field]
    if "PendingCloudwatchLogsExports" in pending:
        exports = pending["PendingCloudwatchLogsExports"]
        logs = set(result["enable_cloudwatch_logs_exports"]) | set(exports.get("LogTypesToEnable") or [])
        result["enable_cloudwatch_logs_exports"] = sorted(logs - set(exports.get("LogTypesToDisable") or []))
    return result


def wanted(params: dict[str, Any]) -> dict[str, Any]:
    result = {key: params.get(key) for key in (*MODIFIABLE, *CREATE_ONLY)}
    for key in ("vpc_security_group_ids", "enable_cloudwatch_logs_exports"):
        value = result[key]
        if value is not None:
            result[key] = sorted(value)
    return result


def _same(key: str, have: Any, want: Any) -> bool:
    if key == "engine_version":
        # "17" or "17.4" asks for that major/minor; RDS reports the exact one,
        # and automatic minor upgrades move it forward: never a difference.
        return have is not None and (have == want or str(have).startswith(f"{want}."))
    if key in ("kms_key_id", "master_user_secret_kms_key_id"):
        # Key id, alias or ARN of the same key: compare the tail only.
        return bool(have) and (str(have).endswith(str(want)) or str(want).endswith(str(have)))
    return have == want


def changes(current: dict[str, Any], want: dict[str, Any], keys) -> dict[str, Any]:
    """{option: wanted value} for every managed option (not None) that differs."""
    return {
        key: want[key]
        for key in keys
        if want.get(key) is not None and key in current and not _same(key, current[key], want[key])
    }


def create_request(params: dict[str, Any]) -> dict[str, Any]:
    request: dict[str, Any] = {"DBInstanceIdentifier": params["db_instance_identifier"]}
    for option, field in {**MODIFIABLE, **CREATE_ONLY}.items():
        value = params.get(option)
        if value is not None and value != []:
            request[field] = value
    if params.get("tags"):
        request["Tags"] = dict_to_tags(params["tags"])
    return request


def modify_request(identifier: str, diff: dict[str, Any], current: dict[str, Any], apply_now: bool) -> dict:
    request: dict[str, Any] = {"DBInstanceIdentifier": identifier, "ApplyImmediately": apply_now}
    for option, value in diff.items():
        if option == "enable_cloudwatch_logs_exports":
            have = set(current.get(option) or [])
            request["CloudwatchLogsExportConfiguration"] = {
                "EnableLogTypes": sorted(set(value) - have),
                "DisableLogTypes": sorted(have - set(value)),
            }
        else:
            request[MODIFIABLE[option]] = value
    if "engine_version" in diff:
        # A new major version is a deliberate change of the inventory.
        request["AllowMajorVersionUpgrade"] = True
    return request


# --------------------------------------------------------------------------- parameter groups


@aws_retry
def describe_parameter_group(client, name: str) -> dict[str, Any] | None:
    """The group, or None.

    AWS answers DBParameterGroupNotFound for an unknown name; moto 5.2 answers
    an empty list instead (which breaks amazon.aws.rds_instance_param_group):
    both mean "absent" here.
    """
    try:
        groups = client.describe_db_parameter_groups(DBParameterGroupName=name)["DBParameterGroups"]
    except client.exceptions.DBParameterGroupNotFoundFault:
        return None
    return groups[0] if groups else None


@aws_retry
def describe_parameters(client, name: str) -> dict[str, dict[str, Any]]:
    """{name: parameter} of every parameter the group reports (all pages)."""
    paginator = client.get_paginator("describe_db_parameters")
    result = {}
    for page in paginator.paginate(DBParameterGroupName=name):
        for parameter in page["Parameters"]:
            result[parameter["ParameterName"]] = parameter
    return result


def parameter_changes(current: dict[str, dict[str, Any]], want: dict[str, str]) -> list[dict[str, str]]:
    """ModifyDBParameterGroup entries for the wanted values that differ.

    Dynamic parameters apply immediately; static ones (or ones whose type the
    API did not report) at the next reboot, which AWS accepts for both.
    """
    out = []
    for name, value in sorted(want.items()):
        have = current.get(name, {})
        if have.get("ParameterValue") == str(value):
            continue
        method = "immediate" if have.get("ApplyType") == "dynamic" else "pending-reboot"
        out.append({"ParameterName": name, "ParameterValue": str(value), "ApplyMethod": method})
    return out
