"""Which mails must not reach the backend (pure).

Each rule returns a short, stable reason string (used in logs, metrics and the Redis
marker) or None.  The order decides which reason is reported when several apply: caps
first (nothing else was read), then SES's verdicts, then sender authentication, then the
sender's own address rules.  Every reason is listed in docs/chatbot.md.
"""

from __future__ import annotations

from .mail import ParsedMail, normalize_address

_BOUNCE_LOCALPARTS = frozenset({"mailer-daemon", "postmaster"})
_BULK_PRECEDENCE = frozenset({"bulk", "junk", "list"})


def _verdict_fail(mail: ParsedMail, header: str) -> bool:
    value = mail.header(header)
    return value is not None and value.strip().upper() == "FAIL"


def authentication_problem(mail: ParsedMail, require: bool = True) -> str | None:
    """SES's own Authentication-Results only (mail.authentication is the topmost one with
    SES's authserv-id; sender-added ones further down are never read).

    SES writes ``dmarc=fail`` but never the domain's policy, so a fail is a reject whatever
    the policy; and DMARC passed for *its* ``header.from`` domain only, so a From of another
    domain is not what was authenticated.
    """
    auth = mail.authentication
    if auth is None:
        return "not_authenticated" if require else None
    if auth.dmarc == "fail":
        return "dmarc_fail"
    if mail.sender and auth.header_from and auth.header_from != mail.sender.rpartition("@")[2].rstrip("."):
        return "from_domain_mismatch"
    return None


def check(  # noqa: PLR0911, PLR0912 - one return per rule reads best
    mail: ParsedMail,
    chatbot_address: str,
    allowed_senders: tuple[str, ...] = (),
    *,
    require_authentication: bool = True,
) -> str | None:
    """The reason to reject this mail, or None to send it to the backend."""
    if mail.problem:
        return mail.problem
    if _verdict_fail(mail, "x-ses-virus-verdict"):
        return "virus"
    if _verdict_fail(mail, "x-ses-spam-verdict"):
        return "spam"
    if mail.sender_problem:
        return mail.sender_problem
    if not mail.sender:
        return "no_sender"
    auth = authentication_problem(mail, require_authentication)
    if auth:
        return auth

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

    # Case, a trailing dot, a +tag and quotes reach the same mailbox: all are the bot itself.
    if normalize_address(mail.sender) == normalize_address(chatbot_address):
        return "own_address"
    if allowed_senders and mail.sender not in allowed_senders and f"@{domain}" not in allowed_senders:
        return "sender_not_allowed"
    return None
