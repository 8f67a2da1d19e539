"""One private emulator for the guard tests: they record every request it receives,
so no other test may talk to it meanwhile."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import private_stack, stack_env


@pytest.fixture(scope="package")
def guard_stack() -> Iterator[dict[str, str]]:
    with private_stack("guards", 5900) as settings:
        yield stack_env(settings)
