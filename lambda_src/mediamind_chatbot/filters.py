"""Which mails must not reach the backend (pure).

Each rule returns a short, stable reason string (used in logs, metrics and the Redis
marker) or None.  Order matters only for which reason is reported first.
"""

from __future__ import annotations

import re

from .mail import ParsedMail

_BOUNCE_LOCALPARTS = frozenset({"mailer-daemon", "postmaster"})
_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list"})
_DMARC_FAIL = re.compile(r"\bdmarc\s*=\s*fail\b", re.IGNORECASE)
# The published policy appears as "(p=REJECT sp=...)" (Google, Microsoft) or as the
# RFC 8601 property "policy.dmarc=reject"; SES itself adds no policy to the header.
_DMARC_POLICY = re.compile(r"\b(?:p|policy\.dmarc|policy\.published-domain-policy)\s*=\s*(\w+)", re.IGNORECASE)


def _verdict_fail(mail: ParsedMail, header: str) -> bool:
    value = mail.header(header)
    return value is not None and value.strip().upper() == "FAIL"


def _dmarc_enforced_fail(mail: ParsedMail) -> bool:
    """True when an Authentication-Results header says dmarc=fail under quarantine/reject."""
    for value in mail.headers.get("authentication-results", []):
        for clause in value.split(";"):
            if _DMARC_FAIL.search(clause):
                policy = _DMARC_POLICY.search(clause)
                if policy and policy.group(1).lower() in ("quarantine", "reject"):
                    return True
    return False


def check(  # noqa: PLR0911 - one return per rule reads best
    mail: ParsedMail, chatbot_address: str, allowed_senders: tuple[str, ...] = ()
) -> str | None:
    """The reason to reject this mail, or None to send it to the backend."""
    if _verdict_fail(mail, "x-ses-virus-verdict"):
        return "virus"
    if _verdict_fail(mail, "x-ses-spam-verdict"):
        return "spam"
    if _dmarc_enforced_fail(mail):
        return "dmarc_fail"
    if not mail.sender:
        return "no_sender"

    # Bounces: RFC 5321 null reverse-path ("Return-Path: <>"), or the classic daemon senders.
    return_path = mail.header("return-path")
    if return_path is not None and return_path.strip().strip("<>").strip() == "":
        return "bounce"
    local, _, domain = mail.sender.partition("@")
    if local in _BOUNCE_LOCALPARTS:
        return "bounce"

    # RFC 3834 automatic responses and bulk/list mail: replying to them makes mail loops.
    auto = mail.header("auto-submitted")
    if auto is not None and auto.strip().split(";")[0].strip().lower() != "no":
        return "auto_reply"
    if mail.header("x-autoreply") or mail.header("x-autorespond"):
        return "auto_reply"
    precedence = mail.header("precedence")
    if precedence is not None and precedence.strip().lower() in _BULK_PRECEDENCE:
        return "bulk"
    if mail.header("list-id") is not None:
        return "mailing_list"

    if mail.sender == chatbot_address.lower():
        return "own_address"
    if allowed_senders and mail.sender not in allowed_senders and f"@{domain}" not in allowed_senders:
        return "sender_not_allowed"
    return None
