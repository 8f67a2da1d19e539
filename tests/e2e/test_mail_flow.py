"""The email flow end to end on the local emulator: SMTP -> S3 -> handler -> backend.

Deploys the mail path with the real roles (tests/e2e/deploy_mail.yml: s3, ses_receipt,
lambda_chatbot), then drives it with the local stand-ins: tools/smtp_receiver.py
applies the active receipt rule read from the emulator and stores the raw mail,
tools/s3_dispatcher.py reads the bucket's notification and invokes the handler with
AWS-shaped events, every event twice and concurrently, and tools/backend_standin.py
records the backend calls.
"""

from __future__ import annotations

import os
import smtplib
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

from backend_standin import BackendStandIn  # noqa: E402
from s3_dispatcher import Dispatcher  # noqa: E402
from smtp_receiver import SmtpReceiver, recipient_matches  # noqa: E402

BUCKET = "eutop-mediamind"
BOT = "test@chat.csee.tech"
API_KEY = "e2e-chat-api-key"
PREFIX = "inbound/"
MOVED_PREFIX = "mail-v2/"

pytestmark = pytest.mark.slow


def deploy(prefix: str, api_host: str, package: Path, log: Path, *extra: str) -> None:
    """Apply tests/e2e/deploy_mail.yml with the local inventory and the given prefix."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), NO_COLOR="1", ANSIBLE_FORCE_COLOR="0")
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env['PATH']}"
    with log.open("a") as out:
        result = subprocess.run(
            [
                str(ROOT / ".venv" / "bin" / "ansible-playbook"),
                "-i",
                str(ROOT / "inventories" / "local"),
                "--vault-password-file",
                str(ROOT / "inventories" / "local" / "vault-password.txt"),
                str(ROOT / "tests" / "e2e" / "deploy_mail.yml"),
                "-e",
                f"mediamind_inbound_prefix={prefix}",
                "-e",
                f"e2e_api_host={api_host}",
                "-e",
                f"e2e_api_key={API_KEY}",
                "-e",
                f"e2e_package={package}",
                *extra,
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
            timeout=900,
        )
    if result.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-40:])
        pytest.fail(f"deploy_mail.yml failed (log {log}):\n{tail}")


@dataclass
class MailStack:
    backend: BackendStandIn
    receiver: SmtpReceiver
    dispatcher: Dispatcher
    s3: Any
    package: Path
    log: Path

    def send(self, subject: str, *, to: list[str] | None = None, headers: dict[str, str] | None = None) -> str:
        """Send one mail over SMTP; returns the SES message id the receiver answered with."""
        msg = EmailMessage()
        msg["From"] = "Alice Example <alice@example.com>"
        msg["To"] = ", ".join(to or [BOT])
        msg["Subject"] = subject
        msg["Message-ID"] = f"<{uuid.uuid4()}@example.com>"
        for name, value in (headers or {}).items():
            msg[name] = value
        msg.set_content(f"Question about {subject}?\n")
        with smtplib.SMTP("127.0.0.1", self.receiver.port, timeout=30) as smtp:
            smtp.send_message(msg)
            code, _ = smtp.noop()
        assert code == 250
        stored = self.receiver.handler.stored[-1]
        return stored["key"].rsplit("/", 1)[-1]

    def keys(self) -> set[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        return {o["Key"] for page in pages for o in page.get("Contents", [])}

    def calls_for(self, message_id: str) -> list[Any]:
        return [c for c in self.backend.calls if c.idempotency_key == message_id]


@pytest.fixture(scope="module")
def mail_stack(local_stack, tmp_path_factory) -> Iterator[MailStack]:
    work = tmp_path_factory.mktemp("mailflow")
    package = work / "mediamind_chatbot.zip"
    built = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "package_lambda.py"), "--output", str(package)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    log = local_stack.log_dir / "e2e-mail-flow.log"
    log.write_text("")
    with BackendStandIn(api_key=API_KEY) as backend:
        deploy(PREFIX, backend.url, package, log)
        with SmtpReceiver(port=0, refresh=0) as receiver:
            dispatcher = Dispatcher(bucket=BUCKET, redeliver=2)
            dispatcher.baseline()
            try:
                yield MailStack(backend, receiver, dispatcher, boto3.client("s3"), package, log)
            finally:
                dispatcher.stop()
                # Back to the inventory's prefix, without the function: moto 5.2's
                # /moto-api/data.json (tools/localenv.py's readiness probe) answers
                # 500 while a Lambda function exists (it tries to reach Docker).
                deploy(PREFIX, backend.url, package, log, "-e", "lambda_chatbot_state=absent")


def _outcomes(deliveries, message_id: str) -> list[str]:
    return sorted(o for d in deliveries if d.key.endswith(message_id) for o in d.outcomes())


def _processed_once(mail_stack: MailStack, deliveries, message_id: str) -> None:
    """Two concurrent deliveries of one event: one processes; the other finds the mail done
    (`duplicate`) or still in progress, and then raises so Lambda retries it later (never a
    silent success: the first one could still die). That retry ends as `duplicate`."""
    mine = [d for d in deliveries if d.key.endswith(message_id)]
    assert _outcomes(mine, message_id).count("processed") == 1, mine
    others = [d for d in mine if "processed" not in d.outcomes()]
    assert len(others) == 1, mine
    (other,) = others
    assert other.outcomes() == ["duplicate"] or (other.error and "in_progress" in other.error), other
    if other.error:
        retried = mail_stack.dispatcher.notify(other.key)
        assert [o for d in retried for o in d.outcomes()] == ["duplicate"] * len(retried), retried
        assert not [d for d in retried if d.error]


def test_recipient_matching_follows_ses_rules() -> None:
    assert recipient_matches("Test@Chat.csee.tech", ["test@chat.csee.tech"])
    assert recipient_matches("anyone@chat.csee.tech", ["chat.csee.tech"])
    assert recipient_matches("a@eu.chat.csee.tech", [".chat.csee.tech"])
    assert not recipient_matches("a@chat.csee.tech", [".chat.csee.tech"])
    assert not recipient_matches("other@chat.csee.tech", ["test@chat.csee.tech"])
    assert recipient_matches("x@y.z", [])


def test_one_backend_call_per_mail_despite_concurrent_redelivery(mail_stack: MailStack) -> None:
    ids = [mail_stack.send(f"redelivery {n}") for n in range(3)]
    for message_id in ids:
        assert f"{PREFIX}{message_id}" in mail_stack.keys()  # noqa: SIM118 - a method, not a dict

    deliveries = mail_stack.dispatcher.poll_once()

    for message_id in ids:
        _processed_once(mail_stack, deliveries, message_id)
        calls = mail_stack.calls_for(message_id)
        assert len(calls) == 1, calls
        assert calls[0].status == 200
        assert calls[0].headers["x-api-key"] == API_KEY
        assert calls[0].payload["sender"] == "alice@example.com"


def test_event_is_shaped_like_aws(mail_stack: MailStack) -> None:
    seen: list[dict[str, Any]] = []

    def recorder(config, env):
        def invoke(event, context):
            seen.append(event)
            return {"outcomes": []}

        return invoke

    probe = Dispatcher(bucket=BUCKET, redeliver=1, make_invoker=recorder)
    try:
        key = f"{PREFIX}a key+with spaces"
        mail_stack.s3.put_object(Bucket=BUCKET, Key=key, Body=b"Subject: x\r\n\r\nbody\r\n")
        probe.notify(key)
    finally:
        probe.stop()
    (record,) = seen[0]["Records"]
    assert record["eventSource"] == "aws:s3"
    assert record["eventName"] == "ObjectCreated:Put"
    assert record["s3"]["bucket"] == {
        "name": BUCKET,
        "ownerIdentity": {"principalId": "A3LOCALSTANDIN"},
        "arn": f"arn:aws:s3:::{BUCKET}",
    }
    assert record["s3"]["object"]["key"] == "inbound/a+key%2Bwith+spaces"
    assert record["s3"]["object"]["size"] == len(b"Subject: x\r\n\r\nbody\r\n")
    assert record["s3"]["configurationId"] == "mediamind_chatbot-inbound"
    assert record["eventTime"].endswith("Z")
    mail_stack.dispatcher.seen.add((key, mail_stack.s3.head_object(Bucket=BUCKET, Key=key)["ETag"]))


def test_spam_verdict_mail_gets_no_backend_call(mail_stack: MailStack) -> None:
    message_id = mail_stack.send("cheap watches", headers={"X-Test-Spam": "yes"})
    raw = mail_stack.s3.get_object(Bucket=BUCKET, Key=f"{PREFIX}{message_id}")["Body"].read()
    assert b"X-SES-Spam-Verdict: FAIL" in raw
    assert b"X-SES-Virus-Verdict: PASS" in raw

    deliveries = mail_stack.dispatcher.poll_once()

    assert "processed" not in _outcomes(deliveries, message_id)
    assert "rejected" in _outcomes(deliveries, message_id)
    assert mail_stack.calls_for(message_id) == []


def test_mail_to_a_recipient_outside_the_rule_is_not_stored(mail_stack: MailStack) -> None:
    before = mail_stack.keys()
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        mail_stack.send("to a stranger", to=["stranger@chat.csee.tech"])
    assert refused.value.recipients["stranger@chat.csee.tech"][0] == 550
    assert mail_stack.keys() == before
    assert "stranger@chat.csee.tech" in mail_stack.receiver.handler.refused

    # One good and one unknown recipient: stored once, for the rule's address only.
    message_id = mail_stack.send("mixed", to=[BOT, "nobody@elsewhere.example"])
    assert mail_stack.keys() - before == {f"{PREFIX}{message_id}"}
    mail_stack.dispatcher.poll_once()
    assert len(mail_stack.calls_for(message_id)) == 1


def test_changing_the_prefix_moves_the_rule_and_the_notification(mail_stack: MailStack) -> None:
    deploy(MOVED_PREFIX, mail_stack.backend.url, mail_stack.package, mail_stack.log)
    ses = boto3.client("ses")
    (rule,) = ses.describe_active_receipt_rule_set()["Rules"]
    (action,) = [a["S3Action"] for a in rule["Actions"] if "S3Action" in a]
    assert action["ObjectKeyPrefix"] == MOVED_PREFIX
    notification = mail_stack.s3.get_bucket_notification_configuration(Bucket=BUCKET)
    (ours,) = notification["LambdaFunctionConfigurations"]
    assert ours["Filter"]["Key"]["FilterRules"] == [{"Name": "prefix", "Value": MOVED_PREFIX}]
    function = boto3.client("lambda").get_function_configuration(FunctionName="mediamind_chatbot")
    assert function["Environment"]["Variables"]["INBOUND_PREFIX"] == MOVED_PREFIX

    message_id = mail_stack.send("after the move")
    assert f"{MOVED_PREFIX}{message_id}" in mail_stack.keys()  # noqa: SIM118 - a method, not a dict
    deliveries = mail_stack.dispatcher.poll_once()
    _processed_once(mail_stack, deliveries, message_id)
    assert len(mail_stack.calls_for(message_id)) == 1
