"""The backend's chatbot endpoint: one POST per mail, retried only when retrying can help.

Uses stdlib ``http.client`` over one kept-alive connection per container (no third-party
HTTP dependency; the connection is reused across warm invocations and reopened when the
server closed it).  Status handling:

* 2xx                      -> delivered
* 408, 429, 5xx, I/O error -> transient: exponential backoff with full jitter, as long as
                              the remaining Lambda time allows another attempt
* 401, 403                 -> not the mail's fault (a key rotation in progress, a misrouted
                              request): the key is read again once (``key_source``) and the
                              call repeated if it changed (only when the read, bounded by
                              ``key_source_seconds``, fits before the deadline), else
                              :class:`ApiAuthFailed`, which is transient for the caller
                              (claim released, Lambda retries, then the failure queue for
                              ``make redrive``)
* other 4xx                -> permanent (:class:`ApiRejected`): retrying cannot fix a 404
                              (unknown user) or a 400; the caller marks the mail failed

Every attempt, retries included, ends by the caller's deadline: the socket timeout bounds
each read, and a watchdog shuts the socket at the attempt's end, so a server that drips
one byte per second cannot stretch an attempt past it.

The ``Idempotency-Key`` header (the SES message id) is sent, but the real backend does not
honour it (../shared/APP_CONTRACT.md): the Lambda's own dedup is what prevents a second answer.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import socket
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


class ApiAuthFailed(ApiUnavailable):
    """401/403 with the current key: retried by Lambda (not the mail's fault)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}: the backend refused the API key")
        self.status = status


_AUTH_STATUSES = frozenset({401, 403})


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
        key_source: Callable[[], str] | None = None,
        key_source_seconds: float = 0.0,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {url!r}")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._path = parts.path or "/"
        self._api_key = api_key
        self._key_source = key_source  # reads the key again (Secrets Manager) after a 401/403
        self._key_source_seconds = key_source_seconds  # the longest such a read can take
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

    @staticmethod
    def _abort(conn: http.client.HTTPConnection, expired: threading.Event) -> None:
        """Watchdog: the attempt's time is up; wake the blocked read by shutting the socket."""
        expired.set()
        sock = conn.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _once(self, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
        ends = time.monotonic() + timeout
        for fresh in (False, True):
            left = ends - time.monotonic()
            if left <= 0:
                raise TimeoutError("attempt deadline passed")
            conn = self._connection(left)
            expired = threading.Event()
            watchdog = threading.Timer(left, self._abort, (conn, expired))
            watchdog.daemon = True
            watchdog.start()
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
                if expired.is_set():
                    raise TimeoutError(f"no complete response within {timeout:.1f} s") from None
                if fresh:
                    raise
            except BaseException as exc:
                self._drop()
                if expired.is_set() and isinstance(exc, (OSError, http.client.HTTPException)):
                    raise TimeoutError(f"no complete response within {timeout:.1f} s") from exc
                raise
            finally:
                watchdog.cancel()
        raise AssertionError("unreachable")

    def _fresh_key(self, deadline: float) -> bool:
        """Read the key again; True when it changed (then the call is repeated once)."""
        if self._key_source is None:
            return False
        if deadline - time.monotonic() <= self._key_source_seconds:
            # A read that may outlast the invocation: Lambda's retry reads the key at init.
            return False
        try:
            key = self._key_source()
        except Exception:  # noqa: BLE001 - the caller raises ApiAuthFailed; Lambda retries
            return False
        if not key or key == self._api_key:
            return False
        self._api_key = key
        return True

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
        refreshed = False
        with self._lock:
            attempt = 0
            while attempt < self._max_attempts:
                budget = deadline - time.monotonic()
                if budget <= 0.05:
                    break
                self.attempts += 1
                tries += 1
                headers["x-api-key"] = self._api_key
                try:
                    status, data = self._once(body, headers, min(self._timeout, budget))
                except (OSError, http.client.HTTPException) as exc:
                    last = f"{type(exc).__name__}: {exc}"
                else:
                    if 200 <= status < 300:
                        return status
                    if status in _AUTH_STATUSES:
                        if not refreshed and self._fresh_key(deadline):
                            refreshed = True
                            continue  # the rotated key, at once (not a backoff attempt)
                        raise ApiAuthFailed(status)
                    if 400 <= status < 500 and status not in _RETRYABLE_4XX:
                        raise ApiRejected(status, data[:200].decode("utf-8", "replace"))
                    last = f"HTTP {status}"
                # Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter").
                delay = self._rng() * min(self._cap, self._base * (2**attempt))
                if time.monotonic() + delay >= deadline or attempt + 1 >= self._max_attempts:
                    break
                self._sleep(delay)
                attempt += 1
        raise ApiUnavailable(f"gave up after {tries} attempt(s): {last}")

    def close(self) -> None:
        with self._lock:
            self._drop()
