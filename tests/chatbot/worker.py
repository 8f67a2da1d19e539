"""A separate Lambda 'container' for the multi-process tests (run as a script, not collected).

    python worker.py EVENT_FILE START_AT REMAINING_MS [crash-after-claim]

Configuration comes from the environment (as in Lambda).  It builds the pipeline first
(like a cold start), then waits until the wall-clock START_AT so that all workers hit
Redis at the same moment, handles the event and prints the result as one JSON line.
With ``crash-after-claim`` the process dies (``os._exit``) right after winning the claim,
like a Lambda killed by a timeout or OOM between claim and completion.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lambda_src"))

from mediamind_chatbot.handler import build_pipeline
from mediamind_chatbot.invoke import LocalContext


def main() -> int:
    event = json.loads(Path(sys.argv[1]).read_text())
    start_at = float(sys.argv[2])
    remaining_ms = int(sys.argv[3])
    crash = len(sys.argv) > 4 and sys.argv[4] == "crash-after-claim"
    pipeline = build_pipeline()
    if crash:
        claim = pipeline.dedup.claim

        def claim_then_die(*args, **kwargs):
            result = claim(*args, **kwargs)
            if result.acquired:
                os._exit(137)
            return result

        pipeline.dedup.claim = claim_then_die  # type: ignore[method-assign]
    time.sleep(max(0.0, start_at - time.time()))
    try:
        result = pipeline.handle(event, LocalContext(remaining_ms / 1000))
    except Exception as exc:  # noqa: BLE001 - reported to the test
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
