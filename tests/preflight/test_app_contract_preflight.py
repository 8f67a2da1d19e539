"""The application's contract stops bad settings and secrets documents at preflight, naming the key
and the environment, never a value, before any AWS call (issue 12, item 4)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from ansible_collections.mediamind.platform.plugins.filter.app_contract import contract_problems

ROOT = Path(__file__).resolve().parents[2]

CONTRACT = yaml.safe_load((ROOT / "group_vars" / "all" / "app_contract.yml").read_text())["mediamind_app_contract"]
VAULT = ROOT / "inventories" / "local" / "vault-password.txt"
GOOD_FERNET = "x" * 43 + "="


def team_doc(**changes) -> dict:
    doc = {
        name: "value-" + name.lower()
        for name, rule in CONTRACT["backend"]["settings"].items()
        if rule["source"] == "team"
    }
    doc["FERNET_KEY"] = GOOD_FERNET
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not None}


def test_a_complete_document_passes_in_production() -> None:
    assert contract_problems(team_doc(), CONTRACT, "backend", "production", ["team"], where="doc") == []


def test_each_problem_names_its_key_and_never_a_value() -> None:
    doc = team_doc(
        OPENAI_API_KEY=None,  # missing
        FERNET_KEY="not-32-bytes-secret-9f3",  # mistyped
        SECRET_KEY="changethis",  # placeholder
        CLERK_SECRET_KEY="sk_live_EXAMPLE_leak",  # placeholder (contains example)
        POSTGRES_PASSWORD="typed-by-hand-7c1",  # the platform's
        DB_HOST="old-name",  # not the app's
        SMTP_PORT=587,  # a settings key in the team's document
    )
    problems = contract_problems(
        doc, CONTRACT, "backend", "production", ["team"], where="mediamind/app-env (production)"
    )
    text = "; ".join(problems)
    for key in (
        "OPENAI_API_KEY",
        "FERNET_KEY",
        "SECRET_KEY",
        "CLERK_SECRET_KEY",
        "POSTGRES_PASSWORD",
        "DB_HOST",
        "SMTP_PORT",
    ):
        assert key in text, key
    assert "mediamind/app-env (production)" in text
    # ("changethis" is in the rule's own wording.)
    for value in ("not-32-bytes-secret-9f3", "sk_live_EXAMPLE_leak", "typed-by-hand-7c1", "old-name"):
        assert value not in text
    assert len(problems) == 7


def test_placeholders_are_fine_where_the_backend_allows_them() -> None:
    doc = team_doc(SECRET_KEY="changethis", OPENAI_API_KEY="")
    assert contract_problems(doc, CONTRACT, "backend", "local", ["team"]) == []
    assert contract_problems(doc, CONTRACT, "backend", "staging", ["team"]) != []


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"ENVIRONMENT": "dev"}, "ENVIRONMENT"),
        ({"SMTP_PORT": "five"}, "SMTP_PORT"),
        ({"SMTP_FROM": "not an address"}, "SMTP_FROM"),
        ({"DISABLE_AUTH": "true"}, "DISABLE_AUTH"),
        ({"BACKEND_CORS_ORIGINS": "mediamind.csee.tech"}, "BACKEND_CORS_ORIGINS"),
    ],
)
def test_plain_settings_are_typed(settings: dict, named: str) -> None:
    problems = contract_problems(settings, CONTRACT, "backend", "production", complete=False)
    assert any(p.startswith(named) for p in problems), problems


def test_the_scheduler_contract() -> None:
    good = {
        "REDIS_URL": "rediss://:t@h:6379/1",
        "QUEUE_NAME": "default",
        "SCHEDULER_INTERVAL": 60,
        "EMAIL_JOB_INTERVAL": -1,
        "RSS_JOB_INTERVAL": -1,
        "BREAKING_NEWS_JOB_INTERVAL": -1,
        "PIPELINE_MORNING_TIME": "",
        "PIPELINE_AFTERNOON_TIME": "5:00",
        "PIPELINE_EVENING_TIME": "18:00",
        "API_BASE_URL": "https://dev.api.mediamind.csee.tech/api",
    }
    assert contract_problems(good, CONTRACT, "scheduler", "staging") == []
    bad = {**good, "API_BASE_URL": "https://dev.api.mediamind.csee.tech", "PIPELINE_EVENING_TIME": "25:00"}
    text = "; ".join(contract_problems(bad, CONTRACT, "scheduler", "staging"))
    assert "API_BASE_URL" in text
    assert "PIPELINE_EVENING_TIME" in text
    assert contract_problems(
        {k: v for k, v in good.items() if k != "PIPELINE_MORNING_TIME"}, CONTRACT, "scheduler", "x"
    )


def test_invalid_json_is_reported_without_its_text() -> None:
    assert contract_problems(
        '{"SECRET_KEY": "s3cr3t-value"', CONTRACT, "backend", "production", ["team"], where="doc"
    ) == ["doc: is not valid JSON"]


def _preflight(tmp_path: Path, doc: dict, *extra: str) -> subprocess.CompletedProcess[str]:
    """The real preflight of inventories/local, with the production document replaced."""
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    shutil.copy(ROOT / "inventories/local/.secrets/mediamind_dev-env.json", secrets)
    plain = tmp_path / "doc.json"
    plain.write_text(json.dumps(doc))
    subprocess.run(
        [
            str(ROOT / ".venv/bin/ansible-vault"),
            "encrypt",
            "--vault-password-file",
            str(VAULT),
            "--output",
            str(secrets / "mediamind_app-env.json"),
            str(plain),
        ],
        check=True,
        capture_output=True,
    )
    plain.unlink()
    return subprocess.run(
        [
            str(ROOT / ".venv/bin/ansible-playbook"),
            "-i",
            "inventories/local",
            "--vault-password-file",
            str(VAULT),
            "playbooks/preflight.yml",
            "-e",
            json.dumps({"secrets_files_dir": str(secrets)}),
            *extra,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={
            "PATH": "/usr/bin:/bin",
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
            "ANSIBLE_STRATEGY": "linear",
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
        },  # nothing listens: preflight stops before any call
    )


def test_preflight_names_the_keys_and_the_environment(tmp_path: Path) -> None:
    doc = team_doc(OPENAI_API_KEY=None, FERNET_KEY="short-value-4e2a", POSTGRES_PASSWORD="by-hand-9b7d")
    result = _preflight(tmp_path, doc)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "OPENAI_API_KEY is missing in mediamind/app-env (production)" in output
    assert "FERNET_KEY in mediamind/app-env (production) must be a valid fernet" in output
    assert "POSTGRES_PASSWORD in mediamind/app-env (production) must not be set here" in output
    assert "short-value-4e2a" not in output
    assert "by-hand-9b7d" not in output
    assert "caller identity" not in output  # stopped before the first AWS call


def test_preflight_refuses_placeholders_outside_local(tmp_path: Path) -> None:
    names = json.dumps({"mediamind_app_environment_names": {"production": "production", "dev": "staging"}})
    result = _preflight(tmp_path, team_doc(SECRET_KEY="changethis"), "-e", names)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "SECRET_KEY in mediamind/app-env (production) holds a placeholder" in output
    assert "ENVIRONMENT=production" in output
