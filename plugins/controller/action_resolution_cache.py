"""Each module_defaults group member is resolved to its plugin once per run, not once per play.

A play with `module_defaults: {group/aws: ...}` makes ansible-core resolve every action of the
group (amazon.aws and community.aws: about 340) to its plugin while the playbook loads, and it
keeps the answer on that play only. Each resolution searches the collection's folder (a glob
over a few hundred files): site.yml's 17 plays spent 1.1-1.4 s of every run on it, the largest
part of the time before the first task.

The answer for a fully qualified name depends on the installed collections only, which do not
change during a run, so it is kept for the process. Short names (resolved through the
`collections` keyword and playbook-adjacent plugin folders) are resolved every time, as before;
so is every failure (nothing is kept when the resolution raises).

Installed by tools/ansible_playbook.py, the project's ansible-playbook, before the playbook loads.
"""

from __future__ import annotations

from typing import Any

from ansible.playbook.base import FieldAttributeBase
from ansible.utils.collection_loader import AnsibleCollectionRef


def install() -> None:
    if getattr(FieldAttributeBase, "_mediamind_resolved_actions", None) is not None:
        return
    resolve = FieldAttributeBase._resolve_action
    resolved: dict[tuple[str, bool], Any] = {}

    def _resolve_action(self: FieldAttributeBase, action_name: str, mandatory: bool = True) -> Any:
        if not AnsibleCollectionRef.is_valid_fqcr(action_name):
            return resolve(self, action_name, mandatory)
        key = (action_name, mandatory)
        if key not in resolved:
            resolved[key] = resolve(self, action_name, mandatory)
        return resolved[key]

    FieldAttributeBase._resolve_action = _resolve_action  # type: ignore[method-assign]
    FieldAttributeBase._mediamind_resolved_actions = resolved  # type: ignore[attr-defined]
