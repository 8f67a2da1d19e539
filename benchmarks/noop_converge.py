"""No-op converge of inventories/local: wall time, managed resources, seconds per resource.

Runs site.yml until converged, then times a converged run (nothing to change)
twice per configuration, side by side in one process:
  - project: the project's ansible.cfg (linear strategy, no fact gathering, forks for parallel
             service hosts, pipelining);
  - stock:   Ansible's defaults (linear strategy, 5 forks, implicit fact gathering), same playbooks,
             same inventory, only roles/plugins paths set so the playbooks can run at all.
"Managed resources" = results of AWS-module tasks that converge something (loop items counted one
by one; read-only *_info lookups are not counted), read from the json callback: each is one
resource (or one resource setting) described and compared.

Usage: .venv/bin/python benchmarks/noop_converge.py [--runs N]   (writes benchmarks/results/noop_converge.md)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLAYBOOK = [str(ROOT / "tools" / "playbook.sh"), "local", "playbooks/site.yml"]
# Modules that only compute or print: not managed resources.
NOT_RESOURCES = (
    "ansible.builtin.",
    "set_fact",
    "assert",
    "debug",
    "include_",
    "import_",
    "validate_argument_spec",
    "meta",
)

STOCK_CFG = """[defaults]
roles_path = {root}/roles
collections_path = {root}/collections
"""


def run(env_extra: dict[str, str]) -> tuple[float, float, dict]:
    """Wall seconds, CPU seconds (user + system of the reaped ansible-playbook process tree) and the report."""
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1")
    env.update(env_extra)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    out = subprocess.run(PLAYBOOK, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if out.returncode != 0:
        sys.exit(f"site.yml failed:\n{out.stdout[-3000:]}\n{out.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, json.loads(out.stdout)


def resources_and_changes(report: dict) -> tuple[int, int]:
    managed = 0
    for play in report["plays"]:
        for task in play["tasks"]:
            for result in task["hosts"].values():
                action = result.get("action", "")
                if not action or action.startswith(NOT_RESOURCES) or action.endswith("_info") or result.get("skipped"):
                    continue
                managed += len(result["results"]) if "results" in result else 1
    changed = sum(stats.get("changed", 0) for stats in report["stats"].values())
    return managed, changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()

    load = os.getloadavg()[0]
    run({})  # converge first: the measured runs must have nothing to do
    with tempfile.NamedTemporaryFile("w", suffix=".cfg", delete=False) as cfg:
        cfg.write(STOCK_CFG.format(root=ROOT))
    configs = {"project": {}, "stock": {"MM_ANSIBLE_CONFIG": cfg.name}}
    times: dict[str, list[float]] = {name: [] for name in configs}
    cpus: dict[str, list[float]] = {name: [] for name in configs}
    managed = 0
    for _ in range(args.runs):
        for name, env in configs.items():  # interleaved: load drifts hit both alike
            elapsed, cpu, report = run(env)
            count, changed = resources_and_changes(report)
            if changed:
                sys.exit(f"{name} run changed {changed} things: not a no-op converge")
            if name == "project":
                managed = count
            times[name].append(elapsed)
            cpus[name].append(cpu)
    project, stock = statistics.median(times["project"]), statistics.median(times["stock"])
    project_cpu, stock_cpu = statistics.median(cpus["project"]), statistics.median(cpus["stock"])
    lines = [
        "# No-op converge of inventories/local",
        "",
        f"Machine: {os.cpu_count()} cores, load average before the runs {load:.2f}; {args.runs} interleaved runs",
        "per configuration, median shown. CPU = user + system seconds of the ansible-playbook process tree"
        " (the emulator's not counted).",
        "",
        "| configuration | wall time (s) | CPU (s) | managed resources | s per resource |",
        "|---|---|---|---|---|",
        f"| project ansible.cfg | {project:.1f} | {project_cpu:.1f} | {managed} | {project / managed:.3f} |",
        f"| stock Ansible defaults | {stock:.1f} | {stock_cpu:.1f} | {managed} | {stock / managed:.3f} |",
        "",
        f"Speed-up over stock: {stock / project:.2f}x (wall), {stock_cpu / project_cpu:.2f}x (CPU).",
        f"All runs (wall s): project {[round(t, 1) for t in times['project']]},"
        f" stock {[round(t, 1) for t in times['stock']]}.",
    ]
    text = "\n".join(lines) + "\n"
    (ROOT / "benchmarks" / "results" / "noop_converge.md").write_text(text)
    print(text)


if __name__ == "__main__":
    main()
