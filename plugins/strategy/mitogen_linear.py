"""Ansible's linear strategy run through Mitogen, found on the project's plugin path.

Every host here is managed from this machine (connection local), so a task's
cost is mostly starting a Python interpreter, importing boto3/botocore and
parsing botocore's service models again.  Mitogen keeps one interpreter for
the whole run (all local hosts share it: Mitogen keys a local connection by
its Python alone) and runs each module in it.  The playbooks are
unchanged: the stock `linear` strategy still runs them
(benchmarks/noop_converge.py measures both side by side).

Mitogen pins its processes to CPUs (ansible_mitogen/affinity.py). On a machine of
two or three CPUs its policy reserves CPU 0 for the connection multiplexer, which
mostly waits, and pins the controller, every worker and the module interpreter to
the one remaining CPU: a run here could never use more than one core (CPU time
equalled wall time). The project leaves placement to the kernel (Mitogen's base
Policy, which pins nothing). Measured side by side on 2 cores: 20.6-24.7 s
instead of 26.0-27.3 s per no-op run.

Three changes to Mitogen's planning:

- Mitogen forks a fresh child for every module with module_utils of its own
  (ours, from plugins/module_utils), because two roles could each ship an
  `ansible.module_utils.<name>` and the second would see the first's in a
  shared interpreter.  Our names are unique, so ours run in the interpreter,
  which has boto3 imported already, like the collections' modules do.
  (Mitogen leaves one small importer on sys.meta_path per such run: a few
  hundred per run, negligible.)  Asynchronous tasks and `mitogen_task_isolation:
  fork` still fork, and so does every task that may wait (a `wait` argument,
  or one of our modules that polls) in a play of several hosts: the one
  interpreter runs one call at a time, so a wait there would hold up the
  other hosts' tasks.  In a play of one host (the platform's) there is no
  one to hold up, and a fork would import boto3 again.  Short module runs of
  parallel hosts are serialised in it too: the price of the shared model
  cache below, which a forked child would not keep.
- Each AWS module also imports plugins/module_utils/mediamind_botocore_cache.py
  first, so all sessions in that interpreter share one parsed copy of
  botocore's models.
- Mitogen lists every installed collection (reading each one's metadata: the
  `ansible` package ships about a hundred) before it plans a collection's
  module, and it plans in the per-task worker process, whose caches die with
  it: about 15 % of a no-op run's CPU.  The list is made once here, in the
  controller, before any worker is forked, and every worker inherits it.

Three changes to Ansible's controller, which forks a worker process per task and host:

- Each distinct template string is compiled once per run instead of once in
  every worker (plugins/controller/jinja_code_cache.py): about 4,000 compiles
  of 680 strings in a no-op converge.
- The controller's objects are frozen out of the garbage collector's reach
  (gc.freeze) while it forks a worker. A worker's first collections otherwise
  walk the whole inherited heap (inventory, playbook, variables), which costs
  CPU and copies the pages it touches; the controller unfreezes them right
  after the fork, so its own collections are unchanged. Measured side by side:
  2.5-3.5 s less per no-op run.
- Ansible's own plugins that every worker would load again are loaded once, in
  the controller: a worker's first filter or test loads every non-collection
  filter and test plugin file, each fact clean-up lists (imports) every
  connection plugin, and each lookup imports its plugin. Measured side by side:
  1.0-4.4 s less per no-op run.
"""

from __future__ import annotations

import gc
import importlib.util
import sys
from pathlib import Path
from typing import Any

import ansible.collections.list
import ansible_mitogen
import ansible_mitogen.affinity
import ansible_mitogen.planner
from ansible.executor.process.worker import WorkerProcess
from ansible.plugins.loader import action_loader, connection_loader, filter_loader, lookup_loader, test_loader
from ansible_mitogen.planner import NewStylePlanner
from ansible_mitogen.plugins.strategy.mitogen_linear import StrategyModule

__all__ = ["StrategyModule"]

_CACHE = (
    "ansible.module_utils.mediamind_botocore_cache",
    str(Path(__file__).resolve().parent.parent / "module_utils" / "mediamind_botocore_cache.py"),
    False,
)
_AWS_COLLECTIONS = ("amazon.aws.", "community.aws.")
# Our modules that poll until AWS is done (their waits are not all behind a `wait` option).
_POLLING_MODULES = frozenset(
    {
        "acm_certificate_request",
        "ecs_service_release",
        "efs_storage",
        "elasticache_replication_group",
        "rds_db_instance",
        "servicediscovery_dns_service",
    }
)


def _should_fork(self: NewStylePlanner) -> bool:
    waits = self._inv.module_args.get("wait") in (True, "true", "True", "yes", 1)
    polls = waits or self._inv.module_name.rsplit(".", 1)[-1] in _POLLING_MODULES
    # A wait holds up only the other hosts of the play; a play of one host (the
    # platform's) has none, and a fork would import boto3 again (~0.25 s).
    others = len(self._inv.task_vars.get("ansible_play_batch") or ()) > 1
    return bool(
        self._inv.wrap_async
        or self._inv.task_vars.get("mitogen_task_isolation") == "fork"
        or self._inv.module_name in self.ALWAYS_FORK_MODULES
        or (polls and others)
    )


_scan_module_map = NewStylePlanner.get_module_map


def _get_module_map(self: NewStylePlanner) -> dict[str, Any]:
    module_map: dict[str, Any] = _scan_module_map(self)
    custom = module_map["custom"]
    # The collections' modules import their module_utils from the virtualenv (no
    # custom entries); ours bring plugins/module_utils: both talk to AWS.
    if _CACHE not in custom and (custom or self._inv.module_name.startswith(_AWS_COLLECTIONS)):
        # The runner imports the custom module_utils in this order: the cache first.
        module_map = self._module_map = {**module_map, "custom": [_CACHE, *custom]}
    return module_map


# Before the strategy starts its multiplexer, which applies the policy to the controller.
ansible_mitogen.affinity.policy = ansible_mitogen.affinity.Policy()

# Collections do not change during a run; the strategy is loaded by the controller
# before it forks its first worker.
_COLLECTION_DIRS = tuple(p.decode("utf-8") for p in ansible.collections.list.list_collection_dirs())


def _load_collections(invocation: Any) -> None:
    invocation._extra_sys_paths.update(_COLLECTION_DIRS)


NewStylePlanner.should_fork = _should_fork  # type: ignore[method-assign]
NewStylePlanner.get_module_map = _get_module_map  # type: ignore[method-assign]
ansible_mitogen.planner._load_collections = _load_collections


def _load_jinja_code_cache() -> Any:
    """plugins/controller/jinja_code_cache.py, imported once (both strategies load this file)."""
    name = "mediamind_jinja_code_cache"
    if name not in sys.modules:
        path = Path(__file__).resolve().parent.parent / "controller" / "jinja_code_cache.py"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load {path}")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


_load_jinja_code_cache().install()

# Collection filters and tests are still loaded on demand, by name: there are hundreds.
filter_loader._ensure_non_collection_wrappers()
test_loader._ensure_non_collection_wrappers()
for _loader in (connection_loader, lookup_loader):
    for _plugin in _loader.all(class_only=True):
        # A task names them by their full name (ansible.builtin.env), which loads a module of
        # its own beside the one all() loaded (ansible.plugins.lookup.env): both, once.
        _loader.get(_plugin.ansible_name, class_only=True)
# Every task of a host here connects through Mitogen's local connection, and most modules run
# through the `normal` action: each worker loaded both again (205 and 55 times in a no-op run).
# Mitogen's strategy adds its connection folder only when it starts: added here first (the
# same folder, so its own call changes nothing).
connection_loader.add_directory(str(Path(ansible_mitogen.__file__).resolve().parent / "plugins" / "connection"))
connection_loader.get("mitogen_local", class_only=True)
action_loader.get("normal", class_only=True)

_start_worker = WorkerProcess.start


def _start_worker_frozen(self: WorkerProcess) -> None:
    gc.freeze()
    try:
        _start_worker(self)
    finally:
        gc.unfreeze()


if getattr(WorkerProcess.start, "__name__", "") != _start_worker_frozen.__name__:  # both strategies load this file
    WorkerProcess.start = _start_worker_frozen  # type: ignore[method-assign]
