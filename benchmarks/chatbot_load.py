"""The chatbot under load and faults, on a private local stack (loopback only, bounded).

    python benchmarks/chatbot_load.py [--mails 1000] [--output benchmarks/results/chatbot_load.md]

What one run does (issue 7, item 5):

1. starts a private emulator + TLS Redis (ports MM_LOAD_MOTO_PORT, default 5111, and +1300),
   deploys the mail path with tests/e2e/deploy_mail.yml (s3, ses_receipt, lambda_chatbot);
2. puts ``--mails`` distinct raw mails into the bucket under ``inbound/`` (PutObject, 8 threads);
3. delivers every object's event twice through tools/s3_dispatcher.py's ``deliver_burst``:
   8 container threads, Lambda async semantics (the function's MaximumRetryAttempts, retry
   delays scaled down to ``--retry-delays``, then the RetriesExhausted record to the
   on-failure SQS queue);
4. meanwhile the backend stand-in fails 10 % of calls with 500 and honours the
   Idempotency-Key (a repeat of an accepted key is answered 200 but counted as a duplicate,
   not accepted), and the real Redis is restarted once (SIGTERM, down ``--redis-down`` s,
   start): it has no persistence, so every claim and done marker vanishes;
5. checks the partition, runs tools/ops.py's redrive against the queue and checks again.

Each invocation gets a ``--budget`` second Lambda time budget (the deployed 60 s timeout
would let the API client's 5 retries absorb any 10 % fault rate), so some mails exhaust
for real.  Per-mail latency: first attempt of the first copy to the mail's outcome (the
invocation that returned ``processed``, else the last failure record sent).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "lambda_src"))

import localenv  # noqa: E402
import ops  # noqa: E402
import s3_dispatcher  # noqa: E402
from backend_standin import BackendStandIn  # noqa: E402

BUCKET = "eutop-mediamind"
PREFIX = "inbound/"
BOT = "test@chat.csee.tech"
API_KEY = "load-chat-api-key"  # a test value for the stand-in, not a credential
DEFAULT_MAILS = 1000
DEFAULT_MOTO_PORT = 5111


class IdempotentBackend(BackendStandIn):
    """The stand-in plus the backend's Idempotency-Key contract.

    A 200 for a key already accepted is a *duplicate* (answered 200, counted, not accepted).
    Accepted calls are counted per the payload's ``message_id`` (the mail's Message-ID), so a
    handler that sent two different keys for one mail would show two accepted calls.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._idem = threading.Lock()
        self.accepted_keys: set[str] = set()
        self.accepted: Counter[str] = Counter()
        self.accepted_at: dict[str, float] = {}
        self.duplicates: Counter[str] = Counter()
        self.injected = 0

    def decide(self, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any], Any, float]:
        with self._idem:
            status, reply, payload, delay = super().decide(headers, raw)
            if status >= 500:
                self.injected += 1
            if status == 200 and isinstance(payload, dict):
                mail_id = str(payload.get("message_id") or "").strip("<>")
                key = headers.get("idempotency-key") or ""
                if key and key in self.accepted_keys:
                    self.duplicates[mail_id] += 1
                    reply = {"status": "duplicate"}
                else:
                    self.accepted_keys.add(key)
                    self.accepted[mail_id] += 1
                    self.accepted_at.setdefault(mail_id, time.monotonic())
            return status, reply, payload, delay


@contextlib.contextmanager
def stack(moto_port: int) -> Iterator[localenv.Settings]:
    """A private moto + TLS Redis (same layout as tests/conftest.py's private_stack)."""
    settings = localenv.Settings(
        state_dir=(ROOT / ".local" / "stacks" / f"load-{moto_port}").resolve(),
        moto_port=moto_port,
        redis_port=moto_port + 1300,
    )
    env = {"MOTO_PORT": str(moto_port), "REDIS_PORT": str(moto_port + 1300), "MM_LOCAL_DIR": str(settings.state_dir)}
    tool = [sys.executable, str(ROOT / "tools" / "localenv.py")]
    result = subprocess.run([*tool, "up"], env={**os.environ, **env}, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"private emulator did not start: {result.stderr.strip()}")
    try:
        yield settings
    finally:
        subprocess.run([*tool, "down"], env={**os.environ, **env}, capture_output=True, check=False)


def stack_env(settings: localenv.Settings) -> dict[str, str]:
    return {
        **localenv.env_vars(settings),
        "MOTO_PORT": str(settings.moto_port),
        "REDIS_PORT": str(settings.redis_port),
        "MM_LOCAL_DIR": str(settings.state_dir),
    }


def deploy(api_host: str, package: Path, log: Path) -> None:
    """tests/e2e/deploy_mail.yml with the local inventory, as tests/e2e does."""
    env = dict(os.environ, ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), NO_COLOR="1", ANSIBLE_FORCE_COLOR="0")
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env['PATH']}"
    argv = [
        str(ROOT / ".venv" / "bin" / "ansible-playbook"),
        "-i",
        str(ROOT / "inventories" / "local"),
        "--vault-password-file",
        str(ROOT / "inventories" / "local" / "vault-password.txt"),
        str(ROOT / "tests" / "e2e" / "deploy_mail.yml"),
        *("-e", f"mediamind_inbound_prefix={PREFIX}"),
        *("-e", f"e2e_api_host={api_host}"),
        *("-e", f"e2e_api_key={API_KEY}"),
        *("-e", f"e2e_package={package}"),
    ]
    with log.open("a") as out:
        result = subprocess.run(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, check=False, timeout=900)
    if result.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-30:])
        raise RuntimeError(f"deploy_mail.yml failed (log {log}):\n{tail}")


def raw_mail(n: int, run: str) -> tuple[str, bytes]:
    msg = EmailMessage()
    msg["From"] = f"User {n} <user{n}@example.com>"
    msg["To"] = BOT
    msg["Subject"] = f"load {run} #{n}"
    mail_id = f"load-{run}-{n}@example.com"
    msg["Message-ID"] = f"<{mail_id}>"
    msg["X-SES-Spam-Verdict"] = "PASS"
    msg["X-SES-Virus-Verdict"] = "PASS"
    # As SES stores it: the chatbot answers only mail SES authenticated for the From's domain.
    msg["Authentication-Results"] = (
        "amazonses.com; spf=pass smtp.mailfrom=example.com; dmarc=pass header.from=example.com"
    )
    msg.set_content(f"Question number {n} of run {run}?\n")
    return mail_id, msg.as_bytes()


def put_mails(s3: Any, count: int, run: str) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """PutObject each mail under inbound/<ses-like id>; returns the objects and key -> Message-ID."""

    def put(n: int) -> tuple[dict[str, Any], str]:
        mail_id, body = raw_mail(n, run)
        key = f"{PREFIX}{secrets.token_hex(20)}"
        etag = s3.put_object(Bucket=BUCKET, Key=key, Body=body)["ETag"]
        return {"Key": key, "Size": len(body), "ETag": etag}, mail_id

    with ThreadPoolExecutor(8) as pool:
        done = list(pool.map(put, range(count)))
    return [o for o, _ in done], {o["Key"]: m for o, m in done}


def budget_invoker(budget_s: float) -> Any:
    """Dispatcher.make_invoker: the real handler pipeline, with a `budget_s` Lambda time budget."""
    from mediamind_chatbot import handler  # noqa: PLC0415 - lambda_src is on sys.path only here

    def make(config: dict[str, Any], env: dict[str, str]) -> Any:
        pipeline = handler.build_pipeline(env)

        def invoke(event: Any, context: Any) -> Any:
            budgeted = s3_dispatcher.LocalContext(context.function_name, 0)
            budgeted._deadline = time.monotonic() + budget_s
            budgeted.aws_request_id = context.aws_request_id
            return pipeline.handle(event, budgeted)

        return invoke

    return make


def restart_redis(settings: localenv.Settings, down_s: float) -> dict[str, float]:
    """A real restart of the stack's redis-server (new process, empty: no persistence)."""
    t0 = time.monotonic()
    localenv._stop(settings, "redis", localenv.REDIS_MARKER)
    stopped = time.monotonic()
    time.sleep(down_s)
    localenv.redis_up(settings)
    return {"stop_s": stopped - t0, "down_s": time.monotonic() - stopped}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


@dataclass
class LoadResult:
    mails: int
    seconds: float
    throughput: float
    latency_ms: dict[str, float]
    invocations: int
    attempts: int
    failure_records: int
    outcomes: dict[str, int]
    injected_500s: int
    duplicate_calls: int
    redis_restart: dict[str, float]
    processed: list[str] = field(default_factory=list)  # exactly one accepted call
    queued: list[str] = field(default_factory=list)  # no accepted call, in the failure queue
    processed_and_queued: list[str] = field(default_factory=list)  # a copy gave up, its twin got through
    lost: list[str] = field(default_factory=list)  # no accepted call, not queued: must be empty
    doubled: list[str] = field(default_factory=list)  # two accepted calls: must be empty
    redrive_lines: list[str] = field(default_factory=list)
    redrive_passes: int = 0
    after_redrive_not_once: list[str] = field(default_factory=list)  # must be empty
    queue_left: int = 0

    def as_dict(self) -> dict[str, Any]:
        counts = {k: len(v) if isinstance(v, list) else v for k, v in self.__dict__.items()}
        counts.pop("redrive_lines")
        return counts


def run(
    settings: localenv.Settings,
    work: Path,
    *,
    mails: int = DEFAULT_MAILS,
    concurrency: int = 8,
    copies: int = 2,
    fail_rate: float = 0.10,
    budget_s: float = 3.0,
    retry_delays: tuple[float, ...] = (0.1, 0.2),
    redis_down_s: float = 0.5,
    restart_at: float = 0.4,
) -> LoadResult:
    """The whole scenario on an already started stack; the caller's os.environ must point at it."""
    import boto3  # noqa: PLC0415

    package = work / "mediamind_chatbot.zip"
    built = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "package_lambda.py"), "--output", str(package)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if built.returncode != 0:
        raise RuntimeError(f"package_lambda.py failed: {built.stderr.strip()}")
    with IdempotentBackend(api_key=API_KEY) as backend:
        deploy(backend.url, package, settings.log_dir / "load-deploy.log")
        s3 = boto3.client("s3")
        run_id = dt.datetime.now(dt.UTC).strftime("%H%M%S") + secrets.token_hex(2)
        objs, mail_of = put_mails(s3, mails, run_id)

        with open(os.devnull, "w") as quiet:
            dispatcher = s3_dispatcher.Dispatcher(
                bucket=BUCKET,
                redeliver=copies,
                out=quiet,
                make_invoker=budget_invoker(budget_s),
                lambda_async=True,
                retry_delays=retry_delays,
            )
            backend.set_faults(fail_rate=fail_rate)
            restart: dict[str, float] = {}

            def restarter() -> None:
                # Once enough mails got through that the restart lands mid-burst.
                while len(backend.accepted) < mails * restart_at and not finished.is_set():
                    time.sleep(0.02)
                if not finished.is_set():
                    restart.update(restart_redis(settings, redis_down_s))

            finished = threading.Event()
            thread = threading.Thread(target=restarter, name="redis-restarter", daemon=True)
            thread.start()
            t0 = time.monotonic()
            invocations = dispatcher.deliver_burst(objs, concurrency=concurrency, copies=copies)
            seconds = time.monotonic() - t0
            finished.set()
            thread.join()
            dispatcher.stop()

        result = classify(backend, dispatcher, invocations, mail_of, seconds)
        result.redis_restart = restart
        redrive_all(result, backend, dispatcher, mail_of, copies)
    return result


def classify(
    backend: IdempotentBackend,
    dispatcher: s3_dispatcher.Dispatcher,
    invocations: list[s3_dispatcher.Invocation],
    mail_of: dict[str, str],
    seconds: float,
) -> LoadResult:
    """The partition of the mails after the burst, and the timing figures."""
    mails = len(mail_of)
    queued_keys = Counter(r["requestPayload"]["Records"][0]["s3"]["object"]["key"] for r in dispatcher.failure_records)
    by_key: dict[str, list[s3_dispatcher.Invocation]] = {}
    for inv in invocations:
        by_key.setdefault(inv.key, []).append(inv)
    result = LoadResult(
        mails=mails,
        seconds=seconds,
        throughput=mails / seconds,
        latency_ms={},
        invocations=len(invocations),
        attempts=sum(i.attempts for i in invocations),
        failure_records=len(dispatcher.failure_records),
        outcomes=dict(Counter(o for i in invocations for o in (i.outcomes() or ["error"]))),
        injected_500s=backend.injected,
        duplicate_calls=sum(backend.duplicates.values()),
        redis_restart={},
    )
    latencies = []
    for key, mail_id in mail_of.items():
        accepted = backend.accepted[mail_id]
        in_queue = queued_keys[key] > 0
        if accepted >= 2:
            result.doubled.append(mail_id)
        elif accepted == 1:
            (result.processed_and_queued if in_queue else result.processed).append(mail_id)
        elif in_queue:
            result.queued.append(mail_id)
        else:
            result.lost.append(mail_id)
        copies_of = by_key[key]
        start = min(i.first_start for i in copies_of if i.first_start is not None)
        ok = [i.settled for i in copies_of if "processed" in i.outcomes() and i.settled is not None]
        end = min(ok) if ok else max(i.settled or start for i in copies_of)
        latencies.append((end - start) * 1000)
    result.latency_ms = {
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
        "max": max(latencies),
        "mean": statistics.fmean(latencies),
    }
    return result


def redrive_all(
    result: LoadResult,
    backend: IdempotentBackend,
    dispatcher: s3_dispatcher.Dispatcher,
    mail_of: dict[str, str],
    copies: int,
) -> None:
    """tools/ops.py's redrive (what `make redrive` runs) on the failure queue, then the final check."""
    import boto3  # noqa: PLC0415

    queue_url = dispatcher.invoke_config(_function_arn()).on_failure_queue_url
    outputs = {
        "environment": "local",
        "region": os.environ.get("AWS_REGION", "eu-central-1"),
        "components": {
            "mediamind-platform": {
                "lambda_chatbot": {
                    "function_arn": _function_arn(),
                    "function_name": "mediamind_chatbot",
                    "queue_url": queue_url,
                    "log_group": "/aws/lambda/mediamind_chatbot",
                },
                "s3": {"bucket": BUCKET},
            }
        },
    }
    # An operator re-runs `make redrive` while messages are kept (the backend still fails 10 %).
    for _ in range(3):
        lines = ops.redrive(outputs, argparse.Namespace(max=2 * len(mail_of) * copies + 10))
        result.redrive_passes += 1
        result.redrive_lines.extend(lines)
        if " 0 kept" in lines[0]:
            break
    attributes = boto3.client("sqs").get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    result.queue_left = sum(int(v) for v in attributes.values())
    result.after_redrive_not_once = [m for m in mail_of.values() if backend.accepted[m] != 1]
    result.duplicate_calls = sum(backend.duplicates.values())


def _function_arn() -> str:
    import boto3  # noqa: PLC0415

    return boto3.client("lambda").get_function_configuration(FunctionName="mediamind_chatbot")["FunctionArn"]


def report(result: LoadResult, args: dict[str, Any]) -> str:
    lat = result.latency_ms
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    rows = [
        ("mails (distinct), copies per event, containers", f"{result.mails}, {args['copies']}, {args['concurrency']}"),
        ("burst wall time (s)", f"{result.seconds:.1f}"),
        ("throughput (mails/s)", f"{result.throughput:.1f}"),
        ("per-mail latency p50 / p95 / p99 (ms)", f"{lat['p50']:.0f} / {lat['p95']:.0f} / {lat['p99']:.0f}"),
        ("per-mail latency mean / max (ms)", f"{lat['mean']:.0f} / {lat['max']:.0f}"),
        ("async invocations / handler attempts", f"{result.invocations} / {result.attempts}"),
        ("invocation outcomes", ", ".join(f"{n} {o}" for o, n in sorted(result.outcomes.items()))),
        ("backend 500s injected", str(result.injected_500s)),
        ("repeat calls absorbed by the Idempotency-Key", str(result.duplicate_calls)),
        (
            "Redis restart (stop s / down until ping s)",
            f"{result.redis_restart.get('stop_s', 0):.2f} / {result.redis_restart.get('down_s', 0):.2f}",
        ),
        ("RetriesExhausted records sent to the failure queue", str(result.failure_records)),
        ("mails processed once (1 accepted call, not queued)", str(len(result.processed))),
        ("mails in the failure queue (0 accepted calls)", str(len(result.queued))),
        ("mails processed once and also queued (a copy gave up)", str(len(result.processed_and_queued))),
        ("mails lost (0 accepted, not queued) - must be 0", str(len(result.lost))),
        ("mails with 2+ accepted calls - must be 0", str(len(result.doubled))),
        ("redrive passes", str(result.redrive_passes)),
        ("after redrive: mails not processed exactly once - must be 0", str(len(result.after_redrive_not_once))),
        ("after redrive: messages left in the queue", str(result.queue_left)),
    ]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"""# Chatbot under load and faults

Run {when} on {platform.node()} (Python {platform.python_version()}, {os.cpu_count()} CPUs, load average {load}),
`python benchmarks/chatbot_load.py --mails {result.mails}`: a private moto + TLS Redis, the mail path deployed with
tests/e2e/deploy_mail.yml, {result.mails} distinct mails put under `{PREFIX}`, every event delivered {args["copies"]}
times through tools/s3_dispatcher.py (`deliver_burst`, {args["concurrency"]} containers, Lambda async retries
{args["retry_delays"]} s apart instead of 1 and 2 min, then the on-failure queue), the backend stand-in failing
{args["fail_rate"]:.0%} of calls with 500 and honouring the Idempotency-Key, and the real Redis restarted once (no
persistence: every claim and done marker is lost) after {args["restart_at"]:.0%} of the mails were accepted. Each
invocation has a {args["budget_s"]} s Lambda time budget. All loopback.

| figure | value |
|---|---|
{table}

How to read it: "accepted" is a backend call answered 200 for an Idempotency-Key not seen before,
counted per the mail's Message-ID. Latency per mail runs from the first attempt of its first copy to
the invocation that returned `processed` (or, for a mail that only reached the queue, its last failure
record). Throughput = distinct mails / burst wall time (redrive not included). A mail "processed once
and also queued" had one copy exhaust its retries (e.g. all three attempts while Redis was down) while
its twin got through; redrive then finds the done marker or, when the restart erased it, the backend
answers the repeat as a duplicate: no second accepted call either way. Absolute figures depend on
the shared machine's load (moto's S3 dominates the handler time).
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mails", type=int, default=int(os.environ.get("MM_LOAD_MAILS", DEFAULT_MAILS)))
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--copies", type=int, default=2)
    parser.add_argument("--fail-rate", type=float, default=0.10)
    parser.add_argument("--budget", type=float, default=3.0, help="Lambda time budget per invocation (s)")
    parser.add_argument("--retry-delays", default="0.1,0.2", help="async retry delays (s), comma-separated")
    parser.add_argument("--redis-down", type=float, default=0.5, help="seconds Redis stays down")
    parser.add_argument("--moto-port", type=int, default=int(os.environ.get("MM_LOAD_MOTO_PORT", DEFAULT_MOTO_PORT)))
    parser.add_argument("--output", type=Path, default=ROOT / "benchmarks" / "results" / "chatbot_load.md")
    args = parser.parse_args(argv)
    knobs = {
        "mails": args.mails,
        "concurrency": args.concurrency,
        "copies": args.copies,
        "fail_rate": args.fail_rate,
        "budget_s": args.budget,
        "retry_delays": tuple(float(d) for d in args.retry_delays.split(",")),
        "redis_down_s": args.redis_down,
        "restart_at": 0.4,
    }
    saved = dict(os.environ)
    with stack(args.moto_port) as settings:
        os.environ.update(stack_env(settings))
        try:
            work = settings.state_dir / "load"
            work.mkdir(parents=True, exist_ok=True)
            result = run(settings, work, **knobs)
        finally:
            os.environ.clear()
            os.environ.update(saved)
    text = report(result, knobs)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)
    print(text)
    print(json.dumps(result.as_dict(), default=str))
    bad = result.lost or result.doubled or result.after_redrive_not_once
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
