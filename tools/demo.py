"""One mail through the whole local flow, hop by hop (``make demo``).

Prerequisite: the local environment is up and deployed (``make deploy``: the s3,
ses_receipt and lambda_chatbot roles ran against the emulator).  This script starts
only its own stand-ins and stops them at the end:

  the backend stand-in (tools/backend_standin.py) on the port of the function's API_HOST,
  with the API key read from the function's CHAT_API_KEY_SECRET_ARN;
  the SMTP receiver (tools/smtp_receiver.py) standing in for SES inbound;
  the S3-event dispatcher (tools/s3_dispatcher.py) standing in for the bucket notification.

Then it sends one mail over SMTP, shows each hop (SMTP answer, stored object and the
headers "SES" added, the S3 event, the handler's outcome, the backend call), and
redelivers the same event three times at once to show that dedup lets none through.

    python tools/demo.py                      # the default mail
    python tools/demo.py --from bob@example.com --subject "Hi" --body "Any news?"
    python tools/demo.py --serve              # keep the stand-ins running for `make send-mail`
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import signal
import smtplib
import socket
import sys
import threading
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backend_standin import BackendStandIn
from s3_dispatcher import Dispatcher
from smtp_receiver import SmtpReceiver

FUNCTION = "mediamind_chatbot"
DEFAULT_SMTP_PORT = 2525


class DemoError(Exception):
    """A precondition the user can fix; printed as one line."""


def say(step: str, text: str) -> None:
    print(f"\n== {step}: {text}", flush=True)


def detail(text: str) -> None:
    print(f"   {text}", flush=True)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def deployed() -> dict[str, Any]:
    """What the roles deployed: the function's settings, the active rule, the notification."""
    lam, ses, sm = boto3.client("lambda"), boto3.client("ses"), boto3.client("secretsmanager")
    try:
        function = lam.get_function_configuration(FunctionName=FUNCTION)
    except lam.exceptions.ResourceNotFoundException as exc:
        raise DemoError(f"function {FUNCTION} is not deployed: run `make deploy` first") from exc
    env = function.get("Environment", {}).get("Variables", {})
    active = ses.describe_active_receipt_rule_set()
    if not active.get("Rules"):
        raise DemoError("no active receipt rule set: run `make deploy` first")
    api_key = sm.get_secret_value(SecretId=env["CHAT_API_KEY_SECRET_ARN"])["SecretString"].strip()
    if api_key.startswith("{"):
        # The secrets role keeps {"CHAT_API_KEY": ...}; the handler accepts both shapes.
        document = json.loads(api_key)
        api_key = document.get("CHAT_API_KEY") or document.get("api_key") or ""
    s3_action = next(a["S3Action"] for r in active["Rules"] for a in r["Actions"] if "S3Action" in a)
    return {"function": function, "env": env, "active": active, "api_key": api_key, "s3_action": s3_action}


def build_mail(sender: str, recipient: str, subject: str, body: str, spam: bool = False) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = recipient
    msg["Subject"] = subject
    if spam:
        msg["X-Test-Spam"] = "yes"
    msg.set_content(body + "\n")
    return msg


def smtp_send(port: int, msg: EmailMessage) -> tuple[int, str]:
    """Send over SMTP and return the DATA answer (its text carries the SES message id)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo()
        smtp.mail(str(msg["From"]))
        code, answer = smtp.rcpt(str(msg["To"]))
        if code != 250:
            return code, answer.decode()
        code, answer = smtp.data(msg.as_bytes())
        return code, answer.decode()


def run_dispatch(dispatcher: Dispatcher, key: str | None = None) -> tuple[list[Any], list[dict[str, Any]]]:
    """Deliver (one key, or whatever is new) and capture the handler's own log lines."""
    captured = io.StringIO()
    with contextlib.redirect_stdout(captured):
        deliveries = dispatcher.notify(key) if key else dispatcher.poll_once()
    logs = []
    for line in captured.getvalue().splitlines():
        with contextlib.suppress(ValueError):
            doc = json.loads(line)
            if doc.get("message") == "record":
                logs.append(doc)
    return deliveries, logs


def show_deployed(state: dict[str, Any], bucket: str, prefix: str) -> None:
    env, rule_set = state["env"], state["active"]
    say("0/5", "what is deployed in the emulator")
    for rule in rule_set["Rules"]:
        detail(
            f"receipt rule set {rule_set['Metadata']['Name']} (active), rule {rule['Name']}: "
            f"recipients {rule.get('Recipients', [])} -> s3://{bucket}/{prefix}"
        )
    notification = boto3.client("s3").get_bucket_notification_configuration(Bucket=bucket)
    for entry in notification.get("LambdaFunctionConfigurations", []):
        rules = entry.get("Filter", {}).get("Key", {}).get("FilterRules", [])
        detail(f"bucket notification {entry['Id']}: {entry['Events']} {rules} -> {entry['LambdaFunctionArn']}")
    detail(
        f"function {FUNCTION}: {state['function']['Runtime']}, handler {state['function']['Handler']}, "
        f"API_HOST={env.get('API_HOST')}, INBOUND_PREFIX={env.get('INBOUND_PREFIX')}"
    )


def demo(args: argparse.Namespace) -> int:
    state = deployed()
    env = state["env"]
    bucket, prefix = state["s3_action"]["BucketName"], state["s3_action"].get("ObjectKeyPrefix", "")

    show_deployed(state, bucket, prefix)

    api = urlsplit(env.get("API_HOST", ""))
    overrides: dict[str, str] = {}
    backend_port = api.port if api.hostname in ("127.0.0.1", "localhost") and api.port else 0
    if backend_port and not _port_free(backend_port):
        if not args.serve:
            detail(f"port {backend_port} is busy: the backend stand-in takes a free port instead")
        backend_port = 0
    smtp_port = args.smtp_port if _port_free(args.smtp_port) else 0

    with contextlib.ExitStack() as stack:
        backend = stack.enter_context(BackendStandIn(api_key=state["api_key"], port=backend_port))
        if not backend_port or backend.url.rstrip("/") != env.get("API_HOST", "").rstrip("/"):
            overrides["API_HOST"] = backend.url
        receiver = stack.enter_context(SmtpReceiver(port=smtp_port, refresh=1.0, out=io.StringIO()))
        dispatcher = Dispatcher(bucket=bucket, redeliver=1, overrides=overrides, out=io.StringIO())
        stack.callback(dispatcher.stop)
        dispatcher.baseline()
        say(
            "1/5",
            f"stand-ins started: SMTP on 127.0.0.1:{receiver.port}, backend on {backend.url}, dispatcher on s3://{bucket}",
        )

        if args.serve:
            return serve(dispatcher, receiver, backend)

        msg = build_mail(args.sender, args.to, args.subject, args.body, args.spam)
        code, answer = smtp_send(receiver.port, msg)
        say("2/5", f"SMTP: MAIL FROM {args.sender} RCPT TO {args.to} -> {code} {answer}")
        if code != 250:
            detail("refused: no active receipt rule matches this recipient; nothing was stored")
            return 1
        stored = receiver.handler.stored[-1]
        raw = boto3.client("s3").get_object(Bucket=bucket, Key=stored["key"])["Body"].read()
        say("3/5", f"stored s3://{bucket}/{stored['key']} ({stored['size']} bytes) with the headers SES adds:")
        for line in raw.decode("utf-8", "replace").split("\r\n"):
            if line.split(":", 1)[0] in (
                "Received",
                "X-SES-Spam-Verdict",
                "X-SES-Virus-Verdict",
                "Authentication-Results",
            ):
                detail(line)

        deliveries, logs = run_dispatch(dispatcher)
        say("4/5", f"S3 event ObjectCreated:Put -> {FUNCTION} (key as S3 encodes it: {deliveries[0].key})")
        for delivery, log in zip(deliveries, logs, strict=False):
            detail(
                f"handler outcome: {delivery.outcomes()} reason={log.get('reason')} timings_ms={log.get('timings_ms')}"
            )
            if delivery.error:
                detail(f"handler raised: {delivery.error}")
        for call in backend.calls:
            payload = call.payload or {}
            detail(
                f"backend POST /api/v1/chatbot -> {call.status}: sender={payload.get('sender')} "
                f"subject={payload.get('subject')!r} Idempotency-Key={call.idempotency_key}"
            )

        calls_before = len(backend.calls)
        redeliver = Dispatcher(bucket=bucket, redeliver=3, overrides=overrides, out=io.StringIO())
        stack.callback(redeliver.stop)
        deliveries, _ = run_dispatch(redeliver, stored["key"])
        say("5/5", "the same S3 event delivered 3 more times, concurrently (S3 delivers at least once)")
        detail(f"handler outcomes: {sorted(o for d in deliveries for o in d.outcomes())}")
        detail(f"backend calls: {calls_before} before, {len(backend.calls)} after: dedup in Redis let none through")
    print("\nstopped the backend stand-in, the SMTP receiver and the dispatcher", flush=True)
    return 0


def serve(dispatcher: Dispatcher, receiver: SmtpReceiver, backend: BackendStandIn) -> int:
    """Keep the stand-ins running; print each hop as mail comes in (Ctrl-C stops)."""
    detail(f"send mail with: make send-mail FROM=you@example.com SUBJECT=Hi BODY=Hello (port {receiver.port})")
    stop = threading.Event()
    seen_calls = seen_stored = seen_refused = 0
    try:
        while not stop.wait(0.5):
            for address in receiver.handler.refused[seen_refused:]:
                detail(f"SMTP refused {address} (550): no receipt rule matches, nothing stored")
            seen_refused = len(receiver.handler.refused)
            for stored in receiver.handler.stored[seen_stored:]:
                detail(f"SMTP accepted -> stored s3://{stored['bucket']}/{stored['key']}")
            seen_stored = len(receiver.handler.stored)
            deliveries, logs = run_dispatch(dispatcher)
            reasons = {log.get("key"): log.get("reason") for log in logs}
            for delivery in deliveries:
                reason = reasons.get(delivery.key) or ""
                detail(f"S3 event {delivery.key} -> outcome {delivery.outcomes()} {reason} {delivery.error or ''}")
            for call in backend.calls[seen_calls:]:
                payload = call.payload or {}
                detail(f"backend <- {payload.get('sender')} {payload.get('subject')!r} ({call.status})")
            seen_calls = len(backend.calls)
    except KeyboardInterrupt:
        pass
    return 0


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    # SIGTERM stops like Ctrl-C: the stand-ins are closed on the way out.
    signal.signal(signal.SIGTERM, _interrupt)
    parser = argparse.ArgumentParser(description="Show one mail going through the local flow.")
    parser.add_argument("--from", dest="sender", default="Alice Example <alice@example.com>")
    parser.add_argument("--to", default="test@chat.csee.tech")
    parser.add_argument("--subject", default="What can MediaMind do for me?")
    parser.add_argument("--body", default="Hello! Which media did you find about our product this week?")
    parser.add_argument("--spam", action="store_true", help="mark the mail as spam (X-Test-Spam: yes)")
    parser.add_argument("--smtp-port", type=int, default=DEFAULT_SMTP_PORT)
    parser.add_argument("--serve", action="store_true", help="keep the stand-ins running until Ctrl-C")
    args = parser.parse_args(argv)
    for name in ("AWS_ENDPOINT_URL", "MM_REDIS_CA"):
        if not os.environ.get(name):
            print(f"error: {name} is not set: run `make up` (make demo sets it)", file=sys.stderr)
            return 1
    try:
        return demo(args)
    except DemoError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
