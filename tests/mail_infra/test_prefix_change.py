"""Changing the inbound prefix moves the receipt rule and the bucket policy together.

Runs playbooks/s3.yml and playbooks/ses_receipt.yml (the local inventory) on
the emulator twice, with two prefixes, and reads the result back with boto3:
the rule's ObjectKeyPrefix, the SES statement's Resource and the expiration
rule's Filter must all follow the prefix. A check-mode run on the converged
state must then report changed=0, and the module gaps are pinned
(ses_receipt_rule state=absent fails clearly where the emulator has no
DeleteReceiptRule; s3_secure_bucket keeps a bucket that still holds mail).

Everything runs under names unique to the test run (bucket, rule set, rule),
so a developer's `make deploy` state is left alone; the active rule set is
restored at the end (only one can be active per region).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE = Path(sys.executable).with_name("ansible")
DOMAIN = "chat.csee.tech"
ADDRESS = "test@chat.csee.tech"

pytestmark = pytest.mark.slow


def _recap_changed(output: str) -> int:
    match = re.search(r"changed=(\d+)\s+unreachable=0\s+failed=0", output)
    assert match, f"no successful recap in:\n{output[-3000:]}"
    return int(match.group(1))


class MailStack:
    def __init__(self, endpoint: str) -> None:
        run = uuid.uuid4().hex[:8]
        self.bucket = f"mm-prefix-test-{run}"
        self.rule_set = f"mm-prefix-test-{run}-set"
        self.rule = f"mm-prefix-test-{run}-rule"
        kwargs = {
            "endpoint_url": endpoint,
            "region_name": "eu-central-1",
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing",
        }
        self.s3 = boto3.client("s3", **kwargs)
        self.ses = boto3.client("ses", **kwargs)
        active = self.ses.describe_active_receipt_rule_set()
        self.previous_active = active.get("Metadata", {}).get("Name")
        identities = set(self.ses.list_identities()["Identities"])
        # Only delete at the end what this test created.
        self.owns_identities = DOMAIN not in identities and ADDRESS not in identities

    def extra_vars(self, prefix: str, **more) -> str:
        return json.dumps(
            {
                "mediamind_bucket": self.bucket,
                "mediamind_inbound_prefix": prefix,
                "ses_receipt_rule_set_name": self.rule_set,
                "ses_receipt_rule_name": self.rule,
                # The real statements: the local inventory's moto override is not wanted here.
                "s3_extra_policy_statements": [],
                "ses_receipt_delete_identities": self.owns_identities,
                **more,
            }
        )

    def playbook(self, name: str, prefix: str, *args: str, **more) -> str:
        result = subprocess.run(
            ["tools/playbook.sh", "local", f"playbooks/{name}.yml", "-e", self.extra_vars(prefix, **more), *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        assert result.returncode == 0, f"{name} failed:\n{result.stdout[-4000:]}\n{result.stderr[-2000:]}"
        return result.stdout

    def rule_prefix(self) -> str:
        rule = self.ses.describe_receipt_rule(RuleSetName=self.rule_set, RuleName=self.rule)["Rule"]
        return rule["Actions"][0]["S3Action"]["ObjectKeyPrefix"]

    def policy_statement(self, sid: str) -> dict:
        policy = json.loads(self.s3.get_bucket_policy(Bucket=self.bucket)["Policy"])
        return next(s for s in policy["Statement"] if s["Sid"] == sid)

    def expiration_prefix(self) -> str:
        rules = self.s3.get_bucket_lifecycle_configuration(Bucket=self.bucket)["Rules"]
        return next(r for r in rules if r["ID"] == "expire-inbound-mail")["Filter"]["Prefix"]


@pytest.fixture
def stack(local_stack):
    stack = MailStack(local_stack.endpoint_url)
    yield stack
    # Teardown in reverse order; force: the test never leaves a bucket behind.
    for name, state_var in (("ses_receipt", "ses_receipt_state"), ("s3", "s3_state")):
        subprocess.run(
            [
                "tools/playbook.sh",
                "local",
                f"playbooks/{name}.yml",
                "-e",
                stack.extra_vars("inbound/", **{state_var: "absent", "s3_force_delete": True}),
            ],
            cwd=ROOT,
            capture_output=True,
            check=False,
            timeout=600,
        )
    if stack.previous_active:
        stack.ses.set_active_receipt_rule_set(RuleSetName=stack.previous_active)


def test_changing_the_prefix_moves_rule_policy_and_expiry(stack: MailStack) -> None:
    for prefix in ("mail-a/", "mail-b/"):
        stack.playbook("s3", prefix)
        stack.playbook("ses_receipt", prefix)
        assert stack.rule_prefix() == prefix
        ses_statement = stack.policy_statement("AllowSESPutInboundMail")
        assert ses_statement["Resource"] == f"arn:aws:s3:::{stack.bucket}/{prefix}*"
        assert ses_statement["Condition"]["StringEquals"]["aws:SourceArn"].endswith(
            f"receipt-rule-set/{stack.rule_set}:receipt-rule/{stack.rule}"
        )
        assert stack.expiration_prefix() == prefix

    # Third pass: check mode on the converged state is truthful.
    assert _recap_changed(stack.playbook("s3", "mail-b/", "--check")) == 0
    assert _recap_changed(stack.playbook("ses_receipt", "mail-b/", "--check")) == 0
    # ...and it does see a pending prefix change (without applying it).
    assert _recap_changed(stack.playbook("ses_receipt", "mail-c/", "--check")) == 1
    assert stack.rule_prefix() == "mail-b/"


def _module(endpoint: str, name: str, args: dict, *flags: str) -> subprocess.CompletedProcess:
    args = dict(args, region="eu-central-1", endpoint_url=endpoint, access_key="testing", secret_key="testing")
    return subprocess.run(
        [str(ANSIBLE), "localhost", "-i", "localhost,", "-c", "local", "-m", name, "-a", json.dumps(args), *flags],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env=dict(os.environ, ANSIBLE_PYTHON_INTERPRETER=sys.executable, ANSIBLE_LOCALHOST_WARNING="false"),
    )


def test_module_gaps_are_explicit(stack: MailStack, local_stack) -> None:
    endpoint = local_stack.endpoint_url
    stack.playbook("s3", "inbound/")
    stack.playbook("ses_receipt", "inbound/")

    # moto 5.2 has no DeleteReceiptRule: the module says so instead of pretending.
    rule = {"rule_set_name": stack.rule_set, "name": stack.rule, "state": "absent"}
    gone = _module(endpoint, "mediamind.platform.ses_receipt_rule", rule)
    assert gone.returncode != 0
    assert "does not implement delete_receipt_rule" in gone.stdout
    assert stack.rule_prefix() == "inbound/"  # still there
    # ...while its check mode reports the deletion it would make.
    planned = _module(endpoint, "mediamind.platform.ses_receipt_rule", rule, "--check")
    assert planned.returncode == 0, planned.stdout
    assert "CHANGED" in planned.stdout

    # A bucket that still holds mail survives absent without force.
    # (Written with the local override policy: moto denies object requests under
    # conditioned statements, see inventories/local/group_vars/all/s3.yml.)
    stack.playbook("s3", "inbound/", s3_extra_policy_statements=_local_override(stack.bucket))
    stack.s3.put_object(Bucket=stack.bucket, Key="inbound/probe", Body=b"mail")
    kept = stack.playbook("s3", "inbound/", s3_state="absent", s3_force_delete=False)
    assert "was NOT deleted" in kept
    assert stack.s3.head_bucket(Bucket=stack.bucket)["ResponseMetadata"]["HTTPStatusCode"] == 200


def _local_override(bucket: str) -> list[dict]:
    principal = "local-emulator-skips-conditioned-statements"
    return [
        {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": principal, "Action": "s3:*",
         "Resource": f"arn:aws:s3:::{bucket}/*"},
        {"Sid": "AllowSESPutInboundMail", "Effect": "Allow", "Principal": principal, "Action": "s3:PutObject",
         "Resource": f"arn:aws:s3:::{bucket}/inbound/*"},
    ]  # fmt: skip
