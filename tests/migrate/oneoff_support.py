"""The one-off task code under test, and fakes."""

from __future__ import annotations

from typing import Any

from ansible_collections.mediamind.platform.plugins.module_utils import ecs as mm_ecs
from ansible_collections.mediamind.platform.plugins.module_utils import ecs_task as mm_ecs_task
from ansible_collections.mediamind.platform.plugins.modules import ecs_service_release as release_module

__all__ = ["mm_ecs", "mm_ecs_task", "release_module"]


class FakeClock:
    """time.monotonic and time.sleep for the wait loop: sleeping advances the clock, nothing waits."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class NoRetryArg:
    """A boto3 client as AnsibleAWSModule's retrying wrapper looks to its caller: accepts aws_retry=."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not callable(attr) or name in ("get_paginator", "can_paginate", "get_waiter"):
            return attr

        def call(*args: Any, aws_retry: bool = False, **kwargs: Any) -> Any:
            return attr(*args, **kwargs)

        return call
