"""Pure parts of the data roles' modules: mm_elasticache and mm_rds (no AWS needed)."""

from __future__ import annotations

import pytest
from ansible_collections.mediamind.platform.plugins.module_utils import elasticache as ec
from ansible_collections.mediamind.platform.plugins.module_utils import rds
from hypothesis import given
from hypothesis import strategies as st

TOKEN = "token-0123456789abcdef"


def ec_params(**over) -> dict:
    params = {
        "replication_group_id": "mediamind",
        "description": "cache",
        "engine": "valkey",
        "engine_version": "8.0",
        "cache_node_type": "cache.t4g.small",
        "num_cache_clusters": 2,
        "automatic_failover": True,
        "multi_az": True,
        "cache_subnet_group_name": "mediamind",
        "security_group_ids": ["sg-b", "sg-a"],
        "transit_encryption": True,
        "at_rest_encryption": True,
        "kms_key_id": None,
        "auth_token": TOKEN,
        "port": 6379,
        "snapshot_retention_limit": 7,
        "snapshot_window": "03:00-04:00",
        "auto_minor_version_upgrade": True,
    }
    params.update(over)
    return params


AWS_GROUP = {
    "ReplicationGroupId": "mediamind",
    "ARN": "arn:aws:elasticache:eu-central-1:123456789012:replicationgroup:mediamind",
    "Status": "available",
    "Description": "cache",
    "Engine": "valkey",
    "CacheNodeType": "cache.t4g.small",
    "MemberClusters": ["mediamind-001", "mediamind-002"],
    "NodeGroups": [
        {
            "PrimaryEndpoint": {"Address": "master.mediamind.x.euc1.cache.amazonaws.com", "Port": 6379},
            "ReaderEndpoint": {"Address": "replica.mediamind.x.euc1.cache.amazonaws.com", "Port": 6379},
        }
    ],
    "AutomaticFailover": "enabled",
    "MultiAZ": "enabled",
    "SnapshotRetentionLimit": 7,
    "SnapshotWindow": "03:00-04:00",
    "AutoMinorVersionUpgrade": True,
    "TransitEncryptionEnabled": True,
    "AtRestEncryptionEnabled": True,
    "AuthTokenEnabled": True,
}
AWS_MEMBER = {
    "SecurityGroups": [
        {"SecurityGroupId": "sg-a", "Status": "active"},
        {"SecurityGroupId": "sg-b", "Status": "active"},
    ],
    "EngineVersion": "8.0.1",
    "CacheSubnetGroupName": "mediamind",
}


# --------------------------------------------------------------------------- elasticache


def test_create_request_is_a_tls_replication_group_with_every_node() -> None:
    request = ec.create_request(ec_params(), {"Project": "mediamind"})
    assert request["NumCacheClusters"] == 2  # moto ignores it; AWS makes a primary and a replica
    assert request["TransitEncryptionEnabled"] is True
    assert request["AtRestEncryptionEnabled"] is True
    assert request["AutomaticFailoverEnabled"] is True
    assert request["MultiAZEnabled"] is True
    assert request["AuthToken"] == TOKEN
    assert request["Tags"] == [{"Key": "Project", "Value": "mediamind"}]
    assert "KmsKeyId" not in request  # unset options are not sent


def test_the_token_never_leaves_the_module_in_a_request() -> None:
    shown = ec.redact(ec.create_request(ec_params(), {}))
    assert TOKEN not in repr(shown)
    assert shown["AuthToken"] == "********"


def test_a_converged_group_has_no_changes() -> None:
    current = ec.summary(AWS_GROUP, AWS_MEMBER)
    want = ec.wanted(ec_params())
    assert ec.changes(current, want, ec.MODIFIABLE) == {}
    assert ec.changes(current, want, ec.CREATE_ONLY) == {}  # "8.0" matches 8.0.1
    assert TOKEN not in repr(current)


def test_settings_the_api_did_not_return_are_not_compared() -> None:
    # moto: no member clusters, so no security groups or engine version.
    current = ec.summary(AWS_GROUP, None)
    want = ec.wanted(ec_params(security_group_ids=["sg-other"], engine_version="7.1"))
    assert ec.changes(current, want, ec.MODIFIABLE) == {}
    assert ec.changes(current, want, ec.CREATE_ONLY) == {}


def test_a_modification_becomes_a_modify_request() -> None:
    current = ec.summary(AWS_GROUP, AWS_MEMBER)
    want = ec.wanted(ec_params(cache_node_type="cache.t4g.medium", security_group_ids=["sg-c"]))
    diff = ec.changes(current, want, ec.MODIFIABLE)
    assert diff == {"cache_node_type": "cache.t4g.medium", "security_group_ids": ["sg-c"]}
    request = ec.modify_request("mediamind", diff, apply_immediately=True)
    assert request == {
        "ReplicationGroupId": "mediamind",
        "ApplyImmediately": True,
        "CacheNodeType": "cache.t4g.medium",
        "SecurityGroupIds": ["sg-c"],
    }


def test_encryption_drift_is_a_security_critical_create_only_change() -> None:
    current = ec.summary({**AWS_GROUP, "TransitEncryptionEnabled": False}, AWS_MEMBER)
    drift = ec.changes(current, ec.wanted(ec_params()), ec.CREATE_ONLY)
    assert set(drift) & set(ec.SECURITY_CRITICAL) == {"transit_encryption"}


@pytest.mark.parametrize(("value", "enabled"), [("enabled", True), ("enabling", True), ("disabled", False)])
def test_failover_states(value: str, enabled: bool) -> None:
    assert ec.summary({**AWS_GROUP, "AutomaticFailover": value})["automatic_failover"] is enabled


# --------------------------------------------------------------------------- rds

AWS_DB = {
    "DBInstanceIdentifier": "mediamind",
    "DBInstanceArn": "arn:aws:rds:eu-central-1:123456789012:db:mediamind",
    "DBInstanceStatus": "available",
    "Engine": "postgres",
    "EngineVersion": "17.4",
    "DBInstanceClass": "db.t4g.micro",
    "StorageEncrypted": True,
    "PubliclyAccessible": False,
    "BackupRetentionPeriod": 7,
    "EnabledCloudwatchLogsExports": ["upgrade", "postgresql"],
    "VpcSecurityGroups": [{"VpcSecurityGroupId": "sg-1", "Status": "active"}],
    "DBParameterGroups": [{"DBParameterGroupName": "mediamind-postgres17", "ParameterApplyStatus": "in-sync"}],
    "DBSubnetGroup": {"DBSubnetGroupName": "mediamind"},
    "MasterUserSecret": {"SecretArn": "arn:aws:secretsmanager:eu-central-1:123456789012:secret:rds!db-1"},
    "Endpoint": {"Address": "mediamind.x.eu-central-1.rds.amazonaws.com", "Port": 5432},
    "TagList": [],
}


def rds_params(**over) -> dict:
    params = dict.fromkeys((*rds.MODIFIABLE, *rds.CREATE_ONLY))
    params.update(
        db_instance_identifier="mediamind",
        engine="postgres",
        engine_version="17",
        db_instance_class="db.t4g.micro",
        storage_encrypted=True,
        publicly_accessible=False,
        backup_retention_period=7,
        enable_cloudwatch_logs_exports=["postgresql", "upgrade"],
        vpc_security_group_ids=["sg-1"],
        db_parameter_group_name="mediamind-postgres17",
        manage_master_user_password=True,
    )
    params.update(over)
    return params


def test_a_converged_instance_has_no_changes_and_a_minor_upgrade_is_kept() -> None:
    current = rds.summary(AWS_DB)
    assert current["master_user_secret_arn"].startswith("arn:aws:secretsmanager:")
    assert rds.changes(current, rds.wanted(rds_params()), rds.MODIFIABLE) == {}


def test_a_pending_modification_is_not_sent_again() -> None:
    db = {**AWS_DB, "PendingModifiedValues": {"DBInstanceClass": "db.t4g.small"}}
    want = rds.wanted(rds_params(db_instance_class="db.t4g.small"))
    assert rds.changes(rds.summary(db), want, rds.MODIFIABLE) == {}


def test_log_exports_are_modified_by_difference() -> None:
    db = {**AWS_DB, "EnabledCloudwatchLogsExports": ["upgrade"]}
    current = rds.summary(db)
    diff = rds.changes(current, rds.wanted(rds_params()), rds.MODIFIABLE)
    request = rds.modify_request("mediamind", diff, current, apply_now=True)
    assert request["CloudwatchLogsExportConfiguration"] == {"EnableLogTypes": ["postgresql"], "DisableLogTypes": []}


def test_create_request_asks_rds_to_manage_the_password() -> None:
    request = rds.create_request(rds_params(master_username="mediamind", allocated_storage=20))
    assert request["ManageMasterUserPassword"] is True
    assert "MasterUserPassword" not in request
    assert request["StorageEncrypted"] is True
    assert request["PubliclyAccessible"] is False


def test_parameter_changes_use_the_apply_type_the_api_reports() -> None:
    current = {
        "rds.force_ssl": {"ParameterValue": "0", "ApplyType": "dynamic"},
        "shared_buffers": {"ParameterValue": "1", "ApplyType": "static"},
    }
    updates = rds.parameter_changes(current, {"rds.force_ssl": "1", "shared_buffers": "2", "x": "3"})
    assert updates == [
        {"ParameterName": "rds.force_ssl", "ParameterValue": "1", "ApplyMethod": "immediate"},
        {"ParameterName": "shared_buffers", "ParameterValue": "2", "ApplyMethod": "pending-reboot"},
        {"ParameterName": "x", "ParameterValue": "3", "ApplyMethod": "pending-reboot"},
    ]
    assert rds.parameter_changes({"rds.force_ssl": {"ParameterValue": "1"}}, {"rds.force_ssl": 1}) == []


@given(
    have=st.lists(st.sampled_from(["postgresql", "upgrade", "iam-db-auth-error"]), unique=True),
    want=st.lists(st.sampled_from(["postgresql", "upgrade", "iam-db-auth-error"]), unique=True),
)
def test_log_export_request_reaches_the_wanted_set(have: list[str], want: list[str]) -> None:
    current = rds.summary({**AWS_DB, "EnabledCloudwatchLogsExports": have})
    diff = rds.changes(current, rds.wanted(rds_params(enable_cloudwatch_logs_exports=want)), rds.MODIFIABLE)
    if set(have) == set(want):
        assert "enable_cloudwatch_logs_exports" not in diff
        return
    config = rds.modify_request("x", diff, current, apply_now=True)["CloudwatchLogsExportConfiguration"]
    assert (set(have) | set(config["EnableLogTypes"])) - set(config["DisableLogTypes"]) == set(want)
