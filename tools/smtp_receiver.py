"""A local stand-in for SES inbound: an SMTP server that applies the active receipt rule.

It does what SES does with a message for the chatbot, on 127.0.0.1 and against the
emulator, reading the configuration the ses_receipt role deployed (never a copy of it):

1. At RCPT TO it reads the ACTIVE receipt rule set (``ses describe_active_receipt_rule_set``,
   cached for ``--refresh`` seconds, so a redeploy is seen within that time) and looks for an
   enabled rule whose recipients match: an entry is an address (exact, case-insensitive), a
   domain (``chat.csee.tech``: every address of it) or ``.domain`` (every subdomain); a rule
   without recipients matches every address.  No match: ``550 5.1.1`` and nothing is stored.
2. At DATA it prepends what SES prepends (``Received``, ``X-SES-Spam-Verdict``,
   ``X-SES-Virus-Verdict`` when the rule scans, ``Authentication-Results``,
   ``X-SES-Receipt``-like ``X-SES-RECEIPT`` and ``Return-Path``) and stores the raw message with
   boto3 ``PutObject`` at ``<ObjectKeyPrefix><SES message id>`` in the bucket of the rule's S3
   action, exactly the key layout SES uses.  The SMTP answer is ``250 Ok <message id>``.

Test hooks (the sender controls them; real SES decides these itself):
    ``X-Test-Spam: yes`` or ``[spam-test]`` in the subject  -> X-SES-Spam-Verdict: FAIL
    ``X-Test-Virus: yes`` or ``[virus-test]`` in the subject -> X-SES-Virus-Verdict: FAIL
    ``X-Test-Dmarc: reject|quarantine``                      -> dmarc=fail with that policy
Everything else gets PASS verdicts and spf/dkim/dmarc=none (a loopback sender has none).

What it does not do: TLS (a rule's ``TlsPolicy: Require`` is reported, not enforced: the
receiver is loopback only), bounces, and actions other than S3 (logged and skipped).

Command line (Ctrl-C stops it; one line per accepted or refused recipient and per stored mail)::

    python tools/smtp_receiver.py --port 2525            # needs AWS_ENDPOINT_URL (make up)
    python tools/smtp_receiver.py --port 0               # a free port, printed first

The first line printed is ``listening on smtp://127.0.0.1:<port>``.
"""

from __future__ import annotations

import argparse
import base64
import email.utils
import json
import os
import re
import secrets
import socket
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

import boto3
from aiosmtpd.controller import Controller

HOST = "127.0.0.1"
SES_HOSTNAME = "inbound-smtp.eu-central-1.amazonaws.com"


def _log(stream: Any, event: str, **fields: Any) -> None:
    print(json.dumps({"hop": "smtp", "event": event, **fields}), file=stream, flush=True)


def ses_message_id() -> str:
    """An id shaped like SES's (40 characters of lowercase base32), used as the object key."""
    return base64.b32encode(secrets.token_bytes(25)).decode().lower()


def recipient_matches(recipient: str, entries: list[str]) -> bool:
    """SES's recipient matching: address, domain, or .domain (subdomains); none = all."""
    if not entries:
        return True
    address = recipient.strip().lower()
    domain = address.rpartition("@")[2]
    for entry in (e.strip().lower() for e in entries):
        if "@" in entry:
            if address == entry:
                return True
        elif entry.startswith("."):
            if domain.endswith(entry):
                return True
        elif domain == entry:
            return True
    return False


@dataclass(frozen=True)
class Rule:
    name: str
    recipients: tuple[str, ...]
    bucket: str | None
    prefix: str
    scan: bool
    tls_required: bool

    @classmethod
    def from_api(cls, rule: dict[str, Any]) -> Rule:
        s3 = next((a["S3Action"] for a in rule.get("Actions", []) if "S3Action" in a), {})
        return cls(
            name=rule["Name"],
            recipients=tuple(rule.get("Recipients", [])),
            bucket=s3.get("BucketName"),
            prefix=s3.get("ObjectKeyPrefix", ""),
            scan=bool(rule.get("ScanEnabled")),
            tls_required=rule.get("TlsPolicy") == "Require",
        )


class ActiveRules:
    """The active receipt rule set, read from the emulator, cached for `refresh` seconds."""

    def __init__(self, ses: Any, refresh: float = 2.0) -> None:
        self.ses = ses
        self.refresh = refresh
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._rule_set = ""
        self._read_at = float("-inf")

    def rules(self) -> tuple[str, list[Rule]]:
        with self._lock:
            if time.monotonic() - self._read_at >= self.refresh:
                active = self.ses.describe_active_receipt_rule_set()
                self._rule_set = active.get("Metadata", {}).get("Name", "")
                self._rules = [Rule.from_api(r) for r in active.get("Rules", []) if r.get("Enabled")]
                self._read_at = time.monotonic()
            return self._rule_set, list(self._rules)

    def match(self, recipient: str) -> Rule | None:
        # SES applies every matching rule in order; the chatbot's set has one S3 rule,
        # so the first match is the one that stores the mail.
        return next((r for r in self.rules()[1] if recipient_matches(recipient, list(r.recipients))), None)


def _flag(message: bytes, header: str, subject_marker: str) -> bool:
    head = message.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].decode("utf-8", "replace")
    if re.search(rf"^{re.escape(header)}:\s*yes\s*$", head, re.IGNORECASE | re.MULTILINE):
        return True
    subject = re.search(r"^Subject:(.*)$", head, re.IGNORECASE | re.MULTILINE)
    return bool(subject and subject_marker in subject.group(1).lower())


def ses_headers(message: bytes, envelope_from: str, recipient: str, rule: Rule, *, peer: str, msg_id: str) -> bytes:
    """The headers SES prepends to a received message (values shaped like SES's)."""
    head = message.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].decode("utf-8", "replace")
    from_match = re.search(r"^From:.*?([^\s<>@]+@([^\s<>]+))", head, re.IGNORECASE | re.MULTILINE)
    from_domain = from_match.group(2).rstrip(">").lower() if from_match else "unknown"
    dmarc = re.search(r"^X-Test-Dmarc:\s*(reject|quarantine)\s*$", head, re.IGNORECASE | re.MULTILINE)
    dmarc_clause = (
        f"dmarc=fail (p={dmarc.group(1).upper()} sp={dmarc.group(1).upper()} pct=100) header.from={from_domain}"
        if dmarc
        else f"dmarc=none header.from={from_domain}"
    )
    now = email.utils.formatdate(localtime=False, usegmt=True)
    lines = [
        f"Return-Path: <{envelope_from}>",
        f"Received: from local-sender ({peer}) by {SES_HOSTNAME} with SMTP id {msg_id} for {recipient}; {now}",
        f"X-SES-Spam-Verdict: {'FAIL' if _flag(message, 'X-Test-Spam', '[spam-test]') else 'PASS'}"
        if rule.scan
        else "",
        f"X-SES-Virus-Verdict: {'FAIL' if _flag(message, 'X-Test-Virus', '[virus-test]') else 'PASS'}"
        if rule.scan
        else "",
        f"Authentication-Results: amazonses.com; spf=none (spf=none) smtp.mailfrom={envelope_from}; "
        f"dkim=none header.i=@{from_domain}; {dmarc_clause}",
        f"X-SES-RECEIPT: local-stand-in rule={rule.name}",
    ]
    return "".join(f"{line}\r\n" for line in lines if line).encode()


class SesInboundHandler:
    """aiosmtpd handler: RCPT applies the rule set, DATA stores the mail like SES."""

    def __init__(self, s3: Any, rules: ActiveRules, out: Any = sys.stdout) -> None:
        self.s3 = s3
        self.rules = rules
        self.out = out
        self.stored: list[dict[str, Any]] = []
        self.refused: list[str] = []
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        try:
            rule = self.rules.match(address)
        except Exception as exc:  # noqa: BLE001 - the emulator is down: a temporary failure
            _log(self.out, "rule_set_unreadable", error=type(exc).__name__)
            return "451 4.4.3 Receipt rules unavailable, try again later"
        if rule is None:
            with self._lock:
                self.refused.append(address)
            _log(self.out, "refused", recipient=address, reason="no active receipt rule matches")
            return "550 5.1.1 Recipient address rejected: no receipt rule matches"
        envelope.rcpt_tos.append(address)
        _log(self.out, "accepted", recipient=address, rule=rule.name)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode()
        peer = session.peer[0] if session.peer else HOST
        ids = []
        # SES stores one object per matching rule action, not per recipient.
        done: set[str] = set()
        for recipient in envelope.rcpt_tos:
            rule = self.rules.match(recipient)
            if rule is None or rule.name in done:
                continue
            done.add(rule.name)
            if not rule.bucket:
                _log(self.out, "no_s3_action", rule=rule.name)
                continue
            msg_id = ses_message_id()
            body = ses_headers(raw, envelope.mail_from, recipient, rule, peer=peer, msg_id=msg_id) + raw
            key = f"{rule.prefix}{msg_id}"
            self.s3.put_object(Bucket=rule.bucket, Key=key, Body=body)
            entry = {"bucket": rule.bucket, "key": key, "rule": rule.name, "size": len(body)}
            with self._lock:
                self.stored.append(entry)
            _log(self.out, "stored", **entry, tls_required_by_rule=rule.tls_required)
            ids.append(msg_id)
        return f"250 Ok {' '.join(ids)}".strip()


def aws_client(service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=os.environ.get("AWS_ENDPOINT_URL"),
        region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "eu-central-1",
    )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class SmtpReceiver:
    """The receiver as an object: ``with SmtpReceiver(port=0) as r: r.port ...`` (tests, demo)."""

    def __init__(self, port: int = 0, refresh: float = 2.0, out: Any = sys.stdout) -> None:
        self.handler = SesInboundHandler(aws_client("s3"), ActiveRules(aws_client("ses"), refresh), out)
        # aiosmtpd's Controller connects to its own port to check it is up, so it
        # cannot take 0: pick a free port here.
        self.port = port or _free_port()
        self.controller = Controller(self.handler, hostname=HOST, port=self.port)

    def start(self) -> SmtpReceiver:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> SmtpReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Local SMTP stand-in for SES inbound (applies the active rule).")
    parser.add_argument("--port", type=int, default=2525, help="listen port on 127.0.0.1; 0 = a free one")
    parser.add_argument("--refresh", type=float, default=2.0, help="seconds the rule set is cached (default 2)")
    args = parser.parse_args(argv)
    if not os.environ.get("AWS_ENDPOINT_URL"):
        print("error: AWS_ENDPOINT_URL is not set: run `make up` and eval its env first", file=sys.stderr)
        return 1
    receiver = SmtpReceiver(port=args.port, refresh=args.refresh)
    try:
        receiver.start()
    except OSError as exc:
        print(f"error: cannot listen on {HOST}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    rule_set, rules = receiver.handler.rules.rules()
    print(f"listening on smtp://{HOST}:{receiver.port}", flush=True)
    _log(
        sys.stdout,
        "rule_set",
        name=rule_set or None,
        rules=[
            {"name": r.name, "recipients": list(r.recipients), "bucket": r.bucket, "prefix": r.prefix} for r in rules
        ],
    )
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        receiver.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
