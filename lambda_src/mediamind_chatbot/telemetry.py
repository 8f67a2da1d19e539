"""Structured JSON logs and CloudWatch Embedded Metric Format (EMF) lines.

One JSON object per line on stdout: CloudWatch Logs keeps it as one event and Logs
Insights can query the fields.  Personal data rule: never the body or subject, never the
full sender address; only its domain and a short salted-free hash (enough to correlate
a user's mails in an incident, not to recover the address).
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections import Counter
from typing import Any, TextIO

OUTCOMES = ("processed", "duplicate", "rejected", "failed", "ignored", "error")


def sender_fields(sender: str | None) -> dict[str, str]:
    if not sender:
        return {}
    domain = sender.rpartition("@")[2]
    digest = hashlib.sha256(sender.encode("utf-8")).hexdigest()[:12]
    return {"sender_domain": domain, "sender_hash": digest}


class Telemetry:
    def __init__(self, namespace: str, function_name: str, stream: TextIO | None = None) -> None:
        self.namespace = namespace
        self.function_name = function_name
        self._stream = stream

    def _write(self, obj: dict[str, Any]) -> None:
        stream = self._stream or sys.stdout
        stream.write(json.dumps(obj, ensure_ascii=False, separators=(",", ":"), default=str) + "\n")

    def log(self, level: str, message: str, **fields: Any) -> None:
        self._write({"level": level, "message": message, "function": self.function_name, **fields})

    def emit_metrics(self, counts: Counter[str], durations_ms: list[float]) -> None:
        """One EMF document per invocation: a count per outcome (zeros included)."""
        metrics = [{"Name": name, "Unit": "Count"} for name in OUTCOMES]
        doc: dict[str, Any] = {
            "_aws": {
                "Timestamp": int(time.time() * 1000),
                "CloudWatchMetrics": [
                    {
                        "Namespace": self.namespace,
                        "Dimensions": [["FunctionName"]],
                        "Metrics": [*metrics, {"Name": "RecordDurationMs", "Unit": "Milliseconds"}],
                    }
                ],
            },
            "FunctionName": self.function_name,
            "RecordDurationMs": [round(d, 2) for d in durations_ms] or [0.0],
        }
        for name in OUTCOMES:
            doc[name] = counts.get(name, 0)
        self._write(doc)
