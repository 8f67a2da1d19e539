"""The account guard (playbooks/account_guard.yml): credentials of another account stop
deploy, plan, release and teardown before any change, naming both account ids.

The other account is real to the emulator: moto gives credentials from
sts:AssumeRole into account 210987654321 that account's identity, so the run's
GetCallerIdentity answers 210987654321 while the inventory expects moto's default.
The recording of every request the emulator received proves nothing was written.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import boto3
import pytest
import yaml

from . import recorder

ROOT = Path(__file__).resolve().parents[2]
OTHER_ACCOUNT = "210987654321"

pytestmark = pytest.mark.slow


def _other_account_defaults(endpoint: str) -> dict[str, str]:
    sts = boto3.client(
        "sts",
        endpoint_url=endpoint,
        region_name="eu-central-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{OTHER_ACCOUNT}:role/stray-profile", RoleSessionName="guard")[
        "Credentials"
    ]
    return {
        "region": "eu-central-1",
        "endpoint_url": endpoint,
        "access_key": creds["AccessKeyId"],
        "secret_key": creds["SecretAccessKey"],
        "session_token": creds["SessionToken"],
    }


@pytest.mark.parametrize(
    "playbook",
    [
        ["playbooks/site.yml"],
        ["playbooks/site.yml", "--check", "--diff"],
        ["playbooks/release.yml", "-e", "release_service=mediamind-service", "-e", "release_tag=v1"],
        ["playbooks/teardown.yml"],
    ],
    ids=["deploy", "plan", "release", "teardown"],
)
def test_another_accounts_credentials_stop_before_any_change(
    guard_stack: dict[str, str], tmp_path: Path, playbook: list[str]
) -> None:
    endpoint = guard_stack["AWS_ENDPOINT_URL"]
    extra = tmp_path / "other-account.yml"
    extra.write_text(yaml.safe_dump({"mediamind_aws_module_defaults": _other_account_defaults(endpoint)}))
    recorder.start(endpoint)
    result = subprocess.run(
        [str(ROOT / "tools/playbook.sh"), "local", *playbook, "-e", f"@{extra}"],
        cwd=ROOT,
        env={**os.environ, **guard_stack, "ANSIBLE_NOCOLOR": "1"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    calls = recorder.calls(endpoint)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output[-3000:]
    assert f"these credentials are for account {OTHER_ACCOUNT}" in output, output[-3000:]
    assert "mediamind_expected_account_id for local is 123456789012" in output
    # The guard's read (aws_caller_info: the identity and the account's alias) is all the run asked.
    assert set(calls) == {"sts:GetCallerIdentity", "iam:ListAccountAliases"}, calls


def test_a_real_inventory_must_name_its_account(tmp_path: Path) -> None:
    # The guard's own assert refuses an empty id outside the emulator, before any AWS call.
    result = subprocess.run(
        [
            str(ROOT / ".venv/bin/ansible-playbook"),
            "-i",
            "inventories/production",
            "playbooks/account_guard.yml",
            "-e",
            "mediamind_expected_account_id=''",
        ],
        cwd=ROOT,
        env={**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "AWS_ENDPOINT_URL": "http://127.0.0.1:9"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode != 0
    assert "mediamind_expected_account_id is not set for production" in result.stdout + result.stderr


def test_the_real_inventories_name_an_account() -> None:
    for env in ("production", "dev"):
        doc = yaml.safe_load((ROOT / f"inventories/{env}/group_vars/all/env.yml").read_text())
        assert str(doc["mediamind_expected_account_id"]).isdigit(), env
        assert len(str(doc["mediamind_expected_account_id"])) == 12, env
