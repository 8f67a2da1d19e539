"""No secret value leaks: not in a -vvv deploy log, not in outputs/, not in any
ECS task definition's `environment`, not in any Lambda environment variable.

The known values are the secret values of the local inventory's vault-encrypted
files (every vault_* variable, and the keys of the secrets JSON files that hold
keys, passwords, tokens or credentialed URLs) plus the local Redis password.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml
from ansible.constants import DEFAULT_VAULT_ID_MATCH
from ansible.parsing.vault import VaultLib, VaultSecret

ROOT = Path(__file__).resolve().parents[2]
LOCAL = ROOT / "inventories" / "local"
# Shorter strings (ports, "true") are not secrets and would match by accident.
MIN_SECRET_LEN = 8


# Keys whose values are secrets. vault.yml holds nothing else (every vault_* is one); the
# application documents may also carry plain settings that may and do
# appear in outputs and task definitions.
SECRET_KEY = re.compile(r"^vault_|KEY|SECRET|PASSWORD|TOKEN|_URL$", re.IGNORECASE)
PLAIN_URL = re.compile(r"^https?://[^@]*$")  # a URL without credentials is a setting


def _leaves(value: Any, key: str = "") -> list[str]:
    if isinstance(value, dict):
        return [leaf for k, item in value.items() for leaf in _leaves(item, str(k))]
    if isinstance(value, list):
        return [leaf for item in value for leaf in _leaves(item, key)]
    if isinstance(value, str) and SECRET_KEY.search(key) and not PLAIN_URL.match(value):
        return [value]
    return []


@pytest.fixture(scope="module")
def known_secrets(local_stack) -> set[str]:
    password = (LOCAL / "vault-password.txt").read_bytes().strip()
    vault = VaultLib([(DEFAULT_VAULT_ID_MATCH, VaultSecret(password))])
    values: set[str] = {local_stack.redis_password()}
    for path in LOCAL.rglob("*"):
        if not path.is_file() or not path.read_bytes().startswith(b"$ANSIBLE_VAULT"):
            continue
        plain = vault.decrypt(path.read_bytes()).decode()
        values.update(_leaves(yaml.safe_load(plain)))  # JSON is YAML too
    values = {v for v in values if len(v) >= MIN_SECRET_LEN}
    assert values, "no vault-encrypted values found in inventories/local"
    return values


def _find(values: set[str], text: str) -> list[str]:
    # Report only a prefix: the test output must not leak what it found.
    return sorted(v[:3] + "…" for v in values if v in text)


def test_deploy_log_at_vvv_shows_no_secret(deployed_local, local_stack, known_secrets) -> None:
    log = (local_stack.log_dir / "deploy.log").read_text()
    # Printed at -vvv only.
    assert "did not pass its verify_file() method" in log, "the deploy did not run at -vvv"
    assert not _find(known_secrets, log), "secret values appear in the -vvv deploy log"


def test_outputs_hold_no_secret(deployed_local, known_secrets) -> None:
    text = "".join(p.read_text() for p in (ROOT / "outputs").glob("*.json"))
    assert text
    assert not _find(known_secrets, text)


def test_task_definitions_pass_secrets_only_as_secrets(deployed_local, known_secrets) -> None:
    ecs = boto3.client("ecs")
    arns = ecs.list_task_definitions(status="ACTIVE")["taskDefinitionArns"]
    assert arns, "no task definition after the converge"
    for arn in arns:
        taskdef = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
        for container in taskdef["containerDefinitions"]:
            env = json.dumps(container.get("environment", []))
            assert not _find(known_secrets, env), f"{arn} {container['name']}: secret in environment"


def test_lambda_environment_holds_no_secret(deployed_local, known_secrets) -> None:
    functions = boto3.client("lambda").list_functions()["Functions"]
    assert functions, "no Lambda function after the converge"
    for fn in functions:
        env = json.dumps(fn.get("Environment", {}).get("Variables", {}))
        assert not _find(known_secrets, env), f"{fn['FunctionName']}: secret in its environment"
