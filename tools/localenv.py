"""Lifecycle of the local environment: the moto server and a TLS-only Redis.

`python tools/localenv.py up|down|status|env` starts, stops, shows and exports
the local stand-ins for AWS and ElastiCache.  Everything listens on 127.0.0.1
only, is started detached, is recorded by pid in ``$MM_LOCAL_DIR/run`` and
logs into ``$MM_LOCAL_DIR/logs``.  ``down`` stops exactly the pids ``up``
recorded (after checking that the pid still runs the program we started, so a
recycled pid is never killed).

Ports and the state folder can be moved with MOTO_PORT, REDIS_PORT and
MM_LOCAL_DIR so that several copies (CI shards, helpers) can run side by side.
Every failure is one line on stderr and exit code 1, never a traceback.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import signal
import socket
import subprocess  # nosec B404 - we start our own local servers
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
# moto's own default port; the local inventory falls back to it as well.
DEFAULT_MOTO_PORT = 5000
# Not 6379, so a distribution Redis on the default port never collides with ours.
DEFAULT_REDIS_PORT = 6390
START_TIMEOUT_S = 90.0  # generous: a loaded 2-core CI machine starts moto slowly
STOP_TIMEOUT_S = 10.0
# moto's default account: the local inventory's fake account id.
LOCAL_ACCOUNT_ID = "123456789012"


class LocalEnvError(Exception):
    """A condition the user can fix; printed as one line."""


@dataclass(frozen=True)
class Settings:
    state_dir: Path
    moto_port: int
    redis_port: int

    @classmethod
    def from_env(cls) -> Settings:
        state = Path(os.environ.get("MM_LOCAL_DIR") or ROOT / ".local").resolve()
        return cls(
            state_dir=state,
            moto_port=_port("MOTO_PORT", DEFAULT_MOTO_PORT),
            redis_port=_port("REDIS_PORT", DEFAULT_REDIS_PORT),
        )

    @property
    def run_dir(self) -> Path:
        return self.state_dir / "run"

    @property
    def log_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def tls_dir(self) -> Path:
        return self.state_dir / "tls"

    @property
    def redis_dir(self) -> Path:
        return self.state_dir / "redis"

    @property
    def ca_file(self) -> Path:
        return self.tls_dir / "ca.crt"

    @property
    def password_file(self) -> Path:
        return self.redis_dir / "password"

    @property
    def endpoint_url(self) -> str:
        return f"http://{HOST}:{self.moto_port}"

    def redis_password(self) -> str:
        try:
            return self.password_file.read_text().strip()
        except FileNotFoundError as exc:
            raise LocalEnvError("the local Redis has no password yet: run `make up` first") from exc

    def redis_url(self) -> str:
        return f"rediss://:{self.redis_password()}@{HOST}:{self.redis_port}/0"


def _port(name: str, default: int) -> int:
    raw = os.environ.get(name) or str(default)
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise LocalEnvError(f"{name}={raw!r} is not a TCP port number")
    return int(raw)


# --------------------------------------------------------------------------- pids


def _pidfile(settings: Settings, name: str) -> Path:
    return settings.run_dir / f"{name}.pid"


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _recorded_pid(settings: Settings, name: str, marker: str) -> int | None:
    """The pid `up` recorded for `name`, if that process still runs our program."""
    path = _pidfile(settings, name)
    try:
        pid = int(path.read_text().strip())
    except (OSError, ValueError):
        return None
    if marker in _cmdline(pid):
        return pid
    # Stale record (process gone, or the pid was recycled by something else).
    path.unlink(missing_ok=True)
    return None


def _port_owner(port: int) -> str:
    """Best effort: which process listens on `port` (for the error message)."""
    inode_hex = f"{port:04X}"
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[1].rsplit(":", 1)[1] == inode_hex and fields[3] == "0A":
                inodes.add(fields[9])
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                target = os.readlink(fd)
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    return f"pid {proc.name} ({_cmdline(int(proc.name)).strip()[:80]})"
        except OSError:
            continue
    return "another process"


def _ensure_port_free(port: int, variable: str) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            raise LocalEnvError(
                f"port {HOST}:{port} is taken by {_port_owner(port)}: stop it, "
                f"or choose another port with {variable}=<port>"
            ) from exc


def _spawn(settings: Settings, name: str, argv: list[str], env: dict[str, str] | None = None) -> int:
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    log = (settings.log_dir / f"{name}.log").open("ab")
    proc = subprocess.Popen(  # noqa: S603  # nosec B603 - fixed argv, no shell
        argv,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # survives the make/shell that started it
        env={**os.environ, **(env or {})},
        cwd=settings.state_dir,
    )
    _pidfile(settings, name).write_text(f"{proc.pid}\n")
    return proc.pid


def _stop(settings: Settings, name: str, marker: str) -> bool:
    pid = _recorded_pid(settings, name, marker)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline and marker in _cmdline(pid):
        time.sleep(0.1)
    if marker in _cmdline(pid):
        os.kill(pid, signal.SIGKILL)
    _pidfile(settings, name).unlink(missing_ok=True)
    return True


def _wait(check, what: str, pid: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    last = ""
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            raise LocalEnvError(f"{what} exited at start: see {log}")
        try:
            check()
            return
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready yet"
            last = str(exc)
        time.sleep(0.2)
    raise LocalEnvError(f"{what} did not answer within {START_TIMEOUT_S:.0f}s ({last}): see {log}")


# --------------------------------------------------------------------------- moto

MOTO_MARKER = "moto_server"


def _moto_ready(settings: Settings) -> None:
    # Not /moto-api/data.json: moto 5.2 answers it with 500 once a non-empty bucket was deleted.
    req = urllib.request.Request(f"{settings.endpoint_url}/")  # noqa: S310
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310  # nosec B310 - loopback
        resp.read(1)


def moto_up(settings: Settings) -> str:
    pid = _recorded_pid(settings, "moto", MOTO_MARKER)
    if pid is not None:
        _wait(lambda: _moto_ready(settings), "moto server", pid, settings.log_dir / "moto.log")
        return f"moto server already running (pid {pid}) at {settings.endpoint_url}"
    _ensure_port_free(settings.moto_port, "MOTO_PORT")
    exe = Path(sys.executable).with_name("moto_server")
    if not exe.exists():
        raise LocalEnvError(f"{exe} not found: run `make setup` to create the virtualenv")
    pid = _spawn(
        settings,
        "moto",
        [str(exe), "-H", HOST, "-p", str(settings.moto_port)],
        # moto reports this many running tasks for every ECS service (default 0, which would leave
        # every deployment IN_PROGRESS forever); the local inventory runs one task per service.
        # ACM: moto marks a DNS-validated certificate ISSUED this many seconds after the request
        # (default 60); 0 stands in for DNS records that already exist, so one deploy converges
        # instead of a second one reporting the status change.
        env={"MOTO_ECS_SERVICE_RUNNING": "1", "MOTO_ACM_VALIDATION_WAIT": "0"},
    )
    try:
        _wait(lambda: _moto_ready(settings), "moto server", pid, settings.log_dir / "moto.log")
    except LocalEnvError:
        _stop(settings, "moto", MOTO_MARKER)
        raise
    return f"moto server started (pid {pid}) at {settings.endpoint_url}"


# --------------------------------------------------------------------------- redis

REDIS_MARKER = "redis-server"


def _run(argv: list[str]) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603  # nosec B603
    if result.returncode != 0:
        raise LocalEnvError(f"{argv[0]} failed: {result.stderr.strip().splitlines()[-1:]}")


def _ensure_tls(settings: Settings) -> None:
    """A private CA and a server certificate for 127.0.0.1/localhost, made once."""
    tls = settings.tls_dir
    server_crt = tls / "redis.crt"
    if settings.ca_file.exists() and server_crt.exists():
        return
    if shutil.which("openssl") is None:
        raise LocalEnvError("openssl not found: install it (apt-get install openssl) and retry")
    tls.mkdir(parents=True, exist_ok=True)
    os.chmod(tls, 0o700)
    ossl = "openssl"
    _run(
        [
            ossl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "3650",
            "-subj",
            "/CN=MediaMind local CA",
            "-keyout",
            str(tls / "ca.key"),
            "-out",
            str(settings.ca_file),
        ]
    )
    (tls / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n")
    _run(
        [
            ossl,
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=localhost",
            "-keyout",
            str(tls / "redis.key"),
            "-out",
            str(tls / "redis.csr"),
        ]
    )
    _run(
        [
            ossl,
            "x509",
            "-req",
            "-in",
            str(tls / "redis.csr"),
            "-CA",
            str(settings.ca_file),
            "-CAkey",
            str(tls / "ca.key"),
            "-CAcreateserial",
            "-days",
            "3650",
            "-extfile",
            str(tls / "san.ext"),
            "-out",
            str(server_crt),
        ]
    )
    for key in ("ca.key", "redis.key"):
        os.chmod(tls / key, 0o600)


def _redis_binary() -> str:
    exe = shutil.which("redis-server")
    if exe:
        return exe
    if os.geteuid() == 0 and shutil.which("apt-get"):
        # Debian's package starts a service on 6379 where systemd runs; we never use it.
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, capture_output=True)  # noqa: S607  # nosec
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "redis-server"],  # noqa: S607  # nosec B607
            check=False,
            env=env,
            capture_output=True,
        )
        exe = shutil.which("redis-server")
        if exe:
            return exe
    raise LocalEnvError("redis-server not found: install it with `sudo apt-get install redis-server` and retry")


def _redis_conf(settings: Settings) -> Path:
    settings.redis_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.redis_dir, 0o700)
    if not settings.password_file.exists():
        # Local-only password, made on first start, never committed.
        settings.password_file.write_text(secrets.token_urlsafe(24) + "\n")
        os.chmod(settings.password_file, 0o600)
    conf = settings.redis_dir / "redis.conf"
    tls = settings.tls_dir
    conf.write_text(
        "\n".join(
            [
                f"bind {HOST}",
                "port 0",  # TLS only: no plaintext listener at all
                f"tls-port {settings.redis_port}",
                f"tls-cert-file {tls / 'redis.crt'}",
                f"tls-key-file {tls / 'redis.key'}",
                f"tls-ca-cert-file {settings.ca_file}",
                "tls-auth-clients no",
                'tls-protocols "TLSv1.2 TLSv1.3"',
                f"requirepass {settings.redis_password()}",
                f"dir {settings.redis_dir}",
                'save ""',
                "appendonly no",
                "protected-mode yes",
                "daemonize no",
                "",
            ]
        )
    )
    os.chmod(conf, 0o600)
    return conf


def redis_ping(settings: Settings, timeout: float = 2.0) -> None:
    import redis  # noqa: PLC0415 - only the venv has it; keep `down` import-free

    client = redis.Redis.from_url(
        settings.redis_url(),
        ssl_ca_certs=str(settings.ca_file),
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
    )
    try:
        client.ping()
    finally:
        client.close()


def redis_up(settings: Settings) -> str:
    log = settings.log_dir / "redis.log"
    pid = _recorded_pid(settings, "redis", REDIS_MARKER)
    if pid is not None:
        _wait(lambda: redis_ping(settings), "redis-server", pid, log)
        return f"redis (TLS) already running (pid {pid}) at rediss://{HOST}:{settings.redis_port}"
    exe = _redis_binary()
    _ensure_port_free(settings.redis_port, "REDIS_PORT")
    _ensure_tls(settings)
    conf = _redis_conf(settings)
    pid = _spawn(settings, "redis", [exe, str(conf), "--logfile", str(log)])
    try:
        _wait(lambda: redis_ping(settings), "redis-server", pid, log)
    except LocalEnvError:
        _stop(settings, "redis", REDIS_MARKER)
        raise
    return f"redis (TLS) started (pid {pid}) at rediss://{HOST}:{settings.redis_port}"


# --------------------------------------------------------------------------- commands


def up(settings: Settings) -> list[str]:
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    # Concurrent `up`s (test workers, two shells) take turns: the second finds the first's servers.
    with (settings.state_dir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _up_locked(settings)


def _up_locked(settings: Settings) -> list[str]:
    started_moto = _recorded_pid(settings, "moto", MOTO_MARKER) is None
    lines = [moto_up(settings)]
    try:
        lines.append(redis_up(settings))
    except LocalEnvError:
        # Leave nothing half-started: undo the moto we started in this call.
        if started_moto:
            _stop(settings, "moto", MOTO_MARKER)
        raise
    lines.append(f"logs: {settings.log_dir}")
    return lines


def down(settings: Settings) -> list[str]:
    out = []
    for name, marker in (("redis", REDIS_MARKER), ("moto", MOTO_MARKER)):
        out.append(f"{name}: {'stopped' if _stop(settings, name, marker) else 'was not running'}")
    return out


def status(settings: Settings) -> list[str]:
    out = []
    for name, marker in (("moto", MOTO_MARKER), ("redis", REDIS_MARKER)):
        pid = _recorded_pid(settings, name, marker)
        out.append(f"{name}: running (pid {pid})" if pid else f"{name}: stopped")
    return out


def env_vars(settings: Settings) -> dict[str, str]:
    """What a shell, a test or a playbook needs to talk to the local stack."""
    return {
        "AWS_ENDPOINT_URL": settings.endpoint_url,
        "AWS_ACCESS_KEY_ID": "testing",  # dummy: moto accepts anything
        "AWS_SECRET_ACCESS_KEY": "testing",  # nosec B105 - dummy
        "AWS_DEFAULT_REGION": "eu-central-1",
        "AWS_REGION": "eu-central-1",
        "MM_REDIS_URL": settings.redis_url(),
        "MM_REDIS_CA": str(settings.ca_file),
        "REDIS_PORT": str(settings.redis_port),
        "MOTO_PORT": str(settings.moto_port),
    }


def main(argv: list[str]) -> int:
    commands = {"up": up, "down": down, "status": status}
    if len(argv) != 2 or argv[1] not in (*commands, "env"):
        print(f"usage: {argv[0]} up|down|status|env", file=sys.stderr)
        return 2
    try:
        settings = Settings.from_env()
        if argv[1] == "env":
            for key, value in env_vars(settings).items():
                print(f"export {key}={value}")
            return 0
        for line in commands[argv[1]](settings):
            print(line)
    except LocalEnvError as exc:
        print(f"localenv: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
