"""Counts changed tasks per component and writes them where MM_CHANGES_FILE says.

tools/summary.py turns the counts into the deploy summary's created/updated/unchanged
column. A component is the role a task comes from (roles/<name>/...), else its play's
first tag. Without MM_CHANGES_FILE the plugin does nothing.

With MM_OUTPUTS_FILE (outputs/<env>.json) the plugin also records which components that
file held when the run started: the run's own summary play rewrites it, so only a
snapshot taken before can tell a component created now from one updated.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: changes
type: aggregate
short_description: Count changed tasks per component for the deploy summary
description:
  - "Writes {check_mode, components: {name: {changed, ok}}, deployed_before} as JSON to MM_CHANGES_FILE at the end."
  - "deployed_before: the components MM_OUTPUTS_FILE held at the start ([] when it did not exist;
    null without MM_OUTPUTS_FILE)."
requirements:
  - MM_CHANGES_FILE in the environment (MM_OUTPUTS_FILE optional)
"""

import json
import os
import re
from pathlib import Path
from typing import Any

from ansible import context
from ansible.plugins.callback import CallbackBase

_ROLE = re.compile(r"/roles/([^/]+)/")
# An include only loads tasks (never "changed"): counted, it would add a row for a play's
# tag (ecs) that no component publishes outputs under.
_INCLUDES = {f"{prefix}{name}" for prefix in ("", "ansible.builtin.") for name in ("include_role", "include_tasks")}


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "mediamind.platform.changes"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self) -> None:
        super().__init__()
        self.target = os.environ.get("MM_CHANGES_FILE", "")
        self.counts: dict[str, dict[str, int]] = {}
        self.play_tag = ""
        self.deployed_before: list[str] | None = None

    def v2_playbook_on_start(self, playbook: Any) -> None:
        outputs = os.environ.get("MM_OUTPUTS_FILE", "")
        if not self.target or not outputs:
            return
        path = Path(outputs)
        hosts = json.loads(path.read_text()).get("components", {}) if path.is_file() else {}
        self.deployed_before = sorted({name for comps in hosts.values() for name in comps})

    def v2_playbook_on_play_start(self, play: Any) -> None:
        tags = list(play.tags or [])
        self.play_tag = next((t for t in tags if t != "always"), "")

    def _component(self, result: Any) -> str:
        match = _ROLE.search(result.task.get_path() or "")
        return match.group(1) if match else self.play_tag

    def v2_runner_on_ok(self, result: Any) -> None:
        component = self._component(result)
        if not component or result.task.action in _INCLUDES:
            return
        count = self.counts.setdefault(component, {"changed": 0, "ok": 0})
        count["changed" if result.result.get("changed") else "ok"] += 1

    def v2_playbook_on_stats(self, stats: Any) -> None:
        if not self.target:
            return
        path = Path(self.target)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                {
                    "check_mode": bool(context.CLIARGS.get("check")),
                    "components": self.counts,
                    "deployed_before": self.deployed_before,
                },
                indent=2,
            )
            + "\n"
        )
