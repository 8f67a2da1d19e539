"""Helpers shared by the project's own boto3 modules (plugins/modules).

Keep AWS-specific logic in the module that owns it; put here only what two or
more modules need: the retry policy, tag handling and the diff shape.
"""

from __future__ import annotations

from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.amazon.aws.plugins.module_utils.tagging import (
    ansible_dict_to_boto3_tag_list,
    boto3_tag_list_to_ansible_dict,
)

# One retry policy for every call: throttling and eventual consistency
# (a resource created a moment ago not yet visible) are retried with jitter.
aws_retry = AWSRetry.jittered_backoff(retries=8, delay=1, max_delay=20)


def tags_to_dict(tag_list: list[dict[str, str]] | None) -> dict[str, str]:
    """Boto3 [{'Key':..,'Value':..}] (any key casing) to a plain dict."""
    return boto3_tag_list_to_ansible_dict(tag_list or [])


def dict_to_tags(tags: dict[str, str] | None) -> list[dict[str, str]]:
    return ansible_dict_to_boto3_tag_list(tags or {})


def tag_changes(current: dict[str, str], wanted: dict[str, str], purge: bool) -> tuple[dict, list]:
    """(tags to set, keys to remove) to go from `current` to `wanted`."""
    to_set = {k: v for k, v in wanted.items() if current.get(k) != v}
    to_remove = [k for k in current if k not in wanted and not k.startswith("aws:")] if purge else []
    return to_set, to_remove


def make_diff(before: Any, after: Any) -> dict[str, Any]:
    """The `diff` return value Ansible's --diff renders."""
    return {"before": before if before is not None else {}, "after": after if after is not None else {}}
