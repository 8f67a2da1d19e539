"""Every role's Molecule scenario, as one pytest case each.

Each scenario runs the shared sequence from .config/molecule/config.yml:
destroy (clean slate), syntax, check on empty state, converge, idempotence
(changed=0), check on converged state (changed=0), verify (reads the emulator),
destroy (the role's absent state).  The full log of each run is kept under
.local/logs/molecule-<role>.log.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from conftest import private_stack, stack_env

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted(p.parent.parent.parent.name for p in ROOT.glob("roles/*/molecule/default/molecule.yml"))


@pytest.fixture(scope="module")
def molecule_stack():
    """Scenarios create the platform's real names (bucket, rule set, function): they get an
    emulator of their own, apart from the stack `make deploy` and the other tests use."""
    with private_stack("molecule", 5300) as settings:
        yield settings


@pytest.mark.molecule
@pytest.mark.parametrize("role", SCENARIOS)
def test_role_scenario(role: str, molecule_stack) -> None:
    log = molecule_stack.log_dir / f"molecule-{role}.log"
    env = {**os.environ, **stack_env(molecule_stack)}
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}{os.pathsep}{env['PATH']}"
    env["NO_COLOR"] = "1"
    env["ANSIBLE_FORCE_COLOR"] = "0"
    # Molecule names its working folder after the role alone (~/.ansible/tmp/molecule.<hash>.default),
    # so a second checkout running the same scenario would share, and clean up, this one's.
    env["MOLECULE_EPHEMERAL_DIRECTORY"] = str(molecule_stack.state_dir / "molecule" / role)
    with log.open("w") as out:
        result = subprocess.run(
            ["molecule", "test", "--scenario-name", "default"],
            cwd=ROOT / "roles" / role,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
            timeout=1200,
        )
    if result.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-60:])
        pytest.fail(f"molecule test failed for role {role} (full log: {log}):\n{tail}")
