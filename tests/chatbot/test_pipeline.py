"""The handler end to end against moto (S3), the TLS Redis and the backend stand-in."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import uuid

import pytest

from .conftest import API_KEY, FIXTURES, LAMBDA_SRC, PREFIX, FakeContext, event_fixture, mail_fixture


def _one(result: dict) -> dict:
    assert len(result["outcomes"]) == 1
    return result["outcomes"][0]


@pytest.fixture
def count_s3_requests():
    """Count the HTTP requests a pipeline's S3 client sends (unhooked after the test)."""
    hooks = []

    def _count(pipeline) -> list[str]:
        seen: list[str] = []

        def hook(request, **_):
            seen.append(request.method)

        pipeline.s3.meta.events.register("before-send.s3", hook)
        hooks.append((pipeline, hook))
        return seen

    yield _count
    for pipeline, hook in hooks:
        pipeline.s3.meta.events.unregister("before-send.s3", hook)


def _count_redis_commands(pipeline, monkeypatch) -> list[str]:
    client = pipeline.dedup._redis
    seen: list[str] = []
    original = client.execute_command

    def counting(*args, **kwargs):
        seen.append(str(args[0]))
        return original(*args, **kwargs)

    monkeypatch.setattr(client, "execute_command", counting)
    return seen


# --------------------------------------------------------------------------- happy path


def test_processed_mail_posts_the_contract_payload_and_headers(pipeline, put_mail, standin):
    key, event = put_mail(mail_fixture("german_reply.eml"))
    assert _one(pipeline.handle(event, FakeContext())) == {
        "bucket": event["Records"][0]["s3"]["bucket"]["name"],
        "key": key,
        "outcome": "processed",
        "reason": None,
    }
    (call,) = standin.calls
    assert call.headers["x-api-key"] == API_KEY
    assert call.idempotency_key == key.removeprefix(PREFIX)
    assert call.payload == {
        "sender": "juergen@example.de",
        "subject": "Re: Grüße aus München",
        "body": "Wie finde ich meine gespeicherten Artikel? Schöne Grüße",
        "message_id": "<de-1@example.de>",
        "in_reply_to": None,
        "references": None,
        "received_at": "2026-03-02T09:00:01.000Z",
    }


def test_processed_mail_costs_one_s3_request_and_three_redis_commands(
    pipeline, put_mail, standin, monkeypatch, count_s3_requests
):
    _key, event = put_mail(mail_fixture("gmail_reply.eml"))
    s3_requests = count_s3_requests(pipeline)
    redis_commands = _count_redis_commands(pipeline, monkeypatch)
    assert _one(pipeline.handle(event, FakeContext()))["outcome"] == "processed"
    assert s3_requests == ["GET"]
    # Claim, admit (claim still ours + the sender's hourly count, one script), done marker.
    assert redis_commands == ["SET", "EVALSHA", "SET"]
    # A duplicate costs one Redis command and no S3 request.
    s3_requests.clear()
    redis_commands.clear()
    assert _one(pipeline.handle(event, FakeContext()))["outcome"] == "duplicate"
    assert s3_requests == []
    assert redis_commands == ["SET"]


def test_dedup_markers_and_ttls_in_redis(pipeline, put_mail, standin, redis_client):
    key, event = put_mail(mail_fixture("gmail_reply.eml"))
    bucket = event["Records"][0]["s3"]["bucket"]["name"]
    pipeline.handle(event, FakeContext())
    rkey = pipeline.dedup.key_for(bucket, key)
    assert redis_client.get(rkey).startswith(b"done:")
    assert 86_000 < redis_client.ttl(rkey) <= 86_400

    key, event = put_mail(mail_fixture("spam.eml"))
    assert _one(pipeline.handle(event, FakeContext())) == {
        "bucket": bucket,
        "key": key,
        "outcome": "rejected",
        "reason": "spam",
    }
    assert redis_client.get(pipeline.dedup.key_for(bucket, key)) == b"rejected:spam"
    # The retry of a rejected mail stops at the marker.
    assert _one(pipeline.handle(event, FakeContext()))["reason"] == "already_rejected"
    assert len(standin.calls) == 1


@pytest.mark.parametrize("value", [b"", b"bogus", b"x:y"])
def test_a_marker_the_lambda_never_writes_is_already_unknown(pipeline, put_mail, standin, redis_client, value):
    key, event = put_mail(mail_fixture("gmail_reply.eml"))
    redis_client.set(pipeline.dedup.key_for(event["Records"][0]["s3"]["bucket"]["name"], key), value, ex=60)
    assert _one(pipeline.handle(event, FakeContext()))["reason"] == "already_unknown"
    assert standin.calls == []


def test_every_record_of_a_batch_is_handled(pipeline, aws, standin):
    event = event_fixture("put_batch_mixed.json")
    bucket = aws["bucket"]
    run = uuid.uuid4().hex[:8]
    for record in event["Records"]:
        record["s3"]["bucket"]["name"] = bucket
        record["s3"]["object"]["key"] = record["s3"]["object"]["key"].replace("msg-", f"msg-{run}-")
        aws["s3"].put_object(Bucket=bucket, Key=record["s3"]["object"]["key"], Body=mail_fixture("signature.eml"))
    result = pipeline.handle(event, FakeContext())
    assert [(o["outcome"], o["reason"]) for o in result["outcomes"]] == [
        ("processed", None),
        ("processed", None),
        ("ignored", "not_object_created"),
        ("ignored", "outside_prefix"),
        ("ignored", "not_a_mail_object"),
    ]
    assert sorted(c.idempotency_key for c in standin.calls) == [f"msg-{run}-one", f"msg-{run}-two"]


def test_url_encoded_keys_are_decoded(pipeline, aws, standin):
    event = event_fixture("put_encoded_key.json")
    event["Records"][0]["s3"]["bucket"]["name"] = aws["bucket"]
    run = uuid.uuid4().hex[:8]
    event["Records"][0]["s3"]["object"]["key"] += run
    real_key = f"inbound/mail with spaces=and+plus{run}"
    aws["s3"].put_object(Bucket=aws["bucket"], Key=real_key, Body=mail_fixture("signature.eml"))
    assert _one(pipeline.handle(event, FakeContext())) == {
        "bucket": aws["bucket"],
        "key": real_key,
        "outcome": "processed",
        "reason": None,
    }


@pytest.mark.parametrize(
    ("fixture", "reason"),
    [
        ("s3_test_event.json", "s3_test_event"),
        ("object_removed.json", "not_object_created"),
        ("outside_prefix.json", "outside_prefix"),
    ],
)
def test_events_that_are_ignored(pipeline, standin, fixture, reason):
    result = pipeline.handle(event_fixture(fixture), FakeContext())
    assert [o["outcome"] for o in result["outcomes"]] == ["ignored"]
    assert result["outcomes"][0]["reason"] == reason
    assert standin.calls == []


@pytest.mark.parametrize("event", [None, {}, {"Records": "x"}, {"Records": [1, {"eventSource": "aws:sqs"}]}, []])
def test_malformed_events_are_ignored_not_crashing(pipeline, event):
    result = pipeline.handle(event, FakeContext())
    assert {o["outcome"] for o in result["outcomes"]} == {"ignored"}


# --------------------------------------------------------------------------- filters and rejections


@pytest.mark.parametrize(
    ("fixture", "reason"),
    [
        ("spam.eml", "spam"),
        ("virus.eml", "virus"),
        ("dmarc_reject.eml", "dmarc_fail"),
        ("auto_reply.eml", "auto_reply"),
        ("bulk.eml", "bulk"),
        ("mailing_list.eml", "mailing_list"),
        ("bounce_null_return_path.eml", "bounce"),
        ("bounce_mailer_daemon.eml", "bounce"),
        ("own_address.eml", "own_address"),
        ("no_from.eml", "no_sender"),
        ("garbage.eml", "no_sender"),
        ("broken_headers.eml", "from_malformed"),
        ("own_address_tagged.eml", "own_address"),
        ("forged_from_encoded_word.eml", "from_encoded_word"),
        ("forged_from_nested_brackets.eml", "from_nested_angle_brackets"),
        ("forged_from_two_addresses.eml", "from_multiple_addresses"),
        ("forged_from_two_headers.eml", "from_multiple_headers"),
        ("forged_from_domain_mismatch.eml", "from_domain_mismatch"),
        ("dmarc_fail_under_forged_pass.eml", "dmarc_fail"),
    ],
)
def test_filtered_mail_is_rejected_with_reason_and_no_api_call(pipeline, put_mail, standin, fixture, reason):
    _key, event = put_mail(mail_fixture(fixture))
    assert _one(pipeline.handle(event, FakeContext()))[("reason")] == reason
    assert standin.calls == []


def test_allowed_senders(chatbot_env, put_mail, standin):
    from mediamind_chatbot.handler import build_pipeline  # noqa: PLC0415

    pipe = build_pipeline({**chatbot_env, "ALLOWED_SENDERS": "bob@example.com, @example.de"})
    _k, alice = put_mail(mail_fixture("gmail_reply.eml"))
    _k, juergen = put_mail(mail_fixture("german_reply.eml"))
    _k, bob = put_mail(mail_fixture("outlook_reply.eml"))
    assert _one(pipe.handle(alice, FakeContext()))["reason"] == "sender_not_allowed"
    assert _one(pipe.handle(juergen, FakeContext()))["outcome"] == "processed"
    assert _one(pipe.handle(bob, FakeContext()))["outcome"] == "processed"
    assert len(standin.calls) == 2


def test_oversize_object_is_rejected_from_the_event_size_without_any_s3_request(
    chatbot_env, put_mail, standin, count_s3_requests
):
    from mediamind_chatbot.handler import build_pipeline  # noqa: PLC0415

    pipe = build_pipeline({**chatbot_env, "MAX_OBJECT_BYTES": "2048"})
    seen = count_s3_requests(pipe)
    _key, event = put_mail(b"From: a@example.com\n\n" + b"x" * 5000)
    assert _one(pipe.handle(event, FakeContext()))["reason"] == "too_large"
    assert seen == []
    assert standin.calls == []


def test_oversize_object_without_event_size_is_rejected_before_reading_the_body(
    chatbot_env, put_mail, standin, count_s3_requests
):
    from mediamind_chatbot.events import make_event  # noqa: PLC0415
    from mediamind_chatbot.handler import build_pipeline  # noqa: PLC0415

    pipe = build_pipeline({**chatbot_env, "MAX_OBJECT_BYTES": "2048"})
    seen = count_s3_requests(pipe)
    key, event = put_mail(b"From: a@example.com\n\n" + b"x" * 5000)
    event = make_event(event["Records"][0]["s3"]["bucket"]["name"], key)  # no size, as from `invoke`
    assert _one(pipe.handle(event, FakeContext()))["reason"] == "too_large"
    assert seen == ["GET"]  # one GET, decided on its Content-Length header; the body is never read


def test_missing_object_is_a_permanent_failure(pipeline, aws, standin, redis_client):
    from mediamind_chatbot.events import make_event  # noqa: PLC0415

    key = f"{PREFIX}{uuid.uuid4().hex}"
    event = make_event(aws["bucket"], key, size=100)
    assert _one(pipeline.handle(event, FakeContext()))["reason"] == "object_missing"
    assert redis_client.get(pipeline.dedup.key_for(aws["bucket"], key)) == b"failed:object_missing"
    assert standin.calls == []


def test_s3_unavailable_raises_and_releases_the_claim(chatbot_env, put_mail, standin, redis_client):
    from mediamind_chatbot.handler import build_pipeline  # noqa: PLC0415
    from mediamind_chatbot.pipeline import InfrastructureError  # noqa: PLC0415

    pipe = build_pipeline({**chatbot_env, "AWS_ENDPOINT_URL": "http://127.0.0.1:9"})  # nothing listens
    key, event = put_mail(mail_fixture("gmail_reply.eml"))
    with pytest.raises(InfrastructureError, match="S3Unavailable"):
        pipe.handle(event, FakeContext())
    assert redis_client.get(pipe.dedup.key_for(event["Records"][0]["s3"]["bucket"]["name"], key)) is None
    assert standin.calls == []


# --------------------------------------------------------------------------- API behaviour


def test_api_500_500_200_is_retried_to_success(pipeline, put_mail, standin):
    standin.script(500, 500, 200)
    key, event = put_mail(mail_fixture("gmail_reply.eml"))
    assert _one(pipeline.handle(event, FakeContext()))["outcome"] == "processed"
    assert [c.status for c in standin.calls] == [500, 500, 200]
    assert {c.idempotency_key for c in standin.calls} == {key.removeprefix(PREFIX)}


@pytest.mark.parametrize("status", [429, 408, 503])
def test_api_retryable_statuses(pipeline, put_mail, standin, status):
    standin.script(status)
    _key, event = put_mail(mail_fixture("gmail_reply.eml"))
    assert _one(pipeline.handle(event, FakeContext()))["outcome"] == "processed"
    assert [c.status for c in standin.calls] == [status, 200]


def test_api_404_unknown_user_is_failed_without_raise_or_retry(pipeline, put_mail, standin, redis_client):
    standin.set_known_users({"someone-else@example.com"})
    key, event = put_mail(mail_fixture("gmail_reply.eml"))
    assert _one(pipeline.handle(event, FakeContext()))[("outcome", "reason")[1]] == "api_404"
    assert [c.status for c in standin.calls] == [404]
    rkey = pipeline.dedup.key_for(event["Records"][0]["s3"]["bucket"]["name"], key)
    assert redis_client.get(rkey) == b"failed:api_404"
    assert _one(pipeline.handle(event, FakeContext()))["reason"] == "already_failed"
    assert len(standin.calls) == 1


def test_api_401_releases_the_claim_raises_and_the_right_key_delivers_once(
    chatbot_env, put_mail, standin, redis_client
):
    from mediamind_chatbot.handler import build_pipeline  # noqa: PLC0415
    from mediamind_chatbot.pipeline import InfrastructureError  # noqa: PLC0415

    key, event = put_mail(mail_fixture("gmail_reply.eml"))
    rkey = None
    wrong = build_pipeline({**chatbot_env, "CHAT_API_KEY": "rotated-away"})
    try:
        with pytest.raises(InfrastructureError, match="ApiAuthFailed"):
            wrong.handle(event, FakeContext())
        rkey = wrong.dedup.key_for(event["Records"][0]["s3"]["bucket"]["name"], key)
        assert redis_client.get(rkey) is None, "a 401 is not the mail's fault: the claim must be released"
        assert [c.status for c in standin.calls] == [401]  # not retried with the same key
    finally:
        wrong.api.close()
    right = build_pipeline(chatbot_env)  # the retry, once the key is right again
    try:
        assert _one(right.handle(event, FakeContext()))["outcome"] == "processed"
    finally:
        right.api.close()
    accepted = [c for c in standin.calls if c.status == 200]
    assert len(accepted) == 1
    assert accepted[0].api_key_ok


@pytest.mark.parametrize("status", [401, 403])
def test_api_auth_failure_rereads_a_rotated_secret_in_the_same_container(chatbot_env, put_mail, standin, status):
    import boto3  # noqa: PLC0415
    from mediamind_chatbot.handler import build_pipeline  # noqa: PLC0415
    from mediamind_chatbot.pipeline import InfrastructureError  # noqa: PLC0415

    sm = boto3.client("secretsmanager", endpoint_url=chatbot_env["AWS_ENDPOINT_URL"], region_name="eu-central-1")
    arn = sm.create_secret(Name=f"mm-chatbot-test/{uuid.uuid4().hex[:8]}/api-key", SecretString="old-key")["ARN"]
    env = {k: v for k, v in chatbot_env.items() if k != "CHAT_API_KEY"}
    pipe = build_pipeline({**env, "CHAT_API_KEY_SECRET_ARN": arn})
    try:
        _key, event = put_mail(mail_fixture("gmail_reply.eml"))
        standin.script(status)  # the backend refuses the old key (a rotation in progress)
        with pytest.raises(InfrastructureError, match="ApiAuthFailed"):
            pipe.handle(event, FakeContext())
        sm.put_secret_value(SecretId=arn, SecretString=API_KEY)  # the rotation completes
        standin.script(status)  # the warm container's cached key is refused once more
        assert _one(pipe.handle(event, FakeContext()))["outcome"] == "processed"
        assert [(c.status, c.api_key_ok) for c in standin.calls] == [(status, False), (status, False), (200, True)]
    finally:
        pipe.api.close()
        sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)


def test_api_key_is_not_read_again_when_the_read_may_outlast_the_deadline(standin):
    from mediamind_chatbot.api import ApiAuthFailed, ChatbotApi  # noqa: PLC0415

    reads: list[float] = []

    def key_source() -> str:
        reads.append(time.monotonic())
        return API_KEY

    api = ChatbotApi(f"{standin.url}/api/v1/chatbot", "rotated-away", key_source=key_source, key_source_seconds=5)
    try:
        with pytest.raises(ApiAuthFailed):
            api.post({"sender": "a@example.com", "subject": "s", "body": "b"}, "id-1", time.monotonic() + 3)
        assert reads == []  # 3 s left, a read may take 5: Lambda's retry reads the key at init
        assert api.post({"sender": "a@example.com", "subject": "s", "body": "b"}, "id-2", time.monotonic() + 20) == 200
        assert len(reads) == 1
        assert [(c.status, c.api_key_ok) for c in standin.calls] == [(401, False), (401, False), (200, True)]
    finally:
        api.close()


def test_secrets_manager_that_never_answers_fails_init_after_two_short_attempts(chatbot_env):
    """botocore's defaults would wait 60 s per read and retry: the secrets client is bounded."""
    from mediamind_chatbot.handler import ConfigError, build_pipeline  # noqa: PLC0415

    accepted: list[socket.socket] = []
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    stop = threading.Event()

    def black_hole() -> None:  # accepts and never answers
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=black_hole, daemon=True)
    thread.start()
    env = {k: v for k, v in chatbot_env.items() if k != "CHAT_API_KEY"}
    env["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{server.getsockname()[1]}"
    env["CHAT_API_KEY_SECRET_ARN"] = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:chat-key-AbCdEf"
    try:
        with pytest.raises(ConfigError, match=r"CHAT_API_KEY_SECRET_ARN: cannot read secret .*ReadTimeoutError"):
            build_pipeline(env)
        assert len(accepted) == 2  # the first attempt and one retry, each ended by the 2 s read timeout
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in accepted:
            conn.close()
        server.close()


def test_raw_8bit_subject_is_delivered_decoded(pipeline, put_mail, standin):
    _key, event = put_mail(mail_fixture("raw_8bit_subject.eml"))
    assert _one(pipeline.handle(event, FakeContext()))["outcome"] == "processed"
    (call,) = standin.calls
    assert call.payload["subject"] == "Grüße \u2013 SMTPUTF8 \ufffd raw"
    assert call.payload["body"] == "Wo finde ich meine Notizen? Ü"


def _forged(sender_header: str, ses_from: str) -> bytes:
    return (
        "X-SES-Spam-Verdict: PASS\nX-SES-Virus-Verdict: PASS\n"
        f"Authentication-Results: amazonses.com; spf=pass smtp.mailfrom={ses_from}; dmarc=pass header.from={ses_from}\n"
        f"From: {sender_header}\nSubject: notes\nMessage-ID: <{uuid.uuid4().hex}@x>\n\nShow me the notes.\n"
    ).encode()


@pytest.mark.parametrize("allowed", [None, "alice@allowed.example"])
@pytest.mark.parametrize(
    ("sender_header", "reason"),
    [
        ("=?utf-8?b?YWxpY2VAYWxsb3dlZC5leGFtcGxlPg==?=@evil.example", "from_encoded_word"),
        ("<alice@allowed.example>@evil.example", "from_nested_angle_brackets"),
        ("Alice <alice@allowed.example>, <m@evil.example>", "from_multiple_addresses"),
        ("Alice <alice@allowed.example>", "from_domain_mismatch"),
        # Two From headers (forged_from_two_headers.eml), either order: one of them is allowed.
        ("mallory@evil.example\nFrom: alice@allowed.example", "from_multiple_headers"),
        ("alice@allowed.example\nFrom: mallory@evil.example", "from_multiple_headers"),
    ],
)
def test_forged_senders_never_reach_the_backend(  # noqa: PLR0917 - fixtures and parameters
    chatbot_env, put_mail, standin, sender_header, reason, allowed
):
    from mediamind_chatbot.handler import build_pipeline  # noqa: PLC0415

    env = {**chatbot_env, **({"ALLOWED_SENDERS": allowed} if allowed else {})}
    pipe = build_pipeline(env)
    try:
        _key, event = put_mail(_forged(sender_header, "evil.example"))
        assert _one(pipe.handle(event, FakeContext()))["reason"] == reason
        # The same mail, honestly from the domain SES authenticated, passes (without the allow-list).
        _key, event = put_mail(_forged("Mallory <mallory@evil.example>", "evil.example"))
        expected = "sender_not_allowed" if allowed else None
        assert _one(pipe.handle(event, FakeContext()))["reason"] == expected
    finally:
        pipe.api.close()
    assert all(c.payload["sender"] == "mallory@evil.example" for c in standin.calls)
    assert len(standin.calls) == (0 if allowed else 1)


def test_dmarc_fail_under_a_sender_added_pass_header(pipeline, put_mail, standin, redis_client):
    key, event = put_mail(mail_fixture("dmarc_fail_under_forged_pass.eml"))
    assert _one(pipeline.handle(event, FakeContext()))["reason"] == "dmarc_fail"
    rkey = pipeline.dedup.key_for(event["Records"][0]["s3"]["bucket"]["name"], key)
    assert redis_client.get(rkey) == b"rejected:dmarc_fail"
    assert standin.calls == []


def test_rate_limit_per_sender_per_hour(chatbot_env, put_mail, standin, redis_client):
    from mediamind_chatbot.handler import build_pipeline  # noqa: PLC0415

    pipe = build_pipeline({**chatbot_env, "SENDER_RATE_LIMIT_PER_HOUR": "3"})
    sender = f"rate-{uuid.uuid4().hex[:8]}@example.com"
    try:
        outcomes = []
        events = []
        for n, header in enumerate([sender, sender.upper(), sender.replace("@", "+tag@"), sender, sender]):
            _key, event = put_mail(_forged(f"User {n} <{header}>", "example.com"))
            events.append(event)
            outcomes.append(_one(pipe.handle(event, FakeContext())))
        assert [(o["outcome"], o["reason"]) for o in outcomes] == [
            ("processed", None),
            ("processed", None),
            ("processed", None),
            ("rejected", "rate_limited"),
            ("rejected", "rate_limited"),
        ]
        bucket = events[0]["Records"][0]["s3"]["bucket"]["name"]
        assert redis_client.get(pipe.dedup.key_for(bucket, outcomes[3]["key"])) == b"rejected:rate_limited"
        # The retry of a limited mail stops at its marker; another sender is not affected.
        assert _one(pipe.handle(events[3], FakeContext()))["reason"] == "already_rejected"
        _key, other = put_mail(_forged(f"other-{uuid.uuid4().hex[:6]}@example.com", "example.com"))
        assert _one(pipe.handle(other, FakeContext()))["outcome"] == "processed"
        window = pipe.dedup.rate_key(sender)
        assert redis_client.scard(window) == 3
        assert 3600 < redis_client.ttl(window) <= 3720
    finally:
        pipe.api.close()
    assert len(standin.calls) == 4


def test_rate_limit_counts_a_retried_mail_once(chatbot_env, put_mail, standin):
    from mediamind_chatbot.handler import build_pipeline  # noqa: PLC0415
    from mediamind_chatbot.pipeline import InfrastructureError  # noqa: PLC0415

    pipe = build_pipeline({**chatbot_env, "SENDER_RATE_LIMIT_PER_HOUR": "1"})
    try:
        _key, event = put_mail(_forged(f"once-{uuid.uuid4().hex[:8]}@example.com", "example.com"))
        standin.fail_next(100)
        with pytest.raises(InfrastructureError, match="ApiUnavailable"):
            pipe.handle(event, FakeContext(remaining_ms=2500))
        standin.reset()
        assert _one(pipe.handle(event, FakeContext()))["outcome"] == "processed"
    finally:
        pipe.api.close()


def test_a_mail_whose_claim_expired_mid_way_is_not_posted(pipeline, put_mail, standin, redis_client):
    from mediamind_chatbot.pipeline import InfrastructureError  # noqa: PLC0415

    key, event = put_mail(mail_fixture("signature.eml"))
    rkey = pipeline.dedup.key_for(event["Records"][0]["s3"]["bucket"]["name"], key)
    original = pipeline._read

    def stall_then_read(obj):
        # Our claim expired during a stall and another delivery took the mail.
        redis_client.set(rkey, "inprogress:someone-else", ex=60)
        return original(obj)

    pipeline._read = stall_then_read
    try:
        with pytest.raises(InfrastructureError, match="claim_lost"):
            pipeline.handle(event, FakeContext())
    finally:
        del pipeline._read
    assert redis_client.get(rkey) == b"inprogress:someone-else"
    assert standin.calls == []
    redis_client.delete(rkey)


def test_api_slow_drip_response_is_cut_at_the_deadline(chatbot_env, put_mail, standin):
    """A server that answers one byte at a time cannot keep an attempt past its time."""
    from mediamind_chatbot.api import ApiUnavailable, ChatbotApi  # noqa: PLC0415

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    stop = threading.Event()

    def drip():
        conn, _ = server.accept()
        conn.recv(65536)
        for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 100:
            if stop.wait(0.2):
                break
            conn.sendall(bytes([byte]))
        conn.close()

    threading.Thread(target=drip, daemon=True).start()
    api = ChatbotApi(f"http://127.0.0.1:{server.getsockname()[1]}/api/v1/chatbot", "k", timeout_seconds=5)
    started = time.monotonic()
    try:
        with pytest.raises(ApiUnavailable):
            api.post({"sender": "a@b.c"}, "id", deadline=time.monotonic() + 1.5)
        assert time.monotonic() - started < 2.5
    finally:
        stop.set()
        server.close()
        api.close()


def test_api_exhausted_releases_claim_raises_and_processes_later(pipeline, put_mail, standin, redis_client):
    from mediamind_chatbot.pipeline import InfrastructureError  # noqa: PLC0415

    standin.fail_next(100)
    key, event = put_mail(mail_fixture("gmail_reply.eml"))
    started = time.monotonic()
    # 3 s left: the retries must stop in time to release the claim before the "timeout".
    with pytest.raises(InfrastructureError, match="ApiUnavailable"):
        pipeline.handle(event, FakeContext(remaining_ms=3000))
    assert time.monotonic() - started < 3
    assert len(standin.calls) >= 2
    rkey = pipeline.dedup.key_for(event["Records"][0]["s3"]["bucket"]["name"], key)
    assert redis_client.get(rkey) is None, "the claim must be released for the retry"

    standin.reset()
    assert _one(pipeline.handle(event, FakeContext()))["outcome"] == "processed"
    assert len(standin.calls) == 1


def test_api_timeout_is_retried(chatbot_env, put_mail, standin):
    from mediamind_chatbot.handler import build_pipeline  # noqa: PLC0415

    pipe = build_pipeline({**chatbot_env, "API_TIMEOUT_SECONDS": "0.3"})
    standin.set_faults(delay=1.0)
    _key, event = put_mail(mail_fixture("gmail_reply.eml"))

    def heal():
        time.sleep(0.5)
        standin.set_faults(delay=0.0)

    threading.Thread(target=heal).start()
    assert _one(pipe.handle(event, FakeContext()))["outcome"] == "processed"
    assert len(standin.calls) >= 2


def test_release_never_deletes_a_claim_it_no_longer_owns(pipeline, redis_client):
    dedup = pipeline.dedup
    mine = dedup.claim("b", f"k-{uuid.uuid4().hex}", remaining_ms=1000)
    assert mine.acquired
    # Our claim expired and another invocation claimed the key meanwhile.
    redis_client.set(mine.key, "inprogress:someone-else", ex=60)
    assert dedup.release(mine) is False
    assert redis_client.get(mine.key) == b"inprogress:someone-else"
    redis_client.delete(mine.key)


def test_redis_that_never_answers_gives_up_in_seconds(chatbot_env, put_mail, standin):
    from mediamind_chatbot.handler import build_pipeline  # noqa: PLC0415
    from mediamind_chatbot.pipeline import InfrastructureError  # noqa: PLC0415

    # A black hole: accepts TCP, never completes the TLS handshake.
    hole = socket.socket()
    hole.bind(("127.0.0.1", 0))
    hole.listen(16)
    try:
        url = f"rediss://:x@127.0.0.1:{hole.getsockname()[1]}/0"
        pipe = build_pipeline({**chatbot_env, "REDIS_URL": url, "REDIS_TIMEOUT_SECONDS": "0.5"})
        _key, event = put_mail(mail_fixture("gmail_reply.eml"))
        started = time.monotonic()
        with pytest.raises(InfrastructureError):
            pipe.handle(event, FakeContext())
        assert time.monotonic() - started < 4
    finally:
        hole.close()
    assert standin.calls == []


# --------------------------------------------------------------------------- logs and metrics


def test_logs_are_json_without_body_or_full_sender_and_metrics_are_emf(pipeline, put_mail, standin, capsys):
    _key, event = put_mail(mail_fixture("gmail_reply.eml"))
    _key2, spam = put_mail(mail_fixture("spam.eml"))
    pipeline.handle(event, FakeContext())
    pipeline.handle(spam, FakeContext())
    out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines()]
    assert "alice@example.com" not in out.lower()
    assert "export my notes" not in out
    records = [line for line in lines if line.get("message") == "record"]
    assert [r["outcome"] for r in records] == ["processed", "rejected"]
    assert records[0]["sender_domain"] == "example.com"
    assert len(records[0]["sender_hash"]) == 12
    assert {"claim", "s3", "parse", "api", "total"} <= set(records[0]["timings_ms"])
    emf = [line for line in lines if "_aws" in line]
    assert len(emf) == 2
    directive = emf[0]["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "MediaMind/Chatbot"
    assert {m["Name"] for m in directive["Metrics"]} >= {"processed", "duplicate", "rejected", "failed", "ignored"}
    assert (emf[0]["processed"], emf[1]["rejected"]) == (1, 1)


# --------------------------------------------------------------------------- handler and CLI


def test_lambda_handler_builds_once_per_container(chatbot_env, put_mail, standin, monkeypatch):
    from mediamind_chatbot import handler  # noqa: PLC0415

    for name, value in chatbot_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(handler, "_PIPELINE", None)
    _key, event = put_mail(mail_fixture("gmail_reply.eml"))
    assert handler.lambda_handler(event, FakeContext())["outcomes"][0]["outcome"] == "processed"
    first = handler._PIPELINE
    assert handler.lambda_handler(event, FakeContext())["outcomes"][0]["outcome"] == "duplicate"
    assert handler._PIPELINE is first
    assert first.dedup._redis.connection_pool is handler._PIPELINE.dedup._redis.connection_pool


def test_secrets_manager_arns_are_read_once_per_container(chatbot_env, put_mail, standin):
    import boto3  # noqa: PLC0415
    from mediamind_chatbot.handler import ConfigError, build_pipeline  # noqa: PLC0415

    sm = boto3.client("secretsmanager", endpoint_url=chatbot_env["AWS_ENDPOINT_URL"], region_name="eu-central-1")
    run = uuid.uuid4().hex[:8]
    key_arn = sm.create_secret(Name=f"mm-chatbot-test/{run}/api-key", SecretString=API_KEY)["ARN"]
    url_arn = sm.create_secret(
        Name=f"mm-chatbot-test/{run}/redis", SecretString=json.dumps({"url": chatbot_env["REDIS_URL"]})
    )["ARN"]
    plain_arn = sm.create_secret(Name=f"mm-chatbot-test/{run}/plain", SecretString="redis://h:1/0")["ARN"]
    env = {k: v for k, v in chatbot_env.items() if k not in ("CHAT_API_KEY", "REDIS_URL")}
    try:
        pipe = build_pipeline({**env, "CHAT_API_KEY_SECRET_ARN": key_arn, "REDIS_URL_SECRET_ARN": url_arn})
        _key, event = put_mail(mail_fixture("gmail_reply.eml"))
        assert _one(pipe.handle(event, FakeContext()))["outcome"] == "processed"
        assert standin.calls[0].headers["x-api-key"] == API_KEY
        # The URL from the secret obeys the same rediss:// rule as REDIS_URL.
        with pytest.raises(ConfigError, match="REDIS_URL_SECRET_ARN uses plaintext redis://"):
            build_pipeline({**env, "CHAT_API_KEY_SECRET_ARN": key_arn, "REDIS_URL_SECRET_ARN": plain_arn})
        missing = key_arn + "-missing"
        with pytest.raises(ConfigError, match="CHAT_API_KEY_SECRET_ARN: cannot read secret"):
            build_pipeline({**env, "CHAT_API_KEY_SECRET_ARN": missing, "REDIS_URL_SECRET_ARN": url_arn})
    finally:
        for arn in (key_arn, url_arn, plain_arn):
            sm.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)


def test_init_fails_fast_with_one_line_naming_the_variable(chatbot_env):
    env = {k: v for k, v in chatbot_env.items() if k != "API_HOST"}
    env["AWS_LAMBDA_FUNCTION_NAME"] = "mediamind_chatbot"
    env["PYTHONPATH"] = str(LAMBDA_SRC)
    proc = subprocess.run(
        [sys.executable, "-c", "import mediamind_chatbot.handler"],
        env={**os.environ, **env, "API_HOST": ""},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0
    assert proc.stderr.strip().splitlines()[-1] == (
        "mediamind_chatbot.config.ConfigError: API_HOST is required but not set"
    )


def test_invoke_cli_replays_one_mail(chatbot_env, put_mail, standin, aws):
    key, _event = put_mail(mail_fixture("gmail_reply.eml"))
    env = {**os.environ, **chatbot_env, "PYTHONPATH": str(LAMBDA_SRC)}
    cmd = [sys.executable, "-m", "mediamind_chatbot.invoke", "--bucket", aws["bucket"], "--key", key]
    first = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, timeout=60)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["outcomes"][0]["outcome"] == "processed"
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, timeout=60)
    assert json.loads(second.stdout)["outcomes"][0]["outcome"] == "duplicate"
    assert len(standin.calls) == 1

    event_file = FIXTURES / "events" / "s3_test_event.json"
    third = subprocess.run(
        [sys.executable, "-m", "mediamind_chatbot.invoke", "--event", str(event_file)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert third.returncode == 0
    assert json.loads(third.stdout)["outcomes"][0]["outcome"] == "ignored"

    bad = subprocess.run(
        cmd, check=False, env={**env, "REDIS_URL": "redis://127.0.0.1:1/0"}, capture_output=True, text=True
    )
    assert bad.returncode == 2
    assert "REDIS_URL" in bad.stderr
