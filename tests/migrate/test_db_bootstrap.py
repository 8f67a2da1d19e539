"""The database bootstrap: its SQL is idempotent-shaped and holds no value, its task definition
takes every credential from Secrets Manager, and the run marker runs it only when a credential
changed (against the emulator's Secrets Manager)."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import boto3
import jinja2
import pytest
from conftest import folded_output, run_module, run_on_localhost

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "roles/db_bootstrap/templates/bootstrap.sql.j2"
MASTER = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:rds!db-0a1b2c-AbCdEf"
CREDENTIALS = {
    "production": "arn:aws:secretsmanager:eu-central-1:123456789012:secret:mediamind/production/db-AbCdEf",
    "dev": "arn:aws:secretsmanager:eu-central-1:123456789012:secret:mediamind/dev/db-GhIjKl",
}


def _sql(names: list[str]) -> str:
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)  # noqa: S701 (SQL, not HTML)
    return env.from_string(TEMPLATE.read_text()).render(_db_bootstrap_env_names=sorted(names))


def _statements(sql: str) -> list[str]:
    """Each statement executed by \\gexec, joined from its lines."""
    out, current = [], []
    for line in sql.splitlines():
        if line.startswith(("--", "\\")) or not line.strip():
            continue
        current.append(line.strip())
        if line.rstrip().endswith("\\gexec"):
            out.append(" ".join(current))
            current = []
    assert not current, f"a statement without \\gexec: {current}"
    return out


def test_every_create_is_guarded_and_every_statement_converges() -> None:
    sql = _sql(["production", "dev"])
    statements = _statements(sql)
    creates = [s for s in statements if "'CREATE " in s]
    assert len(creates) == 4, "a role and a database per environment"
    for create in creates:
        assert "WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_" in create, create
    # Everything else converges when run again (ALTER ... TO/WITH, REVOKE, GRANT, guarded GRANT).
    for statement in statements:
        assert re.match(r"SELECT format\('(CREATE|ALTER|REVOKE|GRANT) ", statement), statement
    assert sql.count("\\set ON_ERROR_STOP on") == 1
    assert "\\set VERBOSITY terse" in sql


def test_each_database_is_closed_to_public_and_to_the_other_environment() -> None:
    sql = _sql(["production", "dev"])
    for env in ("PRODUCTION", "DEV"):
        assert f"REVOKE ALL ON DATABASE %I FROM PUBLIC', :'d{env}'" in sql
        assert f"GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', :'d{env}', :'u{env}'" in sql
    assert "REVOKE ALL ON DATABASE %I FROM %I', :'dPRODUCTION', :'uDEV'" in sql
    assert "REVOKE ALL ON DATABASE %I FROM %I', :'dDEV', :'uPRODUCTION'" in sql


def test_the_script_holds_no_value_and_reads_the_password_from_the_environment_only() -> None:
    sql = _sql(["production", "dev"])
    # The password is only ever a psql variable (%L-quoted by the server), read with \getenv.
    assert re.findall(r"^\\getenv (p\w+) (APP_\w+_PASSWORD)$", sql, re.MULTILINE) == [
        ("pDEV", "APP_DEV_PASSWORD"),
        ("pPRODUCTION", "APP_PRODUCTION_PASSWORD"),
    ]
    code = "\n".join(line for line in sql.splitlines() if not line.startswith("--"))
    assert "PASSWORD '" not in code
    assert "$" not in code, "no shell expansion in the script"
    # The variable is dropped right after its one use, and nothing echoes it.
    assert sql.count(":'pPRODUCTION'") == 1
    assert "\\unset pPRODUCTION" in sql
    assert "\\echo" not in "\n".join(line for line in sql.splitlines() if ":p" in line)


def _container(tmp_path: Path, **extra) -> dict:
    out = tmp_path / "container.json"
    playbook = f"""
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.include_role: {{name: db_bootstrap, tasks_from: preflight.yml, public: true}}
    - ansible.builtin.copy:
        content: >-
          {{{{ {{'container': _db_bootstrap_container, 'fingerprint': _db_bootstrap_fingerprint}} | to_json }}}}
        dest: {out}
        mode: "0600"
      vars:
        role_path: {ROOT / "roles/db_bootstrap"}
"""
    variables = {
        "db_bootstrap_master_secret_arn": MASTER,
        "db_bootstrap_credentials": CREDENTIALS,
        "db_bootstrap_db_host": "mediamind.abc.eu-central-1.rds.amazonaws.com",
        "db_bootstrap_vpc_id": "vpc-1",
        "db_bootstrap_subnet_ids": ["subnet-a"],
        "db_bootstrap_account_id": "123456789012",
        **extra,
    }
    result = run_on_localhost(playbook, tmp_path, extra=variables)
    assert result.returncode == 0, folded_output(result)
    return json.loads(out.read_text())


def test_the_task_definition_takes_every_credential_from_secrets_manager(tmp_path) -> None:
    rendered = _container(tmp_path)
    container = rendered["container"]
    secrets = {s["name"]: s["valueFrom"] for s in container["secrets"]}
    assert secrets == {
        "PGUSER": f"{MASTER}:username::",
        "PGPASSWORD": f"{MASTER}:password::",
        "APP_DEV_USER": f"{CREDENTIALS['dev']}:username::",
        "APP_DEV_PASSWORD": f"{CREDENTIALS['dev']}:password::",
        "APP_DEV_DB": f"{CREDENTIALS['dev']}:dbname::",
        "APP_PRODUCTION_USER": f"{CREDENTIALS['production']}:username::",
        "APP_PRODUCTION_PASSWORD": f"{CREDENTIALS['production']}:password::",
        "APP_PRODUCTION_DB": f"{CREDENTIALS['production']}:dbname::",
    }
    environment = {e["name"]: e["value"] for e in container["environment"]}
    assert environment["PGSSLMODE"] == "verify-full"
    assert environment["DB_BOOTSTRAP_CA_URL"].startswith("https://truststore.pki.rds.amazonaws.com/eu-central-1/")
    assert environment["PGHOST"] == "mediamind.abc.eu-central-1.rds.amazonaws.com"
    assert not any("PASSWORD" in name or "USER" in name for name in environment), "credentials only as secrets"
    assert container["command"][:2] == ["sh", "-c"]
    assert "psql -X -q -v ON_ERROR_STOP=1 -f /tmp/bootstrap.sql" in container["command"][2]
    assert container["logConfiguration"]["options"]["awslogs-stream-prefix"] == "ecs"
    assert re.fullmatch(r"[0-9a-f]{16}", rendered["fingerprint"])
    # A changed setting changes the fingerprint (and so re-runs the bootstrap).
    assert _container(tmp_path, db_bootstrap_ssl_mode="require")["fingerprint"] != rendered["fingerprint"]


def test_environment_names_that_cannot_name_a_variable_are_refused(tmp_path) -> None:
    result = run_on_localhost(
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.include_role: {name: db_bootstrap, tasks_from: preflight.yml}\n",
        tmp_path,
        extra={"db_bootstrap_credentials": {"dev-1": CREDENTIALS["dev"]}},
    )
    assert result.returncode != 0
    assert "db_bootstrap_credentials keys must be environment names" in folded_output(result)


def _marker(secrets: list[str], state: str = "query", check: bool = False, **args) -> dict:
    return run_module(
        "mediamind.platform.secretsmanager_applied_marker",
        {"secrets": secrets, "tag_key": "mediamind:db-bootstrap", "fingerprint": "f00d", "state": state, **args},
        check=check,
    )


@pytest.fixture
def credential_secrets(local_stack):
    sm = boto3.client("secretsmanager")
    names = [f"migrate-test/{uuid.uuid4().hex[:8]}/{env}/db" for env in ("production", "dev")]
    for name in names:
        sm.create_secret(Name=name, SecretString=json.dumps({"username": "u", "password": "p", "dbname": "d"}))
    yield names
    for name in names:
        sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)


def test_the_marker_runs_the_bootstrap_only_for_a_new_version(credential_secrets) -> None:
    names = credential_secrets
    first = _marker(names)
    assert first["changed"] is False
    assert sorted(first["pending"]) == sorted(names)

    dry = _marker(names, state="applied", check=True, versions=first["versions"])
    assert dry["changed"] is True
    assert sorted(_marker(names)["pending"]) == sorted(names), "check mode tagged"

    applied = _marker(names, state="applied", versions=first["versions"])
    assert applied["changed"] is True
    tags = boto3.client("secretsmanager").describe_secret(SecretId=names[0])["Tags"]
    assert {"Key": "mediamind:db-bootstrap", "Value": f"{first['versions'][names[0]]}/f00d"} in tags

    again = _marker(names)
    assert again["pending"] == [], "a second deploy would run the bootstrap again"
    assert _marker(names, state="applied", versions=again["versions"])["changed"] is False

    # A new password (rotation or change): that secret, and only it, is pending again.
    boto3.client("secretsmanager").put_secret_value(
        SecretId=names[1], SecretString=json.dumps({"username": "u", "password": "p2", "dbname": "d"})
    )
    assert _marker(names)["pending"] == [names[1]]
    # Another fingerprint (a changed script or image): all pending.
    assert sorted(_marker(names, fingerprint="beef")["pending"]) == sorted(names)


def test_a_missing_secret_is_pending_and_never_tagged(local_stack) -> None:
    missing = f"migrate-test/{uuid.uuid4().hex[:8]}/none"
    result = _marker([missing])
    assert result["pending"] == [missing]
    assert result["versions"] == {missing: ""}
