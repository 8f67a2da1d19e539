"""Shared fixtures: the local emulator that `make test` started (or starts here)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import localenv  # noqa: E402


def _worker_offset() -> int:
    """0, 10, 20, ... per pytest-xdist worker, so each worker's private emulators get their own ports;
    plus MM_TEST_PORT_OFFSET, so a second checkout's tests can run beside the first's."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    base = os.environ.get("MM_TEST_PORT_OFFSET", "0")
    if not base.isdigit():
        raise ValueError(f"MM_TEST_PORT_OFFSET={base!r} is not a whole number")
    return int(base) + (10 * int(worker[2:]) if worker[2:].isdigit() else 0)


def stack_env(settings: localenv.Settings) -> dict[str, str]:
    """Everything a subprocess needs to use that emulator (tools/playbook.sh, molecule, boto3)."""
    return {
        **localenv.env_vars(settings),
        "MOTO_PORT": str(settings.moto_port),
        "REDIS_PORT": str(settings.redis_port),
        "MM_LOCAL_DIR": str(settings.state_dir),
    }


@contextlib.contextmanager
def private_stack(name: str, moto_port: int) -> Iterator[localenv.Settings]:
    """A moto server + TLS Redis of its own, for tests that deploy the platform's fixed names
    (the bucket, the receipt rule set, the function) and must not meet `make deploy`'s stack."""
    offset = _worker_offset()
    settings = localenv.Settings(
        state_dir=(ROOT / ".local" / "stacks" / f"{name}-{offset}").resolve(),
        moto_port=moto_port + offset,
        redis_port=moto_port + 1300 + offset,
    )
    env = {
        **os.environ,
        "MOTO_PORT": str(settings.moto_port),
        "REDIS_PORT": str(settings.redis_port),
        "MM_LOCAL_DIR": str(settings.state_dir),
    }
    tool = [sys.executable, str(ROOT / "tools" / "localenv.py")]
    result = subprocess.run([*tool, "up"], env=env, capture_output=True, text=True, check=False, timeout=300)
    if result.returncode != 0:
        pytest.fail(f"private emulator {name} did not start: {result.stderr.strip()}")
    try:
        yield settings
    finally:
        subprocess.run([*tool, "down"], env=env, capture_output=True, check=False, timeout=120)


def run_module(name: str, args: dict[str, Any], check: bool = False) -> dict[str, Any]:
    """Run one module ad hoc against the emulator (AWS_ENDPOINT_URL); its json-callback result as a dict."""
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"),
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        ANSIBLE_STDOUT_CALLBACK="json",
    )
    args = {
        **args,
        "endpoint_url": os.environ["AWS_ENDPOINT_URL"],
        "region": "eu-central-1",
        "access_key": "testing",
        "secret_key": "testing",
    }
    argv = [
        str(ROOT / ".venv" / "bin" / "ansible"),
        "localhost",
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        f"ansible_python_interpreter={ROOT / '.venv' / 'bin' / 'python'}",
        "-m",
        name,
        "-a",
        json.dumps(args),
    ]
    if check:
        argv += ["--check", "--diff"]
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False, timeout=300)
    try:
        doc = json.loads(result.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"{name}: no JSON result (rc {result.returncode}): {result.stdout[-2000:]} {result.stderr[-2000:]}")
    return doc["plays"][0]["tasks"][0]["hosts"]["localhost"]


@pytest.fixture(scope="session")
def local_stack() -> localenv.Settings:
    """The running local environment (moto + TLS Redis); started when missing."""
    settings = localenv.Settings.from_env()
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "localenv.py"), "up"],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(f"local environment did not start: {result.stderr.strip()}")
    os.environ.update(localenv.env_vars(settings))
    return settings


@pytest.fixture(scope="session")
def deployed_local(local_stack: localenv.Settings) -> dict:
    """`inventories/local` converged once per test session (site.yml, as `make deploy` runs it).

    Returns the parsed outputs/local.json. The run's log (at -vvv) is kept in
    .local/logs/deploy.log, its change counts (the changes callback, as `make deploy`
    sets it up) in .local/logs/deploy-changes.json.
    """
    log = local_stack.log_dir / "deploy.log"
    changes = {
        "MM_CHANGES_FILE": str(local_stack.log_dir / "deploy-changes.json"),
        "MM_OUTPUTS_FILE": str(ROOT / "outputs" / "local.json"),
    }
    with log.open("w") as out:
        result = subprocess.run(
            # -vvv: the secret-leak test scans this very log for vault values.
            [str(ROOT / "tools" / "playbook.sh"), "local", "playbooks/site.yml", "-vvv"],
            env={**os.environ, **stack_env(local_stack), **changes},
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
            timeout=1800,
        )
    if result.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-40:])
        pytest.fail(f"site.yml failed on inventories/local (full log: {log}):\n{tail}")
    return json.loads((ROOT / "outputs" / "local.json").read_text())


# tryfirst: xdist's worker turns the xdist_group markers set here into node ids in its own
# pytest_collection_modifyitems, which must run after this one.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under `pytest -n N --dist loadgroup`: each test folder (or root file) runs on one worker, in
    order, because its tests share fixtures and names; each Molecule scenario is a group of its own
    (every worker has a private emulator for them); the tests that read the deployed stack share one
    worker and so one deploy."""
    for item in items:
        relative = item.path.relative_to(ROOT / "tests")
        params = item.callspec.params if hasattr(item, "callspec") else {}
        if relative.name == "test_molecule.py" and "role" in params:
            group = f"molecule-{params['role']}"
        elif "deployed_local" in getattr(item, "fixturenames", ()):
            group = "deployed"
        else:
            group = relative.parts[0] if len(relative.parts) > 1 else relative.stem
        item.add_marker(pytest.mark.xdist_group(name=group))


@pytest.hookimpl(optionalhook=True)  # xdist's hook: unknown to pytest run without xdist (-p no:xdist)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    """Stop when --dist loadgroup ignores the groups (pytest 9.2 with xdist 3.8 did, silently): a
    module's tests then ran on both workers and two deploys of the shared stack raced."""
    if node.config.getoption("dist") != "loadgroup":
        return
    ungrouped = [nodeid for nodeid in ids if "@" not in nodeid.rsplit("]", 1)[-1]]
    if ungrouped:
        pytest.exit(
            f"--dist loadgroup ignored the xdist groups of {len(ungrouped)} test(s) (e.g. {ungrouped[0]}): "
            "pytest and pytest-xdist disagree on node ids; install the pinned requirements.txt",
            returncode=3,
        )


def run_on_localhost(
    playbook_text: str,
    tmp_path: Path,
    extra: dict[str, Any] | None = None,
    check: bool = False,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a small playbook on localhost (no inventory) with the project's roles and the
    virtualenv's Python; `extra` as extra vars, `check` as a dry run, `env` on top of ours."""
    playbook = tmp_path / "play.yml"
    playbook.write_text(playbook_text)
    extra_file = tmp_path / "extra.json"
    extra_file.write_text(json.dumps(extra or {}))
    return subprocess.run(
        [
            str(ROOT / ".venv/bin/ansible-playbook"),
            "-i",
            "localhost,",
            "-c",
            "local",
            "-e",
            f"ansible_python_interpreter={ROOT / '.venv/bin/python'}",
            "-e",
            f"@{extra_file}",
            *(["--check"] if check else []),
            str(playbook),
        ],
        cwd=tmp_path,
        env={
            **os.environ,
            "ANSIBLE_ROLES_PATH": str(ROOT / "roles"),
            "ANSIBLE_COLLECTIONS_PATH": str(ROOT / "collections"),
            "ANSIBLE_NOCOLOR": "1",
            **(env or {}),
        },
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def run_role_preflight(
    role: str, extra: dict[str, Any], tmp_path: Path, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run only a role's input checks (tasks_from: preflight.yml) on localhost with `extra` as extra
    vars: no inventory, no AWS; `check` runs it as a dry run (ansible_check_mode cannot be an extra
    var). The result's stdout holds the failed check's message (see folded_output)."""
    playbook = (
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        f"    - ansible.builtin.include_role: {{name: {role}, tasks_from: preflight.yml}}\n"
    )
    return run_on_localhost(playbook, tmp_path, extra=extra, check=check)


def preflight_refusal(role: str, extra: dict[str, Any], tmp_path: Path) -> str:
    """The folded output of a role's input checks that must refuse `extra` (fails the test if they pass)."""
    result = run_role_preflight(role, extra, tmp_path)
    assert result.returncode != 0, result.stdout
    return folded_output(result)


def folded_output(result: subprocess.CompletedProcess[str]) -> str:
    """stdout with its whitespace folded: Ansible prints long messages as folded YAML."""
    return " ".join(result.stdout.split())
