"""rds_credential_secret against the emulator: RDS form, password generated once and kept, check mode exact."""

from __future__ import annotations

import json
import uuid

import boto3
import pytest
from conftest import run_module


@pytest.fixture
def name(local_stack) -> str:
    secret = f"test-credentials/{uuid.uuid4().hex[:8]}/db"
    yield secret
    run_module(
        "mediamind.platform.rds_credential_secret", {"name": secret, "state": "absent", "recovery_window_days": 0}
    )


def _args(name: str, **overrides) -> dict:
    return {
        "name": name,
        "host": "db.example.internal",
        "port": 5432,
        "dbname": "app",
        "username": "app_user",
        **overrides,
    }


def _stored(name: str) -> dict:
    client = boto3.client("secretsmanager", region_name="eu-central-1")
    return json.loads(client.get_secret_value(SecretId=name)["SecretString"])


def test_created_in_rds_form_then_left_alone(name: str) -> None:
    planned = run_module("mediamind.platform.rds_credential_secret", _args(name), check=True)
    assert planned["changed"]
    assert planned["arn"] is None
    created = run_module("mediamind.platform.rds_credential_secret", _args(name))
    assert created["changed"]
    assert created["created"]
    stored = _stored(name)
    assert set(stored) == {"engine", "host", "port", "dbname", "username", "password"}
    assert (stored["host"], stored["port"], stored["dbname"], stored["username"]) == (
        "db.example.internal",
        5432,
        "app",
        "app_user",
    )
    assert len(stored["password"]) == 32
    assert not set(stored["password"]) & set("/@\"' \\`:?#[]%")
    # Nothing returned holds the password.
    assert stored["password"] not in json.dumps(created)
    for check in (True, False):
        again = run_module("mediamind.platform.rds_credential_secret", _args(name), check=check)
        assert not again["changed"], again
    assert _stored(name)["password"] == stored["password"]


def test_a_new_endpoint_is_written_around_the_kept_password(name: str) -> None:
    run_module("mediamind.platform.rds_credential_secret", _args(name))
    before = _stored(name)
    planned = run_module(
        "mediamind.platform.rds_credential_secret", _args(name, host="db2.example.internal"), check=True
    )
    assert planned["changed"]
    assert planned["diff"]["before"]["connection"]["host"] == "db.example.internal"
    assert planned["diff"]["after"]["connection"]["host"] == "db2.example.internal"
    assert _stored(name) == before  # check mode changed nothing
    moved = run_module("mediamind.platform.rds_credential_secret", _args(name, host="db2.example.internal"))
    assert moved["changed"]
    after = _stored(name)
    assert after["host"] == "db2.example.internal"
    assert after["password"] == before["password"]
    assert not run_module("mediamind.platform.rds_credential_secret", _args(name, host="db2.example.internal"))[
        "changed"
    ]


def test_absent_deletes_it(name: str) -> None:
    run_module("mediamind.platform.rds_credential_secret", _args(name))
    gone = run_module(
        "mediamind.platform.rds_credential_secret", {"name": name, "state": "absent", "recovery_window_days": 0}
    )
    assert gone["changed"]
    assert not run_module(
        "mediamind.platform.rds_credential_secret", {"name": name, "state": "absent", "recovery_window_days": 0}
    )["changed"]
