"""One botocore data loader per interpreter, shared by every boto3 session in it.

botocore gives each new session its own loader, which parses the service's
JSON model again (EC2's is megabytes): 40-150 ms per client.  That is the
right trade for a short-lived module process, and a waste in Mitogen's
long-lived per-host interpreter, where every task opens a new session.  The
project's strategy plugin (plugins/strategy/mitogen_linear.py) imports this
file before each AWS module it runs in that interpreter; importing it again is
a no-op.  The models are botocore's read-only package data, so sharing the
parsed copy changes nothing but the time: a session given an explicit
data_path still gets a loader of its own for that path.
"""

from __future__ import annotations

from typing import Any

try:
    import botocore.loaders
    import botocore.session
except ImportError:  # the module itself reports a missing botocore
    botocore = None  # type: ignore[assignment]


class _SearchPaths(list):
    """boto3 appends its own data folder to the loader's search paths for every new session:
    with one loader for all sessions, keep each folder once."""

    def append(self, path: Any) -> None:
        if path not in self:
            super().append(path)


def _install() -> None:
    session_class: Any = botocore.session.Session
    if getattr(session_class, "_mediamind_shared_loaders", None) is not None:
        return
    if not callable(getattr(session_class, "_register_data_loader", None)):
        return  # a botocore without the hook this relies on: every session keeps its own loader
    loaders: dict[str, Any] = {}

    def _register_data_loader(self: Any) -> None:
        def create() -> Any:
            data_path = self.get_config_variable("data_path")
            key = data_path or ""
            if key not in loaders:
                loader = botocore.loaders.create_loader(data_path)
                loader._search_paths = _SearchPaths(loader.search_paths)
                loaders[key] = loader
            return loaders[key]

        self._components.lazy_register_component("data_loader", create)

    session_class._register_data_loader = _register_data_loader
    session_class._mediamind_shared_loaders = loaders


if botocore is not None:
    _install()
