"""The elasticache_replication_group module never shows the AUTH token.

Creates a group on the local emulator, rotates the token and dry-runs a
change, all at -vvv with --diff, and fails if either token appears anywhere
in the output (module results, diff, request, invocation).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
    aws: &aws
      region: eu-central-1
      endpoint_url: "{{ lookup('ansible.builtin.env', 'AWS_ENDPOINT_URL') }}"
      access_key: testing
      secret_key: testing
  tasks:
    - name: Create
      mediamind.platform.elasticache_replication_group:
        <<: *aws
        replication_group_id: "{{ group_id }}"
        cache_node_type: cache.t4g.micro
        auth_token: "{{ first }}"
    - name: Rotate
      mediamind.platform.elasticache_replication_group:
        <<: *aws
        replication_group_id: "{{ group_id }}"
        auth_token: "{{ second }}"
        auth_token_update: rotate
    - name: Dry-run a set and a node type change
      mediamind.platform.elasticache_replication_group:
        <<: *aws
        replication_group_id: "{{ group_id }}"
        cache_node_type: cache.t4g.small
        auth_token: "{{ second }}"
        auth_token_update: set
      check_mode: true
    - name: Remove
      mediamind.platform.elasticache_replication_group:
        <<: *aws
        replication_group_id: "{{ group_id }}"
        state: absent
"""


@pytest.mark.slow
def test_tokens_never_appear_in_verbose_output(local_stack, tmp_path: Path) -> None:
    first, second = secrets.token_hex(12), secrets.token_hex(12)
    playbook = tmp_path / "play.yml"
    playbook.write_text(PLAYBOOK)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(ROOT / "collections"), NO_COLOR="1")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    result = subprocess.run(
        [
            "ansible-playbook",
            "-vvv",
            "--diff",
            "-i",
            "localhost,",
            "-c",
            "local",
            str(playbook),
            "-e",
            f"group_id=leak-{secrets.token_hex(4)} first={first} second={second}",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "changed=4" in output  # create, rotate, the dry run (it would change), absent
    # The -e line itself is echoed by -vvv as the command; only module output counts.
    module_output = output.replace(f"first={first} second={second}", "")
    assert first not in module_output
    assert second not in module_output
    assert "AuthTokenUpdateStrategy" in module_output  # the rotate request is shown, masked
