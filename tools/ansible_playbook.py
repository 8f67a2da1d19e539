"""The project's ansible-playbook: Ansible's own, with the controller changes that must be in place
before the playbook loads (plugins/controller/action_resolution_cache.py).

tools/playbook.sh runs it for every make target; the rest of the project's controller changes
come with its strategy plugins (plugins/strategy/mitogen_linear.py), loaded by ansible.cfg.
Arguments and exit status are ansible-playbook's.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

CACHE = Path(__file__).resolve().parent.parent / "plugins" / "controller" / "action_resolution_cache.py"


def _install_action_resolution_cache() -> None:
    spec = importlib.util.spec_from_file_location("mediamind_action_resolution_cache", CACHE)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {CACHE}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.install()


if __name__ == "__main__":
    _install_action_resolution_cache()
    from ansible.cli.playbook import main

    sys.argv[0] = "ansible-playbook"
    main()
