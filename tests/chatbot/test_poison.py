"""Each class of poison mail ends in its outcome, in a subprocess under a memory limit.

The mails (tests/fixtures/poison.py) are what made the old parser run out of memory or
time: a From of thousands of encoded words or addresses, a 1.4 MB Subject, 100,000 header
fields, deep MIME nesting, 100,000 parts, huge HTML and base64.  The worker caps its
address space (RLIMIT_AS) at its size after start-up plus HEADROOM_MB: a mail that needed
more would fail with MemoryError instead of getting its outcome.  Times and peak memory per
mail are measured by benchmarks/chatbot_adversarial.py, not asserted here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from .conftest import FIXTURES, PREFIX

sys.path.insert(0, str(FIXTURES))
import poison

WORKER = Path(__file__).with_name("poison_worker.py")
# Address space, not resident memory: threads' stacks and the allocator's arenas count too.
HEADROOM_MB = 160


@pytest.mark.slow
def test_every_poison_mail_ends_in_its_outcome_under_a_memory_limit(chatbot_env, aws, standin):
    keys = {}
    for name, raw in poison.corpus().items():
        key = f"{PREFIX}poison-{name}-{uuid.uuid4().hex[:8]}"
        aws["s3"].put_object(Bucket=aws["bucket"], Key=key, Body=raw)
        keys[key] = name
    proc = subprocess.run(
        [sys.executable, str(WORKER), aws["bucket"], str(HEADROOM_MB), *keys],
        env={**os.environ, **chatbot_env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = [json.loads(line) for line in proc.stdout.splitlines()]
    got = {keys[r["key"]]: (r["outcome"], r["reason"]) for r in results}
    assert got == {name: poison.expected(name) for name in keys.values()}
    posted = sum(1 for outcome, _ in got.values() if outcome == "processed")
    assert len(standin.calls) == posted
