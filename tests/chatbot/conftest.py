"""Fixtures for the chatbot Lambda: the real moto server, the real TLS Redis and the backend stand-in.

Everything is read from the same environment `make test` exports (tools/localenv.py env),
through the shared ``local_stack`` fixture, so these tests run on the lead's default ports
and on an engineer's own ports alike.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAMBDA_SRC = ROOT / "lambda_src"
FIXTURES = ROOT / "tests" / "fixtures"
for extra in (LAMBDA_SRC, ROOT / "tools"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

from backend_standin import BackendStandIn  # noqa: E402

API_KEY = "test-chat-api-key"  # dummy, local stand-in only
BOT = "test@chat.csee.tech"
PREFIX = "inbound/"


class FakeContext:
    """What the pipeline reads from the Lambda context."""

    function_name = "mediamind_chatbot-test"
    aws_request_id = "test"

    def __init__(self, remaining_ms: int = 30_000) -> None:
        import time  # noqa: PLC0415

        self._deadline = time.monotonic() + remaining_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        import time  # noqa: PLC0415

        return max(0, int((self._deadline - time.monotonic()) * 1000))


def mail_fixture(name: str) -> bytes:
    return (FIXTURES / "mail" / name).read_bytes()


def event_fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / "events" / name).read_text())


@pytest.fixture(scope="session")
def backend() -> Iterator[BackendStandIn]:
    with BackendStandIn(API_KEY) as server:
        yield server


@pytest.fixture
def standin(backend: BackendStandIn) -> BackendStandIn:
    backend.reset()
    backend.set_known_users(None)
    return backend


def empty_bucket(s3: Any, bucket: str) -> None:
    """Delete our objects but keep the (empty) bucket.

    Emulator gap (moto 5.2.5): once a bucket that held objects is deleted, the deleted keys
    stay in moto's model registry and GET /moto-api/data.json answers 500 (MissingBucket
    from FakeKey.status); tools/localenv.py probes that URL, so the next `up` would report
    the server as not answering.  An empty bucket left behind is harmless.
    """
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys = [{"Key": obj["Key"]} for obj in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})


@pytest.fixture(scope="session")
def aws(local_stack) -> Iterator[dict[str, Any]]:
    import boto3  # noqa: PLC0415

    bucket = f"mm-chatbot-test-{uuid.uuid4().hex[:10]}"
    s3 = boto3.client("s3", endpoint_url=os.environ["AWS_ENDPOINT_URL"], region_name="eu-central-1")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    yield {"s3": s3, "bucket": bucket}
    empty_bucket(s3, bucket)


@pytest.fixture(scope="session")
def redis_client(local_stack):
    import redis  # noqa: PLC0415

    client = redis.Redis.from_url(os.environ["MM_REDIS_URL"], ssl_ca_certs=os.environ["MM_REDIS_CA"])
    yield client
    for pattern in ("mediamind:chatbot:mm-chatbot-test-*", "mediamind:chatbot:rate:*"):
        for key in client.scan_iter(match=pattern, count=1000):
            client.delete(key)
    client.close()


@pytest.fixture(scope="session")
def chatbot_env(local_stack, aws, backend) -> dict[str, str]:
    """The Lambda's environment for the local stack (a plain dict: build_pipeline(env))."""
    return {
        **{k: v for k, v in os.environ.items() if k.startswith("AWS_")},
        "API_HOST": backend.url,
        "CHAT_API_KEY": API_KEY,
        "REDIS_URL": os.environ["MM_REDIS_URL"],
        "REDIS_SSL_CA_CERTS": os.environ["MM_REDIS_CA"],
        "CHATBOT_ADDRESS": BOT,
        "INBOUND_PREFIX": PREFIX,
        "API_TIMEOUT_SECONDS": "2",
        "REDIS_TIMEOUT_SECONDS": "1",
        # The fixtures share a few senders across hundreds of mails (and the hourly window
        # outlives a session): off here; the rate-limit tests set it with their own senders.
        "SENDER_RATE_LIMIT_PER_HOUR": "0",
    }


@pytest.fixture(scope="session")
def pipeline(chatbot_env):
    """One warm 'container' shared by the tests that use the default configuration."""
    from mediamind_chatbot.handler import build_pipeline  # noqa: PLC0415

    pipe = build_pipeline(chatbot_env)
    yield pipe
    pipe.api.close()


@pytest.fixture
def put_mail(aws):
    """Store raw mail under the inbound prefix; return (key, S3 event for it)."""
    from mediamind_chatbot.events import make_event  # noqa: PLC0415

    def _put(raw: bytes, key: str | None = None) -> tuple[str, dict[str, Any]]:
        key = key or f"{PREFIX}{uuid.uuid4().hex}"
        aws["s3"].put_object(Bucket=aws["bucket"], Key=key, Body=raw)
        return key, make_event(aws["bucket"], key, size=len(raw), event_time="2026-03-02T09:00:01.000Z")

    return _put
