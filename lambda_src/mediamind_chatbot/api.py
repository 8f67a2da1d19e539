"""The backend's chatbot endpoint: one POST per mail, retried only when retrying can help.

Uses stdlib ``http.client`` over one kept-alive connection per container (no third-party
HTTP dependency; the connection is reused across warm invocations and reopened when the
server closed it).  Status handling:

* 2xx                      -> delivered
* 408, 429, 5xx, I/O error -> transient: exponential backoff with full jitter, as long as
                              the remaining Lambda time allows another attempt
* other 4xx                -> permanent (:class:`ApiRejected`): retrying cannot fix a 404
                              (unknown user) or a 400; the caller marks the mail failed

The ``Idempotency-Key`` header (the SES message id) lets the backend drop a repeat of a
request whose response we lost.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

USER_AGENT = "mediamind-chatbot-lambda/1"
_RETRYABLE_4XX = frozenset({408, 429})


class ApiRejected(Exception):
    """Permanent refusal (4xx other than 408/429)."""

    def __init__(self, status: int, detail: str = "") -> None:
        super().__init__(f"HTTP {status} {detail}".strip())
        self.status = status


class ApiUnavailable(Exception):
    """Transient failures until the time budget ran out."""


class ChatbotApi:
    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        timeout_seconds: float = 10.0,
        max_attempts: int = 5,
        base_delay: float = 0.2,
        max_delay: float = 5.0,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = parts.path or "/"
        self._api_key = api_key
        self._timeout = timeout_seconds
        self._max_attempts = max_attempts
        self._base = base_delay
        self._cap = max_delay
        self._sleep = sleep
        self._rng = rng
        self._conn: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()  # one connection: serialize callers that share the client
        self.attempts = 0  # total attempts made (metrics, tests)

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=timeout)
        else:
            self._conn.timeout = timeout
            if self._conn.sock is not None:
                self._conn.sock.settimeout(timeout)
        return self._conn

    def _drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _once(self, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
        for fresh in (False, True):
            conn = self._connection(timeout)
            try:
                conn.request("POST", self._path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                if resp.will_close:
                    self._drop()
                return resp.status, data
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # A kept-alive connection the server closed while we were frozen: one
                # immediate retry on a fresh connection (the request never reached a handler).
                self._drop()
                if fresh:
                    raise
            except BaseException:
                self._drop()
                raise
        raise AssertionError("unreachable")

    def post(self, payload: dict[str, Any], idempotency_key: str, deadline: float) -> int:
        """POST the payload; return the 2xx status, raise ApiRejected or ApiUnavailable.

        ``deadline`` is a ``time.monotonic()`` value after which no attempt may start or run.
        """
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "x-api-key": self._api_key,
            "Idempotency-Key": idempotency_key,
            "User-Agent": USER_AGENT,
        }
        last = "no attempt fitted in the remaining time"
        tries = 0
        with self._lock:
            for attempt in range(self._max_attempts):
                budget = deadline - time.monotonic()
                if budget <= 0.05:
                    break
                self.attempts += 1
                tries += 1
                try:
                    status, data = self._once(body, headers, min(self._timeout, budget))
                except (OSError, http.client.HTTPException) as exc:
                    last = f"{type(exc).__name__}: {exc}"
                else:
                    if 200 <= status < 300:
                        return status
                    if 400 <= status < 500 and status not in _RETRYABLE_4XX:
                        raise ApiRejected(status, data[:200].decode("utf-8", "replace"))
                    last = f"HTTP {status}"
                # Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter").
                delay = self._rng() * min(self._cap, self._base * (2**attempt))
                if time.monotonic() + delay >= deadline or attempt + 1 >= self._max_attempts:
                    break
                self._sleep(delay)
        raise ApiUnavailable(f"gave up after {tries} attempt(s): {last}")

    def close(self) -> None:
        with self._lock:
            self._drop()
