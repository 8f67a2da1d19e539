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

Command line (Ctrl-C stops it; one JSON line per delivery with the handler's outcome)::

    python tools/s3_dispatcher.py --bucket eutop-mediamind
    python tools/s3_dispatcher.py --bucket eutop-mediamind --redeliver 2 --set API_HOST=http://127.0.0.1:8088
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import itertools
import json
import os
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


@dataclass
class Delivery:
    key: str
    function: str
    attempt: int
    result: Any = None
    error: str | None = None

    def outcomes(self) -> list[str]:
        if not isinstance(self.result, dict):
            return []
        return [o.get("outcome", "") for o in self.result.get("outcomes", [])]


@dataclass
class Dispatcher:
    """Polls one bucket and delivers S3 events to the handler, each `redeliver` times at once."""

    bucket: str
    redeliver: int = 1
    overrides: dict[str, str] = field(default_factory=dict)
    out: Any = sys.stdout
    # Tests may replace the invoker: (function_configuration, env) -> callable(event, context).
    make_invoker: Callable[[dict[str, Any], dict[str, str]], Callable[[Any, Any], Any]] | None = None

    def __post_init__(self) -> None:
        self.s3 = aws_client("s3")
        self.lam = aws_client("lambda")
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

    # ------------------------------------------------------------------ delivery

    def _deliver_once(
        self, target: LambdaTarget, revision: str, event: dict[str, Any], barrier: threading.Barrier, n: int
    ) -> Delivery:
        key = event["Records"][0]["s3"]["object"]["key"]
        delivery = Delivery(key=key, function=target.function_arn.rsplit(":", 1)[-1], attempt=n)
        try:
            invoke, timeout = self._invoker(target.function_arn, revision)
            barrier.wait(timeout=30)  # every copy enters the handler at the same moment
            delivery.result = invoke(event, LocalContext(delivery.function, timeout))
        except Exception as exc:  # noqa: BLE001 - Lambda would retry; we report it
            delivery.error = f"{type(exc).__name__}: {exc}"
        return delivery

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
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE", help="override a setting")
    args = parser.parse_args(argv)
    if args.redeliver < 1:
        parser.error("--redeliver must be 1 or more")
    if not os.environ.get("AWS_ENDPOINT_URL"):
        print("error: AWS_ENDPOINT_URL is not set: run `make up` and eval its env first", file=sys.stderr)
        return 1
    dispatcher = Dispatcher(bucket=args.bucket, redeliver=args.redeliver, overrides=_pairs(args.set))
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
