"""The secrets role never shows a secret value, even at -vvv and when it fails.

Runs a small playbook with roles/secrets against the local emulator, with
documents full of unique canary values (vault-encrypted, like the inventories'),
and asserts that no canary appears in ansible-playbook's stdout or stderr:
creating, updating (with --diff), check mode, and three failures (a value of
the wrong type, a document that is not JSON, an unreachable AWS endpoint).
The stored secret is read back through boto3 to prove the canaries were really
in play (a test that never handled the values would pass trivially).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
ANSIBLE_VAULT = Path(sys.executable).with_name("ansible-vault")

pytestmark = pytest.mark.slow

PLAYBOOK = """\
- name: Run the secrets role on canary documents
  hosts: all
  gather_facts: false
  module_defaults:
    group/mediamind.platform.aws: "{{ mediamind_aws_module_defaults }}"
  roles:
    - role: secrets
"""


class Workspace:
    """A temporary inventory, vault and document set for one secret name."""

    def __init__(self, base: Path, endpoint_url: str) -> None:
        self.base = base
        self.run_id = uuid.uuid4().hex[:10]
        self.name = f"leaktest-{self.run_id}/app-env"
        self.files = base / "files"
        self.files.mkdir()
        self.document_path = self.files / f"leaktest-{self.run_id}_app-env.json"
        self.password_file = base / "vault-password.txt"
        self.password_file.write_text(f"pw-{uuid.uuid4().hex}\n")
        self.playbook = base / "playbook.yml"
        self.playbook.write_text(PLAYBOOK)
        self.endpoint_url = endpoint_url
        self.canaries: set[str] = set()
        self.extra_value = self.canary("extra")
        self.document = {
            "DB_HOST": "db.internal",  # a non-secret value (also never printed by the role)
            "DB_PASSWORD": self.canary("dbpw"),
            "SECRET_KEY": self.canary("secretkey"),
            "CHAT_API_KEY": self.canary("chat"),
            "OPENAI_API_KEY": self.canary("openai"),
        }

    def canary(self, label: str) -> str:
        value = f"canary-{label}-{uuid.uuid4().hex}"
        self.canaries.add(value)
        return value

    def write_document(self, content: str) -> None:
        self.document_path.write_text(content)
        subprocess.run(
            [ANSIBLE_VAULT, "encrypt", "--vault-password-file", self.password_file, self.document_path],
            check=True,
            capture_output=True,
            env=self.env(),
        )

    def env(self, endpoint_url: str | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
            ANSIBLE_ROLES_PATH=str(ROOT / "roles"),
            ANSIBLE_COLLECTIONS_PATH=str(ROOT / "collections"),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_FORCE_COLOR="0",
            # Fail fast on the unreachable-endpoint case (botocore retries connects).
            AWS_MAX_ATTEMPTS="1",
            AWS_ENDPOINT_URL=endpoint_url or self.endpoint_url,
        )
        return env

    def inventory(self, endpoint_url: str) -> Path:
        path = self.base / f"inventory-{abs(hash(endpoint_url))}.yml"
        path.write_text(
            json.dumps(
                {
                    "all": {
                        "hosts": {
                            "mediamind-platform": {
                                "ansible_connection": "local",
                                "ansible_python_interpreter": sys.executable,
                            }
                        },
                        "vars": {
                            "mediamind_aws_module_defaults": {
                                "region": "eu-central-1",
                                "endpoint_url": endpoint_url,
                                "access_key": "testing",
                                "secret_key": "testing",
                            },
                            "secrets_names": [self.name],
                            "secrets_files_dir": str(self.files),
                            "secrets_extra_keys": {self.name: {"REDIS_URL": self.extra_value}},
                            "secrets_recovery_window_days": 0,
                        },
                    }
                }
            )
        )
        return path

    def play(self, *args: str, endpoint_url: str | None = None) -> subprocess.CompletedProcess[str]:
        endpoint = endpoint_url or self.endpoint_url
        return subprocess.run(
            [
                ANSIBLE_PLAYBOOK,
                "-vvv",
                "-i",
                str(self.inventory(endpoint)),
                "--vault-password-file",
                str(self.password_file),
                str(self.playbook),
                *args,
            ],
            capture_output=True,
            text=True,
            check=False,
            cwd=self.base,
            env=self.env(endpoint),
            timeout=300,
        )

    def assert_no_leak(self, result: subprocess.CompletedProcess[str]) -> None:
        output = result.stdout + result.stderr
        leaked = sorted(c.split("-")[1] for c in self.canaries if c in output)
        assert not leaked, f"secret values leaked into the output (canaries: {leaked})"


def _client(settings):
    return boto3.client(
        "secretsmanager",
        region_name="eu-central-1",
        endpoint_url=settings.endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="module")
def workspace(local_stack, tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("secrets-leak"), local_stack.endpoint_url)
    ws.write_document(json.dumps(ws.document))
    yield ws
    client = _client(local_stack)
    with contextlib.suppress(client.exceptions.ResourceNotFoundException):
        client.delete_secret(SecretId=ws.name, ForceDeleteWithoutRecovery=True)


def _stored(local_stack, name: str) -> dict[str, str]:
    return json.loads(_client(local_stack).get_secret_value(SecretId=name)["SecretString"])


def test_create_shows_key_names_not_values(workspace, local_stack):
    result = workspace.play()
    assert result.returncode == 0, result.stdout[-3000:]
    workspace.assert_no_leak(result)
    # The values really went through the role: they are in the emulator.
    assert _stored(local_stack, workspace.name) == {**workspace.document, "REDIS_URL": workspace.extra_value}
    assert "SECRET_KEY" in result.stdout  # the report names the keys


def test_update_with_diff_reports_only_the_changed_key(workspace, local_stack):
    workspace.document["OPENAI_API_KEY"] = workspace.canary("openai2")
    workspace.write_document(json.dumps(workspace.document))
    result = workspace.play("--diff")
    assert result.returncode == 0, result.stdout[-3000:]
    workspace.assert_no_leak(result)
    # The report (YAML callback: quotes doubled, lines wrapped) names the one key.
    assert "changed 1 key(s)" in result.stdout
    assert "OPENAI_API_KEY" in result.stdout
    assert _stored(local_stack, workspace.name)["OPENAI_API_KEY"] == workspace.document["OPENAI_API_KEY"]


def test_check_mode_on_converged_state_changes_nothing(workspace):
    result = workspace.play("--check", "--diff")
    assert result.returncode == 0, result.stdout[-3000:]
    workspace.assert_no_leak(result)
    assert "changed=0" in result.stdout


def test_failure_on_a_value_of_the_wrong_type_hides_the_values(workspace, local_stack):
    bad = {**workspace.document, "NESTED": {"inner": workspace.canary("nested")}}
    workspace.write_document(json.dumps(bad))
    result = workspace.play("--diff")
    workspace.assert_no_leak(result)
    assert result.returncode != 0
    # Nothing was written: the stored document is still the last good one.
    assert "NESTED" not in _stored(local_stack, workspace.name)


def test_failure_on_a_document_that_is_not_json_hides_the_values(workspace):
    broken = json.dumps(workspace.document)[:-1] + f', "TRAILING": "{workspace.canary("broken")}",,}}'
    workspace.write_document(broken)
    result = workspace.play()
    workspace.assert_no_leak(result)
    assert result.returncode != 0


def test_failure_on_an_unreachable_endpoint_hides_the_values(workspace):
    workspace.write_document(json.dumps(workspace.document))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    result = workspace.play(endpoint_url=f"http://127.0.0.1:{closed_port}")
    workspace.assert_no_leak(result)
    assert result.returncode != 0


def test_the_leak_check_sees_a_value_that_is_printed(workspace, tmp_path):
    """Control: the harness decrypts the same documents and the check catches a printed value."""
    workspace.write_document(json.dumps(workspace.document))
    printer = tmp_path / "print.yml"
    printer.write_text(
        "- name: Print a document on purpose\n"
        "  hosts: all\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - name: Print it\n"
        "      ansible.builtin.debug:\n"
        f"        msg: \"{{{{ lookup('ansible.builtin.unvault', '{workspace.document_path}') }}}}\"\n"
    )
    result = subprocess.run(
        [
            ANSIBLE_PLAYBOOK,
            "-i",
            str(workspace.inventory(workspace.endpoint_url)),
            "--vault-password-file",
            str(workspace.password_file),
            str(printer),
        ],
        capture_output=True,
        text=True,
        check=False,
        env=workspace.env(),
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    with pytest.raises(AssertionError, match="leaked"):
        workspace.assert_no_leak(result)
