"""The chatbot under load and faults (issue 7, item 5): partition invariants, no timing assertions.

Runs benchmarks/chatbot_load.py's scenario on a private emulator + TLS Redis (ports 5600 and
6900, shifted per xdist worker): MM_LOAD_MAILS distinct mails (default 1,000), every event
delivered twice by 8 container threads with Lambda async retries and the on-failure queue,
the backend stand-in failing 10 % with 500, the real Redis restarted once mid-burst.  The
figures go to .local/stacks/load-*/logs/chatbot_load.md (the committed ones come from
`python benchmarks/chatbot_load.py`).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import private_stack, stack_env

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))

import chatbot_load  # noqa: E402

pytestmark = pytest.mark.slow

# Clear of the other private stacks (molecule 5300, interrupt 5121, e2e 5400; +10 per xdist worker).
LOAD_MOTO_PORT = 5600
MAILS = int(os.environ.get("MM_LOAD_MAILS", str(chatbot_load.DEFAULT_MAILS)))
KNOBS = {
    "mails": MAILS,
    "concurrency": 8,
    "copies": 2,
    "fail_rate": 0.10,
    "budget_s": 3.0,
    "retry_delays": (0.1, 0.2),
    "redis_down_s": 0.5,
    "restart_at": 0.4,
}


@pytest.fixture(scope="module")
def load_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[chatbot_load.LoadResult]:
    with private_stack("load", LOAD_MOTO_PORT) as settings:
        saved = dict(os.environ)
        os.environ.update(stack_env(settings))
        try:
            result = chatbot_load.run(settings, tmp_path_factory.mktemp("load"), **KNOBS)
            (settings.log_dir / "chatbot_load.md").write_text(chatbot_load.report(result, KNOBS))
            yield result
        finally:
            os.environ.clear()
            os.environ.update(saved)


def test_the_faults_really_happened(load_run: chatbot_load.LoadResult) -> None:
    assert load_run.redis_restart, "Redis was not restarted during the burst"
    assert load_run.injected_500s > 0
    assert load_run.invocations == 2 * MAILS
    # The restart makes some invocations exhaust their retries: the queue path is exercised.
    assert load_run.failure_records > 0


def test_every_mail_is_processed_once_or_queued(load_run: chatbot_load.LoadResult) -> None:
    assert load_run.doubled == [], "mails with two accepted backend calls"
    assert load_run.lost == [], "mails with no accepted call and no failure record"
    partition = load_run.processed + load_run.queued + load_run.processed_and_queued
    assert sorted(partition) == sorted(set(partition))
    assert len(partition) == MAILS


def test_redrive_processes_every_mail_exactly_once(load_run: chatbot_load.LoadResult) -> None:
    assert load_run.after_redrive_not_once == []
    assert load_run.queue_left == 0
    assert load_run.redrive_lines[0].startswith("redrive: ")


def test_dispatcher_sends_an_aws_shaped_record_after_the_last_retry(load_run: chatbot_load.LoadResult) -> None:
    import boto3  # noqa: PLC0415
    import s3_dispatcher  # noqa: PLC0415

    calls: list[str] = []

    def failing(config, env):
        def invoke(event, context):
            calls.append(context.aws_request_id)
            raise ConnectionError("backend down")

        return invoke

    s3 = boto3.client("s3")
    key = f"{chatbot_load.PREFIX}retry-probe"
    s3.put_object(Bucket=chatbot_load.BUCKET, Key=key, Body=b"Subject: x\r\n\r\nbody\r\n")
    dispatcher = s3_dispatcher.Dispatcher(
        bucket=chatbot_load.BUCKET, redeliver=1, make_invoker=failing, lambda_async=True, retry_delays=(0.0,)
    )
    try:
        (delivery,) = dispatcher.notify(key)
        settings = dispatcher.invoke_config(chatbot_load._function_arn())
    finally:
        dispatcher.stop()
    assert settings.max_retry_attempts == 2  # lambda_chatbot_max_retry_attempts
    assert delivery.invocations == 3
    assert delivery.sent_to_failure_queue
    assert len(set(calls)) == 1  # one request id across the retries, as in Lambda
    sqs = boto3.client("sqs")
    (message,) = sqs.receive_message(QueueUrl=settings.on_failure_queue_url, WaitTimeSeconds=1)["Messages"]
    sqs.delete_message(QueueUrl=settings.on_failure_queue_url, ReceiptHandle=message["ReceiptHandle"])
    record = json.loads(message["Body"])
    assert record["version"] == "1.0"
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["requestContext"]["requestId"] == calls[0]
    assert record["requestContext"]["functionArn"].endswith(":mediamind_chatbot:$LATEST")
    assert record["requestPayload"]["Records"][0]["s3"]["object"]["key"] == key
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert record["responsePayload"]["errorType"] == "ConnectionError"
    assert record["responsePayload"]["errorMessage"] == "backend down"
