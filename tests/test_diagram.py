"""make diagram: the model comes from the inventory (no AWS call), the picture shows every service
with its routes and data stores, deployed names when an outputs file exists, and dev's platform as
found by name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import diagram  # noqa: E402


@pytest.fixture(scope="module")
def local_model() -> dict:
    # No AWS endpoint at all: the playbook must not need one.
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["ANSIBLE_CONFIG"] = str(ROOT / "ansible.cfg")
    subprocess.run(
        [
            str(ROOT / ".venv/bin/ansible-playbook"),
            "-i",
            "inventories/local",
            "--vault-password-file",
            "inventories/local/vault-password.txt",
            "playbooks/diagram.yml",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    return json.loads((ROOT / "build" / "diagram-local.json").read_text())


def test_model_lists_the_inventory_services_by_name_only(local_model: dict) -> None:
    by_name = {s["name"]: s for s in local_model["services"]}
    assert set(by_name) == {
        "mediamind-service",
        "mediamind-scheduler",
        "mediamind-qdrant",
        "mediamind-service-dev",
        "mediamind-scheduler-dev",
    }
    assert by_name["mediamind-service-dev"] == {
        "name": "mediamind-service-dev",
        "role": "ecs_service",
        "target_group": "mediamind-api-dev",
        "secret": "mediamind/dev-env",
        "repository": "mediamind",
    }
    assert by_name["mediamind-qdrant"]["role"] == "qdrant"
    assert local_model["builds_platform"] is True
    vault = (ROOT / "inventories/local/group_vars/all/vault.yml").read_text()
    assert vault.startswith("$ANSIBLE_VAULT")
    assert "password" not in json.dumps(local_model).lower()


def test_picture_routes_each_service_and_names_deployed_endpoints(local_model: dict, tmp_path: Path) -> None:
    outputs = {
        "components": {
            "mediamind-platform": {
                "alb": {"dns_name": "mediamind-1.eu-central-1.elb.amazonaws.com"},
                "rds": {"endpoint": "mediamind.abc.eu-central-1.rds.amazonaws.com"},
            }
        }
    }
    dot = diagram.render(local_model, outputs)
    assert (
        '"alb" -> "mediamind-service" [label="mediamind-api: api.mediamind.csee.tech | mediamind.csee.tech/api/*"]'
        in dot
    )
    assert '"alb" -> "mediamind-service-dev" [label="mediamind-api-dev: dev.api.mediamind.csee.tech' in dot
    assert '"alb" -> "mediamind-scheduler"' not in dot  # no target group: not behind the load balancer
    assert '"mediamind-qdrant" -> "efs"' in dot
    assert '"mediamind-qdrant" -> "rds"' not in dot
    assert '"mediamind-scheduler-dev" -> "redis" [label="6379 TLS"]' in dot
    assert "mediamind-1.eu-central-1.elb.amazonaws.com" in dot
    assert "mediamind.abc.eu-central-1.rds.amazonaws.com" in dot
    assert 'style="dashed"' not in dot.split('"lambda" -> "sqs"')[0]  # the platform is this inventory's own

    source = tmp_path / "local.dot"
    source.write_text(dot)
    svg = tmp_path / "local.svg"
    subprocess.run(["dot", "-Tsvg", "-o", str(svg), str(source)], check=True, timeout=60)
    assert svg.read_text().lstrip().startswith("<?xml")
    assert "mediamind&#45;service&#45;dev" in svg.read_text()  # Graphviz escapes "-"


def test_dev_draws_production_platform_as_found_by_name(local_model: dict) -> None:
    dev = dict(
        local_model,
        environment="dev",
        builds_platform=False,
        services=[s for s in local_model["services"] if s["name"].endswith("-dev")],
    )
    dot = diagram.render(dev, {})
    assert "dashed = production's platform, found by name" in dot
    assert '"alb" [label="ALB mediamind\\n443 TLS 1.3 (SNI), 80 -> 301", shape="box", style="dashed"]' in dot
    assert '"mediamind-service"' not in dot
    assert '"mediamind-service-dev" -> "rds"' in dot
