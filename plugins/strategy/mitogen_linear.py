"""Ansible's linear strategy run through Mitogen, found on the project's plugin path.

Every host here is managed from this machine (connection local), so a task's
cost is mostly starting a Python interpreter and importing boto3/botocore
again.  Mitogen keeps one interpreter per host for the whole run and runs each
module in it.  The playbooks are unchanged: the stock `linear` strategy still
runs them (benchmarks/noop_converge.py measures both side by side).

One change to Mitogen's planning: it forks a fresh child for every module that
imports module_utils from outside ansible-core (every amazon.aws/community.aws
module and ours), because two roles could each ship an
`ansible.module_utils.<name>` of their own and the second would see the first's
in a shared interpreter.  Here the only such files are the collections'
(namespaced `ansible_collections.*`) and plugins/module_utils (names of our
own), so nothing can shadow anything: the modules run in the host's
interpreter, which has boto3 imported already.  Asynchronous tasks and
`mitogen_task_isolation: fork` still fork.
"""

from ansible_mitogen.planner import NewStylePlanner
from ansible_mitogen.plugins.strategy.mitogen_linear import StrategyModule

__all__ = ["StrategyModule"]


def _should_fork(self: NewStylePlanner) -> bool:
    return bool(
        self._inv.wrap_async
        or self._inv.task_vars.get("mitogen_task_isolation") == "fork"
        or self._inv.module_name in self.ALWAYS_FORK_MODULES
    )


NewStylePlanner.should_fork = _should_fork  # type: ignore[method-assign]
