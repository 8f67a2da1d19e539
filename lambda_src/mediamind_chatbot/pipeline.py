"""One S3 record through claim -> size check -> GET -> parse -> filters -> POST -> marker.

Outcomes (the contract): ``processed``, ``duplicate``, ``rejected`` (reason), ``failed``
(permanent, reason), ``ignored``.  Permanent outcomes are written to Redis so retries stop.
Infrastructure failures (Redis, S3, API exhausted, API key refused) release the claim and
raise, so the async invocation is retried and, when retries run out, lands in the
on-failure destination; the mail itself stays in S3 for ``python -m mediamind_chatbot.invoke``.

A delivery that finds the mail still in progress raises too (outcome ``error``, reason
``in_progress``): the holder may be dead, and only a later retry can tell (the claim of a
dead invocation expires before Lambda's next retry; see dedup.py).  Ending it as a
``duplicate`` success would lose the mail whenever the holder had died.

The headers are read and filtered before the body is parsed (mail.py), so a crafted
header block costs a bounded scan and nothing else; the work after the claim is bounded
by the claim's own expiry, so no other invocation can take the mail while this one runs.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import filters, mail
from .api import ApiRejected, ApiUnavailable, ChatbotApi
from .config import Config
from .dedup import ADMITTED, IN_PROGRESS, RATE_LIMITED, Claim, Dedup, DedupUnavailable
from .events import Ignored, S3Object, iter_records
from .telemetry import Telemetry, sender_fields

# Kept free at the end of the invocation for releasing the claim and logging.
RESERVE_SECONDS = 1.5
# Kept free before the claim expires for the final marker.
CLAIM_RESERVE_SECONDS = 2.0
DEFAULT_REMAINING_MS = 60_000


class S3Unavailable(Exception):
    """The object could not be read for a reason a retry may fix."""


class InfrastructureError(Exception):
    """At least one record hit an infrastructure failure; the invocation must be retried."""


class RetryLater(Exception):
    """The mail is someone else's right now (claim in progress, or ours expired): retry later."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class Outcome:
    outcome: str
    reason: str | None = None
    bucket: str | None = None
    key: str | None = None
    timings_ms: dict[str, float] = field(default_factory=dict)
    log_fields: dict[str, Any] = field(default_factory=dict)  # sender domain/hash, size: logs only
    marked: bool = False  # its Redis marker is already written (the admit script's rate_limited)

    def as_dict(self) -> dict[str, Any]:
        return {"bucket": self.bucket, "key": self.key, "outcome": self.outcome, "reason": self.reason}


def _remaining_ms(context: Any) -> int:
    try:
        return int(context.get_remaining_time_in_millis())
    except Exception:  # noqa: BLE001 - local callers may pass no context
        return DEFAULT_REMAINING_MS


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str((response.get("Error") or {}).get("Code") or "")
    return ""


class Pipeline:
    def __init__(self, config: Config, s3: Any, dedup: Dedup, api: ChatbotApi, telemetry: Telemetry) -> None:
        self.config = config
        self.s3 = s3
        self.dedup = dedup
        self.api = api
        self.telemetry = telemetry
        self.limits = mail.Limits(max_body_chars=config.max_body_chars)

    # ------------------------------------------------------------------ invocation

    def handle(self, event: Any, context: Any) -> dict[str, Any]:
        outcomes: list[Outcome] = []
        errors: list[str] = []
        counts: Counter[str] = Counter()
        durations: list[float] = []
        for item in iter_records(event, self.config.inbound_prefix):
            start = time.perf_counter()
            if isinstance(item, Ignored):
                result = Outcome("ignored", item.reason, item.bucket, item.key)
            else:
                try:
                    result = self.process(item, context)
                except RetryLater as exc:
                    result = Outcome("error", exc.reason, item.bucket, item.key)
                    errors.append(f"{item.key}: {exc.reason}")
                except (DedupUnavailable, S3Unavailable, ApiUnavailable) as exc:
                    # Keep going: the other records of the batch still get their outcome.
                    result = Outcome("error", type(exc).__name__, item.bucket, item.key)
                    errors.append(f"{item.key}: {type(exc).__name__}: {exc}")
            total = (time.perf_counter() - start) * 1000
            result.timings_ms["total"] = round(total, 2)
            durations.append(total)
            counts[result.outcome] += 1
            outcomes.append(result)
            level = "INFO"
            if result.outcome == "error":
                level = "WARNING" if result.reason in ("in_progress", "claim_lost") else "ERROR"
            self.telemetry.log(
                level,
                "record",
                bucket=result.bucket,
                key=result.key,
                outcome=result.outcome,
                reason=result.reason,
                timings_ms=result.timings_ms,
                **result.log_fields,
            )
        self.telemetry.emit_metrics(counts, durations)
        if errors:
            raise InfrastructureError(f"{len(errors)} record(s) need a retry: " + "; ".join(errors))
        return {"outcomes": [o.as_dict() for o in outcomes]}

    # ------------------------------------------------------------------ one record

    def process(self, obj: S3Object, context: Any) -> Outcome:
        remaining_ms = _remaining_ms(context)
        deadline = time.monotonic() + remaining_ms / 1000 - RESERVE_SECONDS
        timings: dict[str, float] = {}

        t0 = time.perf_counter()
        claim = self.dedup.claim(obj.bucket, obj.key, remaining_ms)  # raises DedupUnavailable
        timings["claim"] = round((time.perf_counter() - t0) * 1000, 2)
        if not claim.acquired:
            if claim.existing_state == IN_PROGRESS:
                raise RetryLater("in_progress")
            return Outcome("duplicate", f"already_{claim.existing_state}", obj.bucket, obj.key, timings)
        # Our work ends before our claim does: after it, another delivery may take the mail.
        deadline = min(deadline, claim.expires_at - CLAIM_RESERVE_SECONDS)

        try:
            outcome = self._process_claimed(obj, claim, deadline, timings)
        except (S3Unavailable, ApiUnavailable):
            self._release_quietly(claim)
            raise
        except (DedupUnavailable, RetryLater):
            raise
        except Exception as exc:  # noqa: BLE001 - a bug must not loop retries: fail this mail, keep it in S3
            outcome = Outcome("failed", f"internal_error:{type(exc).__name__}", obj.bucket, obj.key, timings)

        t0 = time.perf_counter()
        if outcome.outcome == "processed":
            try:
                self.dedup.complete(claim)
            except DedupUnavailable as exc:
                # The API call happened: raising would make Lambda send it again.  The claim
                # stays in progress until it expires; a duplicate event after that POSTs a
                # second time (the real backend ignores Idempotency-Key, APP_CONTRACT.md).
                self.telemetry.log("ERROR", "done_marker_failed", key=obj.key, error=str(exc))
        elif outcome.outcome == "rejected" and not outcome.marked:
            self.dedup.reject(claim, outcome.reason or "rejected")
        elif outcome.outcome == "failed":
            self.dedup.fail(claim, outcome.reason or "failed")
        timings["mark"] = round((time.perf_counter() - t0) * 1000, 2)
        return outcome

    def _release_quietly(self, claim: Claim) -> None:
        try:
            self.dedup.release(claim)
        except DedupUnavailable as exc:
            # The claim expires by itself with the invocation; the retry comes later than that.
            self.telemetry.log("ERROR", "release_failed", error=str(exc))

    def _process_claimed(self, obj: S3Object, claim: Claim, deadline: float, timings: dict) -> Outcome:
        cfg = self.config

        def outcome(kind: str, reason: str | None = None) -> Outcome:
            return Outcome(kind, reason, obj.bucket, obj.key, timings)

        # The event carries the size: reject oversize mail without any S3 request.
        if obj.size is not None and obj.size > cfg.max_object_bytes:
            return outcome("rejected", "too_large")

        t0 = time.perf_counter()
        raw, last_modified, size_error = self._read(obj)
        timings["s3"] = round((time.perf_counter() - t0) * 1000, 2)
        if size_error:
            return outcome(*size_error)

        t0 = time.perf_counter()
        # Headers first: the filters run before the body is parsed at all.
        parsed = mail.parse_headers(raw, self.limits, cfg.ses_authserv_id)
        reason = filters.check(
            parsed,
            cfg.chatbot_address,
            cfg.allowed_senders,
            require_authentication=cfg.require_ses_authentication,
        )
        if reason is None:
            mail.parse_body(raw, parsed, self.limits)
            reason = parsed.problem
        if reason is None and not parsed.body and not parsed.subject:
            reason = "empty_message"
        timings["parse"] = round((time.perf_counter() - t0) * 1000, 2)
        result_fields = {**sender_fields(parsed.sender), "size": len(raw), "defects": len(parsed.defects)}
        if reason is not None:
            result = outcome("rejected", reason)
            result.log_fields = result_fields
            return result

        # The sender is known only now: count it (and check the claim is still ours) in one script.
        t0 = time.perf_counter()
        admitted = self.dedup.admit(claim, mail.normalize_address(parsed.sender or ""), cfg.sender_rate_limit_per_hour)
        timings["admit"] = round((time.perf_counter() - t0) * 1000, 2)
        if admitted == RATE_LIMITED:
            result = outcome("rejected", "rate_limited")
            result.marked = True
            result.log_fields = result_fields
            return result
        if admitted != ADMITTED:
            raise RetryLater("claim_lost")

        received_at = obj.event_time or (
            last_modified.astimezone(UTC).isoformat() if last_modified else datetime.now(UTC).isoformat()
        )
        payload = {
            "sender": parsed.sender,
            "subject": parsed.subject,
            "body": parsed.body,
            "message_id": parsed.message_id,
            "in_reply_to": parsed.in_reply_to,
            "references": parsed.references,
            "received_at": received_at,
        }
        t0 = time.perf_counter()
        try:
            self.api.post(payload, obj.message_id, deadline)
        except ApiRejected as exc:
            result = outcome("failed", f"api_{exc.status}")
        else:
            result = outcome("processed")
        timings["api"] = round((time.perf_counter() - t0) * 1000, 2)
        result.log_fields = result_fields
        return result

    def _read(self, obj: S3Object) -> tuple[bytes, datetime | None, tuple[str, str] | None]:
        """One GetObject; the size is checked on the response headers before the body is read."""
        try:
            response = self.s3.get_object(Bucket=obj.bucket, Key=obj.key)
        except Exception as exc:
            code = _error_code(exc)
            if code in ("NoSuchKey", "404", "NotFound"):
                return b"", None, ("failed", "object_missing")
            raise S3Unavailable(f"GetObject {obj.key}: {code or type(exc).__name__}: {exc}") from exc
        body = response["Body"]
        length = response.get("ContentLength")
        if isinstance(length, int) and length > self.config.max_object_bytes:
            # Closing an unread body drops the connection instead of downloading 40 MB.
            body.close()
            return b"", None, ("rejected", "too_large")
        try:
            # Reading to the end returns the connection to the pool (close() would drop it).
            raw = body.read()
        except Exception as exc:
            body.close()
            raise S3Unavailable(f"reading {obj.key}: {type(exc).__name__}: {exc}") from exc
        return raw, response.get("LastModified"), None
