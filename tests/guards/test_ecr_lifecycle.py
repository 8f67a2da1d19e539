"""Images safe from cleanup: the lifecycle policy the ecr role writes (read back from the
emulator) keeps production's running image and its rollback images however many newer
dev images are pushed. moto stores lifecycle policies but never runs them: ecr_lifecycle
evaluates the stored policy by ECR's documented rules."""

from __future__ import annotations

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest

from .ecr_lifecycle import Image, expired

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime(2026, 12, 1, tzinfo=UTC)

pytestmark = pytest.mark.slow

CONVERGE = """
- hosts: localhost
  gather_facts: false
  vars_files: [{root}/inventories/production/group_vars/all/ecr.yml]
  module_defaults:
    group/mediamind.platform.aws:
      {{region: eu-central-1, endpoint_url: "{endpoint}", access_key: testing, secret_key: testing}}
  vars:
    ecr_repositories: [guard-lifecycle]
  roles:
    - role: {root}/roles/ecr
"""


@pytest.fixture(scope="module")
def production_policy(guard_stack: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The policy production's inventory sends, as ECR stores it."""
    playbook = tmp_path_factory.mktemp("ecr") / "converge.yml"
    playbook.write_text(CONVERGE.format(root=ROOT, endpoint=guard_stack["AWS_ENDPOINT_URL"]))
    result = subprocess.run(
        [
            str(ROOT / ".venv/bin/ansible-playbook"),
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            f"ansible_python_interpreter={ROOT / '.venv/bin/python'}",
            str(playbook),
        ],
        cwd=ROOT,
        env={**os.environ, **guard_stack, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg")},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    ecr = boto3.client(
        "ecr",
        endpoint_url=guard_stack["AWS_ENDPOINT_URL"],
        region_name="eu-central-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    try:
        return json.loads(ecr.get_lifecycle_policy(repositoryName="guard-lifecycle")["lifecyclePolicyText"])
    finally:
        ecr.delete_repository(repositoryName="guard-lifecycle", force=True)


def _images(prefix: str, count: int, start: datetime) -> list[Image]:
    return [Image(f"{prefix}{n}", (f"{prefix}{n}",), start + timedelta(hours=n)) for n in range(count)]


def test_thirty_newer_dev_images_leave_production_and_its_rollback_images(production_policy: dict) -> None:
    # Production's last 12 releases, the newest of which runs; then 30 dev pushes after them.
    production = _images("production-2026.11.", 12, NOW - timedelta(days=20))
    dev = _images("dev-build-", 30, NOW - timedelta(days=2))
    gone = expired(production_policy, production + dev, NOW)
    kept_production = [i.digest for i in production if i.digest not in gone]
    # The running image and the 10 releases it may roll back to (rollback_releases) all stay.
    assert kept_production == [i.digest for i in production]
    # Dev keeps its newest 10; the older dev images go.
    assert {i.digest for i in dev[:20]} == gone


def test_an_image_promoted_from_dev_to_production_is_held_by_productions_rule(production_policy: dict) -> None:
    promoted = Image("promoted", ("dev-build-0", "production-2026.12.1"), NOW - timedelta(days=5))
    dev = _images("dev-build-", 30, NOW - timedelta(days=2))
    assert "promoted" not in expired(production_policy, [promoted, *dev], NOW)


def test_production_keeps_no_more_than_its_own_count(production_policy: dict) -> None:
    production = _images("production-r", 35, NOW - timedelta(days=40))
    gone = expired(production_policy, production, NOW)
    assert gone == {i.digest for i in production[:5]}


def test_untagged_images_and_unknown_tags(production_policy: dict) -> None:
    old_untagged = Image("old", (), NOW - timedelta(days=8))
    new_untagged = Image("new", (), NOW - timedelta(days=1))
    manual = Image("manual", ("hotfix-by-hand",), NOW - timedelta(days=400))
    assert expired(production_policy, [old_untagged, new_untagged, manual], NOW) == {"old"}


def test_the_evaluator_follows_the_priority_rule() -> None:
    # The documented example: a lower-priority rule never expires what a higher one selects.
    policy = {
        "rules": [
            {"rulePriority": 1, "selection": {"tagStatus": "tagged", "tagPrefixList": ["prod"],
                                              "countType": "imageCountMoreThan", "countNumber": 1}},
            {"rulePriority": 2, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan",
                                              "countNumber": 1}},
        ]
    }  # fmt: skip
    images = [Image("a", ("prod1",), NOW), Image("b", ("prod2",), NOW - timedelta(hours=1)), Image("c", ("x",), NOW)]
    # Rule 1 expires b (second prod image); rule 2 counts a, c, b: c is beyond 1 but a is claimed.
    assert expired(policy, images, NOW) == {"b", "c"}
