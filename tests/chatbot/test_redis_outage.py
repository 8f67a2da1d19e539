"""Redis unavailable = fail closed: no API call without a claim, raise, and recover afterwards.

Uses a private TLS redis-server started here (same certificates as the local stack, its
own free port), never the shared one, so stopping it cannot disturb other tests.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import FakeContext, mail_fixture

PASSWORD = "outage-test-password"  # local throwaway server


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    def __init__(self, tls_dir: Path, workdir: Path) -> None:
        self.port = _free_port()
        self.tls_dir = tls_dir
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"rediss://:{PASSWORD}@127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        assert exe, "redis-server not installed"
        tls = self.tls_dir
        self.proc = subprocess.Popen(
            [
                exe,
                "--bind",
                "127.0.0.1",
                "--port",
                "0",
                "--tls-port",
                str(self.port),
                "--tls-cert-file",
                str(tls / "redis.crt"),
                "--tls-key-file",
                str(tls / "redis.key"),
                "--tls-ca-cert-file",
                str(tls / "ca.crt"),
                "--tls-auth-clients",
                "no",
                "--requirepass",
                PASSWORD,
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.workdir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("private redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture
def private_redis(local_stack, tmp_path):
    server = PrivateRedis(local_stack.tls_dir, tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def outage_pipeline(chatbot_env, private_redis):
    from mediamind_chatbot.handler import build_pipeline  # noqa: PLC0415

    pipe = build_pipeline({**chatbot_env, "REDIS_URL": private_redis.url})
    yield pipe
    pipe.api.close()


@pytest.mark.slow
def test_redis_stopped_fails_closed_then_processes_once_after_it_returns(
    outage_pipeline, private_redis, put_mail, standin
):
    from mediamind_chatbot.pipeline import InfrastructureError  # noqa: PLC0415

    _key, event = put_mail(mail_fixture("gmail_reply.eml"))
    # Warm the container's client first: the same client must survive the outage.
    _warm_key, warm_event = put_mail(mail_fixture("signature.eml"))
    assert outage_pipeline.handle(warm_event, FakeContext())["outcomes"][0]["outcome"] == "processed"
    standin.reset()

    private_redis.stop()
    started = time.monotonic()
    with pytest.raises(InfrastructureError, match="DedupUnavailable"):
        outage_pipeline.handle(event, FakeContext())
    assert time.monotonic() - started < 5, "giving up on Redis must take seconds, not the Lambda timeout"
    assert standin.calls == [], "no API call without a claim"

    private_redis.start()  # same port, empty data: the mail was never marked
    assert outage_pipeline.handle(event, FakeContext())["outcomes"][0]["outcome"] == "processed"
    assert outage_pipeline.handle(event, FakeContext())["outcomes"][0]["outcome"] == "duplicate"
    assert len(standin.calls) == 1


def test_redis_unreachable_from_the_start_raises_without_api_call(chatbot_env, put_mail, standin):
    from mediamind_chatbot.handler import build_pipeline  # noqa: PLC0415
    from mediamind_chatbot.pipeline import InfrastructureError  # noqa: PLC0415

    pipe = build_pipeline({**chatbot_env, "REDIS_URL": f"rediss://:x@127.0.0.1:{_free_port()}/0"})
    _key, event = put_mail(mail_fixture("gmail_reply.eml"))
    started = time.monotonic()
    with pytest.raises(InfrastructureError):
        pipe.handle(event, FakeContext())
    assert time.monotonic() - started < 5
    assert standin.calls == []


def test_wrong_redis_password_fails_closed(chatbot_env, private_redis, put_mail, standin):
    from mediamind_chatbot.handler import build_pipeline  # noqa: PLC0415
    from mediamind_chatbot.pipeline import InfrastructureError  # noqa: PLC0415

    pipe = build_pipeline({**chatbot_env, "REDIS_URL": private_redis.url.replace(PASSWORD, "wrong")})
    _key, event = put_mail(mail_fixture("gmail_reply.eml"))
    with pytest.raises(InfrastructureError):
        pipe.handle(event, FakeContext())
    assert standin.calls == []
