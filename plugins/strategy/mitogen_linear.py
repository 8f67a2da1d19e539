"""Ansible's linear strategy run through Mitogen, found on the project's plugin path.

Every host here is managed from this machine (connection local), so a task's
cost is mostly starting a Python interpreter and importing boto3/botocore
again.  Mitogen keeps one interpreter per host for the whole run and runs each
module in it, so those imports happen once.  The playbooks are unchanged: the
stock `linear` strategy still runs them (benchmarks/noop_converge.py measures
both side by side).
"""

from ansible_mitogen.plugins.strategy.mitogen_linear import StrategyModule

__all__ = ["StrategyModule"]
