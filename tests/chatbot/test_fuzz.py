"""Malformed input never crashes: hypothesis-built MIME structures and CPython's email corpus.

Every input must end in a contract outcome; only infrastructure failures may raise.
"""

from __future__ import annotations

import email
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mediamind_chatbot import filters, mail

from .conftest import BOT, PREFIX, FakeContext

OUTCOMES = {"processed", "duplicate", "rejected", "failed", "ignored"}

# ----------------------------------------------------------------------------- strategies

CHARSETS = ["utf-8", "us-ascii", "iso-8859-1", "windows-1252", "koi8-r", "gb2312", "x-bogus", "utf-7", ""]
ENCODINGS = ["7bit", "8bit", "base64", "quoted-printable", "binary", "x-uuencode", "bogus"]
HEADER_NAMES = [
    "From",
    "Subject",
    "Return-Path",
    "Auto-Submitted",
    "Precedence",
    "List-Id",
    "X-SES-Spam-Verdict",
    "Authentication-Results",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Content-Disposition",
]

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80)
ascii_line = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60)
# UTF-7 that decodes to a lone surrogate (+2D0-), a pair, and a truncated shift sequence.
UTF7_TRAPS = ["+2D0-", "a +2D0- b", "+2D3eAA-", "+2D", "+AGE"]


@st.composite
def header_value(draw) -> bytes:
    kind = draw(st.sampled_from(["plain", "encoded", "utf7", "address", "raw"]))
    if kind == "plain":
        return draw(ascii_line).encode()
    if kind == "encoded":
        cs = draw(st.sampled_from(CHARSETS)) or "utf-8"
        enc = draw(st.sampled_from(["q", "b", "Q", "B", "x"]))
        return f"=?{cs}?{enc}?{draw(ascii_line)}?=".encode()
    if kind == "utf7":
        return f"=?utf-7?{draw(st.sampled_from('qQ'))}?{draw(st.sampled_from(UTF7_TRAPS))}?=".encode()
    if kind == "address":
        local = draw(st.text(alphabet='abcXYZ.+-_"<>@ ', min_size=0, max_size=12))
        domain = draw(st.text(alphabet="abc.-@[]", min_size=0, max_size=10))
        return f"{draw(ascii_line)[:10]} <{local}@{domain}>".encode()
    return draw(st.binary(max_size=60)).replace(b"\n", b" ").replace(b"\r", b" ")


@st.composite
def headers(draw, names: tuple[str, ...] = tuple(HEADER_NAMES)) -> bytes:
    lines = []
    for _ in range(draw(st.integers(0, 8))):
        name = draw(st.sampled_from(names))
        lines.append(name.encode() + b": " + draw(header_value()))
    return b"\n".join(lines)


@st.composite
def leaf(draw) -> bytes:
    ctype = draw(st.sampled_from(["text/plain", "text/html", "application/pdf", "text/x-bogus", "image/png", ""]))
    cs = draw(st.sampled_from(CHARSETS))
    cte = draw(st.sampled_from(ENCODINGS))
    disposition = draw(st.sampled_from(["", "attachment; filename=a.txt", "inline", "inline; filename=x"]))
    body_text = draw(text)
    try:
        payload = body_text.encode(cs or "utf-8", errors="replace")
    except LookupError:
        payload = body_text.encode("utf-8")
    choice = draw(st.integers(0, 3))
    if choice == 0:
        payload = draw(st.binary(max_size=120))
    elif choice == 1:
        cs, payload = "utf-7", draw(st.sampled_from(UTF7_TRAPS)).encode()
    head = []
    if ctype:
        head.append(f"Content-Type: {ctype}" + (f"; charset={cs}" if cs else ""))
    head.append(f"Content-Transfer-Encoding: {cte}")
    if disposition:
        head.append(f"Content-Disposition: {disposition}")
    return "\n".join(head).encode() + b"\n\n" + payload


@st.composite
def entity(draw, depth: int = 0) -> bytes:
    if depth >= 3 or draw(st.booleans()):
        return draw(leaf())
    boundary = draw(st.sampled_from(["b1", "b2", "", '"quoted b"', "x" * 80]))
    subtype = draw(st.sampled_from(["mixed", "alternative", "related", "signed", "bogus"]))
    parts = [draw(entity(depth + 1)) for _ in range(draw(st.integers(0, 3)))]
    b = boundary.strip('"').encode()
    body = b"".join(b"--" + b + b"\n" + p + b"\n" for p in parts)
    if draw(st.booleans()):
        body += b"--" + b + b"--\n"  # sometimes the closing boundary is missing
    return f"Content-Type: multipart/{subtype}; boundary={boundary}".encode() + b"\n\n" + body


@st.composite
def message(draw, prefix: bytes = b"", names: tuple[str, ...] = tuple(HEADER_NAMES), suffix: bytes = b"") -> bytes:
    raw = prefix + draw(headers(names)) + b"\n" + suffix + b"MIME-Version: 1.0\n" + draw(entity())
    if draw(st.booleans()):
        raw = raw.replace(b"\n", b"\r\n")
    return raw


FUZZ_SENDER = "fuzz@fuzz.example"
# As SES stores a mail of an authenticated sender: its Authentication-Results on top and one
# valid From of that domain; the drawn headers and MIME tree follow, then a Subject that counts
# only when none was drawn (the first one wins), so an empty body is still a question.
# Without these every mail stopped at the filters: the body parse and POST were never fuzzed.
# A second From and the headers whose any value is a reject (Auto-Submitted, List-Id) are
# left out here: the filters have their own tests, this one is about what comes after them.
SES_PREFIX = (
    b"Authentication-Results: amazonses.com; dmarc=pass header.from=fuzz.example\n"
    b"From: Fuzz <" + FUZZ_SENDER.encode() + b">\n"
)
DELIVERABLE_NAMES = tuple(n for n in HEADER_NAMES if n not in ("From", "Auto-Submitted", "List-Id"))
deliverable = message(SES_PREFIX, DELIVERABLE_NAMES, b"Subject: fuzz\n")


# ----------------------------------------------------------------------------- properties


def _check_parsed(raw: bytes) -> None:
    parsed = mail.parse(raw, max_body_chars=500)
    assert isinstance(parsed.body, str)
    assert len(parsed.body) <= 500
    assert isinstance(parsed.subject, str)
    assert "\n" not in parsed.subject
    # The POST is JSON in UTF-8: a lone surrogate (UTF-7 "+2D0-") would fail the mail.
    parsed.subject.encode("utf-8")
    parsed.body.encode("utf-8")
    assert parsed.sender is None or "@" in parsed.sender
    reason = filters.check(parsed, BOT)
    assert reason is None or isinstance(reason, str)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message())
def test_structured_messages_never_crash_the_parser(raw):
    _check_parsed(raw)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_crash_the_parser(raw):
    _check_parsed(raw)


@settings(max_examples=200, deadline=None)
@given(text)
def test_quote_stripping_and_html_never_crash(value):
    assert isinstance(mail.strip_quotes_and_signature(value), str)
    assert isinstance(mail.html_to_text(value), str)


def test_structured_messages_through_the_handler_end_in_an_outcome(pipeline, aws, standin):
    from mediamind_chatbot.events import make_event  # noqa: PLC0415

    seen: Counter[tuple[str, str | None]] = Counter()

    # Inside the test, so the outcomes of all examples can be counted once they ran.
    @settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(deliverable)
    def run(raw):
        key = f"{PREFIX}fuzz-{uuid.uuid4().hex}"
        aws["s3"].put_object(Bucket=aws["bucket"], Key=key, Body=raw)
        result = pipeline.handle(make_event(aws["bucket"], key, size=len(raw)), FakeContext())
        outcome = result["outcomes"][0]
        assert outcome["outcome"] in OUTCOMES
        # The catch-all for bugs must never be what handled an input.
        assert not (outcome["reason"] or "").startswith("internal_error"), outcome
        seen[outcome["outcome"], outcome["reason"]] += 1

    run()
    total = sum(seen.values())
    processed = seen["processed", None]
    # The point of this test is the body parse and the POST: a good share must get there.
    assert processed >= total // 2, seen.most_common()
    assert len(standin.calls) == processed
    assert {call.payload["sender"] for call in standin.calls} <= {FUZZ_SENDER}
    assert any(call.payload["body"] for call in standin.calls), "no drawn body text was ever delivered"


# ----------------------------------------------------------------------------- CPython corpus

# The message corpus of CPython's own email tests, shipped with the interpreter when the
# test package is installed (pyenv builds include it; some distro builds strip it).
CORPUS = Path(email.__file__).resolve().parent.parent / "test" / "test_email" / "data"
CORPUS_FILES = sorted(p for p in CORPUS.glob("*") if p.suffix in (".txt", ".eml") or p.name.startswith("msg_"))


@pytest.mark.skipif(not CORPUS_FILES, reason=f"CPython test_email corpus not installed at {CORPUS}")
def test_cpython_email_corpus_is_present_and_every_file_parses():
    assert len(CORPUS_FILES) >= 40, sys.version
    # The data folder also holds images and sounds: as mail they are garbage, which is the point.
    for path in sorted(CORPUS.iterdir()):
        if path.is_file():
            _check_parsed(path.read_bytes())


def _as_ses_stores_it(raw: bytes) -> bytes:
    """SES prepends its Authentication-Results (DMARC evaluated for the From's domain)."""
    sender = mail.parse_headers(raw).sender
    domain = sender.rpartition("@")[2] if sender else "unknown.invalid"
    return f"Authentication-Results: amazonses.com; dmarc=none header.from={domain}\r\n".encode() + raw


@pytest.mark.skipif(not CORPUS_FILES, reason=f"CPython test_email corpus not installed at {CORPUS}")
def test_cpython_email_corpus_through_the_handler(pipeline, aws, standin):
    from mediamind_chatbot.events import make_event  # noqa: PLC0415

    seen = {}
    for path in CORPUS_FILES:
        raw = path.read_bytes()
        _check_parsed(raw)
        raw = _as_ses_stores_it(raw)
        key = f"{PREFIX}corpus-{uuid.uuid4().hex}"
        aws["s3"].put_object(Bucket=aws["bucket"], Key=key, Body=raw)
        result = pipeline.handle(make_event(aws["bucket"], key, size=len(raw)), FakeContext())
        outcome = result["outcomes"][0]
        assert outcome["outcome"] in OUTCOMES, (path.name, outcome)
        assert not (outcome["reason"] or "").startswith("internal_error"), (path.name, outcome)
        seen[path.name] = (outcome["outcome"], outcome["reason"])
    # The corpus has ordinary messages with senders: some must get through.
    assert any(v[0] == "processed" for v in seen.values()), seen
