"""tools/s3_dispatcher.py: a burst whose invocations never settle ends in a TimeoutError (the
load benchmark would otherwise hang on a stuck handler). No AWS: the burst is built by hand."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
import s3_dispatcher


def test_a_burst_that_never_settles_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    dispatcher = s3_dispatcher.Dispatcher.__new__(s3_dispatcher.Dispatcher)
    dispatcher._lock = threading.Lock()
    dispatcher.redeliver = 1
    stuck = s3_dispatcher.Invocation("inbound/a", "arn:aws:lambda:eu-central-1:123456789012:function:f", "1", 1, {})
    monkeypatch.setattr(dispatcher, "_burst_invocations", lambda objs, copies: ([stuck], {}), raising=False)
    release = threading.Event()
    monkeypatch.setattr(dispatcher, "_invoker", lambda arn, revision: ((lambda event, context: release.wait(10)), 30))
    try:
        with pytest.raises(TimeoutError, match=r"1 of 1 invocations not settled after 0\.2 s"):
            dispatcher.deliver_burst([{"Key": "inbound/a"}], concurrency=1, timeout_s=0.2)
    finally:
        release.set()
    assert stuck.attempts == 1
    assert stuck.settled is None
