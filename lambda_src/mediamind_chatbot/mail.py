"""Raw RFC 5322 bytes -> the fields the backend needs (pure, bounded, never raises).

Nothing here hands attacker-sized input to the stdlib ``email`` parser: its structured
headers cost hundreds of MB and tens of seconds on crafted mails (a From of 7,000 encoded
words peaked at ~750 MB).  Instead, in two steps so that the filters run in between:

1. :func:`parse_headers` reads the header block only, field by field, with a cap on the
   block, on the number of fields and on each field (tighter ones for From, Subject,
   In-Reply-To and References) *before* anything is decoded.  Raw 8-bit bytes are UTF-8
   with replacement; RFC 2047 encoded words are decoded in unstructured headers only.
   The sender is parsed from the raw From header (never from decoded text, so an encoded
   word or a bracket cannot smuggle another address in), and SES's Authentication-Results
   header is read for the filters.
2. :func:`parse_body` walks the MIME tree over offsets of the raw bytes (no copies of
   attachments), with caps on depth and parts and one budget for the header lines and
   bytes of all parts together (per-part caps alone let 200 parts of folded lines cost
   seconds), and decodes only the one text part it keeps, after checking that part's size.

A mail that exceeds a cap gets ``ParsedMail.problem`` (a stable reason); a malformed From
gets ``ParsedMail.sender_problem``.  The pipeline turns them into ``rejected`` outcomes.
"""

from __future__ import annotations

import binascii
import codecs
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import unquote_to_bytes

# ----------------------------------------------------------------------------- limits


@dataclass(frozen=True)
class Limits:
    """Caps, each with the reason a mail over it is rejected with (docs/chatbot.md).

    Sized from real mail: a Microsoft 365 message has ~80 header fields and ~20 KB of
    headers; DKIM/ARC fields are a few KB; References of a 100-mail thread ~5 KB.  The part
    caps keep html.parser (pure Python, ~1 MB/s on tag soup here) well under a second.
    """

    max_header_bytes: int = 256 * 1024  # headers_too_large
    max_headers: int = 500  # too_many_headers (also per MIME part)
    max_field_bytes: int = 64 * 1024  # header_too_large
    max_from_bytes: int = 2048  # from_too_long
    max_subject_bytes: int = 4096  # subject_too_long
    max_in_reply_to_bytes: int = 2048  # in_reply_to_too_long
    max_references_bytes: int = 32 * 1024  # references_too_long
    max_plain_part_bytes: int = 1024 * 1024  # text_part_too_large (encoded size)
    max_html_part_bytes: int = 512 * 1024  # html_part_too_large (encoded size)
    max_parts: int = 200  # too_many_parts
    # All parts' header blocks together, folded continuation lines included: the scan costs
    # per line, and 200 parts x ~10 header lines is what real mail has.
    max_part_header_lines: int = 10_000  # mime_headers_too_large
    max_part_header_bytes: int = 1024 * 1024  # mime_headers_too_large
    max_depth: int = 10  # mime_too_deep
    max_body_chars: int = 20000  # longer bodies are truncated (body_truncated defect)


DEFAULT_LIMITS = Limits()
_FIELD_CAP_REASONS = {
    "from": ("max_from_bytes", "from_too_long"),
    "subject": ("max_subject_bytes", "subject_too_long"),
    "in-reply-to": ("max_in_reply_to_bytes", "in_reply_to_too_long"),
    "references": ("max_references_bytes", "references_too_long"),
}

# ----------------------------------------------------------------------------- model


@dataclass(frozen=True)
class Authentication:
    """What SES's own Authentication-Results header says (RFC 8601)."""

    authserv_id: str
    dmarc: str | None  # pass, fail, none, temperror, ... (SES never writes the policy)
    header_from: str | None  # the domain DMARC was evaluated for


@dataclass
class ParsedMail:
    sender: str | None  # bare, lower-cased addr-spec of the one From address (trailing dot dropped)
    subject: str
    body: str
    message_id: str | None
    in_reply_to: str | None
    references: str | None
    headers: dict[str, list[str]] = field(default_factory=dict)  # lower-cased name -> decoded values
    defects: list[str] = field(default_factory=list)
    problem: str | None = None  # a cap was exceeded: the reject reason
    sender_problem: str | None = None  # the From header is forged or malformed: the reject reason
    authentication: Authentication | None = None  # SES's header, None when there is none
    # Where the body starts in the raw bytes, and the top-level MIME headers (raw text).
    body_offset: int = 0
    content: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None


# Only these headers are kept for filters and the request; the rest is only counted and capped.
_KEPT = frozenset(
    {
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
    }
)
# Kept raw for the MIME walk.
_CONTENT = frozenset({"content-type", "content-transfer-encoding", "content-disposition", "content-id"})
# Unstructured headers: RFC 2047 decoding applies (never to addresses).
_UNSTRUCTURED = frozenset({"subject"})


def parse(raw: bytes, max_body_chars: int = 20000, limits: Limits | None = None) -> ParsedMail:
    """Headers and body in one call (tests, tools); the pipeline filters in between."""
    limits = limits or (DEFAULT_LIMITS if max_body_chars == DEFAULT_LIMITS.max_body_chars else None)
    if limits is None:
        limits = Limits(max_body_chars=max_body_chars)
    parsed = parse_headers(raw, limits)
    if parsed.problem is None:
        parse_body(raw, parsed, limits)
    return parsed


# ----------------------------------------------------------------------------- header fields

_FIELD_NAME = re.compile(rb"^[\x21-\x39\x3b-\x7e]+$")


@dataclass
class _Budget:
    """What the MIME walk may still scan, all parts together (the caps are per block)."""

    parts: int
    lines: int
    bytes: int


def _read_fields(  # noqa: PLR0911, PLR0912, PLR0915 - one linear scan with its caps reads best
    raw: bytes, start: int, end: int, limits: Limits, keep: frozenset[str], *, budget: _Budget | None = None
) -> tuple[list[tuple[str, bytes]], int, str | None, int]:
    """The header fields of the entity at raw[start:end].

    Returns (kept fields as (lower name, unfolded raw value), offset where the body starts,
    the cap reason or None, the number of fields seen).  Only a window of the block cap is
    ever looked at, so the cost is bounded whatever the mail's size; ``budget`` (the MIME
    walk's) is charged every line, continuation lines too, and bounds all blocks together.
    """
    window_end = min(end, start + limits.max_header_bytes + 2)
    fields: list[tuple[str, bytes]] = []
    count = 0
    name: str | None = None
    pieces: list[bytes] = []
    size = 0
    cap, cap_reason = limits.max_field_bytes, "header_too_large"
    pos = start
    first = True

    def flush() -> None:
        if name is not None and name in keep:
            fields.append((name, b"".join(pieces)))

    while pos < window_end:
        nl = raw.find(b"\n", pos, window_end)
        if nl < 0:
            # Past the block cap: the line it cuts is still checked against its own field's
            # cap first, so a 1 MB Subject reports subject_too_long, not the block.
            line_end = next_pos = window_end if window_end < end else end
        else:
            line_end, next_pos = nl, nl + 1
        if budget is not None:
            budget.lines -= 1
            budget.bytes -= next_pos - pos
            if budget.lines < 0 or budget.bytes < 0:
                return fields, end, "mime_headers_too_large", count
        line = raw[pos:line_end]
        if line.endswith(b"\r"):
            line = line[:-1]
        if not line:  # the blank line: the body follows
            flush()
            return fields, next_pos, None, count
        if line[:1] in (b" ", b"\t"):
            if name is not None:
                size += len(line)
                if size > cap:
                    return fields, end, cap_reason, count
                pieces.append(line)
            pos = next_pos
            first = False
            continue
        if first and line.startswith(b"From "):  # an mbox separator line
            pos = next_pos
            first = False
            continue
        first = False
        colon = line.find(b":")
        if colon <= 0 or not _FIELD_NAME.match(line[:colon].rstrip()):
            # Not a header line: the body starts here (missing blank line).
            flush()
            return fields, pos, None, count
        flush()
        count += 1
        if count > limits.max_headers:
            return fields, end, "too_many_headers", count
        name = line[:colon].rstrip().decode("ascii").lower()
        cap, cap_reason = limits.max_field_bytes, "header_too_large"
        if name in _FIELD_CAP_REASONS:
            attr, cap_reason = _FIELD_CAP_REASONS[name]
            cap = getattr(limits, attr)
        value = line[colon + 1 :]
        size = len(value)
        if size > cap:
            return fields, end, cap_reason, count
        pieces = [value]
        pos = next_pos
    flush()
    if window_end < end:
        return fields, end, "headers_too_large", count
    return fields, end, None, count


def _text(value: bytes) -> str:
    """Raw header bytes as text: UTF-8 (RFC 6532), replacement for what is not."""
    return value.decode("utf-8", "replace")


def _clean(value: str) -> str:
    """One line, no control characters (folded headers, smuggled CR/LF)."""
    return " ".join(value.replace("\x00", "").split())


# ----------------------------------------------------------------------------- RFC 2047

_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([qQbB])\?([^?\s]*)\?=")


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


# UTF-7 (and a few other codecs) decode "+2D0-" to a lone surrogate, which json/UTF-8
# encoding then refuses: the mail would fail instead of being delivered.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _decode_bytes(data: bytes, charset: str | None) -> str:
    """Bytes in a declared charset as text that always encodes as UTF-8 (every charset
    decoding goes through here: body parts, encoded words, RFC 2231 parameters)."""
    try:
        text = data.decode(_codec(charset), errors="replace")
    except Exception:  # noqa: BLE001 - codecs that raise despite errors="replace"
        text = data.decode("utf-8", errors="replace")
    return _SURROGATE.sub("\ufffd", text)


def _b64(data: bytes) -> bytes:
    data = re.sub(rb"[^A-Za-z0-9+/]", b"", data)
    data = data[: len(data) - len(data) % 4] if len(data) % 4 == 1 else data + b"=" * (-len(data) % 4)
    try:
        return binascii.a2b_base64(data)
    except (binascii.Error, ValueError):
        return b""


def decode_words(value: str) -> str:
    """RFC 2047 decoding of an unstructured header; adjacent words of one charset are
    joined before decoding (a multi-byte character may be split across two words)."""
    if "=?" not in value:
        return value
    out: list[str] = []
    pending: list[bytes] = []
    pending_charset: str | None = None
    pos = 0

    def drain() -> None:
        nonlocal pending, pending_charset
        if pending:
            out.append(_decode_bytes(b"".join(pending), pending_charset))
        pending, pending_charset = [], None

    for match in _ENCODED_WORD.finditer(value):
        between = value[pos : match.start()]
        if between and not (pending and between.isspace()):  # whitespace between words is dropped
            drain()
            out.append(between)
        charset = match.group(1).split("*", 1)[0].lower()  # RFC 2231 language suffix
        data = match.group(3).encode("ascii", "replace")
        chunk = _b64(data) if match.group(2) in "bB" else binascii.a2b_qp(data, header=True)
        if pending and charset != pending_charset:
            drain()
        pending_charset = charset
        pending.append(chunk)
        pos = match.end()
    drain()
    out.append(value[pos:])
    return "".join(out)


# ----------------------------------------------------------------------------- From

# atext of RFC 5322 (printable ASCII minus the specials) plus any non-ASCII character
# (RFC 6532) but C1 controls and the replacement character.  Negated classes: compiling
# explicit ranges up to U+10FFFF took ~40 ms of every cold start.
_ATOM = r'[^\x00-\x20\x7f-\x9f"(),.:;<>@\[\]\\\ufffd]+'
_DOT_ATOM = re.compile(rf"^{_ATOM}(?:\.{_ATOM})*$")
_QUOTED_LOCAL = re.compile(r'^"(?:[^"\\\x00-\x1f]|\\.)*"$')
_LD = r"[^\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x9f\ufffd]"  # letter or digit (or non-ASCII)
_LDH = r"[^\x00-\x2c\x2e\x2f\x3a-\x40\x5b-\x60\x7b-\x9f\ufffd]"  # ... or hyphen
_LABEL = rf"{_LD}(?:{_LDH}*{_LD})?"
_DOMAIN = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*\.?$")


class _FromError(Exception):
    pass


def _skip_comment(value: str, i: int) -> int:
    """Index after the comment opening at value[i] (nested, with escapes)."""
    depth = 0
    n = len(value)
    while i < n:
        c = value[i]
        if c == "\\":
            i += 2
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise _FromError("from_malformed")


def _quoted(value: str, i: int) -> int:
    """Index after the quoted string opening at value[i]."""
    n = len(value)
    i += 1
    while i < n:
        c = value[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            return i + 1
        i += 1
    raise _FromError("from_malformed")


def _mailboxes(value: str) -> list[tuple[str, list[str], bool]]:  # noqa: PLR0912 - a tokenizer
    """Top-level comma-separated mailboxes as (text outside brackets, bracketed parts, bad brackets)."""
    boxes: list[tuple[str, list[str], bool]] = []
    outside: list[str] = []
    angles: list[str] = []
    inside: list[str] | None = None
    bad = False
    i, n = 0, len(value)
    while i < n:
        c = value[i]
        if c == '"':
            j = _quoted(value, i)
            (inside if inside is not None else outside).append(value[i:j])
            i = j
            continue
        if c == "(":
            i = _skip_comment(value, i)
            (inside if inside is not None else outside).append(" ")
            continue
        if c == "<":
            if inside is not None or angles:
                bad = True  # a bracket inside a bracket, or a second bracketed address
            inside = []
        elif c == ">":
            if inside is None:
                bad = True
            else:
                angles.append("".join(inside))
                inside = None
        elif c == "," and inside is None:
            boxes.append(("".join(outside), angles, bad))
            outside, angles, bad = [], [], False
        elif inside is not None:
            inside.append(c)
        else:
            if angles and not c.isspace():
                bad = True  # the address goes on after its bracket: "<a@x>@y"
            outside.append(c)
        i += 1
    if inside is not None:
        bad = True  # unclosed bracket
        angles.append("".join(inside))
    boxes.append(("".join(outside), angles, bad))
    return [b for b in boxes if b[0].strip() or b[1] or b[2]]


def _addr_spec(text: str) -> str:
    spec = text.strip()
    if "=?" in spec and "?=" in spec:
        raise _FromError("from_encoded_word")
    local, at, domain = spec.rpartition("@")
    if not at or not local or not domain:
        raise _FromError("from_malformed")
    if not (_DOT_ATOM.match(local) or _QUOTED_LOCAL.match(local)) or not _DOMAIN.match(domain):
        raise _FromError("from_malformed")
    return f"{local}@{domain.rstrip('.')}".lower()


def parse_from(value: str) -> tuple[str | None, str | None]:
    """(address, None) or (None, reason) for one raw (undecoded) From header value."""
    try:
        boxes = _mailboxes(value)
        if not boxes:
            return None, None
        if len(boxes) > 1:
            return None, "from_multiple_addresses"
        outside, angles, bad = boxes[0]
        if bad:
            return None, "from_nested_angle_brackets"
        return _addr_spec(angles[0] if angles else outside), None
    except _FromError as exc:
        return None, str(exc)


def normalize_address(address: str) -> str:
    """The mailbox an address delivers to: case, a trailing dot, a +tag and quotes around a
    local part that needs none do not count (``"Bot+x"@Chat.Example.`` is ``bot@chat.example``)."""
    local, _, domain = address.strip().lower().rpartition("@")
    if _QUOTED_LOCAL.match(local):
        # RFC 5322 3.2.4: a quoted string means its characters without the quotes.
        inner = re.sub(r"\\(.)", r"\1", local[1:-1])
        if _DOT_ATOM.match(inner):
            local = inner
    if not local.startswith('"'):
        local = local.split("+", 1)[0]
    return f"{local}@{domain.rstrip('.')}"


# ----------------------------------------------------------------------------- Authentication-Results


def _strip_comments(value: str) -> str:
    out: list[str] = []
    i, n = 0, len(value)
    while i < n:
        c = value[i]
        if c == "(":
            try:
                i = _skip_comment(value, i)
            except _FromError:
                break
            out.append(" ")
            continue
        if c == '"':
            try:
                j = _quoted(value, i)
            except _FromError:
                j = n
            out.append(value[i:j])
            i = j
            continue
        out.append(c)
        i += 1
    return "".join(out)


def ses_authentication(values: list[str], authserv_id: str = "amazonses.com") -> Authentication | None:
    """The topmost Authentication-Results whose authserv-id is SES's.

    SES prepends its header above everything the sender wrote, so the first one with its
    id is its own; a sender's forged ``amazonses.com; dmarc=pass`` can only be below it.
    """
    wanted = authserv_id.lower()
    for value in values:
        text = _strip_comments(value)
        head, _, rest = text.partition(";")
        words = head.split()
        if not words or words[0].lower() != wanted:
            continue
        dmarc = header_from = None
        for clause in rest.split(";"):
            tokens = clause.split()
            if not tokens:
                continue
            method, _, result = tokens[0].partition("=")
            if method.lower() != "dmarc":
                continue
            dmarc = result.lower() or None
            for token in tokens[1:]:
                prop, _, prop_value = token.partition("=")
                if prop.lower() == "header.from":
                    header_from = prop_value.strip('"').lower().rstrip(".") or None
            break
        return Authentication(wanted, dmarc, header_from)
    return None


# ----------------------------------------------------------------------------- headers


def parse_headers(raw: bytes, limits: Limits = DEFAULT_LIMITS, authserv_id: str = "amazonses.com") -> ParsedMail:
    """Step 1: the header block only, capped before anything is decoded."""
    parsed = ParsedMail(None, "", "", None, None, None)
    try:
        _parse_headers(raw, limits, authserv_id, parsed)
    except Exception as exc:  # noqa: BLE001 - be sure: a bug here is a defect, not a crash
        parsed.defects.append(f"headers:{type(exc).__name__}")
        parsed.problem = parsed.problem or "unparseable"
    return parsed


def _parse_headers(raw: bytes, limits: Limits, authserv_id: str, parsed: ParsedMail) -> None:
    fields, body_offset, problem, _count = _read_fields(raw, 0, len(raw), limits, _KEPT | _CONTENT)
    parsed.body_offset = body_offset
    if problem:
        parsed.problem = problem
        return
    from_values: list[str] = []
    for name, value in fields:
        if name in _CONTENT:
            parsed.content.setdefault(name, _text(value))
            continue
        text = _text(value)
        if name == "from":
            from_values.append(text)
        parsed.headers.setdefault(name, []).append(decode_words(text) if name in _UNSTRUCTURED else text)

    if len(from_values) > 1:
        parsed.sender_problem = "from_multiple_headers"
    elif from_values:
        parsed.sender, parsed.sender_problem = parse_from(from_values[0])
    parsed.authentication = ses_authentication(parsed.headers.get("authentication-results", []), authserv_id)

    def first(name: str) -> str | None:
        values = parsed.headers.get(name)
        return _clean(values[0]) or None if values else None

    parsed.subject = first("subject") or ""
    parsed.message_id = first("message-id")
    parsed.in_reply_to = first("in-reply-to")
    parsed.references = first("references")


# ----------------------------------------------------------------------------- MIME


_PARAM = re.compile(r';\s*([^\s=;"]+)\s*=\s*("(?:[^"\\]|\\.)*"?|[^;]*)')
_MAX_PARAMS = 64  # more are ignored: only charset, boundary, start, name and filename matter


def _content_header(value: str | None) -> tuple[str, dict[str, str]]:
    """(lower-cased value before the first ';', params); at most _MAX_PARAMS params."""
    if not value:
        return "", {}
    main, _, _rest = value.partition(";")
    params: dict[str, str] = {}
    for i, match in enumerate(_PARAM.finditer(value, len(main))):
        if i >= _MAX_PARAMS:
            break
        key = match.group(1).lower()
        raw = match.group(2).strip()
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1] if raw.endswith('"') and len(raw) > 1 else raw[1:])
        if key.endswith("*"):  # RFC 2231: charset'language'percent-encoded
            key = key[:-1]
            parts = raw.split("'", 2)
            if len(parts) == 3:
                raw = _decode_bytes(unquote_to_bytes(parts[2]), parts[0])
        params.setdefault(key, raw)
    return _clean(main).lower(), params


@dataclass
class _Entity:
    start: int  # body start
    end: int
    ctype: str
    params: dict[str, str]
    cte: str
    disposition: str
    filename: str | None
    content_id: str | None


def _entity(content: dict[str, str], start: int, end: int) -> _Entity:
    ctype, params = _content_header(content.get("content-type"))
    if ctype.count("/") != 1 or not all(ctype.split("/")):
        ctype, params = "text/plain", {k: v for k, v in params.items() if k == "charset"}
    cte, _ = _content_header(content.get("content-transfer-encoding"))
    disposition, dparams = _content_header(content.get("content-disposition"))
    filename = dparams.get("filename") or params.get("name")
    cid = _clean(content.get("content-id") or "") or None
    return _Entity(start, end, ctype, params, cte, disposition, filename, cid)


class _TooMuch(Exception):
    pass


def _parts(raw: bytes, entity: _Entity, limits: Limits, budget: _Budget) -> list[_Entity]:
    boundary = entity.params.get("boundary", "")
    if not boundary:
        return []
    pattern = re.compile(rb"(?m)^--" + re.escape(boundary.encode("utf-8", "replace")) + rb"(--)?[ \t]*\r?$")
    parts: list[_Entity] = []
    part_start: int | None = None
    for match in pattern.finditer(raw, entity.start, entity.end):
        if part_start is not None:
            part_end = match.start()
            # The line break before the delimiter belongs to it.
            if part_end > part_start and raw[part_end - 1 : part_end] == b"\n":
                part_end -= 1
                if part_end > part_start and raw[part_end - 1 : part_end] == b"\r":
                    part_end -= 1
            parts.append(_part(raw, part_start, max(part_start, part_end), limits, budget))
        if match.group(1):  # the close delimiter
            return parts
        part_start = match.end() + 1 if raw[match.end() : match.end() + 1] == b"\n" else match.end()
        part_start = min(part_start, entity.end)
    if part_start is not None:  # no close delimiter: the last part runs to the end
        parts.append(_part(raw, part_start, entity.end, limits, budget))
    return parts


def _part(raw: bytes, start: int, end: int, limits: Limits, budget: _Budget) -> _Entity:
    budget.parts -= 1
    if budget.parts < 0:
        raise _TooMuch("too_many_parts")
    fields, body_start, problem, _ = _read_fields(raw, start, end, limits, _CONTENT, budget=budget)
    if problem:
        raise _TooMuch(problem)
    content: dict[str, str] = {}
    for name, value in fields:
        content.setdefault(name, _text(value))
    return _entity(content, body_start, end)


def _is_attachment(entity: _Entity) -> bool:
    return entity.disposition == "attachment" or bool(entity.disposition == "inline" and entity.filename)


def _find_text(  # noqa: PLR0917 - a recursive walk with its state
    raw: bytes, entity: _Entity, limits: Limits, depth: int, budget: _Budget, found: dict[str, _Entity]
) -> None:
    """First non-attachment text/plain and text/html in walk order (email's get_body rules:
    attachments and their subtrees are skipped, multipart/related only through its root)."""
    if "plain" in found or _is_attachment(entity):
        return
    maintype, _, subtype = entity.ctype.partition("/")
    if maintype == "text":
        if subtype in ("plain", "html"):
            found.setdefault(subtype, entity)
        return
    if maintype != "multipart":
        return
    if depth >= limits.max_depth:
        raise _TooMuch("mime_too_deep")
    parts = _parts(raw, entity, limits, budget)
    if subtype == "related" and parts:
        start = entity.params.get("start")
        root = next((p for p in parts if start and p.content_id == start), parts[0])
        parts = [root]
    for part in parts:
        _find_text(raw, part, limits, depth + 1, budget, found)
        if "plain" in found:
            return


def _payload(raw: bytes, entity: _Entity) -> bytes:
    data = raw[entity.start : entity.end]
    if entity.cte == "base64":
        return _b64(data)
    if entity.cte == "quoted-printable":
        return binascii.a2b_qp(data)
    return data


def parse_body(raw: bytes, parsed: ParsedMail, limits: Limits = DEFAULT_LIMITS) -> ParsedMail:
    """Step 2: the new text of the mail into ``parsed.body`` (or a cap into ``parsed.problem``)."""
    try:
        top = _entity(parsed.content, parsed.body_offset, len(raw))
        found: dict[str, _Entity] = {}
        budget = _Budget(limits.max_parts, limits.max_part_header_lines, limits.max_part_header_bytes)
        _find_text(raw, top, limits, 0, budget, found)
        entity = found.get("plain") or found.get("html")
        text = ""
        if entity is not None:
            is_html = entity is not found.get("plain")
            cap = limits.max_html_part_bytes if is_html else limits.max_plain_part_bytes
            if entity.end - entity.start > cap:
                parsed.problem = "html_part_too_large" if is_html else "text_part_too_large"
                return parsed
            text = _decode_bytes(_payload(raw, entity), entity.params.get("charset"))
            text = html_to_text(text) if is_html else normalize_text(text)
    except _TooMuch as exc:
        parsed.problem = str(exc)
        return parsed
    except Exception as exc:  # noqa: BLE001 - broken MIME trees: keep going without a body
        parsed.defects.append(f"body:{type(exc).__name__}")
        text = ""
    # Quote stripping is per line: bound its input (it keeps a prefix, so this changes nothing kept).
    body = strip_quotes_and_signature(text[: limits.max_body_chars * 10])
    if len(body) > limits.max_body_chars:
        body = body[: limits.max_body_chars].rstrip()
        parsed.defects.append("body_truncated")
    parsed.body = body
    return parsed


# ----------------------------------------------------------------------------- body text

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
