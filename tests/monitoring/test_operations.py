"""Alarms, `make status` and the deploy summary on a converged inventories/local.

moto 5.2 has no backup selections or recovery points: roles/backup/molecule checks
the selection request the role sends instead (roles/backup/molecule/default/vars/main.yml).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import yaml
from ansible_collections.mediamind.platform.plugins.filter import monitoring_alarms as alarms_filter

ROOT = Path(__file__).resolve().parents[2]
ALARM = "mediamind-local-rds-cpu-high-mediamind"


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


summary = _load(ROOT / "tools" / "summary.py", "summary")


def test_status_names_an_alarm_in_alarm_state(deployed_local) -> None:
    cloudwatch = boto3.client("cloudwatch")
    assert ALARM in deployed_local["components"]["mediamind-platform"]["monitoring"]["alarms"]
    cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="ALARM", StateReason="test: CPU at 99 %")
    try:
        result = subprocess.run(
            [sys.executable, "tools/ops.py", "status", "--env", "local"],
            cwd=ROOT,
            env=os.environ.copy(),
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
    finally:
        cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="OK", StateReason="test over")
    lines = [line for line in result.stdout.splitlines() if ALARM in line]
    assert lines, result.stdout
    assert lines[0].split()[0] == "ALARM"
    assert "docs/runbook.md#rds-cpu-high" in lines[0]


def test_every_alarm_notifies_on_alarm_and_on_ok_and_has_a_runbook_line(deployed_local) -> None:
    names = deployed_local["components"]["mediamind-platform"]["monitoring"]["alarms"]
    topic = deployed_local["components"]["mediamind-platform"]["monitoring"]["topic_arn"]
    found = boto3.client("cloudwatch").describe_alarms(AlarmNamePrefix="mediamind-local-")["MetricAlarms"]
    assert sorted(a["AlarmName"] for a in found) == sorted(names)
    runbook = (ROOT / "docs" / "runbook.md").read_text()
    for alarm in found:
        assert alarm["AlarmActions"] == [topic], alarm["AlarmName"]
        assert alarm["OKActions"] == [topic], alarm["AlarmName"]
        anchor = alarm["AlarmDescription"].rpartition("docs/runbook.md#")[2]
        assert f"\n## {anchor}\n" in runbook, f"{alarm['AlarmName']}: no runbook section {anchor}"


def test_summary_fits_one_screen_and_holds_the_dns_records(deployed_local) -> None:
    lines = summary.render(deployed_local)
    assert len(lines) <= 40, "\n".join(lines)
    text = "\n".join(lines)
    records = summary.dns_records(deployed_local)
    assert records, "no DNS record in outputs/local.json"
    for record in deployed_local["dns_records"]:
        assert record in records
    for record in records:
        assert any(line.split() == [record["name"], record["type"], *record["value"].split()] for line in lines), record
    alb = deployed_local["components"]["mediamind-platform"]["alb"]["dns_name"]
    assert f"load balancer: {alb}" in text
    assert "https://api.mediamind.csee.tech" in text


def test_the_deploy_summary_names_each_component_of_the_run_with_its_change(deployed_local, local_stack) -> None:
    """site.yml run as `make deploy` runs it (MM_CHANGES_FILE, MM_OUTPUTS_FILE): the callback's
    component names are the outputs' names, so every component gets one row and one state."""
    changes = json.loads((local_stack.log_dir / "deploy-changes.json").read_text())
    assert changes["check_mode"] is False
    assert isinstance(changes["deployed_before"], list)  # the snapshot of outputs/local.json before the run
    deployed = {name for comps in deployed_local["components"].values() for name in comps}
    assert deployed <= set(changes["components"]), deployed - set(changes["components"])
    rows = dict(summary.component_rows(deployed_local, changes))
    for name, state in rows.items():
        component = name.split(" x")[0]
        count = changes["components"][component]["changed"]
        if count == 0:
            assert state == "unchanged", (name, state)
        else:
            verb = "updated" if component in changes["deployed_before"] else "created"
            assert state == f"{verb} ({count} task{'s' if count != 1 else ''})", (name, state)


def test_make_outputs_reprints_without_aws(deployed_local) -> None:
    """tools/summary.py reads files only: with no reachable endpoint and no credentials it still prints."""
    outputs = ROOT / "outputs" / "local.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"
    result = subprocess.run(
        [sys.executable, "tools/summary.py", str(outputs)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert result.stdout.splitlines() == summary.render(deployed_local)
    assert "DNS records to create" in result.stdout


def test_the_daily_backup_plan_targets_the_encrypted_vault_and_the_tagged_stores(deployed_local) -> None:
    """The plan and vault as the emulator holds them. moto has no selections: the selection request
    the role computed is in the outputs, and the database and file system carry the tag it selects."""
    published = deployed_local["components"]["mediamind-platform"]["backup"]
    backup = boto3.client("backup")
    plans = [p for p in backup.list_backup_plans()["BackupPlansList"] if p["BackupPlanName"] == "mediamind-local-daily"]
    assert [p["BackupPlanId"] for p in plans] == [published["plan_id"]]
    (rule,) = backup.get_backup_plan(BackupPlanId=published["plan_id"])["BackupPlan"]["Rules"]
    assert rule["RuleName"] == "daily"
    assert rule["TargetBackupVaultName"] == "mediamind-local"
    assert rule["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert rule["Lifecycle"]["DeleteAfterDays"] == 1  # inventories/local: backup_retention_days
    vault = backup.describe_backup_vault(BackupVaultName="mediamind-local")
    key = boto3.client("kms").describe_key(KeyId="alias/mediamind-local-backup")["KeyMetadata"]
    assert vault["EncryptionKeyArn"] == key["Arn"]

    condition = published["selection_request"]["Conditions"]["StringEquals"]
    assert condition == [{"ConditionKey": "aws:ResourceTag/Backup", "ConditionValue": "mediamind-local-daily"}]
    rds = boto3.client("rds")
    db = rds.describe_db_instances(DBInstanceIdentifier="mediamind")["DBInstances"][0]
    assert {"Key": "Backup", "Value": "mediamind-local-daily"} in db["TagList"]
    file_systems = boto3.client("efs").describe_file_systems()["FileSystems"]
    tagged = [fs for fs in file_systems if {"Key": "Backup", "Value": "mediamind-local-daily"} in fs["Tags"]]
    assert len(tagged) == 1, file_systems


def test_missing_data_is_judged_per_metric() -> None:
    """A silent queue or mail flow is fine; a service or database that stops reporting is not."""
    defaults = (ROOT / "roles" / "monitoring" / "defaults" / "main.yml").read_text()
    settings = yaml.safe_load(defaults)["monitoring_alarm_settings"]
    targets = {"ecs_cluster": "c", "ecs_services": ["api"], "failure_queue_name": "q", "rds_instance_id": "db"}
    requests = {a["AlarmName"]: a for a in alarms_filter.monitoring_alarm_requests(targets, settings, "p", "arn:topic")}
    assert requests["p-chatbot-failure-queue-depth"]["TreatMissingData"] == "notBreaching"
    assert requests["p-ecs-running-below-desired-api"]["TreatMissingData"] == "breaching"
    assert requests["p-rds-cpu-high-db"]["TreatMissingData"] == "breaching"
    assert all(a["OKActions"] == ["arn:topic"] for a in requests.values())
