"""One botocore data loader per interpreter, shared by every boto3 session in it, and one
client per connection setting.

botocore gives each new session its own loader, which parses the service's
JSON model again (EC2's is megabytes): 40-150 ms per client.  That is the
right trade for a short-lived module process, and a waste in Mitogen's
long-lived per-host interpreter, where every task opens a new session.  The
project's strategy plugin (plugins/strategy/mitogen_linear.py) imports this
file before each AWS module it runs in that interpreter; importing it again is
a no-op.  The models are botocore's read-only package data, so sharing the
parsed copy changes nothing but the time: a session given an explicit
data_path still gets a loader of its own for that path.

The clients the amazon.aws module_utils build (AnsibleAWSModule.client, which
every module of both collections and ours calls) are kept too: a new session
and client cost 20-40 ms each even with the shared models (botocore
registers a few hundred event handlers per session and builds a client class
per client), several times per task.  A client is reused only for the same
service, region, endpoint, credentials, profile and botocore Config, and the
same AWS_* and proxy environment (Mitogen sets a task's `environment:` in
os.environ while its module runs).  The modules here never register event
handlers on a client or change its configuration, and a client holds no state
between calls but its HTTP connection pool and its credential refresher.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any

try:
    import botocore.config
    import botocore.loaders
    import botocore.session
except ImportError:  # the module itself reports a missing botocore
    botocore = None  # type: ignore[assignment]
try:
    from ansible_collections.amazon.aws.plugins.module_utils import botocore as aws_botocore
except ImportError:  # no amazon.aws (or no botocore): nothing builds clients through it
    aws_botocore = None  # type: ignore[assignment]

# Distinct clients of one run: about twenty services, one endpoint and one set of credentials.
_MAX_CLIENTS = 64


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


def _config_key(value: Any) -> Any:
    if isinstance(value, botocore.config.Config):
        value = value._user_provided_options
    if isinstance(value, dict):
        return tuple(sorted((str(k), repr(v)) for k, v in value.items()))
    return repr(value)


def _client_key(resource: Any, region: Any, endpoint: Any, params: dict[str, Any]) -> tuple[Any, ...]:
    environment = tuple(
        sorted(
            (name, value)
            for name, value in os.environ.items()
            if name.startswith("AWS_") or name.lower() in ("http_proxy", "https_proxy", "no_proxy")
        )
    )
    settings = tuple(sorted((name, _config_key(value)) for name, value in params.items()))
    return (resource, region, endpoint, settings, environment)


def _install_client_cache() -> None:
    if aws_botocore is None:
        return
    if getattr(aws_botocore, "_mediamind_clients", None) is not None:
        return
    build = aws_botocore._boto3_conn
    clients: OrderedDict[tuple[Any, ...], Any] = OrderedDict()

    def _boto3_conn(
        conn_type: str, resource: Any = None, region: Any = None, endpoint: Any = None, **params: Any
    ) -> Any:
        # Resources and the placebo recorder/replayer (the collections' tests) attach to their
        # own session: built every time, as before.
        if conn_type != "client" or any(name.startswith("_ANSIBLE_PLACEBO") for name in os.environ):
            return build(conn_type, resource=resource, region=region, endpoint=endpoint, **params)
        key = _client_key(resource, region, endpoint, params)
        client = clients.get(key)
        if client is None:
            client = build(conn_type, resource=resource, region=region, endpoint=endpoint, **params)
            clients[key] = client
            while len(clients) > _MAX_CLIENTS:
                clients.popitem(last=False)
        else:
            clients.move_to_end(key)
        return client

    aws_botocore._boto3_conn = _boto3_conn
    aws_botocore._mediamind_clients = clients


if botocore is not None:
    _install()
    _install_client_cache()
