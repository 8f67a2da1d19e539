"""What the RDS instance and ElastiCache replication group managers share.

Both describe one resource once, sort its settings into modifiable, create-only
and security-critical (a create-only setting whose drift would weaken security
fails the run instead of warning), wait on one status field, and tag by ARN.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.tagging import compare_aws_tags
from ansible_collections.mediamind.platform.plugins.module_utils.common import wait_until


class DataStoreManager:
    """Subclasses set the class attributes and implement describe()."""

    kind = "resource"  # "instance", "group": used in messages
    status_key = "Status"  # the status field of the API's description
    ready_statuses: tuple[str, ...] = ("available",)
    deleting_status = "deleting"
    poll_seconds = 15
    create_only: tuple[str, ...] | dict[str, str] = ()
    security_critical: tuple[str, ...] = ()
    recreate_hint = "create a new one to change it"

    def __init__(self, module: Any, name: str, changes: Callable[[dict, dict, Any], dict]) -> None:
        self.module = module
        self.params = module.params
        self.name = name
        self.changes = changes
        self.changed = False
        self.request: dict = {}
        self.resource: dict | None = self.describe()

    def describe(self) -> dict | None:
        raise NotImplementedError

    # ------------------------------------------------------------------ waiting

    def status(self) -> str | None:
        return None if self.resource is None else self.resource.get(self.status_key)

    def _wait_for(self, done: Callable[[dict | None], bool], what: str) -> None:
        self.resource, reached = wait_until(
            self.describe, done, timeout=self.params["wait_timeout"], poll=self.poll_seconds
        )
        if not reached:
            self.module.fail_json(
                msg=f"Timed out waiting for {self.name} to be {what} (status {self.status() or 'gone'})"
            )

    def wait_available(self) -> None:
        self._wait_for(lambda r: r is not None and r.get(self.status_key) in self.ready_statuses, "available")

    def wait_gone(self) -> None:
        self._wait_for(lambda r: r is None, "deleted")

    def wait_modifiable(self) -> None:
        """AWS refuses to modify a resource that is creating or modifying: wait, or say so."""
        if self.status() in self.ready_statuses:
            return
        if not self.params["wait"]:
            self.module.fail_json(
                msg=f"{self.name} is {self.status()}: it cannot be modified now; run again later or set wait=true"
            )
        self.wait_available()

    # ------------------------------------------------------------------ states

    def settle_deleting(self) -> None:
        """A resource still being deleted: gone in check mode, waited for, or a clear error."""
        if self.status() != self.deleting_status:
            return
        if self.module.check_mode:
            self.resource = None
        elif self.params["wait"]:
            self.wait_gone()
        else:
            self.module.fail_json(msg=f"{self.name} is being deleted: run again when it is gone, or set wait=true")

    def gone_or_going(self) -> bool:
        """For state=absent: True (nothing to request) when it is gone or already deleting."""
        if self.resource is None or self.status() == self.deleting_status:
            if self.resource is not None and self.params["wait"] and not self.module.check_mode:
                self.wait_gone()
            return True
        return False

    def check_create_only(self, current: dict, want: dict, result_key: str) -> None:
        """Fail on a security-critical drift AWS cannot modify; warn on the others."""
        drift = self.changes(current, want, self.create_only)
        critical = sorted(key for key in drift if key in self.security_critical)
        if critical:
            self.module.fail_json(
                msg=f"{self.name}: {', '.join(critical)} cannot be changed on an existing {self.kind}; "
                f"{self.recreate_hint}",
                **{result_key: current},
            )
        for key, value in sorted(drift.items()):
            self.module.warn(f"{self.name}: {key} is {current[key]!r}, wanted {value!r}; create-only, left as is")

    def tag_plan(self, current: dict, diff: dict) -> tuple[dict, list, dict, dict]:
        """(tags to set, keys to remove, before, after) for the diff of `diff`'s keys and the tags."""
        to_set, to_remove = ({}, [])
        if self.params["tags"] is not None:
            to_set, to_remove = compare_aws_tags(current["tags"], self.params["tags"], self.params["purge_tags"])
        before = {key: current.get(key) for key in diff}
        after = dict(diff)
        if to_set or to_remove:
            before["tags"] = current["tags"]
            after["tags"] = {**{k: v for k, v in current["tags"].items() if k not in to_remove}, **to_set}
        return to_set, to_remove, before, after
