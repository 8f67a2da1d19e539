"""A Lambda 'container' under a memory limit for the poison-mail test (run as a script).

    python poison_worker.py BUCKET HEADROOM_MB KEY [KEY ...]

Builds the pipeline from the environment (as in Lambda), then caps its address space
(RLIMIT_AS) at its current size plus HEADROOM_MB, like a Lambda memory setting, and
handles each key as one S3 event, printing one JSON line per mail: key, outcome, reason,
seconds.  A MemoryError or a crash shows as a missing line or a non-zero exit.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lambda_src"))

from mediamind_chatbot.events import make_event
from mediamind_chatbot.handler import build_pipeline
from mediamind_chatbot.invoke import LocalContext
from mediamind_chatbot.telemetry import Telemetry


def _vm_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmSize in /proc/self/status")


def main() -> int:
    bucket, headroom_mb, keys = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    pipeline = build_pipeline()
    pipeline.telemetry = Telemetry("MediaMind/Chatbot", "poison", stream=sys.stderr)
    limit = _vm_bytes() + headroom_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    for key in keys:
        started = time.perf_counter()
        result = pipeline.handle(make_event(bucket, key), LocalContext(30))
        (outcome,) = result["outcomes"]
        line = {"key": key, "outcome": outcome["outcome"], "reason": outcome["reason"]}
        print(json.dumps({**line, "seconds": round(time.perf_counter() - started, 3)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
