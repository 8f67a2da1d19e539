"""The e2e package deploys the mail path under the platform's real names (bucket
eutop-mediamind, the receipt rule set, the chatbot function): it runs on an emulator of
its own, so it never meets the stack `make deploy` and the security tests use."""

from __future__ import annotations

import os
from collections.abc import Iterator

import localenv
import pytest
from conftest import private_stack, stack_env


@pytest.fixture(scope="package")
def local_stack() -> Iterator[localenv.Settings]:
    with private_stack("e2e", 5400) as settings:
        saved = dict(os.environ)
        os.environ.update(stack_env(settings))
        try:
            yield settings
        finally:
            os.environ.clear()
            os.environ.update(saved)
