"""A plan reads no secret value: after a deploy, `make plan` (site.yml --check) makes no
GetSecretValue call (moto's request recorder lists every call it received), and still
tells an unchanged secret from one changed behind its back, by the digest tag alone.
The same first plan of the converged stack reports changed=0 for every host (issue 12:
"`make plan` reports changed=0")."""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from conftest import private_stack, stack_env

from . import recorder

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow
SERVICES = (
    "mediamind-service",
    "mediamind-scheduler",
    "mediamind-qdrant",
    "mediamind-service-dev",
    "mediamind-scheduler-dev",
)


def _playbook(stack: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [str(ROOT / "tools/playbook.sh"), "local", "playbooks/site.yml", *args],
        cwd=ROOT,
        env={**os.environ, **stack, "ANSIBLE_NOCOLOR": "1"},
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    return " ".join(result.stdout.split())


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A full deploy on an emulator of its own: the other guard tests expect an empty account."""
    outputs = tmp_path_factory.mktemp("outputs")
    with private_stack("plan-secrets", 5950) as settings:
        stack = stack_env(settings)
        _playbook(stack, "-e", f"mediamind_outputs_dir={outputs}")
        yield {**stack, "MM_TEST_OUTPUTS": str(outputs)}


def _plan(stack: dict[str, str]) -> tuple[str, list[str]]:
    recorder.start(stack["AWS_ENDPOINT_URL"])
    output = _playbook(stack, "--check", "--diff", "-e", f"mediamind_outputs_dir={stack['MM_TEST_OUTPUTS']}")
    return output, recorder.calls(stack["AWS_ENDPOINT_URL"])


@pytest.fixture(scope="module")
def first_plan(deployed: dict[str, str]) -> tuple[str, list[str]]:
    """The first plan after the deploy, before any test edits the stack."""
    return _plan(deployed)


def _recap(output: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP per host: {host: {ok, changed, unreachable, failed, ...}} (output whitespace-folded)."""
    recap = output.rsplit("PLAY RECAP", 1)[-1]
    hosts = {}
    for host, counts in re.findall(r"(\S+) : ((?:[a-z]+=\d+ ?)+)", recap):
        hosts[host] = {key: int(value) for key, value in re.findall(r"([a-z]+)=(\d+)", counts)}
    return hosts


def test_a_plan_of_the_converged_stack_changes_nothing(first_plan: tuple[str, list[str]]) -> None:
    output, _ = first_plan
    recap = _recap(output)
    # Every host of inventories/local ran (a recap missing one would pass vacuously).
    assert set(recap) >= {"mediamind-platform", *SERVICES}, recap
    changed = {host: counts for host, counts in recap.items() if counts["changed"] or counts["failed"]}
    assert changed == {}, output[-6000:]
    assert all(counts["unreachable"] == 0 for counts in recap.values()), recap


def test_a_plan_makes_no_get_secret_value_call(first_plan: tuple[str, list[str]]) -> None:
    output, calls = first_plan
    assert "secretsmanager:DescribeSecret" in calls  # it did look at the secrets
    assert "secretsmanager:GetSecretValue" not in calls
    assert calls.count("secretsmanager:GetSecretValue") == 0
    for name in ("mediamind/app-env", "mediamind/dev-env", "mediamind/chatbot"):
        assert f"{name}: digest matches: would change 0 key(s)" in output


def test_a_value_changed_behind_the_plans_back_shows_without_being_read(deployed: dict[str, str]) -> None:
    sm = boto3.client(
        "secretsmanager",
        endpoint_url=deployed["AWS_ENDPOINT_URL"],
        region_name="eu-central-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    sm.put_secret_value(SecretId="mediamind/chatbot", SecretString='{"CHAT_API_KEY": "edited in the console"}')
    output, calls = _plan(deployed)
    assert "secretsmanager:GetSecretValue" not in calls
    assert "mediamind/chatbot: digest differs: would write 1 key(s)" in output
    assert "mediamind/app-env: digest matches" in output
    # The real run repairs it, and the next plan is quiet again.
    _playbook(deployed, "--tags", "secrets", "-e", f"mediamind_outputs_dir={deployed['MM_TEST_OUTPUTS']}")
    output, calls = _plan(deployed)
    assert "mediamind/chatbot: digest matches" in output
