"""Exactly-once claims in Redis (the Powertools idempotency state machine, on one key).

States of ``<namespace>:<bucket>/<key>``:

    (absent) --SET NX EX in_progress_ttl--> "inprogress:<token>"
    "inprogress:<token>" --success--------> "done:<unix time>"          (EX dedup TTL, 24 h)
                         --permanent-------> "rejected:<reason>" / "failed:<reason>"  (EX dedup TTL)
                         --transient-------> (absent)   compare-and-delete, only if still ours
                         --crash-----------> (absent)   when in_progress_ttl expires

* The claim is one ``SET key value NX EX ttl GET`` (Redis >= 7.0): it claims and, when the
  key exists, returns the current state in the same round trip, so a duplicate costs one
  command and a processed mail costs exactly two (claim + final marker).  Never GET-then-SET.
* The in-progress TTL follows the remaining Lambda time: a crashed invocation cannot hold
  the key longer than it could have run, so the async retry (>= 1 min later) can proceed.
* Release is compare-and-delete in a Lua script: after a long stall our claim may have
  expired and been taken by another invocation, whose claim a blind DEL would destroy.
* Any Redis error is :class:`DedupUnavailable`: the caller fails closed (no API call).
"""

from __future__ import annotations

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

_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class DedupUnavailable(Exception):
    """Redis could not be reached or answered with an error: fail closed."""


@dataclass(frozen=True)
class Claim:
    key: str
    value: str | None  # our "inprogress:<token>" when acquired
    existing: str | None = None  # the state found when not acquired

    @property
    def acquired(self) -> bool:
        return self.value is not None

    @property
    def existing_state(self) -> str:
        return (self.existing or "").split(":", 1)[0] or "unknown"


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

    def key_for(self, bucket: str, key: str) -> str:
        return f"{self._ns}:{bucket}/{key}"

    @staticmethod
    def in_progress_ttl(remaining_ms: int | None) -> int:
        if remaining_ms is None or remaining_ms <= 0:
            remaining_ms = 900_000  # the Lambda maximum: the safe upper bound
        return max(1, math.ceil(remaining_ms / 1000)) + IN_PROGRESS_MARGIN_SECONDS

    def claim(self, bucket: str, key: str, remaining_ms: int | None) -> Claim:
        rkey = self.key_for(bucket, key)
        value = f"{IN_PROGRESS}:{secrets.token_hex(8)}"
        try:
            previous = self._redis.set(rkey, value, nx=True, ex=self.in_progress_ttl(remaining_ms), get=True)
        except Exception as exc:  # redis.RedisError, OSError, ssl errors: all mean "no claim"
            raise DedupUnavailable(f"claim failed: {type(exc).__name__}: {exc}") from exc
        previous = _text(previous)
        if previous is None or previous == value:
            # `== value`: the reply to our SET was lost and redis-py's one retry found our own claim.
            return Claim(rkey, value)
        return Claim(rkey, None, previous)

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
