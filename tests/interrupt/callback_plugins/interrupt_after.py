"""Kill ansible-playbook hard right after a chosen task finishes: a cancelled CI job, a laptop dying."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: interrupt_after
type: aggregate
short_description: SIGKILL the playbook once the task named by $INTERRUPT_AFTER_TASK has finished on a host
description:
  - When a task whose name contains $INTERRUPT_AFTER_TASK reports ok or changed on any host, write
    $INTERRUPT_MARKER (if set) and send SIGKILL to
    the process group of ansible-playbook (its forks included).
  - Test-only (tests/interrupt); enabled with ANSIBLE_CALLBACK_PLUGINS and ANSIBLE_CALLBACKS_ENABLED.
requirements:
  - enable in configuration
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "interrupt_after"
    CALLBACK_NEEDS_ENABLED = True

    def v2_runner_on_ok(self, result) -> None:
        target = os.environ.get("INTERRUPT_AFTER_TASK", "")
        name = result.task.get_name()
        if not target or target not in name:
            return
        marker = os.environ.get("INTERRUPT_MARKER")
        if marker:
            Path(marker).write_text(f"{result.host.get_name()}\t{name}\n")
        # No cleanup, no flush: the run dies as if the machine did, its workers
        # with it (the test starts each run in a process group of its own).
        os.killpg(os.getpgid(0), signal.SIGKILL)
