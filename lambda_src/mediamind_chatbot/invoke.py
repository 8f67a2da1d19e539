"""Replay one mail (or one saved event) through the real handler, locally or against AWS.

    python -m mediamind_chatbot.invoke --bucket eutop-mediamind --key inbound/0abc...
    python -m mediamind_chatbot.invoke --event saved-event.json

Configuration comes from the same environment variables as the Lambda (API_HOST,
CHAT_API_KEY[_SECRET_ARN], REDIS_URL[_SECRET_ARN], CHATBOT_ADDRESS, INBOUND_PREFIX, ...)
and AWS credentials/region from the usual AWS variables.  Dedup applies: a mail that was
already processed answers ``duplicate``; a redrive after an outage (claim released or
expired) processes it once.  The result JSON goes to stdout, log lines to stderr.
Exit codes: 0 done, 1 infrastructure failure (retry later), 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


class LocalContext:
    """The part of the Lambda context the pipeline uses."""

    function_name = "mediamind_chatbot-local"
    aws_request_id = "local"

    def __init__(self, timeout_seconds: float) -> None:
        self._deadline = time.monotonic() + timeout_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mediamind_chatbot.invoke", description=(__doc__ or "").split("\n")[0]
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--event", type=Path, help="an S3 event JSON file (as Lambda receives it)")
    source.add_argument("--bucket", help="bucket of the mail object (with --key)")
    parser.add_argument("--key", help="object key of the mail (the SES message id under the prefix)")
    parser.add_argument("--timeout", type=float, default=60.0, help="time budget in seconds (default 60)")
    args = parser.parse_args(argv)

    from .events import make_event  # noqa: PLC0415 - keep --help instant
    from .handler import ConfigError, build_pipeline  # noqa: PLC0415
    from .telemetry import Telemetry  # noqa: PLC0415

    if args.event:
        try:
            event = json.loads(args.event.read_text())
        except (OSError, ValueError) as exc:
            print(f"invoke: cannot read event {args.event}: {exc}", file=sys.stderr)
            return 2
    else:
        if not args.key:
            parser.error("--bucket needs --key")
        # No size in the event: the pipeline checks ContentLength on the GET response.
        event = make_event(args.bucket, args.key)
    try:
        pipeline = build_pipeline()
    except ConfigError as exc:
        print(f"invoke: configuration error: {exc}", file=sys.stderr)
        return 2
    # Log lines go to stderr, the result alone to stdout (pipe it to jq).
    pipeline.telemetry = Telemetry(pipeline.telemetry.namespace, "mediamind_chatbot-invoke", stream=sys.stderr)
    try:
        result = pipeline.handle(event, LocalContext(args.timeout))
    except Exception as exc:  # noqa: BLE001 - report infrastructure failures as one line
        print(f"invoke: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
