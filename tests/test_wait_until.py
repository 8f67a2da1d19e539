"""The collection's one wait loop (module_utils/common.wait_until), on a fake clock."""

from __future__ import annotations

from ansible_collections.mediamind.platform.plugins.module_utils.common import wait_until


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_returns_the_first_truthy_verdict_and_its_description() -> None:
    states = iter(["creating", "modifying", "available", "never read"])
    clock = Clock()
    current, verdict = wait_until(
        lambda: next(states),
        lambda s: "ready" if s == "available" else None,
        timeout=60,
        poll=5,
        sleep=clock.sleep,
        clock=clock.clock,
    )
    assert (current, verdict) == ("available", "ready")
    assert clock.sleeps == [5, 5]


def test_a_settled_first_description_never_sleeps() -> None:
    clock = Clock()
    assert wait_until(lambda: 1, bool, timeout=0, poll=5, sleep=clock.sleep, clock=clock.clock) == (1, True)
    assert clock.sleeps == []


def test_time_out_returns_the_last_description_with_a_falsy_verdict() -> None:
    calls: list[float] = []
    clock = Clock()

    def describe() -> float:
        calls.append(clock.now)
        return clock.now

    current, verdict = wait_until(describe, lambda _: False, timeout=12, poll=5, sleep=clock.sleep, clock=clock.clock)
    # Described at 0, 5, 10 and once more past the deadline: the last state is never stale.
    assert calls == [0, 5, 10, 15]
    assert current == 15
    assert not verdict
