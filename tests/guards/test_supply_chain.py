"""What CI runs cannot be swapped underneath it: actions pinned by commit, deploys only
after ci passed, no pull_request_target, every Python requirement hashed, the Lambda's
wheel from the same hashed set (static checks of the files)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def _on(workflow: dict) -> dict:
    # YAML 1.1 reads the key `on` as True.
    return workflow.get("on", workflow.get(True)) or {}


def test_every_action_is_pinned_by_commit_with_its_tag_in_a_comment() -> None:
    for path in WORKFLOWS:
        for line in path.read_text().splitlines():
            if "uses:" in line:
                assert re.search(r"uses: [\w.-]+/[\w./-]+@[0-9a-f]{40}  # v\d+\.\d+\.\d+$", line), (path.name, line)


def test_no_workflow_runs_pull_request_code_with_secrets() -> None:
    for path in WORKFLOWS:
        doc = yaml.safe_load(path.read_text())
        assert "pull_request_target" not in _on(doc), path.name
        if "pull_request" not in _on(doc):
            continue
        for name, job in doc["jobs"].items():
            text = yaml.safe_dump(job)
            pr_job = "github.event_name != 'pull_request'" not in job.get("if", "")
            if pr_job:
                assert "secrets." not in text, (path.name, name)
                assert "environment" not in job, (path.name, name)
                assert job.get("permissions", {}).get("id-token") != "write", (path.name, name)
        assert doc.get("permissions", {}).get("id-token") != "write", path.name


def test_deploy_runs_only_after_ci_passed_on_that_commit() -> None:
    doc = yaml.safe_load((ROOT / ".github/workflows/deploy.yml").read_text())
    trigger = _on(doc)
    assert list(trigger) == ["workflow_run"]
    assert trigger["workflow_run"] == {"workflows": ["ci"], "types": ["completed"], "branches": ["main"]}
    dev, production = doc["jobs"]["dev"], doc["jobs"]["production"]
    assert "github.event.workflow_run.conclusion == 'success'" in dev["if"]
    assert production["needs"] == "dev"
    assert production["environment"] == "production"
    for job in (dev, production):
        assert job["steps"][0]["with"]["ref"] == "${{ github.event.workflow_run.head_sha }}"


def _pins(text: str) -> dict[str, set[str]]:
    pins: dict[str, set[str]] = {}
    for raw in text.replace("\\\n", " ").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.match(r"([A-Za-z0-9._-]+==[^\s;]+)", line)
        assert match, f"not an exact pin: {line}"
        current = match.group(1).lower().replace("_", "-")
        hashes = set(re.findall(r"--hash=sha256:([0-9a-f]{64})", line))
        assert hashes, f"no hash for {current}"
        pins[current] = hashes
    return pins


def test_every_requirement_is_pinned_with_hashes() -> None:
    assert len(_pins((ROOT / "requirements.txt").read_text())) > 50


def test_the_lambdas_wheel_comes_from_the_hashed_set() -> None:
    project = _pins((ROOT / "requirements.txt").read_text())
    for pin, hashes in _pins((ROOT / "lambda_src/requirements.txt").read_text()).items():
        assert pin in project, pin
        assert hashes <= project[pin], pin
    assert '"--require-hashes"' in (ROOT / "tools/package_lambda.py").read_text()
