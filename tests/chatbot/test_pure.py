"""The pure core: configuration, event records, mail parsing, quote stripping, filters."""

from __future__ import annotations

import pytest
from mediamind_chatbot import config, filters, mail
from mediamind_chatbot.api import ApiRejected, ApiUnavailable, ChatbotApi
from mediamind_chatbot.dedup import Dedup
from mediamind_chatbot.events import Ignored, S3Object, iter_records

from .conftest import BOT, event_fixture, mail_fixture

BASE_ENV = {
    "API_HOST": "https://api.example.com",
    "CHAT_API_KEY": "k",
    "REDIS_URL": "rediss://:pw@cache.example.com:6379/0",
    "CHATBOT_ADDRESS": BOT,
    "INBOUND_PREFIX": "inbound/",
}

# --------------------------------------------------------------------------- config


def test_config_defaults():
    cfg = config.load(BASE_ENV)
    assert cfg.api_url == "https://api.example.com/api/v1/chatbot"
    assert (cfg.dedup_ttl_seconds, cfg.max_body_chars, cfg.max_object_bytes) == (86400, 20000, 40 * 1024 * 1024)
    assert cfg.allowed_senders == ()


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"API_HOST": ""}, "API_HOST is required but not set"),
        ({"API_HOST": "api.example.com"}, "API_HOST='api.example.com' must be an http(s):// base URL"),
        ({"CHAT_API_KEY": ""}, "CHAT_API_KEY or CHAT_API_KEY_SECRET_ARN is required but neither is set"),
        ({"CHAT_API_KEY": "", "CHAT_API_KEY_SECRET_ARN": "nope"}, "CHAT_API_KEY_SECRET_ARN='nope' is not a"),
        ({"REDIS_URL": ""}, "REDIS_URL or REDIS_URL_SECRET_ARN is required but neither is set"),
        ({"REDIS_URL": "redis://h:6379"}, "REDIS_URL uses plaintext redis://"),
        ({"REDIS_URL": "http://h:6379"}, "REDIS_URL must look like rediss://"),
        ({"ALLOW_INSECURE_REDIS": "maybe"}, "ALLOW_INSECURE_REDIS='maybe' must be true or false"),
        ({"CHATBOT_ADDRESS": "bot"}, "CHATBOT_ADDRESS='bot' is not an email address"),
        ({"DEDUP_TTL_SECONDS": "1d"}, "DEDUP_TTL_SECONDS='1d' is not an integer"),
        ({"DEDUP_TTL_SECONDS": "5"}, "DEDUP_TTL_SECONDS='5' must be >= 60"),
        ({"MAX_BODY_CHARS": "-1"}, "MAX_BODY_CHARS='-1' must be >= 100"),
        ({"API_TIMEOUT_SECONDS": "soon"}, "API_TIMEOUT_SECONDS='soon' is not a number of seconds"),
        ({"ALLOWED_SENDERS": "a@b.c, example"}, "ALLOWED_SENDERS entry 'example' is neither"),
        ({"INBOUND_PREFIX": "/inbound"}, "INBOUND_PREFIX='/inbound' must not start with '/'"),
    ],
)
def test_config_errors_are_one_line_naming_the_variable(change, message):
    with pytest.raises(config.ConfigError) as err:
        config.load({**BASE_ENV, **change})
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_config_accepts_secret_arns_and_insecure_redis_when_allowed():
    arn = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:mediamind/x-AbCdEf"
    cfg = config.load(
        {
            **BASE_ENV,
            "CHAT_API_KEY": "",
            "CHAT_API_KEY_SECRET_ARN": arn,
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "ALLOW_INSECURE_REDIS": "true",
            "ALLOWED_SENDERS": "A@Example.com @example.org",
        }
    )
    assert cfg.api_key_secret_arn == arn
    assert cfg.allowed_senders == ("a@example.com", "@example.org")


# --------------------------------------------------------------------------- events


def test_event_records_are_all_classified():
    items = list(iter_records(event_fixture("put_batch_mixed.json"), "inbound/"))
    assert [type(i).__name__ for i in items] == ["S3Object", "S3Object", "Ignored", "Ignored", "Ignored"]
    first = items[0]
    assert isinstance(first, S3Object)
    assert (first.bucket, first.key, first.size, first.message_id) == (
        "eutop-mediamind",
        "inbound/msg-one",
        1234,
        "msg-one",
    )


def test_event_key_is_unquote_plus_decoded():
    (item,) = iter_records(event_fixture("put_encoded_key.json"), "inbound/")
    assert isinstance(item, S3Object)
    assert item.key == "inbound/mail with spaces=and+plus"


def test_s3_test_event_is_ignored():
    assert list(iter_records(event_fixture("s3_test_event.json"), "inbound/")) == [
        Ignored("s3_test_event", "eutop-mediamind")
    ]


# --------------------------------------------------------------------------- parsing


def test_gmail_reply_keeps_only_new_text_and_threading_headers():
    parsed = mail.parse(mail_fixture("gmail_reply.eml"))
    assert parsed.sender == "alice@example.com"  # lower-cased bare address
    assert parsed.subject == "Re: What is MediaMind?"
    assert parsed.body == "Thanks! And how do I export my notes?\n\nBest,\nAlice"
    assert parsed.message_id == "<CAB123@mail.gmail.com>"
    assert parsed.in_reply_to == "<bot-1@chat.csee.tech>"
    assert parsed.references == "<q-1@example.com> <bot-1@chat.csee.tech>"


@pytest.mark.parametrize(
    ("fixture", "body"),
    [
        ("signature.eml", "Can you summarise the last meeting?"),
        ("outlook_reply.eml", "Please send the report as PDF."),
        ("outlook_header_block.eml", "Which invoice do you mean?"),
        ("german_reply.eml", "Wie finde ich meine gespeicherten Artikel? Schöne Grüße"),
        ("french_reply.eml", "Merci, et comment partager un dossier à mon équipe ?"),
        ("html_only.eml", "Hello bot,\n\nhow do I reset my password?"),
        ("alternative_with_attachment.eml", "Plain part wins."),
        ("attachment_only_text.eml", ""),
    ],
)
def test_body_extraction(fixture, body):
    assert mail.parse(mail_fixture(fixture)).body == body


def test_rfc2047_headers_are_decoded():
    parsed = mail.parse(mail_fixture("german_reply.eml"))
    assert parsed.subject == "Re: Grüße aus München"
    assert mail.parse(mail_fixture("french_reply.eml")).subject == "Réponse"


def test_attachments_never_reach_the_body():
    for name in ("alternative_with_attachment.eml", "attachment_only_text.eml"):
        parsed = mail.parse(mail_fixture(name))
        assert "ATTACHED-TEXT" not in parsed.body
        assert "SECRET-ATTACHMENT" not in parsed.body


def test_html_has_no_tags_scripts_styles_or_quotes():
    text = mail.html_to_text(
        "<style>x{}</style><script>evil()</script><p>a &amp; b</p><blockquote>old</blockquote><br>c"
    )
    assert text == "a & b\n\nc"


@pytest.mark.parametrize("fixture", ["unknown_charset.eml", "wrong_charset.eml"])
def test_bad_charsets_decode_with_replacement(fixture):
    parsed = mail.parse(mail_fixture(fixture))
    assert parsed.sender == "alice@example.com"
    assert "\ufffd" in parsed.body or "?" in parsed.body
    assert parsed.body


def test_body_is_capped():
    raw = b"From: a@example.com\nSubject: long\n\n" + b"word " * 10_000
    assert len(mail.parse(raw, max_body_chars=1000).body) <= 1000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi\n\nOn Tue, 3 Mar 2026 at 10:00, Bob <b@x.com> wrote:\n> old", "Hi"),
        ("Hi\nOn Tue, 3 Mar 2026 at 10:00, Bob Example\n<b@x.com> wrote:\n> old", "Hi"),
        ("Hi\n\nAm Di., 3. März 2026 um 10:00 Uhr schrieb Bob <b@x.com>:\n> alt", "Hi"),
        ("Salut\n\nLe mar. 3 mars 2026 à 10:00, Bob <b@x.com> a écrit :\n> vieux", "Salut"),
        ("Hi\n-----Original Message-----\nFrom: x\nSent: y", "Hi"),
        ("Hi\n-----Ursprüngliche Nachricht-----\nVon: x", "Hi"),
        ("Hi\n\nVon: Bob <b@x.com>\nGesendet: Dienstag\nAn: bot", "Hi"),
        ("Hi\n\nDe : Bob\nEnvoyé : mardi\nÀ : bot", "Hi"),
        ("Hi\n> quoted\nnew line", "Hi\nnew line"),
        ("Hi\n-- \nSignature", "Hi"),
        ("Hi\n--\nSignature", "Hi"),
        (
            "From: me, a line that is not a header block\nstill here",
            "From: me, a line that is not a header block\nstill here",
        ),
        ("Once upon a time\nthe end", "Once upon a time\nthe end"),
    ],
)
def test_quote_and_signature_stripping(text, expected):
    assert mail.strip_quotes_and_signature(text) == expected


# --------------------------------------------------------------------------- filters


def _parsed(headers: str, sender: str = "alice@example.com") -> mail.ParsedMail:
    return mail.parse(f"From: {sender}\n{headers}Subject: s\n\nbody\n".encode())


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ("X-SES-Spam-Verdict: FAIL\n", "spam"),
        ("X-SES-Virus-Verdict: FAIL\n", "virus"),
        ("X-SES-Spam-Verdict: PASS\nX-SES-Virus-Verdict: GRAY\n", None),
        ("Authentication-Results: amazonses.com; dmarc=fail (p=QUARANTINE) header.from=x\n", "dmarc_fail"),
        ("Authentication-Results: mx; dmarc=fail policy.dmarc=reject header.from=x\n", "dmarc_fail"),
        ("Authentication-Results: mx; dmarc=fail (p=NONE) header.from=x\n", None),
        ("Authentication-Results: mx; dmarc=pass (p=REJECT) header.from=x\n", None),
        ("Auto-Submitted: auto-generated\n", "auto_reply"),
        ("Auto-Submitted: auto-replied; owner-email=x@y\n", "auto_reply"),
        ("Auto-Submitted: no\n", None),
        ("Precedence: junk\n", "bulk"),
        ("Precedence: list\n", "bulk"),
        ("Precedence: first-class\n", None),
        ("List-Id: <news.example.com>\n", "mailing_list"),
        ("Return-Path: <>\n", "bounce"),
        ("Return-Path: <alice@example.com>\n", None),
    ],
)
def test_filters(headers, reason):
    assert filters.check(_parsed(headers), BOT) == reason


@pytest.mark.parametrize(
    ("sender", "reason"),
    [
        ("postmaster@example.com", "bounce"),
        ("Mailer-Daemon@example.com", "bounce"),
        ("Test@Chat.Csee.Tech", "own_address"),
        ("bob@other.org", "sender_not_allowed"),
        ("carol@example.com", None),
        ("dave@allowed.net", None),
    ],
)
def test_sender_filters(sender, reason):
    parsed = _parsed("", sender=sender)
    assert filters.check(parsed, BOT, ("dave@allowed.net", "@example.com")) == reason


# --------------------------------------------------------------------------- small units


def test_in_progress_ttl_follows_remaining_time():
    assert Dedup.in_progress_ttl(1000) == 3
    assert Dedup.in_progress_ttl(29_500) == 32
    assert Dedup.in_progress_ttl(None) == 902  # no context: the Lambda maximum


def test_api_client_backoff_is_bounded_by_the_deadline():
    import time  # noqa: PLC0415

    sleeps: list[float] = []
    api = ChatbotApi("http://127.0.0.1:9/api/v1/chatbot", "k", sleep=sleeps.append, rng=lambda: 1.0)
    with pytest.raises(ApiUnavailable, match="ConnectionRefusedError"):
        api.post({"sender": "a@b.c"}, "id", deadline=time.monotonic() + 10)
    assert sleeps == [0.2, 0.4, 0.8, 1.6]  # full jitter at its maximum, 5 attempts
    assert ApiRejected(404).status == 404
