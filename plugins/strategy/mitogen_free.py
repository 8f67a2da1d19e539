"""Ansible's free strategy run through Mitogen, for plays whose hosts are independent
(playbooks/ecs.yml: each ECS service converges at its own pace).

The project's changes to Mitogen's planning live in this folder's mitogen_linear.py, in
one place: loading that plugin applies them to this run as well.
"""

from __future__ import annotations

from ansible.plugins.loader import strategy_loader
from ansible_mitogen.plugins.strategy.mitogen_free import StrategyModule

strategy_loader.get("mitogen_linear", class_only=True)

__all__ = ["StrategyModule"]
