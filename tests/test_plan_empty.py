"""make plan on an empty account: the whole site.yml runs in check mode to the end, reports what
it would create, and creates nothing (read back from a fresh emulator of its own); without
outputs/<env>.json yet (a fresh clone) its summary is the change table from the counts."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from conftest import private_stack, stack_env

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def empty_stack() -> Iterator[dict[str, str]]:
    with private_stack("plan", 5700) as settings:
        yield stack_env(settings)


def test_plan_on_an_empty_account_reports_and_creates_nothing(empty_stack: dict[str, str], tmp_path: Path) -> None:
    # As `make plan` runs it, on a clone that has never deployed (no outputs file).
    outputs, changes = tmp_path / "local.json", tmp_path / "plan-local.json"
    env = {**os.environ, **empty_stack, "MM_CHANGES_FILE": str(changes), "MM_OUTPUTS_FILE": str(outputs)}
    # summary.yml writes outputs/<env>.json only in a real run: this dry run leaves it alone.
    result = subprocess.run(
        [str(ROOT / "tools/playbook.sh"), "local", "playbooks/site.yml", "--check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    (tmp_path / "plan.log").write_text(result.stdout)
    assert result.returncode == 0, result.stdout[-3000:]
    recap = dict(re.findall(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", result.stdout, re.M))
    assert int(recap["mediamind-platform"]) > 0, "the plan shows nothing to create on an empty account"
    assert "the function, its role, security group, log group, failure queue" in result.stdout

    table = subprocess.run(
        [sys.executable, "tools/summary.py", str(outputs), "--changes", str(changes)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.splitlines()
    assert table[0] == "local: not deployed yet (no outputs/local.json): dry run, nothing changed"
    states = dict(line.split(None, 1) for line in table[2:-1])
    assert re.fullmatch(r"would create \(\d+ tasks?\)", states["vpc"]), table
    assert re.fullmatch(r"would create \(\d+ tasks?\)", states["lambda_chatbot"]), table
    assert not [s for s in states.values() if "update" in s], table

    aws = {"endpoint_url": env["AWS_ENDPOINT_URL"], "region_name": "eu-central-1"}
    aws |= {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
    assert [v for v in boto3.client("ec2", **aws).describe_vpcs()["Vpcs"] if not v["IsDefault"]] == []
    assert boto3.client("s3", **aws).list_buckets()["Buckets"] == []
    assert boto3.client("lambda", **aws).list_functions()["Functions"] == []
    assert boto3.client("ecs", **aws).list_clusters()["clusterArns"] == []
    assert boto3.client("secretsmanager", **aws).list_secrets()["SecretList"] == []
    assert boto3.client("elbv2", **aws).describe_load_balancers()["LoadBalancers"] == []
