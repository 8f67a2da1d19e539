"""A local stand-in for S3 event notifications: invokes the chatbot handler in-process.

Moto stores a bucket's notification configuration but runs no Lambda code (that needs
Docker), so this plays S3's part, reading what the lambda_chatbot role deployed:

1. It reads the bucket's ``LambdaFunctionConfigurations`` (events, prefix/suffix filter,
   function ARN, Id) from the emulator, re-read on every poll, so a redeploy that moves
   the prefix is followed at once.
2. It polls the bucket (``ListObjectsV2``) for objects it has not seen (objects already
   there at start are not events unless ``--from-start``) or is told about one
   (:meth:`Dispatcher.notify`).  Every object is an ``ObjectCreated:Put``: the receiver
   and the tests write with PutObject.
3. For each matching configuration it builds the event exactly as S3 shapes it
   (``Records[].eventSource: aws:s3``, ``eventName: ObjectCreated:Put``, ``s3.bucket.name/arn``,
   ``s3.object.key`` URL-encoded with ``quote_plus``, ``size``, ``eTag``, ``sequencer``,
   ``eventTime``, ``configurationId``...) and invokes the handler of the function the ARN
   names, with the environment that function has in the emulator
   (``lambda get_function_configuration``) plus what a laptop needs: ``AWS_ENDPOINT_URL``,
   the region, ``REDIS_SSL_CA_CERTS`` (the local CA) and any ``--set NAME=VALUE``.
4. At least once, like S3: ``--redeliver N`` delivers every event N times at the same
   moment from N threads, each thread being one warm "container" with its own handler
   pipeline (``mediamind_chatbot.handler.build_pipeline``: its own Redis and API clients).
   Dedup in Redis must turn them into one backend call.
5. Lambda's asynchronous invocation, opt-in (``lambda_async=True`` / ``--async``): a copy
   whose handler raises is retried ``MaximumRetryAttempts`` times (the function's event
   invoke config, default 2) after ``retry_delays`` (Lambda waits about 1 and 2 minutes;
   tests pass fractions of a second), keeping its request id; after the last failure an
   AWS-shaped ``RetriesExhausted`` record (``requestPayload`` = the event) is sent to the
   config's ``DestinationConfig.OnFailure`` SQS queue, where ``make redrive`` finds it.
   :meth:`Dispatcher.deliver_burst` delivers many objects' events through ``concurrency``
   container threads (each copy one async invocation; retries wait off-thread), for the
   load test.

Command line (Ctrl-C stops it; one JSON line per delivery with the handler's outcome)::

    python tools/s3_dispatcher.py --bucket eutop-mediamind
    python tools/s3_dispatcher.py --bucket eutop-mediamind --redeliver 2 --set API_HOST=http://127.0.0.1:8088
    python tools/s3_dispatcher.py --bucket eutop-mediamind --async --retry-delays 1,2
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import itertools
import json
import os
import queue
import sys
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import boto3

ROOT = Path(__file__).resolve().parent.parent
LAMBDA_SRC = ROOT / "lambda_src"
PUT_EVENT = "s3:ObjectCreated:Put"
# Lambda's defaults for asynchronous invocation: 2 retries, about 1 then 2 minutes apart.
DEFAULT_RETRY_ATTEMPTS = 2
DEFAULT_RETRY_DELAYS = (60.0, 120.0)


def _log(stream: Any, event: str, **fields: Any) -> None:
    print(json.dumps({"hop": "s3-event", "event": event, **fields}, default=str), file=stream, flush=True)


def aws_client(service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=os.environ.get("AWS_ENDPOINT_URL"),
        region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "eu-central-1",
    )


@dataclass(frozen=True)
class LambdaTarget:
    """One LambdaFunctionConfigurations entry of the bucket."""

    id: str
    function_arn: str
    events: tuple[str, ...]
    prefix: str
    suffix: str

    @classmethod
    def from_api(cls, entry: dict[str, Any]) -> LambdaTarget:
        rules = {r["Name"].lower(): r["Value"] for r in entry.get("Filter", {}).get("Key", {}).get("FilterRules", [])}
        return cls(
            id=entry.get("Id", ""),
            function_arn=entry["LambdaFunctionArn"],
            events=tuple(entry.get("Events", [])),
            prefix=rules.get("prefix", ""),
            suffix=rules.get("suffix", ""),
        )

    def wants(self, event_name: str, key: str) -> bool:
        """S3's matching: the event type (or its wildcard) and the key filter."""
        family = event_name.rsplit(":", 1)[0] + ":*"
        return (
            (event_name in self.events or family in self.events)
            and key.startswith(self.prefix)
            and key.endswith(self.suffix)
        )


def s3_event(bucket: str, obj: dict[str, Any], target: LambdaTarget, region: str, sequencer: int) -> dict[str, Any]:
    """One ObjectCreated:Put record, shaped like S3's (the key URL-encoded as S3 does)."""
    now = dt.datetime.now(dt.UTC)
    request_id = hashlib.sha1(f"{bucket}/{obj['Key']}/{sequencer}".encode(), usedforsecurity=False).hexdigest()
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
                "eventName": "ObjectCreated:Put",
                "userIdentity": {"principalId": "AWS:AROALOCALSTANDIN:ses"},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {
                    "x-amz-request-id": request_id[:16].upper(),
                    "x-amz-id-2": request_id,
                },
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": target.id,
                    "bucket": {
                        "name": bucket,
                        "ownerIdentity": {"principalId": "A3LOCALSTANDIN"},
                        "arn": f"arn:aws:s3:::{bucket}",
                    },
                    "object": {
                        "key": quote_plus(obj["Key"], safe="/"),
                        "size": obj["Size"],
                        "eTag": obj["ETag"].strip('"'),
                        "sequencer": f"{sequencer:018X}",
                    },
                },
            }
        ]
    }


class LocalContext:
    """The parts of the Lambda context the handler uses."""

    def __init__(self, function_name: str, timeout_seconds: int) -> None:
        self.function_name = function_name
        self.aws_request_id = hashlib.sha1(os.urandom(8), usedforsecurity=False).hexdigest()
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def failure_record(
    function_arn: str, event: dict[str, Any], request_id: str, invoke_count: int, exc: BaseException
) -> dict[str, Any]:
    """The record Lambda sends to an on-failure destination when retries are exhausted."""
    now = dt.datetime.now(dt.UTC)
    return {
        "version": "1.0",
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z",
        "requestContext": {
            "requestId": request_id,
            "functionArn": f"{function_arn}:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": invoke_count,
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": str(exc), "errorType": type(exc).__name__, "stackTrace": []},
    }


@dataclass(frozen=True)
class InvokeConfig:
    """The parts of the function's event invoke config the async semantics use."""

    max_retry_attempts: int = DEFAULT_RETRY_ATTEMPTS
    on_failure_queue_url: str | None = None


def handler_outcomes(result: Any) -> list[str]:
    """The per-record outcomes of a handler's return value (none when it raised or returned nothing)."""
    if not isinstance(result, dict):
        return []
    return [o.get("outcome", "") for o in result.get("outcomes", [])]


@dataclass
class Delivery:
    key: str
    function: str
    attempt: int
    result: Any = None
    error: str | None = None
    # With lambda_async: invocations made (1 + retries) and whether the failure record was sent.
    invocations: int = 1
    sent_to_failure_queue: bool = False

    def outcomes(self) -> list[str]:
        return handler_outcomes(self.result)


@dataclass
class Invocation:
    """One asynchronous invocation of :meth:`Dispatcher.deliver_burst` (one copy of one event)."""

    key: str
    function_arn: str
    revision: str
    copy: int
    event: dict[str, Any]
    request_id: str = field(default_factory=lambda: hashlib.sha1(os.urandom(8), usedforsecurity=False).hexdigest())
    attempts: int = 0
    first_start: float | None = None  # time.monotonic() of the first attempt
    settled: float | None = None  # when it returned or its failure record was sent
    result: Any = None
    errors: list[str] = field(default_factory=list)
    sent_to_failure_queue: bool = False

    def outcomes(self) -> list[str]:
        return handler_outcomes(self.result)


@dataclass
class Dispatcher:
    """Polls one bucket and delivers S3 events to the handler, each `redeliver` times at once."""

    bucket: str
    redeliver: int = 1
    overrides: dict[str, str] = field(default_factory=dict)
    out: Any = sys.stdout
    # Tests may replace the invoker: (function_configuration, env) -> callable(event, context).
    make_invoker: Callable[[dict[str, Any], dict[str, str]], Callable[[Any, Any], Any]] | None = None
    # Lambda async invocation semantics (retries, on-failure destination); off: one attempt.
    lambda_async: bool = False
    retry_delays: tuple[float, ...] = DEFAULT_RETRY_DELAYS
    sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        self.s3 = aws_client("s3")
        self.lam = aws_client("lambda")
        self.sqs = aws_client("sqs")
        self.failure_records: list[dict[str, Any]] = []
        self.region = self.s3.meta.region_name
        self.seen: set[tuple[str, str]] = set()
        self.deliveries: list[Delivery] = []
        self._sequencer = itertools.count(int(time.time() * 1000))
        self._lock = threading.Lock()
        self._local = threading.local()
        self._functions: dict[str, tuple[dict[str, Any], dict[str, str]]] = {}
        self._pool = ThreadPoolExecutor(max_workers=max(2, self.redeliver), thread_name_prefix="container")
        self._stop = threading.Event()

    # ------------------------------------------------------------------ configuration

    def targets(self) -> list[LambdaTarget]:
        config = self.s3.get_bucket_notification_configuration(Bucket=self.bucket)
        return [LambdaTarget.from_api(e) for e in config.get("LambdaFunctionConfigurations", [])]

    def function_env(self, function_arn: str) -> tuple[dict[str, Any], dict[str, str]]:
        """The function's configuration and the environment its handler would see here."""
        config = self.lam.get_function_configuration(FunctionName=function_arn)
        env = dict(config.get("Environment", {}).get("Variables", {}))
        for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            if os.environ.get(name):
                env[name] = os.environ[name]
        env["AWS_REGION"] = env["AWS_DEFAULT_REGION"] = self.region
        if os.environ.get("MM_REDIS_CA"):
            # ElastiCache's certificate chains to a public CA; the local Redis to our own.
            env["REDIS_SSL_CA_CERTS"] = os.environ["MM_REDIS_CA"]
        env.update(self.overrides)
        return config, env

    def revision(self, function_arn: str) -> str:
        """Read the function's current configuration; a new revision means new containers.

        Like Lambda after an update: warm containers of the old configuration are not reused.
        """
        config, env = self.function_env(function_arn)
        # moto keeps RevisionId/LastModified on a configuration update: hash what matters.
        settled = {k: v for k, v in config.items() if k != "ResponseMetadata"}
        revision = hashlib.sha256(json.dumps(settled, sort_keys=True, default=str).encode()).hexdigest()[:16]
        with self._lock:
            self._functions[f"{function_arn}@{revision}"] = (config, env)
        return revision

    def _invoker(self, function_arn: str, revision: str) -> tuple[Callable[[Any, Any], Any], int]:
        """This thread's warm container for that revision of the function (built on first use)."""
        containers = getattr(self._local, "containers", None)
        if containers is None:
            containers = self._local.containers = {}
        name = f"{function_arn}@{revision}"
        with self._lock:
            config, env = self._functions[name]
        if name not in containers:
            if self.make_invoker is not None:
                containers[name] = self.make_invoker(config, env)
            else:
                if str(LAMBDA_SRC) not in sys.path:
                    sys.path.insert(0, str(LAMBDA_SRC))
                from mediamind_chatbot import handler  # noqa: PLC0415 - lambda_src is not installed

                containers[name] = handler.build_pipeline(env).handle
        return containers[name], int(config.get("Timeout", 60))

    def invoke_config(self, function_arn: str) -> InvokeConfig:
        """MaximumRetryAttempts and the OnFailure SQS queue from the function's event invoke config."""
        try:
            config = self.lam.get_function_event_invoke_config(FunctionName=function_arn)
        except self.lam.exceptions.ResourceNotFoundException:
            return InvokeConfig()
        destination = config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination") or ""
        url = None
        if destination.startswith("arn:aws:sqs:"):
            _, _, _, _, account, name = destination.split(":", 5)
            url = self.sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
        elif destination:
            _log(self.out, "destination_unsupported", function=function_arn, destination=destination)
        return InvokeConfig(int(config.get("MaximumRetryAttempts", DEFAULT_RETRY_ATTEMPTS)), url)

    def retry_delay(self, retry: int) -> float:
        """Seconds before retry number `retry` (1-based); the last delay repeats."""
        if not self.retry_delays:
            return 0.0
        return self.retry_delays[min(retry, len(self.retry_delays)) - 1]

    def send_failure(
        self,
        function_arn: str,
        settings: InvokeConfig,
        event: dict[str, Any],
        *,
        request_id: str,
        count: int,
        exc: BaseException,
    ) -> bool:
        """Send the RetriesExhausted record to the on-failure queue (False: no destination)."""
        record = failure_record(function_arn, event, request_id, count, exc)
        with self._lock:
            self.failure_records.append(record)
        if settings.on_failure_queue_url is None:
            _log(self.out, "dropped", function=function_arn, request_id=request_id, reason="no on-failure destination")
            return False
        self.sqs.send_message(QueueUrl=settings.on_failure_queue_url, MessageBody=json.dumps(record))
        return True

    # ------------------------------------------------------------------ delivery

    def _deliver_once(
        self, target: LambdaTarget, revision: str, event: dict[str, Any], barrier: threading.Barrier, n: int
    ) -> Delivery:
        key = event["Records"][0]["s3"]["object"]["key"]
        delivery = Delivery(key=key, function=target.function_arn.rsplit(":", 1)[-1], attempt=n)
        try:
            invoke, timeout = self._invoker(target.function_arn, revision)
            barrier.wait(timeout=30)  # every copy enters the handler at the same moment
        except Exception as exc:  # noqa: BLE001 - reported as this delivery's error
            delivery.error = f"{type(exc).__name__}: {exc}"
            return delivery
        settings = self.invoke_config(target.function_arn) if self.lambda_async else None
        request_id = hashlib.sha1(os.urandom(8), usedforsecurity=False).hexdigest()
        while True:
            context = LocalContext(delivery.function, timeout)
            context.aws_request_id = request_id  # Lambda keeps the request id across retries
            try:
                delivery.result = invoke(event, context)
                delivery.error = None
                return delivery
            except Exception as exc:  # noqa: BLE001 - Lambda would retry; we report it
                delivery.error = f"{type(exc).__name__}: {exc}"
                if settings is None:
                    return delivery
                if delivery.invocations > settings.max_retry_attempts:
                    delivery.sent_to_failure_queue = self.send_failure(
                        target.function_arn, settings, event, request_id=request_id, count=delivery.invocations, exc=exc
                    )
                    return delivery
            self.sleep(self.retry_delay(delivery.invocations))
            delivery.invocations += 1

    def deliver(self, obj: dict[str, Any], targets: Iterable[LambdaTarget] | None = None) -> list[Delivery]:
        """Deliver the events of one new object to every matching configuration, `redeliver` times."""
        results: list[Delivery] = []
        for target in targets if targets is not None else self.targets():
            if not target.wants(PUT_EVENT, obj["Key"]):
                continue
            event = s3_event(self.bucket, obj, target, self.region, next(self._sequencer))
            _log(
                self.out,
                "notify",
                configuration=target.id,
                function=target.function_arn,
                key=event["Records"][0]["s3"]["object"]["key"],
                copies=self.redeliver,
            )
            revision = self.revision(target.function_arn)
            barrier = threading.Barrier(self.redeliver)
            futures = [
                self._pool.submit(self._deliver_once, target, revision, event, barrier, n + 1)
                for n in range(self.redeliver)
            ]
            for future in futures:
                delivery = future.result()
                results.append(delivery)
                _log(
                    self.out,
                    "delivered",
                    key=delivery.key,
                    attempt=delivery.attempt,
                    outcomes=delivery.outcomes(),
                    error=delivery.error,
                )
        with self._lock:
            self.deliveries.extend(results)
        return results

    def _burst_invocations(
        self, objs: Iterable[dict[str, Any]], copies: int
    ) -> tuple[list[Invocation], dict[str, InvokeConfig]]:
        """Every copy of every matching event, copies of one event next to each other."""
        targets = self.targets()
        revisions = {t.function_arn: self.revision(t.function_arn) for t in targets}
        settings = {arn: self.invoke_config(arn) for arn in revisions}
        invocations: list[Invocation] = []
        for obj in objs:
            for target in targets:
                if not target.wants(PUT_EVENT, obj["Key"]):
                    continue
                event = s3_event(self.bucket, obj, target, self.region, next(self._sequencer))
                arn = target.function_arn
                invocations.extend(Invocation(obj["Key"], arn, revisions[arn], n + 1, event) for n in range(copies))
        return invocations, settings

    def deliver_burst(
        self,
        objs: Iterable[dict[str, Any]],
        concurrency: int = 8,
        copies: int | None = None,
        timeout_s: float = 900,
    ) -> list[Invocation]:
        """Deliver every object's event `copies` times as async invocations on `concurrency` containers.

        The copies of one event are queued next to each other, so they usually run at the same
        time on two containers.  A failed attempt is re-queued after its retry delay (the
        container is free meanwhile) ahead of the events not yet started, so a retry runs at
        about its delay, not behind the whole backlog; the last failure sends the on-failure record.  Returns
        when every invocation settled; raises TimeoutError when some have not after ``timeout_s``
        (the containers stop after their current attempt).  Uses Lambda async semantics whatever
        ``lambda_async`` says: a burst without retries is not what S3 does.
        """
        copies = copies or self.redeliver
        invocations, settings = self._burst_invocations(objs, copies)
        # (priority, sequence, invocation): a timeout's stop -1, due retries 0, new events 1, the stop signal 2.
        work: queue.PriorityQueue[tuple[int, int, Invocation | None]] = queue.PriorityQueue()
        order = itertools.count()
        for invocation in invocations:
            work.put((1, next(order), invocation))
        unsettled = [len(invocations)]
        done = threading.Event()
        if not invocations:
            return invocations

        def settle(invocation: Invocation) -> None:
            invocation.settled = time.monotonic()
            with self._lock:
                unsettled[0] -= 1
                if unsettled[0] == 0:
                    done.set()

        def container() -> None:
            while (invocation := work.get()[2]) is not None:
                invocation.attempts += 1
                if invocation.first_start is None:
                    invocation.first_start = time.monotonic()
                try:
                    # An init failure (bad configuration) is an attempt that failed, as in Lambda.
                    invoke, timeout = self._invoker(invocation.function_arn, invocation.revision)
                    context = LocalContext(invocation.function_arn.rsplit(":", 1)[-1], timeout)
                    context.aws_request_id = invocation.request_id
                    invocation.result = invoke(invocation.event, context)
                except Exception as exc:  # noqa: BLE001 - Lambda retries, then the destination
                    invocation.errors.append(f"{type(exc).__name__}: {exc}")
                    config = settings[invocation.function_arn]
                    if invocation.attempts <= config.max_retry_attempts:
                        retry = (0, next(order), invocation)
                        timer = threading.Timer(self.retry_delay(invocation.attempts), work.put, (retry,))
                        timer.daemon = True
                        timer.start()
                        continue
                    try:
                        invocation.sent_to_failure_queue = self.send_failure(
                            invocation.function_arn,
                            config,
                            invocation.event,
                            request_id=invocation.request_id,
                            count=invocation.attempts,
                            exc=exc,
                        )
                    except Exception as send_exc:  # noqa: BLE001 - Lambda would drop it too; reported
                        invocation.errors.append(f"on-failure send failed: {send_exc}")
                settle(invocation)

        threads = [
            threading.Thread(target=container, name=f"burst-container-{n}", daemon=True) for n in range(concurrency)
        ]
        for thread in threads:
            thread.start()
        if not done.wait(timeout_s):
            # Ahead of every queued attempt: no container starts another one.
            for _ in threads:
                work.put((-1, next(order), None))
            raise TimeoutError(f"{unsettled[0]} of {len(invocations)} invocations not settled after {timeout_s} s")
        for _ in threads:
            work.put((2, next(order), None))
        for thread in threads:
            thread.join()
        return invocations

    def baseline(self) -> None:
        """Remember what is already in the bucket: those objects are not new events."""
        for obj in self._list():
            self.seen.add((obj["Key"], obj["ETag"]))

    def _list(self) -> list[dict[str, Any]]:
        paginator = self.s3.get_paginator("list_objects_v2")
        return [o for page in paginator.paginate(Bucket=self.bucket) for o in page.get("Contents", [])]

    def poll_once(self) -> list[Delivery]:
        new = [o for o in self._list() if (o["Key"], o["ETag"]) not in self.seen]
        if not new:
            return []
        targets = self.targets()
        results = []
        for obj in sorted(new, key=lambda o: o["LastModified"]):
            self.seen.add((obj["Key"], obj["ETag"]))
            results.extend(self.deliver(obj, targets))
        return results

    def notify(self, key: str) -> list[Delivery]:
        """Deliver the event of one object now (instead of waiting for a poll)."""
        head = self.s3.head_object(Bucket=self.bucket, Key=key)
        obj = {"Key": key, "Size": head["ContentLength"], "ETag": head["ETag"]}
        self.seen.add((key, head["ETag"]))
        return self.deliver(obj)

    def run(self, interval: float = 0.5) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:  # noqa: BLE001 - keep polling; report once per failure
                _log(self.out, "poll_failed", error=f"{type(exc).__name__}: {exc}")
            self._stop.wait(interval)

    def start(self, interval: float = 0.5) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(interval,), name="s3-dispatcher", daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        self._stop.set()
        self._pool.shutdown(wait=True)


def _pairs(values: list[str]) -> dict[str, str]:
    out = {}
    for value in values:
        name, sep, setting = value.partition("=")
        if not sep or not name:
            raise SystemExit(f"error: --set {value!r} is not NAME=VALUE")
        out[name] = setting
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Local stand-in for S3 event notifications to the chatbot Lambda.")
    parser.add_argument("--bucket", default="eutop-mediamind", help="bucket to watch (default eutop-mediamind)")
    parser.add_argument("--redeliver", type=int, default=1, help="deliver every event N times concurrently")
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between polls")
    parser.add_argument("--from-start", action="store_true", help="treat objects already there as new")
    parser.add_argument("--once", action="store_true", help="poll once and exit (with --from-start: a replay)")
    parser.add_argument(
        "--async",
        dest="lambda_async",
        action="store_true",
        help="Lambda async semantics: retry failed invocations, then send them to the on-failure queue",
    )
    parser.add_argument(
        "--retry-delays", default="60,120", help="seconds before each async retry, comma-separated (default 60,120)"
    )
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override a setting")
    args = parser.parse_args(argv)
    if args.redeliver < 1:
        parser.error("--redeliver must be 1 or more")
    if not os.environ.get("AWS_ENDPOINT_URL"):
        print("error: AWS_ENDPOINT_URL is not set: run `make up` and eval its env first", file=sys.stderr)
        return 1
    try:
        delays = tuple(float(d) for d in args.retry_delays.split(",") if d.strip())
    except ValueError:
        parser.error("--retry-delays must be comma-separated seconds")
    dispatcher = Dispatcher(
        bucket=args.bucket,
        redeliver=args.redeliver,
        overrides=_pairs(args.set),
        lambda_async=args.lambda_async,
        retry_delays=delays,
    )
    try:
        targets = dispatcher.targets()
    except Exception as exc:  # noqa: BLE001 - one line, not a traceback
        print(f"error: cannot read the notifications of bucket {args.bucket}: {exc}", file=sys.stderr)
        return 1
    if not args.from_start:
        dispatcher.baseline()
    print(f"watching s3://{args.bucket}", flush=True)
    _log(
        sys.stdout,
        "configuration",
        targets=[{"id": t.id, "function": t.function_arn, "events": t.events, "prefix": t.prefix} for t in targets],
    )
    try:
        if args.once:
            failed = [d for d in dispatcher.poll_once() if d.error]
            return 1 if failed else 0
        dispatcher.run(args.interval)
    except KeyboardInterrupt:
        pass
    finally:
        dispatcher.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
