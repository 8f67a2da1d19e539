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


SES_PASS = "amazonses.com; spf=pass smtp.mailfrom=example.com; dkim=pass header.i=@{d}; dmarc=pass header.from={d};"


def _parsed(headers: str, sender: str = "alice@example.com", ses: str | None = SES_PASS) -> mail.ParsedMail:
    """A mail as SES stores it: SES's Authentication-Results on top (for the From's domain)."""
    domain = sender.rpartition("@")[2].lower().rstrip(">")
    top = f"Authentication-Results: {ses.format(d=domain)}\n" if ses else ""
    return mail.parse(f"{top}From: {sender}\n{headers}Subject: s\n\nbody\n".encode())


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ("X-SES-Spam-Verdict: FAIL\n", "spam"),
        ("X-SES-Virus-Verdict: FAIL\n", "virus"),
        ("X-SES-Spam-Verdict: PASS\nX-SES-Virus-Verdict: GRAY\n", None),
        # Only SES's own header counts: another server's verdict, or a sender's, is never read.
        ("Authentication-Results: mx; dmarc=fail policy.dmarc=reject header.from=example.com\n", None),
        ("Authentication-Results: amazonses.com; dmarc=fail header.from=example.com\n", None),
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
    ("ses", "reason"),
    [
        # SES writes no policy: a fail is a reject whatever the domain publishes.
        ("amazonses.com; spf=pass smtp.mailfrom=x; dmarc=fail header.from={d};", "dmarc_fail"),
        ("amazonses.com; dmarc=fail (p=NONE) header.from={d}", "dmarc_fail"),
        ("AmazonSES.com; dmarc=FAIL header.from={d}", "dmarc_fail"),
        ("amazonses.com; dmarc=none header.from={d}", None),
        ("amazonses.com; dmarc=pass header.from={d}.", None),
        ("amazonses.com; dmarc=pass header.from=evil.example", "from_domain_mismatch"),
        ("amazonses.com (comment; dmarc=fail); dmarc=pass header.from={d}", None),
        ("mx.google.com; dmarc=pass header.from={d}", "not_authenticated"),
        (None, "not_authenticated"),
    ],
)
def test_ses_authentication(ses, reason):
    assert filters.check(_parsed("", ses=ses), BOT) == reason


def test_authentication_can_be_not_required_but_a_fail_still_rejects():
    assert filters.check(_parsed("", ses=None), BOT, require_authentication=False) is None
    fail = _parsed("", ses="amazonses.com; dmarc=fail header.from={d}")
    assert filters.check(fail, BOT, require_authentication=False) == "dmarc_fail"


def test_only_the_topmost_ses_header_counts():
    forged = "Authentication-Results: amazonses.com; dmarc=pass header.from=example.com\n"
    parsed = _parsed(forged, ses="amazonses.com; dmarc=fail header.from={d}")
    assert parsed.authentication is not None
    assert parsed.authentication.dmarc == "fail"
    assert filters.check(parsed, BOT) == "dmarc_fail"


@pytest.mark.parametrize(
    ("sender", "reason"),
    [
        ("postmaster@example.com", "bounce"),
        ("Mailer-Daemon@example.com", "bounce"),
        ("Test@Chat.Csee.Tech", "own_address"),
        ("test+loop@chat.csee.tech", "own_address"),
        ("MediaMind <TEST+x@chat.csee.tech.>", "own_address"),
        ("bob@other.org", "sender_not_allowed"),
        ("carol@example.com", None),
        ("dave@allowed.net", None),
    ],
)
def test_sender_filters(sender, reason):
    parsed = _parsed("", sender=sender)
    assert filters.check(parsed, BOT, ("dave@allowed.net", "@example.com")) == reason


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("alice@example.com", ("alice@example.com", None)),
        ("Alice Example <Alice@Example.COM>", ("alice@example.com", None)),
        ('"Example, Alice" <alice@example.com>', ("alice@example.com", None)),
        ('"alice@allowed.example" <mallory@evil.example>', ("mallory@evil.example", None)),
        ("=?utf-8?q?J=C3=BCrgen?= <juergen@example.de>", ("juergen@example.de", None)),
        ("alice@example.com (Alice (the one))", ("alice@example.com", None)),
        ("<alice@example.com.>", ("alice@example.com", None)),
        ('"john doe"@example.com', ('"john doe"@example.com', None)),
        ("=?utf-8?b?YWxpY2VAYWxsb3dlZC5leGFtcGxlPg==?=@evil.example", (None, "from_encoded_word")),
        ("Alice <=?utf-8?q?alice?=@evil.example>", (None, "from_encoded_word")),
        ("<alice@allowed.example>@evil.example", (None, "from_nested_angle_brackets")),
        ("<<alice@allowed.example>>", (None, "from_nested_angle_brackets")),
        ("A <alice@allowed.example> <m@evil.example>", (None, "from_nested_angle_brackets")),
        ("Alice <alice@allowed.example", (None, "from_nested_angle_brackets")),
        ("alice@allowed.example, mallory@evil.example", (None, "from_multiple_addresses")),
        ("alice@allowed.example,", ("alice@allowed.example", None)),
        ("alice", (None, "from_malformed")),
        ("alice@@example.com", (None, "from_malformed")),
        ("alice @ example.com", (None, "from_malformed")),
        ('"unterminated <alice@example.com>', (None, "from_malformed")),
        ("undisclosed-recipients:;", (None, "from_malformed")),
        ("", (None, None)),
    ],
)
def test_from_is_parsed_from_the_raw_header(value, expected):
    assert mail.parse_from(value) == expected


@pytest.mark.parametrize(
    ("address", "normalized"),
    [
        ("Test@Chat.Csee.Tech", "test@chat.csee.tech"),
        ("test+anything@chat.csee.tech.", "test@chat.csee.tech"),
        # A quoted local part that needs no quotes is the same mailbox (the own-address check).
        ('"test"@chat.csee.tech', "test@chat.csee.tech"),
        ('"Test+x"@Chat.Csee.Tech.', "test@chat.csee.tech"),
        ('"t\\est"@chat.csee.tech', "test@chat.csee.tech"),
        ('"a b+c"@example.com', '"a b+c"@example.com'),
    ],
)
def test_normalize_address(address, normalized):
    assert mail.normalize_address(address) == normalized


def test_quoted_own_address_is_the_own_address():
    raw = '"test"@chat.csee.tech'
    sender, problem = mail.parse_from(f"Bot <{raw}>")
    assert (sender, problem) == (raw, None)
    parsed = _parsed("", sender=raw)
    assert filters.check(parsed, BOT) == "own_address"


def test_raw_8bit_headers_are_utf8_with_replacement():
    parsed = mail.parse(mail_fixture("raw_8bit_subject.eml"))
    assert parsed.subject == "Grüße \u2013 SMTPUTF8 \ufffd raw"
    assert parsed.body == "Wo finde ich meine Notizen? Ü"
    # What the API client sends must encode (it failed with UnicodeEncodeError before).
    parsed.subject.encode("utf-8")


@pytest.mark.parametrize(
    ("raw", "subject", "body"),
    [
        # "+2D0-" is a lone high surrogate in UTF-7: it failed the JSON encoding of the POST.
        (b"Subject: =?utf-7?q?+2D0-?= notes\n\nhi", "\ufffd notes", "hi"),
        (b"Subject: =?utf-7?b?KzJEMC0=?=\n\nhi", "\ufffd", "hi"),
        (
            b"Subject: q\nContent-Type: text/plain; charset=utf-7\n\nmy +2D0- notes +2D3eAA-",
            "q",
            "my \ufffd notes \U0001f600",
        ),
        (
            b"Subject: q\nContent-Type: text/html; charset=utf-7\n\n<p>+2D0-</p>",
            "q",
            "\ufffd",
        ),
    ],
)
def test_utf7_lone_surrogates_are_replaced(raw, subject, body):
    parsed = mail.parse(b"From: a@example.com\n" + raw)
    assert (parsed.subject, parsed.body) == (subject, body)
    parsed.subject.encode("utf-8")
    parsed.body.encode("utf-8")


def test_rfc2231_parameters_in_utf7_are_encodable():
    _ctype, params = mail._content_header("attachment; filename*=utf-7''%2B2D0-.txt")
    assert params["filename"] == "\ufffd.txt"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"Subject: " + b"=?utf-8?q?a?= " * 400 + b"\n\nx", "subject_too_long"),
        (b"From: " + b"a@b.c, " * 400 + b"\n\nx", "from_too_long"),
        (b"References: " + b"<a@b> " * 7000 + b"\n\nx", "references_too_long"),
        (b"In-Reply-To: " + b"<a@b> " * 500 + b"\n\nx", "in_reply_to_too_long"),
        (b"X-Big: " + b"y" * 70_000 + b"\n\nx", "header_too_large"),
        (b"X-Folded: a\n" + b" y\n" * 40_000 + b"\nx", "header_too_large"),
        (b"".join(b"X-%d: v\n" % i for i in range(501)) + b"\nx", "too_many_headers"),
        (b"".join(b"X-Long-%d: " % i + b"v" * 1000 + b"\n" for i in range(300)) + b"\nx", "headers_too_large"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_header_caps(raw, problem):
    assert mail.parse(raw).problem == problem


def _multipart(depth: int) -> bytes:
    head = b"".join(b"--b%d\nContent-Type: multipart/mixed; boundary=b%d\n\n" % (i, i + 1) for i in range(depth))
    return b"From: a@example.com\nContent-Type: multipart/mixed; boundary=b0\n\n" + head + b"--b%d\n\nhi\n" % depth


def _parts_with_headers(head: bytes, count: int) -> bytes:
    parts = (b"--x\n" + head + b"Content-Type: image/png\n\n.\n") * count
    return b"From: a@example.com\nContent-Type: multipart/mixed; boundary=x\n\n" + parts + b"--x\n\nthe question\n"


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (_multipart(12), "mime_too_deep"),
        (
            b"From: a@example.com\nContent-Type: multipart/mixed; boundary=x\n\n"
            + b"--x\nContent-Type: image/png\n\n.\n" * 201,
            "too_many_parts",
        ),
        # Within every per-part cap, over the walk's budget: lines (folded ones count), bytes.
        (_parts_with_headers(b"X-A: a\n" + b" \n" * 300, 40), "mime_headers_too_large"),
        (_parts_with_headers(b"X-A: " + b"v" * 60_000 + b"\n", 20), "mime_headers_too_large"),
        (b"From: a@example.com\nContent-Type: text/html\n\n" + b"<b>" * 200_000, "html_part_too_large"),
        (b"From: a@example.com\n\n" + b"word " * 220_000, "text_part_too_large"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_body_caps(raw, problem):
    assert mail.parse(raw).problem == problem


def test_body_within_the_caps_and_attachments_of_any_size():
    assert mail.parse(_multipart(8)).body == "hi"
    attachment = b"--x\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n\n" + b"QUJD" * 500_000
    raw = (
        b"From: a@example.com\nContent-Type: multipart/mixed; boundary=x\n\n"
        + attachment
        + b"\n--x\nContent-Type: text/plain; charset=utf-8\n\nthe question\n--x--\n"
    )
    assert mail.parse(raw).body == "the question"
    # 199 parts of a few folded header lines each: well within the walk's budget.
    assert mail.parse(_parts_with_headers(b"X-A: a\n" + b" b\n" * 40, 199)).body == "the question"


# --------------------------------------------------------------------------- small units


def test_in_progress_ttl_follows_remaining_time():
    assert Dedup.in_progress_ttl(1000) == 3
    assert Dedup.in_progress_ttl(29_500) == 32
    # Never past Lambda's first async retry (~60 s after a failure), whatever the timeout.
    assert Dedup.in_progress_ttl(59_000) == 50
    assert Dedup.in_progress_ttl(900_000) == 50
    assert Dedup.in_progress_ttl(None) == 50


def test_api_client_backoff_is_bounded_by_the_deadline():
    import time  # noqa: PLC0415

    sleeps: list[float] = []
    api = ChatbotApi("http://127.0.0.1:9/api/v1/chatbot", "k", sleep=sleeps.append, rng=lambda: 1.0)
    with pytest.raises(ApiUnavailable, match="ConnectionRefusedError"):
        api.post({"sender": "a@b.c"}, "id", deadline=time.monotonic() + 10)
    assert sleeps == [0.2, 0.4, 0.8, 1.6]  # full jitter at its maximum, 5 attempts
    assert ApiRejected(404).status == 404
