"""The deploy summary people read: a short table from outputs/<env>.json.

    python tools/summary.py outputs/ENV.json [--changes build/changes-ENV.json]

Per component: created / updated / unchanged (from the run's change counts, which
the mediamind.platform.changes callback writes; without them, "deployed"), the service
URLs, the load balancer's DNS name and the DNS records still to create. A changed
component is "created" when it was not in outputs/<env>.json before the run: the
callback snapshots that file's components at the start (deployed_before), since the
run's summary play rewrites it. Without the outputs file (a plan on a fresh clone) the
table comes from the counts alone. Reads files only: `make outputs` reprints it without
touching AWS. The outputs hold no secret value (summary.yml builds them from the roles'
published names and ARNs); this table shows fewer fields still.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def component_rows(outputs: dict[str, Any] | None, changes: dict[str, Any] | None) -> list[tuple[str, str]]:
    hosts = (outputs or {}).get("components", {})
    deployed = sorted({name for comps in hosts.values() for name in comps})
    counts = (changes or {}).get("components", {})
    dry = bool((changes or {}).get("check_mode"))
    before = (changes or {}).get("deployed_before")
    # Without the callback's snapshot the outputs stand in (right for a dry run, which leaves them alone).
    existed = set(deployed if before is None else before)
    rows = []
    for name in sorted(set(deployed) | set(counts)):
        count = counts.get(name)
        if count is None:
            state = "deployed" if changes is None else "not in this run"
        elif count["changed"] == 0:
            state = "unchanged"
        else:
            verb = "update" if name in existed else "create"
            verb = f"would {verb}" if dry else f"{verb}d"
            state = f"{verb} ({count['changed']} task{'s' if count['changed'] != 1 else ''})"
        instances = sum(1 for comps in hosts.values() if name in comps)
        rows.append((name + (f" x{instances}" if instances > 1 else ""), state))
    return rows


def dns_records(outputs: dict[str, Any]) -> list[dict[str, str]]:
    """Records the operator still has to create: service names, certificate validation, SES."""
    records = list(outputs.get("dns_records", []))
    for comps in outputs.get("components", {}).values():
        for record in comps.get("acm", {}).get("validation_records", []):
            if record.get("validation_status") != "SUCCESS":
                records.append({"name": record["name"], "type": record["type"], "value": record["value"]})
        for record in comps.get("ses_receipt", {}).get("dns_records", []):
            records.append({"name": record["name"], "type": record["type"], "value": record["value"]})
    seen, out = set(), []
    for record in records:
        key = (record["name"], record["type"], record["value"])
        if key not in seen:
            seen.add(key)
            out.append(record)
    return out


def _table(rows: list[tuple[str, str]], width: int) -> list[str]:
    return [f"  {'component':<{width}}  state"] + [f"  {n:<{width}}  {s}" for n, s in rows]


def render(outputs: dict[str, Any] | None, changes: dict[str, Any] | None = None, env: str = "") -> list[str]:
    """The summary's lines; with outputs None (nothing deployed yet) the change table alone."""
    dry_run = ": dry run, nothing changed" if changes and changes.get("check_mode") else ""
    rows = component_rows(outputs, changes)
    width = max([len(r[0]) for r in rows] + [9])
    if outputs is None:
        return [
            f"{env}: not deployed yet (no outputs/{env}.json){dry_run}",
            *_table(rows, width),
            f"service URLs, load balancer and DNS records: after the first `make deploy ENV={env}`",
        ]
    where = f"{outputs.get('region', '?')}, account {outputs.get('account') or '?'}"
    lines = [f"{outputs['environment']} ({where}){dry_run}"]
    lines += _table(rows, width)
    albs = [c["alb"] for c in outputs.get("components", {}).values() if c.get("alb", {}).get("dns_name")]
    if albs:
        lines.append(f"load balancer: {albs[0]['dns_name']}")
    urls = outputs.get("service_urls", {})
    if urls:
        lines.append("service URLs:")
        lines += [f"  {name:<{width}}  {url}" for name, url in sorted(urls.items())]
    records = dns_records(outputs)
    lines.append(f"DNS records to create: {len(records) or 'none'}")
    if records:
        nw = max(len(r["name"]) for r in records)
        tw = max(len(r["type"]) for r in records)
        lines += [f"  {r['name']:<{nw}}  {r['type']:<{tw}}  {r['value']}" for r in records]
    lines.append(f"full document: outputs/{outputs['environment']}.json")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Print the deploy summary of one environment")
    parser.add_argument("outputs", type=Path)
    parser.add_argument("--changes", type=Path)
    args = parser.parse_args(argv)
    changes = json.loads(args.changes.read_text()) if args.changes and args.changes.is_file() else None
    if not args.outputs.is_file():
        if changes is None:
            print(f"error: no {args.outputs}: deploy the environment first (make deploy)", file=sys.stderr)
            return 1
        print("\n".join(render(None, changes, env=args.outputs.stem)))
        return 0
    outputs = json.loads(args.outputs.read_text())
    print("\n".join(render(outputs, changes)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
