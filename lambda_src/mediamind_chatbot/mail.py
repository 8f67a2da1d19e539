"""Raw RFC 5322 bytes -> the fields the backend needs (pure, never raises).

Parsing uses the stdlib ``email`` package with ``policy.default`` (RFC 2047 decoding,
structured address headers).  Real-world mail is often broken: header objects can raise
on access, charsets can be unknown or wrong, MIME trees can be nonsense.  Every access
here therefore has a fallback, and :func:`parse` only reports problems through
``ParsedMail.defects``; the pipeline decides the outcome.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field
from email import message_from_bytes
from email.header import decode_header, make_header
from email.message import EmailMessage, Message
from email.policy import EmailPolicy
from email.utils import getaddresses, parseaddr
from html.parser import HTMLParser

# ----------------------------------------------------------------------------- policy


class _MemoPolicy(EmailPolicy):
    """``policy.default`` whose parsed header objects are reused within one message.

    With ``policy.default`` every ``msg[name]`` re-parses the raw header, and the parser
    itself asks each part for its Content-Type several times; measured, that was half the
    handler's CPU time per mail.  Header objects are immutable, so the parsed object for a
    given (name, raw value) is cached per message parse (the cache is cleared by
    :func:`parse`, so it never grows across mails).
    """

    def header_fetch_parse(self, name, value):  # type: ignore[override]
        if hasattr(value, "name"):
            return value
        key = (name, value)
        cached = _HEADER_CACHE.get(key)
        if cached is None:
            cached = _HEADER_CACHE[key] = super().header_fetch_parse(name, value)
        return cached


_HEADER_CACHE: dict[tuple[str, str], object] = {}
# Same settings as email.policy.default (EmailPolicy()).
POLICY = _MemoPolicy()

# ----------------------------------------------------------------------------- model


@dataclass
class ParsedMail:
    sender: str | None  # bare, lower-cased addr-spec of the first From address
    subject: str
    body: str
    message_id: str | None
    in_reply_to: str | None
    references: str | None
    headers: dict[str, list[str]] = field(default_factory=dict)  # lower-cased name -> decoded values
    defects: list[str] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None


# Only these headers are kept for filters and the request; the rest is never read.
_KEPT = (
    "from",
    "subject",
    "message-id",
    "in-reply-to",
    "references",
    "return-path",
    "auto-submitted",
    "precedence",
    "list-id",
    "list-unsubscribe",
    "x-ses-spam-verdict",
    "x-ses-virus-verdict",
    "authentication-results",
    "x-autoreply",
    "x-autorespond",
)


def parse(raw: bytes, max_body_chars: int = 20000) -> ParsedMail:
    """Parse one message; any exception inside becomes a defect, never propagates."""
    defects: list[str] = []
    _HEADER_CACHE.clear()
    try:
        msg = message_from_bytes(raw, policy=POLICY)
    except Exception as exc:  # noqa: BLE001 - the parser is lenient, but be sure
        defects.append(f"unparseable:{type(exc).__name__}")
        return ParsedMail(None, "", "", None, None, None, {}, defects)

    headers = _headers(msg, defects)
    sender = _sender(msg, headers, defects)
    body = ""
    try:
        body = extract_body(msg)
    except Exception as exc:  # noqa: BLE001 - broken MIME trees: keep going without a body
        defects.append(f"body:{type(exc).__name__}")
    body = strip_quotes_and_signature(body)
    if len(body) > max_body_chars:
        body = body[:max_body_chars].rstrip()
        defects.append("body_truncated")

    def first(name: str) -> str | None:
        values = headers.get(name)
        return _clean(values[0]) if values else None

    return ParsedMail(
        sender=sender,
        subject=_clean(first("subject") or ""),
        body=body,
        message_id=first("message-id"),
        in_reply_to=first("in-reply-to"),
        references=first("references"),
        headers=headers,
        defects=defects,
    )


# ----------------------------------------------------------------------------- headers


def _clean(value: str) -> str:
    """One line, no control characters (folded headers, smuggled CR/LF)."""
    return " ".join(value.replace("\x00", "").split())


def _decode_raw(raw: str) -> str:
    """RFC 2047 decode a raw header value, tolerating unknown charsets."""
    try:
        return str(make_header(decode_header(raw)))
    except Exception:  # noqa: BLE001 - unknown charset, bad base64: fall back to the raw text
        try:
            parts = []
            for chunk, charset in decode_header(raw):
                if isinstance(chunk, bytes):
                    parts.append(chunk.decode(_codec(charset), errors="replace"))
                else:
                    parts.append(chunk)
            return "".join(parts)
        except Exception:  # noqa: BLE001
            return raw


def _headers(msg: Message, defects: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    try:
        items = list(msg.raw_items()) if isinstance(msg, EmailMessage) else list(msg.items())
    except Exception as exc:  # noqa: BLE001
        defects.append(f"headers:{type(exc).__name__}")
        return out
    for name, raw in items:
        lname = str(name).strip().lower()
        if lname not in _KEPT:
            continue
        value = raw if isinstance(raw, str) else str(raw)
        out.setdefault(lname, []).append(_decode_raw(value))
    return out


_ADDR_SPEC = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+$")


def _sender(msg: Message, headers: dict[str, list[str]], defects: list[str]) -> str | None:
    """The bare addr-spec of the first From address, or None."""
    try:
        header = msg["From"]
        addresses = getattr(header, "addresses", None)
        if addresses:
            spec = addresses[0].addr_spec
            if spec and _ADDR_SPEC.match(spec):
                return spec.lower()
    except Exception as exc:  # noqa: BLE001 - policy.default raises on some malformed headers
        defects.append(f"from:{type(exc).__name__}")
    raw = (headers.get("from") or [""])[0]
    if not raw:
        return None
    try:
        for _name, found in getaddresses([raw]) or [parseaddr(raw)]:
            spec = found.strip().strip("<>").lower()
            if spec and _ADDR_SPEC.match(spec):
                return spec
    except Exception as exc:  # noqa: BLE001
        defects.append(f"from:{type(exc).__name__}")
    return None


# ----------------------------------------------------------------------------- body


def _codec(charset: str | None) -> str:
    """A codec name Python knows; unknown or missing charsets fall back to UTF-8."""
    if not charset:
        return "utf-8"
    charset = str(charset).strip().strip('"').lower()
    if charset in ("us-ascii", "ascii", "unknown-8bit", "x-unknown"):
        # Declared ASCII often carries 8-bit UTF-8 in practice.
        return "utf-8"
    try:
        return codecs.lookup(charset).name
    except (LookupError, ValueError):
        return "utf-8"


def _text_of(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if payload is None:
        inner = part.get_payload()
        return inner if isinstance(inner, str) else ""
    if not isinstance(payload, bytes):
        return str(payload)
    try:
        charset = part.get_content_charset()
    except Exception:  # noqa: BLE001
        charset = None
    try:
        return payload.decode(_codec(charset), errors="replace")
    except Exception:  # noqa: BLE001 - codecs that raise despite errors="replace"
        return payload.decode("utf-8", errors="replace")


def _is_attachment(part: Message) -> bool:
    try:
        disposition = (part.get_content_disposition() or "").lower()
    except Exception:  # noqa: BLE001
        return True
    return disposition == "attachment" or bool(disposition == "inline" and part.get_filename())


def _first_text(msg: Message, subtype: str) -> Message | None:
    """First non-attachment text/<subtype> part, walking the tree (fallback for get_body)."""
    for part in msg.walk():
        if part.is_multipart():
            continue
        if part.get_content_type() == f"text/{subtype}" and not _is_attachment(part):
            return part
    return None


def extract_body(msg: Message) -> str:
    """text/plain if there is one, else the HTML part as text; attachments never."""
    plain: Message | None = None
    html: Message | None = None
    if isinstance(msg, EmailMessage):
        try:
            plain = msg.get_body(preferencelist=("plain",))
            html = None if plain is not None else msg.get_body(preferencelist=("html",))
        except Exception:  # noqa: BLE001 - fall back to walking
            plain = html = None
    if plain is None and html is None:
        plain = _first_text(msg, "plain")
        if plain is None:
            html = _first_text(msg, "html")
    if plain is not None and not _is_attachment(plain):
        return normalize_text(_text_of(plain))
    if html is not None and not _is_attachment(html):
        return normalize_text(html_to_text(_text_of(html)))
    return ""


# C0/C1 control characters other than tab and newline: never meaningful in a question.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def normalize_text(text: str) -> str:
    text = _CONTROL.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = [line.rstrip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if not line and out and not out[-1]:
            continue  # collapse runs of blank lines
        out.append(line)
    return "\n".join(out).strip()


# ----------------------------------------------------------------------------- HTML


class _TextExtractor(HTMLParser):
    # Content of these is never text a user typed.
    _SKIP = frozenset({"script", "style", "head", "title", "template", "noscript", "svg"})
    _BLOCK = frozenset(
        {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "hr", "pre"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._quote = 0  # inside <blockquote> or a Gmail quote container: quoted history

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self._skip += 1
        elif tag == "blockquote" or (tag == "div" and any(k == "class" and v and "gmail_quote" in v for k, v in attrs)):
            self._quote += 1
        if tag in self._BLOCK:
            self.parts.append("\n")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP and self._skip:
            self._skip -= 1
        elif tag == "blockquote" and self._quote:
            self._quote -= 1
        if tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip and not self._quote:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextExtractor()
    try:
        parser.feed(html)
        parser.close()
    except Exception:  # noqa: BLE001, S110  # nosec B110 - html.parser is lenient; keep the text so far
        pass
    text = "".join(parser.parts).replace("\xa0", " ")
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return normalize_text("\n".join(lines))


# ----------------------------------------------------------------------------- quotes

# Attribution lines that start quoted history (Gmail/Apple, German, French), possibly
# wrapped over two lines by the client, so they are matched on a line joined with the next.
_ATTRIBUTION = [
    re.compile(r"^\s*On\b.{0,300}\bwrote:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^\s*Am\b.{0,300}\bschrieb\b.{0,200}:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^\s*Le\b.{0,300}\ba\s+écrit\s*:\s*$", re.IGNORECASE | re.DOTALL),
]
_SEPARATOR = re.compile(
    r"^\s*-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine)\s*-{2,}\s*$",
    re.IGNORECASE,
)
# Outlook's header block: "From:" followed within a few lines by "Sent:"/"Date:" (+ DE/FR).
_OUTLOOK_FROM = re.compile(r"^\s*\*?(From|Von|De)\s?:\*?\s", re.IGNORECASE)
_OUTLOOK_NEXT = re.compile(r"^\s*\*?(Sent|Date|Gesendet|Datum|Envoyé|To|An|À)\s?:\*?\s", re.IGNORECASE)
_UNDERSCORES = re.compile(r"^\s*_{10,}\s*$")
_SIGNATURE = re.compile(r"^-- ?$")


def _history_starts(lines: list[str], i: int) -> bool:
    line = lines[i]
    if _SEPARATOR.match(line):
        return True
    if line.lstrip()[:2].lower() in ("on", "am", "le"):
        joined = line if i + 1 >= len(lines) else line + " " + lines[i + 1]
        for pattern in _ATTRIBUTION:
            if pattern.match(line) or pattern.match(joined):
                return True
    if _OUTLOOK_FROM.match(line):
        return any(_OUTLOOK_NEXT.match(nxt) for nxt in lines[i + 1 : i + 4])
    return bool(_UNDERSCORES.match(line)) and any(_OUTLOOK_FROM.match(nxt) for nxt in lines[i + 1 : i + 3])


def strip_quotes_and_signature(text: str) -> str:
    """The new text of a reply: cut at quoted history or the signature, drop '>' lines."""
    lines = text.split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        if _SIGNATURE.match(line) or _history_starts(lines, i):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    return normalize_text("\n".join(kept))
