"""Render an environment's architecture (`make diagram ENV=...`) as Graphviz DOT and SVG.

Input: the model playbooks/diagram.yml writes from the inventory (build/diagram-<env>.json) and,
when the environment has been deployed, its outputs file (outputs/<env>.json): the deployed
names (load balancer DNS name, database and cache endpoints) are then added to the labels.
Output: docs/architecture-<env>.dot always, docs/architecture-<env>.svg when Graphviz's `dot`
is installed (`make diagram` installs it).

Usage: tools/diagram.py MODEL_JSON [--outputs OUTPUTS_JSON] --dot OUT.dot [--svg OUT.svg]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any


def _quote(text: str) -> str:
    # Labels keep DOT's own escapes (a backslash-n is a line break); a quote would end the string.
    return '"' + text.replace('"', "'") + '"'


class Graph:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def node(self, key: str, label: str, **attrs: str) -> None:
        extra = "".join(f", {k}={_quote(v)}" for k, v in attrs.items())
        self.lines.append(f"    {_quote(key)} [label={_quote(label)}{extra}];")

    def edge(self, src: str, dst: str, label: str = "", **attrs: str) -> None:
        parts = [f"label={_quote(label)}"] if label else []
        parts += [f"{k}={_quote(v)}" for k, v in attrs.items()]
        suffix = f" [{', '.join(parts)}]" if parts else ""
        self.lines.append(f"  {_quote(src)} -> {_quote(dst)}{suffix};")

    def cluster(self, key: str, label: str, body: list[str], style: str = "rounded") -> None:
        self.lines.append(f"  subgraph {_quote('cluster_' + key)} {{")
        self.lines.append(f"    label={_quote(label)}; style={_quote(style)};")
        self.lines.extend(body)
        self.lines.append("  }")


def _deployed(outputs: dict[str, Any]) -> dict[str, Any]:
    """The platform host's component outputs, or {} before a deploy (or for dev)."""
    return (outputs.get("components") or {}).get("mediamind-platform") or {}


def _rules_by_target_group(rules: list[dict[str, Any]]) -> dict[str, list[str]]:
    routes: dict[str, list[str]] = {}
    for rule in sorted(rules, key=lambda r: r.get("priority", 0)):
        # A fixed response (the job endpoints' 403) has no service behind it, and the job
        # endpoints' exception for the NAT addresses (source addresses on a path) is no route
        # of the picture's users; Qdrant's host rule is one, narrowed to the team's ranges or not.
        if not rule.get("target_group") or (rule.get("source_ips") is not None and rule.get("path_patterns")):
            continue
        paths = rule.get("path_patterns") or []
        routes.setdefault(rule["target_group"], []).append(rule.get("host", "*") + (",".join(paths) if paths else ""))
    return routes


def _labels(model: dict[str, Any], platform: dict[str, Any]) -> tuple[str, str, str]:
    """Load balancer, database and cache labels, with their deployed names when known."""
    alb_label = f"ALB {model['alb_name']}\\n443 TLS 1.3 (SNI), 80 -> 301"
    if platform.get("alb", {}).get("dns_name"):
        alb_label += "\\n" + platform["alb"]["dns_name"]
    db_label = f"RDS PostgreSQL {model['rds_identifier']}\\nencrypted, rds.force_ssl"
    if platform.get("rds", {}).get("endpoint"):
        db_label += "\\n" + platform["rds"]["endpoint"]
    cache_label = f"ElastiCache {model['redis_group']}\\nrediss://, AUTH, encrypted"
    if platform.get("elasticache", {}).get("primary_endpoint"):
        cache_label += "\\n" + platform["elasticache"]["primary_endpoint"]
    return alb_label, db_label, cache_label


def render(model: dict[str, Any], outputs: dict[str, Any]) -> str:
    """DOT text of the environment: what the inventory manages, with deployed names when known."""
    platform = _deployed(outputs)
    shared = {} if model["builds_platform"] else {"style": "dashed"}
    services = model["services"]
    routes = _rules_by_target_group(model["alb_rules"])
    graph = Graph()

    alb_label, db_label, cache_label = _labels(model, platform)

    graph.node("users", "browsers / API clients", shape="oval")
    graph.node("sender", "mail senders", shape="oval")

    vpc = Graph()
    for service in services:
        kind = "Qdrant (EFS)" if service["role"] == "qdrant" else "ECS Fargate"
        vpc.node(service["name"], f"{service['name']}\\n{kind}", shape="box")
    vpc.node("rds", db_label, shape="box", **shared)
    vpc.node("redis", cache_label, shape="box", **shared)
    vpc.node("lambda", "Lambda mediamind_chatbot", shape="box", **shared)
    if any(s["role"] == "qdrant" for s in services):
        vpc.node("efs", "EFS (encrypted, TLS + IAM)", shape="cylinder")
    graph.cluster("vpc", f"VPC {model['region']}: private subnets, no public IPs", vpc.lines)

    graph.node("alb", alb_label, shape="box", **shared)
    graph.node("ses", f"SES inbound\\n{model['chatbot_address']}", shape="box", **shared)
    graph.node(
        "s3", f"S3 {model['bucket']}/{model['inbound_prefix']}\\nTLS-only, encrypted", shape="cylinder", **shared
    )
    graph.node("sqs", "SQS failure queue", shape="cylinder", **shared)
    graph.node("ecr", "ECR", shape="cylinder", **shared)
    graph.node("secrets", "Secrets Manager", shape="cylinder")

    graph.edge("users", "alb", "HTTPS")
    for service in services:
        name = service["name"]
        if service["target_group"]:
            label = f"{service['target_group']}: " + " | ".join(routes.get(service["target_group"], []))
            graph.edge("alb", name, label)
        if service["role"] == "qdrant":
            graph.edge(name, "efs", "NFS 2049")
        else:
            graph.edge(name, "rds", "5432")
            graph.edge(name, "redis", "6379 TLS")
        if service["repository"]:
            graph.edge("ecr", name, service["repository"], style="dotted")
        graph.edge("secrets", name, service["secret"], style="dotted")
    graph.edge("sender", "ses", "SMTP")
    graph.edge("ses", "s3", "raw mail")
    graph.edge("s3", "lambda", "ObjectCreated")
    graph.edge("lambda", "redis", "claim (SET NX)")
    graph.edge("lambda", "alb", "POST /api/v1/chatbot")
    graph.edge("lambda", "sqs", "on failure", style="dashed")

    title = f"MediaMind {model['environment']} ({model['region']})"
    if shared:
        title += ": dashed = production's platform, found by name"
    header = [
        "digraph mediamind {",
        f"  label={_quote(title)}; labelloc=t; rankdir=LR; fontname=Helvetica;",
        "  node [fontname=Helvetica, fontsize=10]; edge [fontname=Helvetica, fontsize=9];",
    ]
    return "\n".join([*header, *graph.lines, "}"]) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--outputs", type=Path)
    parser.add_argument("--dot", type=Path, required=True)
    parser.add_argument("--svg", type=Path)
    args = parser.parse_args()

    model = json.loads(args.model.read_text())
    outputs = json.loads(args.outputs.read_text()) if args.outputs and args.outputs.is_file() else {}
    args.dot.parent.mkdir(parents=True, exist_ok=True)
    args.dot.write_text(render(model, outputs))
    print(f"wrote {args.dot}")
    if args.svg:
        dot = shutil.which("dot")
        if dot is None:
            print("error: Graphviz's dot is not installed (apt-get install graphviz)", file=sys.stderr)
            return 1
        subprocess.run([dot, "-Tsvg", "-o", str(args.svg), str(args.dot)], check=True)  # noqa: S603  # nosec B603 - fixed argv
        print(f"wrote {args.svg}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
