"""Exactly-once claims in Redis (the Powertools idempotency state machine, on one key).

States of ``<namespace>:<bucket>/<key>``:

    (absent) --SET NX EX in_progress_ttl--> "inprogress:<token>"
    "inprogress:<token>" --success--------> "done:<unix time>"          (EX dedup TTL, 24 h)
                         --permanent-------> "rejected:<reason>" / "failed:<reason>"  (EX dedup TTL)
                         --over the limit--> "rejected:rate_limited"  (written by the admit script)
                         --transient-------> (absent)   compare-and-delete, only if still ours
                         --crash-----------> (absent)   when in_progress_ttl expires

* The claim is one ``SET key value NX EX ttl GET`` (Redis >= 7.0): it claims and, when the
  key exists, returns the current state in the same round trip, so a duplicate costs one
  command.  Never GET-then-SET.
* Before the API call, :meth:`Dedup.admit` runs one Lua script: it checks the claim is still
  ours (a stalled invocation whose claim expired must not POST) and counts the mail in its
  sender's hourly window; over the limit it writes ``rejected:rate_limited`` itself.  A
  processed mail costs three commands (claim, admit, final marker).  The count cannot be
  folded into the claim: the sender is only known after the S3 GET, and moving the GET
  before the claim would make every duplicate download and parse the mail.  The window
  is a set of mail keys, so the retries of one mail count once.
* The in-progress TTL follows the remaining Lambda time, capped at
  :data:`MAX_IN_PROGRESS_SECONDS`: Lambda retries a failed async invocation about one
  minute after the failure (then two), so even an invocation that died right after its
  claim has freed the key when its first retry comes; a retry that still meets a live
  claim raises (the pipeline) and is retried again, never dropped.  The pipeline stops
  its own work before the claim expires, so no two invocations can both hold it.
* Release is compare-and-delete in a Lua script: after a long stall our claim may have
  expired and been taken by another invocation, whose claim a blind DEL would destroy.
* Any Redis error is :class:`DedupUnavailable`: the caller fails closed (no API call).
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from dataclasses import dataclass
from typing import Any

IN_PROGRESS = "inprogress"
DONE = "done"
REJECTED = "rejected"
FAILED = "failed"

# Seconds added to the remaining invocation time, covering clock skew and the final write.
IN_PROGRESS_MARGIN_SECONDS = 2
# Never longer than this: Lambda's first async retry comes about 60 s after a failure, so a
# claim of a dead invocation must be gone by then (10 s of slack for clocks and jitter).
MAX_IN_PROGRESS_SECONDS = 50
# The rate-limit window (one hour) and how long its set outlives the window.
RATE_WINDOW_SECONDS = 3600
_RATE_KEY_SLACK_SECONDS = 120

_STATES = frozenset({IN_PROGRESS, DONE, REJECTED, FAILED})

ADMITTED = "admitted"
RATE_LIMITED = "rate_limited"
CLAIM_LOST = "claim_lost"

_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


# KEYS: claim, sender window.  ARGV: our claim value, limit (0 = none), window TTL, mail
# member, marker TTL.  One round trip; atomic, so concurrent mails of one sender cannot
# both take the last slot.
_ADMIT_LUA = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 'claim_lost'
end
local limit = tonumber(ARGV[2])
if limit == 0 or redis.call('SISMEMBER', KEYS[2], ARGV[4]) == 1 then
  return 'admitted'
end
if redis.call('SCARD', KEYS[2]) >= limit then
  redis.call('SET', KEYS[1], 'rejected:rate_limited', 'EX', tonumber(ARGV[5]))
  return 'rate_limited'
end
redis.call('SADD', KEYS[2], ARGV[4])
redis.call('EXPIRE', KEYS[2], tonumber(ARGV[3]))
return 'admitted'
"""


class DedupUnavailable(Exception):
    """Redis could not be reached or answered with an error: fail closed."""


@dataclass(frozen=True)
class Claim:
    key: str
    value: str | None  # our "inprogress:<token>" when acquired
    existing: str | None = None  # the state found when not acquired
    expires_at: float = 0.0  # time.monotonic() by which the claim is gone (taken before the SET)

    @property
    def acquired(self) -> bool:
        return self.value is not None

    @property
    def existing_state(self) -> str:
        # A value this code never writes (empty, or set by hand) is reported as such.
        state = (self.existing or "").split(":", 1)[0]
        return state if state in _STATES else "unknown"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class Dedup:
    """Claims keyed by S3 object; takes a redis-py client (one per container)."""

    def __init__(self, client: Any, ttl_seconds: int = 86400, namespace: str = "mediamind:chatbot") -> None:
        self._redis = client
        self._ttl = ttl_seconds
        self._ns = namespace
        self._release = client.register_script(_RELEASE_LUA)
        self._admit = client.register_script(_ADMIT_LUA)

    def key_for(self, bucket: str, key: str) -> str:
        return f"{self._ns}:{bucket}/{key}"

    @staticmethod
    def in_progress_ttl(remaining_ms: int | None) -> int:
        if remaining_ms is None or remaining_ms <= 0:
            return MAX_IN_PROGRESS_SECONDS
        return min(MAX_IN_PROGRESS_SECONDS, max(1, math.ceil(remaining_ms / 1000)) + IN_PROGRESS_MARGIN_SECONDS)

    def rate_key(self, sender: str, now: float | None = None) -> str:
        """The sender's window: a hash, not the address (keys show up in monitoring)."""
        digest = hashlib.sha256(sender.encode("utf-8")).hexdigest()[:24]
        window = int((time.time() if now is None else now) // RATE_WINDOW_SECONDS)
        return f"{self._ns}:rate:{digest}:{window}"

    def claim(self, bucket: str, key: str, remaining_ms: int | None) -> Claim:
        rkey = self.key_for(bucket, key)
        value = f"{IN_PROGRESS}:{secrets.token_hex(8)}"
        ttl = self.in_progress_ttl(remaining_ms)
        expires_at = time.monotonic() + ttl
        try:
            previous = self._redis.set(rkey, value, nx=True, ex=ttl, get=True)
        except Exception as exc:  # redis.RedisError, OSError, ssl errors: all mean "no claim"
            raise DedupUnavailable(f"claim failed: {type(exc).__name__}: {exc}") from exc
        previous = _text(previous)
        if previous is None or previous == value:
            # `== value`: the reply to our SET was lost and redis-py's one retry found our own claim.
            return Claim(rkey, value, expires_at=expires_at)
        return Claim(rkey, None, previous)

    def admit(self, claim: Claim, sender: str, limit: int) -> str:
        """ADMITTED, RATE_LIMITED (marker written) or CLAIM_LOST (someone else's now)."""
        try:
            result = self._admit(
                keys=[claim.key, self.rate_key(sender)],
                args=[claim.value or "", limit, RATE_WINDOW_SECONDS + _RATE_KEY_SLACK_SECONDS, claim.key, self._ttl],
            )
        except Exception as exc:
            raise DedupUnavailable(f"admit failed: {type(exc).__name__}: {exc}") from exc
        return _text(result) or CLAIM_LOST

    def _mark(self, claim: Claim, state: str, detail: str) -> None:
        try:
            self._redis.set(claim.key, f"{state}:{detail}", ex=self._ttl)
        except Exception as exc:
            raise DedupUnavailable(f"marking {state} failed: {type(exc).__name__}: {exc}") from exc

    def complete(self, claim: Claim) -> None:
        self._mark(claim, DONE, str(int(time.time())))

    def reject(self, claim: Claim, reason: str) -> None:
        self._mark(claim, REJECTED, reason)

    def fail(self, claim: Claim, reason: str) -> None:
        self._mark(claim, FAILED, reason)

    def release(self, claim: Claim) -> bool:
        """Give the key back after a transient failure, only if the claim is still ours."""
        if claim.value is None:
            return False
        try:
            return bool(self._release(keys=[claim.key], args=[claim.value]))
        except Exception as exc:
            raise DedupUnavailable(f"release failed: {type(exc).__name__}: {exc}") from exc
