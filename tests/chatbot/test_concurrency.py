"""Exactly-once under concurrency and crashes, with several real processes and a real Redis."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import FakeContext, mail_fixture

WORKER = Path(__file__).with_name("worker.py")


def _spawn(chatbot_env, event_file: Path, start_at: float, remaining_ms: int, *extra: str):
    env = {**os.environ, **chatbot_env}
    return subprocess.Popen(
        [sys.executable, str(WORKER), str(event_file), f"{start_at:.3f}", str(remaining_ms), *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _container(env, event, barrier, results) -> None:
    """One forked 'Lambda container': its own pipeline, Redis and HTTP connections."""
    from mediamind_chatbot.handler import build_pipeline  # noqa: PLC0415

    pipeline = build_pipeline(env)
    barrier.wait(timeout=60)  # everyone hits Redis at the same moment
    try:
        results.put(pipeline.handle(event, FakeContext()))
    except Exception as exc:  # noqa: BLE001 - reported to the test
        results.put({"error": repr(exc)})


@pytest.mark.slow
def test_eight_concurrent_processes_make_exactly_one_api_call(chatbot_env, pipeline, put_mail, standin):
    key, event = put_mail(mail_fixture("gmail_reply.eml"))
    # The backend is slow, so all eight are in flight while the winner still holds its claim.
    standin.set_faults(delay=0.5)
    # fork: eight real processes without paying eight interpreter + boto3 imports.
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(8)
    queue = ctx.Queue()
    procs = [ctx.Process(target=_container, args=(chatbot_env, event, barrier, queue)) for _ in range(8)]
    for proc in procs:
        proc.start()
    results = [queue.get(timeout=90) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0
    assert len({proc.pid for proc in procs}) == 8

    processed = [r for r in results if "outcomes" in r]
    assert [r["outcomes"][0]["outcome"] for r in processed] == ["processed"], results
    # The seven that met the claim in progress raise, so Lambda retries them later...
    retried = [r["error"] for r in results if "error" in r]
    assert len(retried) == 7
    assert all("InfrastructureError" in e and "in_progress" in e for e in retried), retried
    # ... and a retry after the first delivery finished is a duplicate.
    assert pipeline.handle(event, FakeContext())["outcomes"][0]["outcome"] == "duplicate"
    calls = standin.calls
    assert len(calls) == 1
    assert calls[0].idempotency_key == key.rsplit("/", 1)[1]


@pytest.mark.slow
def test_crash_between_claim_and_completion_is_processed_once_after_expiry(  # noqa: PLR0917 - fixtures
    chatbot_env, pipeline, put_mail, standin, tmp_path, redis_client
):
    key, event = put_mail(mail_fixture("signature.eml"))
    event_file = tmp_path / "event.json"
    event_file.write_text(json.dumps(event))
    # 2 s left in the "Lambda": the in-progress claim lives 2 s + the 2 s margin.
    proc = _spawn(chatbot_env, event_file, time.time(), 2000, "crash-after-claim")
    proc.communicate(timeout=60)
    assert proc.returncode == 137
    rkey = pipeline.dedup.key_for(event["Records"][0]["s3"]["bucket"]["name"], key)
    assert redis_client.get(rkey).startswith(b"inprogress:")
    ttl = redis_client.ttl(rkey)
    assert 0 < ttl <= 4

    # A retry while the dead claim is still alive raises (Lambda retries it later): it must
    # not end as a "duplicate" success, or the mail would be lost with its dead holder.
    from mediamind_chatbot.pipeline import InfrastructureError  # noqa: PLC0415

    with pytest.raises(InfrastructureError, match="in_progress"):
        pipeline.handle(event, FakeContext())
    assert standin.calls == []

    deadline = time.monotonic() + 15
    while redis_client.exists(rkey) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not redis_client.exists(rkey), "the crashed claim did not expire"

    # Lambda's next async retry (about 2 min later in AWS): processed exactly once.
    assert pipeline.handle(event, FakeContext())["outcomes"][0]["outcome"] == "processed"
    assert pipeline.handle(event, FakeContext())["outcomes"][0]["outcome"] == "duplicate"
    assert [c.status for c in standin.calls] == [200]
