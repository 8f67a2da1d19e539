"""The local environment's lifecycle: `python tools/localenv.py up|down|status`.

Every test runs its own copy on its own ports and state folder (never the
default 5000/6390 of `make up`, never another test's), through the same
command line a user types, and checks what really runs: pids, HTTP, TLS.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

ROOT = Path(__file__).resolve().parent.parent
LOCALENV = ROOT / "tools" / "localenv.py"
HOST = "127.0.0.1"
# A refused connection must fail at once: redis-py retries connection errors
# (authentication failures included) with backoff by default.
# Under pytest-xdist every worker gets its own block of ports (gw0 +0, gw1 +10, ...).
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)


def _ports(moto: int, redis_port: int) -> tuple[int, int]:
    return moto + 10 * _WORKER, redis_port + 10 * _WORKER


NO_RETRY = {"retry": Retry(NoBackoff(), 0), "socket_timeout": 2, "socket_connect_timeout": 2}


@dataclass
class Stack:
    """One copy of the local environment: its ports, state folder and env."""

    moto_port: int
    redis_port: int
    state_dir: Path

    @property
    def env(self) -> dict[str, str]:
        return dict(
            os.environ,
            MOTO_PORT=str(self.moto_port),
            REDIS_PORT=str(self.redis_port),
            MM_LOCAL_DIR=str(self.state_dir),
        )

    def run(self, command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(LOCALENV), command],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
            timeout=90,
        )

    def pid(self, name: str) -> int | None:
        try:
            return int((self.state_dir / "run" / f"{name}.pid").read_text())
        except FileNotFoundError:
            return None

    def pids(self) -> dict[str, int | None]:
        return {"moto": self.pid("moto"), "redis": self.pid("redis")}

    def redis_password(self) -> str:
        return (self.state_dir / "redis" / "password").read_text().strip()


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for its (re)parent to reap it."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    state = next(line for line in status.splitlines() if line.startswith("State:"))
    return "Z" not in state.split()[1]


def _wait_dead(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((HOST, port)) == 0


def _started(stack: Stack) -> Stack:
    result = stack.run("up")
    assert result.returncode == 0, result.stderr
    return stack


def _stop(stack: Stack) -> None:
    # Teardown through the tool under test; it only touches recorded pids.
    stack.run("down")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A running copy on 5191/6491, shared by the read-only tests."""
    running = _started(Stack(*_ports(5191, 6491), tmp_path_factory.mktemp("localenv")))
    yield running
    _stop(running)


def test_up_twice_starts_one_copy(stack: Stack) -> None:
    before = stack.pids()
    assert all(before.values()), before
    again = stack.run("up")
    assert again.returncode == 0, again.stderr
    assert stack.pids() == before
    assert again.stdout.count("already running") == 2, again.stdout
    assert all(_alive(pid) for pid in before.values())


def test_moto_answers_http(stack: Stack) -> None:
    url = f"http://{HOST}:{stack.moto_port}/moto-api/data.json"
    with urllib.request.urlopen(url, timeout=5) as resp:
        assert resp.status == 200


def test_redis_answers_tls_with_the_generated_ca_and_password(stack: Stack) -> None:
    client = redis.Redis(
        host=HOST,
        port=stack.redis_port,
        password=stack.redis_password(),
        ssl=True,
        ssl_ca_certs=str(stack.state_dir / "tls" / "ca.crt"),
        socket_timeout=5,
    )
    try:
        assert client.ping() is True
    finally:
        client.close()


def test_redis_refuses_plaintext(stack: Stack) -> None:
    client = redis.Redis(host=HOST, port=stack.redis_port, password=stack.redis_password(), **NO_RETRY)
    try:
        with pytest.raises(redis.exceptions.ConnectionError):
            client.ping()
    finally:
        client.close()


def test_redis_requires_the_password(stack: Stack) -> None:
    client = redis.Redis(
        host=HOST,
        port=stack.redis_port,
        ssl=True,
        ssl_ca_certs=str(stack.state_dir / "tls" / "ca.crt"),
        **NO_RETRY,
    )
    try:
        with pytest.raises(redis.exceptions.AuthenticationError):
            client.ping()
    finally:
        client.close()


def test_status_names_the_running_pids(stack: Stack) -> None:
    result = stack.run("status")
    assert result.returncode == 0, result.stderr
    pids = stack.pids()
    assert f"moto: running (pid {pids['moto']})" in result.stdout
    assert f"redis: running (pid {pids['redis']})" in result.stdout


def test_down_stops_exactly_the_recorded_pids(tmp_path: Path) -> None:
    # A decoy whose command line carries the same program name as ours: a
    # stop by name (pkill moto_server) would take it down as well.
    decoy = subprocess.Popen(["bash", "-c", "exec -a moto_server sleep 120"])
    stack = Stack(*_ports(5192, 6492), tmp_path)
    try:
        _started(stack)
        pids = stack.pids()
        assert all(pids.values()), pids
        result = stack.run("down")
        assert result.returncode == 0, result.stderr
        assert result.stdout.splitlines() == ["redis: stopped", "moto: stopped"]
        assert all(_wait_dead(pid) for pid in pids.values()), pids
        assert decoy.poll() is None, "down killed a process it did not start"
        assert stack.pids() == {"moto": None, "redis": None}
        assert not _listening(stack.moto_port)
        assert not _listening(stack.redis_port)
        again = stack.run("down")
        assert again.stdout.splitlines() == ["redis: was not running", "moto: was not running"]
        status = stack.run("status")
        assert status.stdout.splitlines() == ["moto: stopped", "redis: stopped"]
    finally:
        _stop(stack)  # a no-op when the test passed
        decoy.kill()
        decoy.wait()


@pytest.mark.parametrize("taken", ["MOTO_PORT", "REDIS_PORT"])
def test_taken_port_is_one_line_and_leaves_nothing_started(tmp_path: Path, taken: str) -> None:
    stack = Stack(*_ports(5193, 6493), tmp_path)
    port = stack.moto_port if taken == "MOTO_PORT" else stack.redis_port
    with socket.socket() as squatter:
        squatter.bind((HOST, port))
        squatter.listen()
        try:
            result = stack.run("up")
        finally:
            if stack.pid("moto") or stack.pid("redis"):
                _stop(stack)  # only if the tool failed to refuse
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert f"{HOST}:{port}" in lines[0]
    assert taken in lines[0]
    # REDIS_PORT: moto was started first and must have been stopped again.
    assert stack.pids() == {"moto": None, "redis": None}
    assert not _listening(stack.moto_port)
    assert stack.run("status").stdout.splitlines() == ["moto: stopped", "redis: stopped"]


def test_playbook_refuses_an_unknown_env() -> None:
    result = subprocess.run(
        [str(ROOT / "tools" / "playbook.sh"), "bogus", "x"],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "ENV='bogus'" in lines[0]
    assert result.stdout == ""
