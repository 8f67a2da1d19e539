"""A small evaluator of ECR lifecycle policies, after AWS's documented semantics
(ECR User Guide, "Lifecycle policies": evaluation rules), for the rules the ecr role
writes: the emulator stores a policy but never applies it.

- Rules are evaluated from the lowest rulePriority up.
- tagStatus `untagged` selects images without tags, `any` every image, `tagged` those
  whose tags match every entry of tagPrefixList (a tag starting with it) or
  tagPatternList (`*` wildcards): all entries must match, each by some tag.
- imageCountMoreThan N: of the images a rule selects, newest pushed first, all but the
  first N are candidates; sinceImagePushed N days: those pushed more than N days ago.
- An image is expired by at most one rule, and an image that matches the tagging
  requirements of a higher-priority rule is never expired by a lower-priority one; a
  rule still counts images a higher-priority rule selected or expired.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Image:
    digest: str
    tags: tuple[str, ...]
    pushed_at: datetime


def _selects(selection: dict, image: Image) -> bool:
    status = selection["tagStatus"]
    if status == "any":
        return True
    if status == "untagged":
        return not image.tags
    if not image.tags:
        return False
    prefixes = selection.get("tagPrefixList", [])
    patterns = selection.get("tagPatternList", [])
    return all(any(t.startswith(p) for t in image.tags) for p in prefixes) and all(
        any(fnmatch.fnmatchcase(t, p) for t in image.tags) for p in patterns
    )


def expired(policy: dict, images: list[Image], now: datetime) -> set[str]:
    """Digests of the images the policy expires."""
    gone: set[str] = set()
    claimed: set[str] = set()  # matched the tagging requirements of a higher-priority rule
    for rule in sorted(policy["rules"], key=lambda r: int(r["rulePriority"])):
        selection = rule["selection"]
        chosen = sorted((i for i in images if _selects(selection, i)), key=lambda i: i.pushed_at, reverse=True)
        if selection["countType"] == "imageCountMoreThan":
            candidates = chosen[int(selection["countNumber"]) :]
        else:
            limit = now - timedelta(days=int(selection["countNumber"]))
            candidates = [i for i in chosen if i.pushed_at < limit]
        gone |= {i.digest for i in candidates if i.digest not in claimed}
        claimed |= {i.digest for i in chosen}
    return gone
