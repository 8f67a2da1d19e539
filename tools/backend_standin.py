"""A stand-in for the MediaMind backend's chatbot endpoint, for tests, benchmarks and demos.

It answers ``POST /api/v1/chatbot`` like the real backend (checks ``x-api-key``, 404 for
users it does not know, 200 ``{"status": "queued"}`` otherwise), records every call, and
can misbehave on purpose.  Loopback only, HTTP/1.1 with keep-alive, one thread per connection.

Command line (Ctrl-C stops it; every received call is printed as one JSON line)::

    python tools/backend_standin.py --port 8088 --api-key local-test-key
    python tools/backend_standin.py --port 8088 --api-key K --known-users alice@example.com,@example.org
    python tools/backend_standin.py --port 0 --api-key K --fail-rate 0.2 --delay 0.05  # 0: a free port

Options: ``--known-users`` (comma list of addresses or @domains; default: every user is
known), ``--fail-rate`` (fraction of calls answered 500), ``--fail-next N`` (the next N
calls answer 500), ``--fail-status`` (status used for injected failures, default 500),
``--delay`` (seconds before each answer), ``--quiet`` (no per-call lines), ``--print-body``
(include the mail body in the printed lines; off by default because it is user content).
The first line printed is ``listening on http://127.0.0.1:<port>`` so a script can read the port.

SIGTERM or Ctrl-C stop it and print ``received N call(s)`` on stderr.  The x-api-key value
is never printed (only whether it matched).

Control endpoints (handy for demos and for tests that run it as a process):

    GET  /_standin/calls    -> {"calls": [...]} every call received so far
    POST /_standin/reset    -> forget the calls and the fault settings
    POST /_standin/faults   -> JSON {"fail_rate":..,"fail_next":..,"fail_status":..,"delay":..}
    GET  /_standin/health   -> {"ok": true}

In-process use (tests)::

    with BackendStandIn(api_key="k") as backend:   # starts on a free port
        url = backend.url                          # "http://127.0.0.1:<port>"
        ... backend.calls, backend.fail_next(2), backend.set_known_users({"a@b.c"})
"""

from __future__ import annotations

import argparse
import hmac
import json
import random
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

ENDPOINT = "/api/v1/chatbot"


@dataclass
class Call:
    """One request to the chatbot endpoint as the stand-in saw it."""

    at: float
    headers: dict[str, str]
    payload: Any
    status: int
    idempotency_key: str | None = None
    api_key_ok: bool = False

    def as_dict(self, with_body: bool = True) -> dict[str, Any]:
        """JSON-ready; the x-api-key value is never echoed, only whether it matched."""
        payload = self.payload
        if not with_body and isinstance(payload, dict) and "body" in payload:
            payload = {**payload, "body": f"<{len(str(payload['body']))} chars>"}
        headers = {k: ("<matches>" if self.api_key_ok else "<wrong>") if k == "x-api-key" else v
                   for k, v in self.headers.items()}  # fmt: skip
        return {
            "at": self.at,
            "status": self.status,
            "idempotency_key": self.idempotency_key,
            "api_key_ok": self.api_key_ok,
            "headers": headers,
            "payload": payload,
        }


@dataclass
class Faults:
    fail_rate: float = 0.0
    fail_next: int = 0
    fail_status: int = 500
    delay: float = 0.0
    statuses: list[int] = field(default_factory=list)  # scripted statuses, consumed in order


class BackendStandIn:
    """The server plus its recorded calls; thread-safe; usable as a context manager."""

    def __init__(
        self,
        api_key: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        known_users: set[str] | None = None,
        echo: bool = False,
        echo_body: bool = False,
    ) -> None:
        self.api_key = api_key
        self._known: set[str] | None = {u.lower() for u in known_users} if known_users else None
        self._calls: list[Call] = []
        self._faults = Faults()
        self._lock = threading.Lock()
        self._rng = random.Random()  # noqa: S311  # nosec B311 - fault injection, not security
        self.echo = echo
        self.echo_body = echo_body
        self._server = ThreadingHTTPServer((host, port), _make_handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -------------------------------------------------------------- lifecycle
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> BackendStandIn:
        self._thread = threading.Thread(target=self.serve_forever, name="backend-standin", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self.close()

    def close(self) -> None:
        self._server.server_close()

    def __enter__(self) -> BackendStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -------------------------------------------------------------- controls
    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._faults = Faults()

    def set_known_users(self, users: set[str] | None) -> None:
        """None = every user is known; otherwise addresses and/or @domains."""
        with self._lock:
            self._known = {u.lower() for u in users} if users is not None else None

    def set_faults(self, **kwargs: Any) -> None:
        with self._lock:
            for name, value in kwargs.items():
                if not hasattr(self._faults, name):
                    raise ValueError(f"unknown fault setting {name!r}")
                setattr(self._faults, name, value)

    def fail_next(self, count: int, status: int = 500) -> None:
        self.set_faults(fail_next=count, fail_status=status)

    def script(self, *statuses: int) -> None:
        """Answer the next calls with these statuses, in order (then normally)."""
        self.set_faults(statuses=list(statuses))

    # -------------------------------------------------------------- behaviour
    def _known_user(self, sender: Any) -> bool:
        if self._known is None:
            return True
        if not isinstance(sender, str):
            return False
        sender = sender.lower()
        return sender in self._known or "@" + sender.rpartition("@")[2] in self._known

    def decide(self, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any], Any, float]:
        """Status, response body, parsed payload and delay for one request (records it)."""
        try:
            payload: Any = json.loads(raw.decode("utf-8"))
        except ValueError:
            payload = None
        with self._lock:
            faults = self._faults
            delay = faults.delay
            if faults.statuses:
                status = faults.statuses.pop(0)
                reply: dict[str, Any] = {"detail": "scripted"}
            elif faults.fail_next > 0:
                faults.fail_next -= 1
                status, reply = faults.fail_status, {"detail": "injected failure"}
            elif faults.fail_rate and self._rng.random() < faults.fail_rate:
                status, reply = faults.fail_status, {"detail": "injected failure"}
            elif not hmac.compare_digest(headers.get("x-api-key", "").encode(), self.api_key.encode()):
                status, reply = 401, {"detail": "invalid api key"}
            elif not isinstance(payload, dict) or not payload.get("sender"):
                status, reply = 422, {"detail": "invalid body"}
            elif not self._known_user(payload.get("sender")):
                status, reply = 404, {"detail": "user not found"}
            else:
                status, reply = 200, {"status": "queued"}
            key_ok = hmac.compare_digest(headers.get("x-api-key", "").encode(), self.api_key.encode())
            call = Call(time.time(), headers, payload, status, headers.get("idempotency-key"), key_ok)
            self._calls.append(call)
        if self.echo:
            print(json.dumps(call.as_dict(with_body=self.echo_body), ensure_ascii=False), flush=True)
        return status, reply, payload, delay


def _make_handler(standin: BackendStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the Lambda reuses its connection
        # Headers and body are two writes: with Nagle on, the client's delayed ACK adds ~40 ms.
        disable_nagle_algorithm = True
        server_version = "mediamind-backend-standin"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # calls are printed as JSON lines instead

        def _send(self, status: int, obj: Any) -> None:
            data = json.dumps(obj).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def do_GET(self) -> None:
            if self.path == "/_standin/calls":
                self._send(200, {"calls": [c.as_dict() for c in standin.calls]})
            elif self.path == "/_standin/health":
                self._send(200, {"ok": True})
            else:
                self._send(404, {"detail": "not found"})

        def do_POST(self) -> None:
            raw = self._body()
            if self.path == ENDPOINT:
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, reply, _payload, delay = standin.decide(headers, raw)
                if delay:
                    time.sleep(delay)
                self._send(status, reply)
            elif self.path == "/_standin/reset":
                standin.reset()
                self._send(200, {"ok": True})
            elif self.path == "/_standin/faults":
                try:
                    standin.set_faults(**json.loads(raw or b"{}"))
                except (ValueError, TypeError) as exc:
                    self._send(400, {"detail": str(exc)})
                    return
                self._send(200, {"ok": True})
            else:
                self._send(404, {"detail": "not found"})

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Stand-in for the backend's POST /api/v1/chatbot.")
    parser.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8088, help="listen port; 0 picks a free one (default 8088)")
    parser.add_argument("--api-key", required=True, help="the x-api-key value to accept")
    parser.add_argument("--known-users", default="", help="comma list of addresses/@domains (default: all)")
    parser.add_argument("--fail-rate", type=float, default=0.0, help="fraction of calls answered with 500")
    parser.add_argument("--fail-next", type=int, default=0, help="answer the next N calls with 500")
    parser.add_argument("--fail-status", type=int, default=500, help="status of injected failures")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait before each answer")
    parser.add_argument("--quiet", action="store_true", help="do not print each call")
    parser.add_argument("--print-body", action="store_true", help="include mail bodies in printed calls")
    args = parser.parse_args(argv)
    if not 0.0 <= args.fail_rate <= 1.0:
        parser.error("--fail-rate must be between 0 and 1")
    known = {u.strip() for u in args.known_users.split(",") if u.strip()} or None
    try:
        standin = BackendStandIn(
            args.api_key,
            host=args.host,
            port=args.port,
            known_users=known,
            echo=not args.quiet,
            echo_body=args.print_body,
        )
    except OSError as exc:
        print(f"backend_standin: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    standin.set_faults(
        fail_rate=args.fail_rate, fail_next=args.fail_next, fail_status=args.fail_status, delay=args.delay
    )
    print(f"listening on {standin.url}", flush=True)

    def _terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM (kill, a demo's cleanup) ends like Ctrl-C

    signal.signal(signal.SIGTERM, _terminate)
    try:
        standin.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        standin.close()
        print(f"received {len(standin.calls)} call(s)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
