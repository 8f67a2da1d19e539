"""Helpers shared by the mediamind.platform modules.

Keep AWS-specific logic in the module that owns it; put here only what two or
more modules need: the retry policy, tag handling, waiting and the diff shape.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

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


@aws_retry
def set_resource_tags(client, arn: str, to_set: dict[str, str], to_remove: list[str]) -> None:
    """Apply compare_aws_tags()'s result through the ARN-based tag API RDS and ElastiCache share."""
    if to_set:
        client.add_tags_to_resource(ResourceName=arn, Tags=dict_to_tags(to_set))
    if to_remove:
        client.remove_tags_from_resource(ResourceName=arn, TagKeys=to_remove)


Described = TypeVar("Described")


def wait_until(
    describe: Callable[[], Described],
    verdict: Callable[[Described], Any],
    timeout: float,
    poll: float,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[Described, Any]:
    """The one wait loop of the collection: describe every `poll` seconds until verdict(current)
    is truthy or `timeout` has passed. Returns (last description, verdict), the verdict falsy when
    time ran out. `sleep` and `clock` are injectable so tests wait for nothing."""
    deadline = clock() + timeout
    while True:
        current = describe()
        outcome = verdict(current)
        if outcome or clock() >= deadline:
            return current, outcome
        sleep(poll)


def make_diff(before: Any, after: Any) -> dict[str, Any]:
    """The `diff` return value Ansible's --diff renders."""
    return {"before": before if before is not None else {}, "after": after if after is not None else {}}
