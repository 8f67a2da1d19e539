"""teardown.yml stops when it should: a platform host's failure (RDS deletion protection)
stops every host before services, file systems, log groups or backups go; what it deletes
(alarms and backups included) is listed before the first deletion; production's data
stores stay without confirm_delete_data, and so do their backup vault, plan and selection.

moto 5.2 has vaults and plans but no backup selections: the tests watch the plan."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import boto3
import pytest

from . import recorder

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def _aws(stack: dict[str, str], service: str):
    return boto3.client(
        service,
        endpoint_url=stack["AWS_ENDPOINT_URL"],
        region_name="eu-central-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _teardown(stack: dict[str, str], *extra: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    recorder.start(stack["AWS_ENDPOINT_URL"])
    result = subprocess.run(
        [str(ROOT / "tools/playbook.sh"), "local", "playbooks/teardown.yml", *extra],
        cwd=ROOT,
        env={**os.environ, **stack, "ANSIBLE_NOCOLOR": "1"},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    return result, recorder.calls(stack["AWS_ENDPOINT_URL"])


def _database(stack: dict[str, str], protected: bool) -> None:
    _aws(stack, "rds").create_db_instance(
        DBInstanceIdentifier="mediamind",
        DBInstanceClass="db.t4g.micro",
        Engine="postgres",
        MasterUsername="mediamind",
        MasterUserPassword="not-a-secret-0",
        AllocatedStorage=20,
        DeletionProtection=protected,
    )


def _service(stack: dict[str, str]) -> None:
    _aws(stack, "ecs").create_cluster(clusterName="mediamind")
    _aws(stack, "ecs").register_task_definition(
        family="mediamind-service", containerDefinitions=[{"name": "mediamind-service", "image": "x", "memory": 512}]
    )
    _aws(stack, "ecs").create_service(
        cluster="mediamind", serviceName="mediamind-service", taskDefinition="mediamind-service", desiredCount=0
    )
    _aws(stack, "logs").create_log_group(logGroupName="/ecs/mediamind-service")


def _backups(stack: dict[str, str], prefix: str) -> None:
    backup = _aws(stack, "backup")
    backup.create_backup_vault(BackupVaultName=prefix)
    rule = {"RuleName": "daily", "TargetBackupVaultName": prefix, "ScheduleExpression": "cron(0 3 * * ? *)"}
    backup.create_backup_plan(BackupPlan={"BackupPlanName": f"{prefix}-daily", "Rules": [rule]})


def _plans(stack: dict[str, str]) -> list[str]:
    return [p["BackupPlanName"] for p in _aws(stack, "backup").list_backup_plans()["BackupPlansList"]]


def _cleanup(stack: dict[str, str]) -> None:
    backup = _aws(stack, "backup")
    for plan in backup.list_backup_plans()["BackupPlansList"]:
        backup.delete_backup_plan(BackupPlanId=plan["BackupPlanId"])
    for vault in backup.list_backup_vaults()["BackupVaultList"]:
        backup.delete_backup_vault(BackupVaultName=vault["BackupVaultName"])
    rds = _aws(stack, "rds")
    for db in rds.describe_db_instances()["DBInstances"]:
        rds.modify_db_instance(DBInstanceIdentifier=db["DBInstanceIdentifier"], DeletionProtection=False)
        rds.delete_db_instance(DBInstanceIdentifier=db["DBInstanceIdentifier"], SkipFinalSnapshot=True)
    ecs = _aws(stack, "ecs")
    for arn in ecs.list_services(cluster="mediamind")["serviceArns"] if ecs.list_clusters()["clusterArns"] else []:
        ecs.delete_service(cluster="mediamind", service=arn, force=True)
    for group in _aws(stack, "logs").describe_log_groups()["logGroups"]:
        _aws(stack, "logs").delete_log_group(logGroupName=group["logGroupName"])
    s3 = _aws(stack, "s3")
    for bucket in s3.list_buckets()["Buckets"]:
        s3.delete_bucket(Bucket=bucket["Name"])


def test_a_failed_platform_host_stops_the_teardown_before_anything_else_goes(guard_stack: dict[str, str]) -> None:
    _database(guard_stack, protected=True)
    _service(guard_stack)
    _backups(guard_stack, "mediamind-local")
    try:
        result, calls = _teardown(guard_stack, "-e", "rds_deletion_protection=true")
        output = result.stdout + result.stderr
        assert result.returncode != 0, output[-3000:]
        assert "Remove the PostgreSQL instance" in output
        # Listed before the first deletion (the alarms'), naming the alarms and the backups.
        assert output.index("deletes: alarms mediamind-local-* and their topic; chatbot Lambda") < output.index(
            "Delete every alarm under the prefix"
        )
        folded = " ".join(output.split())
        assert (
            "backup plan mediamind-local-daily with its selection, vault mediamind-local with its recovery points"
            in folded
        )
        # The database was not deleted: its backups stay (they go only after the data stores).
        assert not [c for c in calls if c.startswith("backup:") and not c.startswith("backup:GET")], calls
        assert _plans(guard_stack) == ["mediamind-local-daily"]
        # Nothing of the service hosts ran after the platform host failed. The one ECS
        # call is the database bootstrap's own teardown, which runs before the database
        # (its group's egress names the database's group): it lists its family's revisions.
        assert not [
            c
            for c in calls
            if c.startswith(("ecs:", "elasticfilesystem:", "logs:Delete")) and c != "ecs:ListTaskDefinitions"
        ], calls
        assert (
            _aws(guard_stack, "ecs").describe_services(cluster="mediamind", services=["mediamind-service"])["services"][
                0
            ]["status"]
            == "ACTIVE"
        )
        assert [g["logGroupName"] for g in _aws(guard_stack, "logs").describe_log_groups()["logGroups"]] == [
            "/ecs/mediamind-service"
        ]
    finally:
        _cleanup(guard_stack)


def test_production_keeps_its_data_stores_without_the_second_confirmation(guard_stack: dict[str, str]) -> None:
    _database(guard_stack, protected=False)
    _aws(guard_stack, "s3").create_bucket(
        Bucket="eutop-mediamind", CreateBucketConfiguration={"LocationConstraint": "eu-central-1"}
    )
    _backups(guard_stack, "mediamind-production")
    try:
        # The local inventory dressed as production (its cross-field rules too).
        production = json.dumps(
            {
                "mediamind_env": "production",
                "confirm_teardown": "production",
                "elasticache_automatic_failover": True,
                "elasticache_multi_az": True,
                "elasticache_num_cache_clusters": 2,
            }
        )
        result, calls = _teardown(guard_stack, "-e", production)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-3000:]
        output = " ".join(output.split())  # the YAML callback folds long lines
        assert "keeps: Qdrant mediamind-qdrant and its file system (EFS); PostgreSQL mediamind (RDS)" in output
        assert "to delete the data stores too, add -e confirm_delete_data=production" in output
        keeps = output.partition("keeps: ")[2]
        assert (
            "backup vault mediamind-production, plan mediamind-production-daily and its selection"
            " (the kept data stays backed up)" in keeps
        ), output[-3000:]
        assert output.index("keeps: ") < output.index("Delete every alarm under the prefix")
        assert not [c for c in calls if c.startswith(("rds:Delete", "elasticfilesystem:Delete", "s3:DELETE"))], calls
        # The kept data stays backed up: no call of the teardown changed AWS Backup.
        assert not [c for c in calls if c.startswith("backup:") and not c.startswith("backup:GET")], calls
        assert _plans(guard_stack) == ["mediamind-production-daily"]
        assert _aws(guard_stack, "rds").describe_db_instances()["DBInstances"][0]["DBInstanceStatus"] == "available"
        assert [b["Name"] for b in _aws(guard_stack, "s3").list_buckets()["Buckets"]] == ["eutop-mediamind"]
    finally:
        _cleanup(guard_stack)
