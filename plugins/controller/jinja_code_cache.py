"""Each distinct Jinja template is compiled once per run, not once per task and host.

ansible-core 2.19 compiles every template string it renders (lex, parse, generate
Python, compile()) and keeps nothing: Jinja caches only templates loaded by name.
A run's worker process lives for one task on one host, so the same few hundred
strings (`{{ mediamind_aws_module_defaults }}`, `{{ inventory_hostname }}`, the
roles' argument templates) were compiled again in every worker: about 4,000
compiles of 680 distinct strings in a no-op converge of inventories/local, about a
fifth of the workers' CPU time (py-spy).

This module keeps the compiled code object (what Jinja's own bytecode cache keeps)
in the worker's memory and in a folder made for this run by the controller, which
every worker inherits when it is forked: the first worker to compile a string
writes it, the others read it back (marshal, a fraction of a millisecond). The
key is the template's text with everything that changes the generated code: the
Jinja overrides a template may carry (`#jinja2:` headers), Ansible's backslash
escaping, the environment's class and code generator, the Python, Jinja and
ansible-core versions. Rendering is untouched: the same code object Jinja would
have built gets the environment and globals of the task that renders it. The
folder is removed when the run ends (a killed run's, by the next run); nothing outlives it, so an edited filter
plugin can never meet code compiled against its old version. Compiled code holds
the template's literal text: a template string that came from a vault (Ansible
never renders one, but a role could compile one) stays in memory, never in the
folder.

Installed by the project's strategy plugins (plugins/strategy/mitogen_linear.py)
in the controller, before any worker is forked. Template debugging
(ansible-core's `.template_debug_source`) compiles as before.
"""

from __future__ import annotations

import atexit
import hashlib
import marshal
import os
import shutil
import sys
import tempfile
from pathlib import Path
from types import CodeType
from typing import Any

import jinja2
from ansible import release
from ansible._internal._datatag._tags import VaultedValue
from ansible._internal._templating import _jinja_bits

_VERSION = f"{sys.version_info[:3]}|{jinja2.__version__}|{release.__version__}"


def _key(environment: Any, source: str) -> str:
    context = _jinja_bits._TemplateCompileContext.current(optional=True)
    settings = (
        tuple(getattr(environment, name) for name in _jinja_bits._TEMPLATE_OVERRIDE_FIELD_NAMES),
        bool(context and context.escape_backslashes),
        environment.optimized,
        environment.autoescape,
        type(environment).__qualname__,
        environment.code_generator_class.__qualname__,
        tuple(sorted(environment.extensions)),
    )
    return hashlib.sha256(f"{_VERSION}|{settings!r}|{source}".encode("utf-8", "surrogatepass")).hexdigest()


class CodeCache:
    """Compiled template code by key: in memory, then in `folder` (shared by the run's workers)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.memory: dict[str, CodeType] = {}

    def get(self, key: str) -> CodeType | None:
        code = self.memory.get(key)
        if code is None:
            try:
                # This run's own folder (mkdtemp: private to this user), written by its own workers.
                code = marshal.loads((self.folder / key).read_bytes())  # noqa: S302  # nosec B302
            except (OSError, EOFError, ValueError, TypeError):
                return None  # not compiled yet in this run (or a half-written file: compile again)
            if not isinstance(code, CodeType):
                return None
            self.memory[key] = code
        return code

    def put(self, key: str, code: CodeType, shared: bool = True) -> None:
        self.memory[key] = code
        if not shared:
            return
        try:
            # Written whole under a private name, then renamed: a reader sees all of it or nothing.
            handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".tmp-")
            with os.fdopen(handle, "wb") as out:
                out.write(marshal.dumps(code))
            os.replace(temporary, self.folder / key)
        except OSError:
            pass  # the folder is gone (the run is ending): this worker keeps its own copy


_PREFIX = "mediamind-jinja-"


def _remove_orphans() -> None:
    """Folders of runs that were killed (SIGKILL skips atexit): their controller is gone."""
    for orphan in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*-*"):
        try:
            pid = int(orphan.name[len(_PREFIX) :].split("-", 1)[0])
            os.kill(pid, 0)
        except ValueError:
            continue  # not one of ours
        except ProcessLookupError:
            shutil.rmtree(orphan, ignore_errors=True)
        except PermissionError:
            continue  # alive, another user's


def install() -> CodeCache | None:
    """Wrap AnsibleEnvironment.compile once per controller process; the wrapper is inherited by forks."""
    environment_class: Any = _jinja_bits.AnsibleEnvironment
    if getattr(environment_class, "_mediamind_code_cache", None) is not None:
        return environment_class._mediamind_code_cache
    compile_template = environment_class.compile
    controller = os.getpid()
    _remove_orphans()
    folder = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{controller}-"))
    cache = CodeCache(folder)

    def _remove() -> None:
        if os.getpid() == controller:
            shutil.rmtree(folder, ignore_errors=True)

    atexit.register(_remove)

    def compile(  # noqa: PLR0917 - Environment.compile's own signature
        self: Any,
        source: Any,
        name: str | None = None,
        filename: str | None = None,
        raw: bool = False,
        defer_init: bool = False,
    ) -> Any:
        # Only what Environment.from_string asks for: a template's text, compiled to code.
        # Named/loaded templates, raw Python source, parsed nodes (expressions) and
        # debugging compile as before.
        if (
            not isinstance(source, str)
            or name is not None
            or filename is not None
            or raw
            or defer_init
            or self._debuggable_template_source
        ):
            return compile_template(self, source, name, filename, raw, defer_init)
        key = _key(self, source)
        code = cache.get(key)
        if code is None:
            code = compile_template(self, source, name, filename, raw, defer_init)
            cache.put(key, code, shared=not VaultedValue.is_tagged_on(source))
        return code

    environment_class.compile = compile
    environment_class._mediamind_code_cache = cache
    return cache
