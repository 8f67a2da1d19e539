"""Packaging: the zip is deterministic; the SAM template keeps the contract and passes cfn-lint."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from .conftest import LAMBDA_SRC, ROOT

sys.path.insert(0, str(ROOT / "tools"))
import package_lambda


def _fake_deps(base: Path) -> Path:
    deps = base / "deps"
    (deps / "redis" / "__pycache__").mkdir(parents=True)
    (deps / "redis" / "__init__.py").write_text("VERSION = 1\n")
    (deps / "redis" / "__pycache__" / "__init__.cpython-312.pyc").write_bytes(b"junk")
    (deps / "redis-8.1.0.dist-info").mkdir()
    (deps / "redis-8.1.0.dist-info" / "RECORD").write_text(f"changes every install {os.getpid()}\n")
    (deps / "redis-8.1.0.dist-info" / "METADATA").write_text("Name: redis\n")
    (deps / "bin").mkdir()
    (deps / "bin" / "script").write_text("#!/bin/sh\n")
    return deps


def test_same_sources_give_the_same_bytes(tmp_path):
    deps = _fake_deps(tmp_path)
    first = package_lambda.build_zip(tmp_path / "a.zip", deps)
    # New mtimes and permissions on every input must not change the output.
    for path in [*deps.rglob("*"), *(LAMBDA_SRC / "mediamind_chatbot").glob("*.py")]:
        if path.is_file():
            os.utime(path, (1_900_000_000, 1_900_000_000))
    os.chmod(deps / "redis" / "__init__.py", 0o600)
    second = package_lambda.build_zip(tmp_path / "b.zip", deps)
    assert hashlib.sha256(first).hexdigest() == hashlib.sha256(second).hexdigest()

    with zipfile.ZipFile(tmp_path / "a.zip") as zf:
        infos = zf.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert "mediamind_chatbot/handler.py" in names
    assert "redis/__init__.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or n.endswith("/RECORD")]
    assert not [n for n in names if n.startswith("bin/")]
    assert {i.date_time for i in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}


def _template() -> dict:
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: f"!{suffix}")
    return yaml.load((LAMBDA_SRC / "template.yaml").read_text(), Loader=Loader)  # noqa: S506 - SafeLoader subclass


def test_sam_template_keeps_the_contract():
    template = _template()
    function = template["Resources"]["ChatbotFunction"]["Properties"]
    globals_ = template["Globals"]["Function"]
    assert function["Handler"] == "mediamind_chatbot.handler.lambda_handler"
    runtime = globals_["Runtime"]
    assert runtime.startswith("python3.")
    assert int(runtime.split(".")[1]) >= 12
    assert globals_["Timeout"] >= 30
    (event,) = function["Events"].values()
    assert event["Type"] == "S3"
    assert event["Properties"]["Events"] == "s3:ObjectCreated:Put"
    assert event["Properties"]["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "!Ref"}]
    assert function["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]["Type"] == "SQS"
    variables = function["Environment"]["Variables"]
    assert {"API_HOST", "CHAT_API_KEY_SECRET_ARN", "REDIS_URL_SECRET_ARN", "CHATBOT_ADDRESS", "INBOUND_PREFIX"} <= set(
        variables
    )
    assert "CHAT_API_KEY" not in variables, "secrets only as Secrets Manager ARNs"


def test_sam_template_passes_cfn_lint():
    exe = Path(sys.executable).with_name("cfn-lint")
    if not exe.exists():
        exe = Path(shutil.which("cfn-lint") or "")
    if not exe.is_file():
        pytest.skip("cfn-lint not installed")
    result = subprocess.run([str(exe), str(LAMBDA_SRC / "template.yaml")], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_runtime_requirements_do_not_vendor_boto3():
    lines = [
        ln.split("==")[0].strip().lower()
        for ln in (LAMBDA_SRC / "requirements.txt").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    assert lines == ["redis"]


def test_dependency_install_is_reused_when_nothing_changed(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# nothing to install\n")
    target = tmp_path / "deps"
    assert package_lambda.install_deps(requirements, target, "3.12", "manylinux2014_x86_64") is True
    assert package_lambda.install_deps(requirements, target, "3.12", "manylinux2014_x86_64") is False
    # Another runtime version or changed requirements install again.
    assert package_lambda.install_deps(requirements, target, "3.13", "manylinux2014_x86_64") is True
    requirements.write_text("# changed\n")
    assert package_lambda.install_deps(requirements, target, "3.13", "manylinux2014_x86_64") is True
    assert package_lambda.STAMP in package_lambda.EXCLUDED_NAMES
