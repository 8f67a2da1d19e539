"""Loaders for the one-off task code as Ansible places it (ansible.module_utils.*), and fakes."""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def load(name: str, path: Path) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


load("ansible.module_utils.mediamind_aws", ROOT / "plugins/module_utils/mediamind_aws.py")
mm_ecs_task = load("ansible.module_utils.mm_ecs_task", ROOT / "plugins/module_utils/mm_ecs_task.py")
mm_ecs = load("ansible.module_utils.mm_ecs", ROOT / "plugins/module_utils/mm_ecs.py")
release_module = load("ecs_service_release_under_test", ROOT / "plugins/modules/ecs_service_release.py")


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
