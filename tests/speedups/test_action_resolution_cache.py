"""tools/ansible_playbook.py and plugins/controller/action_resolution_cache.py: the project's
ansible-playbook resolves a module_defaults group's actions once per run, to the same plugins."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = textwrap.dedent(
    """
    import importlib.util, json, sys
    from ansible.playbook.base import FieldAttributeBase
    from ansible.plugins.loader import init_plugin_loader
    init_plugin_loader()

    calls = []
    original = FieldAttributeBase._resolve_action
    def counting(self, action_name, mandatory=True):
        calls.append(action_name)
        return original(self, action_name, mandatory)
    FieldAttributeBase._resolve_action = counting
    names = ["amazon.aws.ec2_vpc_net", "community.aws.ecs_taskdefinition", "ping"]
    plain = [FieldAttributeBase()._resolve_action(n) for n in names]
    calls.clear()

    spec = importlib.util.spec_from_file_location("arc", sys.argv[1])
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.install()
    module.install()  # once is enough; a second install keeps the first
    cached = [FieldAttributeBase()._resolve_action(n) for _ in range(3) for n in names]
    try:
        FieldAttributeBase()._resolve_action("amazon.aws.no_such_module")
        missing = "resolved"
    except Exception as exc:
        missing = type(exc).__name__
    print(json.dumps({"plain": plain, "cached": cached, "calls": calls, "missing": missing}))
    """
)


def test_fully_qualified_actions_are_resolved_once_to_the_same_plugin() -> None:
    cache = ROOT / "plugins" / "controller" / "action_resolution_cache.py"
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(cache)], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["cached"] == out["plain"] * 3
    assert out["plain"][:2] == ["amazon.aws.ec2_vpc_net", "community.aws.ecs_taskdefinition"]
    # Two fully qualified names once each; the short name every time; the failure still fails.
    assert out["calls"] == [
        "amazon.aws.ec2_vpc_net",
        "community.aws.ecs_taskdefinition",
        "ping",
        "ping",
        "ping",
        "amazon.aws.no_such_module",
    ]
    assert out["missing"] == "AnsibleParserError"


def test_the_project_ansible_playbook_is_ansible_playbook() -> None:
    ours = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "ansible_playbook.py"), "--version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    stock = subprocess.run(
        [str(Path(sys.executable).with_name("ansible-playbook")), "--version"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert ours.returncode == stock.returncode == 0
    assert ours.stdout.splitlines()[0] == stock.stdout.splitlines()[0]
    assert ours.stdout.startswith("ansible-playbook [core ")
