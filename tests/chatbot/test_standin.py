"""The backend stand-in itself (other demos reuse it): behaviour, fault injection, CLI."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from backend_standin import BackendStandIn

from .conftest import ROOT


def _post(url: str, payload: object, key: str = "k", path: str = "/api/v1/chatbot") -> int:
    req = urllib.request.Request(  # noqa: S310 - loopback
        url + path, data=json.dumps(payload).encode(), headers={"x-api-key": key, "Idempotency-Key": "i"}
    )
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310  # nosec B310
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


def test_statuses_faults_and_thread_safe_recording():
    with BackendStandIn("k", known_users={"a@x.com", "@y.org"}) as server:
        assert _post(server.url, {"sender": "a@x.com"}) == 200
        assert _post(server.url, {"sender": "b@y.org"}) == 200
        assert _post(server.url, {"sender": "c@z.net"}) == 404
        assert _post(server.url, {"sender": "a@x.com"}, key="wrong") == 401
        assert _post(server.url, {"nosender": 1}) == 422
        server.fail_next(2)
        assert [_post(server.url, {"sender": "a@x.com"}) for _ in range(3)] == [500, 500, 200]
        server.script(429, 503)
        assert [_post(server.url, {"sender": "a@x.com"}) for _ in range(3)] == [429, 503, 200]
        server.set_faults(fail_rate=1.0)
        assert _post(server.url, {"sender": "a@x.com"}) == 500
        server.reset()
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(lambda i: _post(server.url, {"sender": f"u{i}@y.org"}), range(40)))
        assert statuses == [200] * 40  # reset() keeps the known users (@y.org)
        assert len(server.calls) == 40
        assert all(c.idempotency_key == "i" for c in server.calls)
        assert "k" not in json.dumps(server.calls[0].as_dict()["headers"]["x-api-key"])


def test_cli_prints_port_and_calls_and_stops_on_sigterm():
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tools" / "backend_standin.py"), "--port", "0", "--api-key", "k"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = proc.stdout.readline().strip()
        assert first.startswith("listening on http://127.0.0.1:")
        url = first.removeprefix("listening on ")
        assert _post(url, {"sender": "a@x.com", "body": "secret question"}) == 200
        assert _post(url, {"fail_next": 1}, path="/_standin/faults") == 200
        assert _post(url, {"sender": "a@x.com"}) == 500
        with urllib.request.urlopen(url + "/_standin/calls", timeout=5) as resp:  # noqa: S310  # nosec B310
            assert [c["status"] for c in json.load(resp)["calls"]] == [200, 500]
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [line["status"] for line in lines] == [200, 500]
    assert "secret question" not in out  # bodies only with --print-body
    assert "received 2 call(s)" in err
