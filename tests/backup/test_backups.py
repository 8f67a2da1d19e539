"""What moto 5.2 cannot show of AWS Backup, on botocore's Stubber (each request checked
against the API model and the expected parameters): `make backups` (tools/ops.py backups)
over a vault's recovery points, and backup_protection's absent state on a vault that holds
some (kept and reported, or deleted with its points when asked). moto has vaults and plans
but no selections, no recovery points and no ListRecoveryPointsByBackupVault."""

from __future__ import annotations

import argparse
import datetime
from collections.abc import Iterator
from typing import Any

import boto3
import ops
import pytest
from ansible_collections.mediamind.platform.plugins.modules import backup_protection
from botocore.stub import Stubber

VAULT = "mediamind-production"
PLAN_ID = "plan-1"
DB = "arn:aws:rds:eu-central-1:123456789012:db:mediamind"
EFS = "arn:aws:elasticfilesystem:eu-central-1:123456789012:file-system/fs-1"
OUTPUTS = {
    "environment": "production",
    "region": "eu-central-1",
    "components": {"mediamind-platform": {"backup": {"vault_name": VAULT, "plan_name": f"{VAULT}-daily"}}},
}


@pytest.fixture
def backup() -> Iterator[tuple[Any, Stubber]]:
    client = boto3.client(
        "backup", region_name="eu-central-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    with Stubber(client) as stub:
        yield client, stub
        stub.assert_no_pending_responses()


def _point(resource: str, day: int, status: str = "COMPLETED") -> dict[str, Any]:
    return {
        "RecoveryPointArn": f"arn:aws:backup:eu-central-1:123456789012:recovery-point:{resource[-5:]}-{day}",
        "ResourceArn": resource,
        "CreationDate": datetime.datetime(2026, 3, day, 3, 5, tzinfo=datetime.UTC),
        "Status": status,
    }


# --------------------------------------------------------------------------- make backups


def test_backups_lists_the_latest_points_per_resource_newest_first(backup, monkeypatch) -> None:
    client, stub = backup
    monkeypatch.setattr(ops, "client", lambda service, outputs: client)
    # Two pages: the listing follows NextToken.
    stub.add_response(
        "list_recovery_points_by_backup_vault",
        {"RecoveryPoints": [_point(DB, 1), _point(EFS, 2), _point(DB, 3)], "NextToken": "t"},
        {"BackupVaultName": VAULT},
    )
    stub.add_response(
        "list_recovery_points_by_backup_vault",
        {"RecoveryPoints": [_point(DB, 2), _point(DB, 4, "PARTIAL")]},
        {"BackupVaultName": VAULT, "NextToken": "t"},
    )
    lines = ops.backups(OUTPUTS, argparse.Namespace(limit_points=3))
    assert lines[0] == f"vault {VAULT}: 5 recovery point(s), daily plan {VAULT}-daily"
    # Resources in ARN order, each with its newest points first, at most --limit-points of them.
    assert lines[1] == f"  {EFS}"
    assert lines[2].split()[:4] == ["2026-03-02", "03:05", "UTC", "COMPLETED"]
    assert lines[3] == f"  {DB}"
    assert [line.split()[:4] for line in lines[4:]] == [
        ["2026-03-04", "03:05", "UTC", "PARTIAL"],
        ["2026-03-03", "03:05", "UTC", "COMPLETED"],
        ["2026-03-02", "03:05", "UTC", "COMPLETED"],
    ]  # the oldest DB point (day 1) is past the limit


def test_backups_names_the_vault_when_aws_refuses_the_listing(backup, monkeypatch, capsys) -> None:
    client, stub = backup
    monkeypatch.setattr(ops, "client", lambda service, outputs: client)
    monkeypatch.setattr(ops, "load_outputs", lambda env: OUTPUTS)
    stub.add_client_error("list_recovery_points_by_backup_vault", "AccessDeniedException", "not allowed", 403)
    assert ops.main(["backups", "--env", "production"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"error: could not list the recovery points of vault {VAULT}:"), err
    assert "AccessDeniedException" in err[0]


def test_backups_refuses_an_environment_without_a_vault() -> None:
    # A torn-down environment publishes vault_name '' (nothing kept).
    outputs = {**OUTPUTS, "components": {"mediamind-platform": {"backup": {"vault_name": ""}}}}
    with pytest.raises(ops.OpsError, match="no backup vault"):
        ops.backups(outputs, argparse.Namespace(limit_points=3))


# --------------------------------------------------------------------------- backup_protection absent


class FakeModule:
    """What BackupManager uses of AnsibleAWSModule: params, check_mode, client(), fail_json_aws()."""

    def __init__(self, client: Any, check_mode: bool = False, **params: Any) -> None:
        self.params = {
            "vault_name": VAULT,
            "plan_name": f"{VAULT}-daily",
            "selection": {"SelectionName": "mediamind-production-tagged", "IamRoleArn": "arn:aws:iam::1:role/r"},
            "manage_selection": True,
            "delete_recovery_points": False,
            "state": "absent",
            **params,
        }
        self.check_mode = check_mode
        self._client = client

    def client(self, service: str) -> Any:
        assert service == "backup"
        return self._client

    def fail_json_aws(self, exc: Exception, msg: str) -> None:
        raise AssertionError(f"{msg}: {exc}")


def _expect_describe(stub: Stubber, points: int) -> None:
    """The manager's one read of vault, plan and selection."""
    stub.add_response(
        "describe_backup_vault",
        {"BackupVaultName": VAULT, "BackupVaultArn": f"arn:aws:backup:::{VAULT}", "NumberOfRecoveryPoints": points},
        {"BackupVaultName": VAULT},
    )
    stub.add_response(
        "list_backup_plans", {"BackupPlansList": [{"BackupPlanName": f"{VAULT}-daily", "BackupPlanId": PLAN_ID}]}, {}
    )
    rule = {"RuleName": "daily", "TargetBackupVaultName": VAULT, "ScheduleExpression": "cron(0 3 * * ? *)"}
    stub.add_response(
        "get_backup_plan",
        {"BackupPlanId": PLAN_ID, "BackupPlan": {"BackupPlanName": f"{VAULT}-daily", "Rules": [rule]}},
        {"BackupPlanId": PLAN_ID},
    )
    stub.add_response(
        "list_backup_selections",
        {"BackupSelectionsList": [{"SelectionName": "mediamind-production-tagged", "SelectionId": "sel-1"}]},
        {"BackupPlanId": PLAN_ID},
    )
    stub.add_response(
        "get_backup_selection",
        {"BackupSelection": {"SelectionName": "mediamind-production-tagged", "IamRoleArn": "arn:aws:iam::1:role/r"}},
        {"BackupPlanId": PLAN_ID, "SelectionId": "sel-1"},
    )


def _expect_plan_deleted(stub: Stubber) -> None:
    stub.add_response("delete_backup_selection", {}, {"BackupPlanId": PLAN_ID, "SelectionId": "sel-1"})
    stub.add_response("delete_backup_plan", {"BackupPlanId": PLAN_ID}, {"BackupPlanId": PLAN_ID})


def test_absent_keeps_a_vault_that_holds_recovery_points_and_reports_them(backup) -> None:
    client, stub = backup
    _expect_describe(stub, points=4)
    _expect_plan_deleted(stub)  # and nothing after it: no DeleteRecoveryPoint, no DeleteBackupVault
    manager = backup_protection.BackupManager(FakeModule(client))
    after = manager.ensure_absent()
    assert manager.changed
    assert manager.kept_vault
    assert manager.recovery_points == 4
    assert after == {"vault": {"name": VAULT, "encryption_key_arn": ""}, "plan": {}, "selection": {}}


def test_absent_in_check_mode_sends_nothing_and_still_reports_the_kept_points(backup) -> None:
    client, stub = backup
    _expect_describe(stub, points=4)
    manager = backup_protection.BackupManager(FakeModule(client, check_mode=True))
    manager.ensure_absent()
    assert manager.changed
    assert manager.kept_vault
    assert manager.recovery_points == 4


def test_absent_deletes_the_points_then_the_vault_only_when_asked(backup) -> None:
    client, stub = backup
    _expect_describe(stub, points=2)
    _expect_plan_deleted(stub)
    points = [_point(DB, 1), _point(EFS, 1)]
    stub.add_response("list_recovery_points_by_backup_vault", {"RecoveryPoints": points}, {"BackupVaultName": VAULT})
    for point in points:
        stub.add_response(
            "delete_recovery_point", {}, {"BackupVaultName": VAULT, "RecoveryPointArn": point["RecoveryPointArn"]}
        )
    stub.add_response("delete_backup_vault", {}, {"BackupVaultName": VAULT})
    manager = backup_protection.BackupManager(FakeModule(client, delete_recovery_points=True))
    assert manager.ensure_absent() == {"vault": {}, "plan": {}, "selection": {}}
    assert not manager.kept_vault
