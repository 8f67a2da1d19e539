"""The summary's change column on real runs with MM_CHANGES_FILE set: the changes callback
counts a component's changed tasks and snapshots outputs/<env>.json at the start, so a
component reads "created" on its first deploy although the run's own summary play has
rewritten the outputs file by the time tools/summary.py renders."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import run_on_localhost

ROOT = Path(__file__).resolve().parents[2]

# One component (the play's tag, as playbooks/<component>.yml carry theirs), then what
# playbooks/summary.yml does at the end of every run: rewrite the outputs file.
PLAYBOOK = """
- name: Widget
  hosts: localhost
  gather_facts: false
  tags: [widget]
  tasks:
    - name: Converge the widget
      ansible.builtin.copy:
        dest: "{{ widget_file }}"
        content: "{{ widget_content }}\\n"
        mode: "0644"
- name: Loader
  hosts: localhost
  gather_facts: false
  tags: [loader]
  tasks:
    # As playbooks/ecs.yml does: an include only loads a role, it converges nothing.
    - name: Include a role whose one task does not apply
      ansible.builtin.include_role:
        name: idle
- name: Summarise
  hosts: localhost
  gather_facts: false
  tags: [always]
  tasks:
    - name: Write the outputs file
      ansible.builtin.copy:
        dest: "{{ outputs_file }}"
        content: '{"environment": "test", "region": "eu-central-1", "components": {"localhost": {"widget": {}}}}'
        mode: "0644"
      when: not ansible_check_mode
"""


def _run(tmp_path: Path, content: str, check: bool = False) -> dict:
    idle = tmp_path / "roles" / "idle" / "tasks"
    idle.mkdir(parents=True, exist_ok=True)
    (idle / "main.yml").write_text("- name: Nothing\n  ansible.builtin.debug: {msg: idle}\n  when: false\n")
    changes = tmp_path / "changes.json"
    changes.unlink(missing_ok=True)
    result = run_on_localhost(
        PLAYBOOK,
        tmp_path,
        extra={
            "widget_file": str(tmp_path / "widget.txt"),
            "widget_content": content,
            "outputs_file": str(tmp_path / "test.json"),
        },
        check=check,
        env={
            "ANSIBLE_CALLBACKS_ENABLED": "mediamind.platform.changes",
            "MM_CHANGES_FILE": str(changes),
            "MM_OUTPUTS_FILE": str(tmp_path / "test.json"),
            "ANSIBLE_ROLES_PATH": str(tmp_path / "roles"),
        },
    )
    assert result.returncode == 0, result.stdout[-2000:]
    return json.loads(changes.read_text())


def _summary(tmp_path: Path) -> list[str]:
    """tools/summary.py as `make deploy`/`make plan` run it: the rows of the change table."""
    result = subprocess.run(
        [sys.executable, "tools/summary.py", str(tmp_path / "test.json"), "--changes", str(tmp_path / "changes.json")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return result.stdout.splitlines()


def _widget(lines: list[str]) -> str:
    return next(line.split(None, 1)[1] for line in lines if line.split()[:1] == ["widget"])


def test_first_run_reads_created_then_unchanged_then_updated(tmp_path: Path) -> None:
    changes = _run(tmp_path, "one")
    assert changes["deployed_before"] == []
    # The include is no component's work: no row for the play's tag.
    assert sorted(changes["components"]) == ["widget"]
    assert (tmp_path / "test.json").is_file()  # rewritten by the run, as summary.yml does
    assert _widget(_summary(tmp_path)) == "created (1 task)"

    assert _run(tmp_path, "one")["deployed_before"] == ["widget"]
    assert _widget(_summary(tmp_path)) == "unchanged"

    _run(tmp_path, "two")
    assert _widget(_summary(tmp_path)) == "updated (1 task)"


def test_plan_on_a_fresh_clone_prints_the_change_table_from_the_counts(tmp_path: Path) -> None:
    changes = _run(tmp_path, "one", check=True)
    assert changes["check_mode"] is True
    assert not (tmp_path / "test.json").exists()  # a dry run writes no outputs
    lines = _summary(tmp_path)
    assert lines[0] == "test: not deployed yet (no outputs/test.json): dry run, nothing changed"
    assert _widget(lines) == "would create (1 task)"


def test_plan_on_a_deployed_environment_says_would_update(tmp_path: Path) -> None:
    _run(tmp_path, "one")
    _run(tmp_path, "two", check=True)
    lines = _summary(tmp_path)
    assert lines[0].endswith(": dry run, nothing changed")
    assert _widget(lines) == "would update (1 task)"
