"""ecs_service/qdrant preflight: credentials never go into plain environment variables, images are
pinned. Runs only the roles' preflight (tasks_from) - no AWS needed."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import run_role_preflight

SECRET = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:mediamind/app-env-AbCdEf"
BASE = {
    "ecs_service_name": "svc",
    "ecs_service_repository_uri": "123456789012.dkr.ecr.eu-central-1.amazonaws.com/mediamind",
    "ecs_service_vpc_id": "vpc-1",
    "ecs_service_subnet_ids": ["subnet-1"],
}


@pytest.mark.parametrize(
    ("environment", "culprit"),
    [
        ({"DB_PASSWORD": "x"}, "DB_PASSWORD"),
        ({"OPENAI_API_KEY": "x"}, "OPENAI_API_KEY"),
        ({"SECRET_KEY": "x"}, "SECRET_KEY"),
        ({"AUTH_TOKEN": "x"}, "AUTH_TOKEN"),
        ({"REDIS_URL": "rediss://:hunter2@cache:6379/0"}, "REDIS_URL"),
        ({"DATABASE": "postgresql://app:pw@db/app"}, "DATABASE"),
    ],
)
def test_credential_like_environment_is_refused(environment: dict, culprit: str, tmp_path: Path) -> None:
    result = run_role_preflight("ecs_service", dict(BASE, ecs_service_environment=environment), tmp_path)
    assert result.returncode != 0
    assert f"ecs_service_environment has {culprit}" in result.stdout
    # The message names the variable, never its value (one-letter values would match anything).
    for value in (v for v in environment.values() if len(v) > 3):
        assert value not in result.stdout + result.stderr


def test_plain_settings_pass(tmp_path: Path) -> None:
    environment = {"API_BASE_URL": "https://api.mediamind.csee.tech", "QUEUE_NAME": "q", "KEYWORDS_LIMIT": 5}
    extra = dict(
        BASE,
        ecs_service_environment=environment,
        ecs_service_secrets={"REDIS_URL": "REDIS_URL"},
        ecs_service_secret_arn=SECRET,
    )
    result = run_role_preflight("ecs_service", extra, tmp_path)
    assert result.returncode == 0, result.stdout


def test_secrets_without_a_secret_arn_are_refused(tmp_path: Path) -> None:
    result = run_role_preflight("ecs_service", dict(BASE, ecs_service_secrets={"REDIS_URL": "REDIS_URL"}), tmp_path)
    assert result.returncode != 0
    assert "ecs_service_secret_arn must be a Secrets Manager ARN" in result.stdout


QDRANT = {"qdrant_vpc_id": "vpc-1", "qdrant_subnet_ids": ["subnet-1"], "qdrant_secret_arn": SECRET}
DIGEST = "qdrant/qdrant@sha256:" + "0123456789abcdef" * 4


@pytest.mark.parametrize(
    "image",
    [
        "qdrant/qdrant:v1.13.4",  # a tag can be moved to other bytes
        "qdrant/qdrant:latest",
        "qdrant/qdrant",
        "",
        "qdrant/qdrant@sha256:" + "0" * 64,  # the inventory's placeholder
        "qdrant/qdrant@sha256:" + "ab" * 16,  # too short
        "qdrant/qdrant@sha256:" + "AB" * 32,  # digests are lower-case hex
    ],
)
def test_qdrant_image_must_be_pinned_by_digest(image: str, tmp_path: Path) -> None:
    result = run_role_preflight("qdrant", dict(QDRANT, qdrant_image=image), tmp_path)
    assert result.returncode != 0
    assert f"qdrant_image={image} must be pinned by digest" in " ".join(result.stdout.split())


def test_qdrant_image_by_digest_passes(tmp_path: Path) -> None:
    assert run_role_preflight("qdrant", dict(QDRANT, qdrant_image=DIGEST), tmp_path).returncode == 0


@pytest.mark.parametrize(
    "image", ["qdrant/qdrant:latest", "qdrant/qdrant", "qdrant/qdrant:v2.0.0", "qdrant/qdrant:dev"]
)
def test_without_the_digest_rule_a_tag_must_be_a_pinned_v1_release(image: str, tmp_path: Path) -> None:
    extra = dict(QDRANT, qdrant_image=image, qdrant_image_require_digest=False)
    result = run_role_preflight("qdrant", extra, tmp_path)
    assert result.returncode != 0
    assert f"qdrant_image={image} must pin a digest or a Qdrant v1.x release tag" in " ".join(result.stdout.split())


@pytest.mark.parametrize("image", ["qdrant/qdrant:v1.13.4", DIGEST])
def test_without_the_digest_rule_a_release_tag_or_a_digest_passes(image: str, tmp_path: Path) -> None:
    extra = dict(QDRANT, qdrant_image=image, qdrant_image_require_digest=False)
    assert run_role_preflight("qdrant", extra, tmp_path).returncode == 0


def test_every_broken_rule_is_named_in_one_run(tmp_path: Path) -> None:
    extra = dict(BASE, ecs_service_cpu=256, ecs_service_memory=4096, ecs_service_environment={"DB_PASSWORD": "x"})
    result = run_role_preflight("ecs_service", extra, tmp_path)
    assert result.returncode != 0
    assert "ecs_service_cpu=256 / ecs_service_memory=4096 is not a Fargate size" in " ".join(result.stdout.split())
    assert "ecs_service_environment has DB_PASSWORD" in result.stdout
