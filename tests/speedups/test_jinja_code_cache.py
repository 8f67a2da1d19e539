"""plugins/controller/jinja_code_cache.py: a template compiled once per run renders exactly as before.

Each check runs in a fresh interpreter (the cache patches ansible-core's environment class for the
whole process) and compares against ansible-core without the cache.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "plugins" / "controller" / "jinja_code_cache.py"

# Templates whose compiled code depends on more than their text: a `#jinja2:` header (other
# delimiters), backslashes in a string constant (Ansible escapes them), filters, tests, loops.
TEMPLATES = [
    "{{ name }}",
    "{{ name | upper }}-{{ items | length }}",
    "{% for i in items %}{{ i }},{% endfor %}",
    "{{ 'a1b2' | regex_replace('(\\d)', '<\\1>') }}",
    "#jinja2:variable_start_string:'[[', variable_end_string:']]'\n[[ name ]] {{ name }}",
    "{{ items | select('gt', 1) | list }}",
    "{{ {'k': name} | to_json }}",
    "{{ name if items is sequence else 'no' }}",
]

RENDER = textwrap.dedent(
    """
    import json, sys
    from ansible.template import Templar
    from ansible.parsing.dataloader import DataLoader
    from ansible._internal._datatag._tags import TrustedAsTemplate

    cache = None
    if sys.argv[1] == "cached":
        import importlib.util
        spec = importlib.util.spec_from_file_location("jcc", sys.argv[2])
        jcc = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(jcc)
        cache = jcc.install()
    templates = json.loads(sys.argv[3])
    out = {"results": [], "folder": str(cache.folder) if cache else None}
    for _ in range(int(sys.argv[4])):
        results = []
        for text in templates:
            templar = Templar(loader=DataLoader(), variables={"name": "mm", "items": [1, 2, 3]})
            # The same text with and without Ansible's backslash escaping: two different codes.
            for escape in (True, False):
                results.append(str(templar.template(TrustedAsTemplate().tag(text), escape_backslashes=escape)))
        out["results"].append(results)
    if cache:
        out["files"] = len(list(cache.folder.iterdir()))
        out["memory"] = len(cache.memory)
    print(json.dumps(out))
    """
)


def _render(mode: str, rounds: int = 1) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", RENDER, mode, str(CACHE), json.dumps(TEMPLATES), str(rounds)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_cached_templates_render_exactly_as_uncached() -> None:
    plain = _render("plain")["results"][0]
    cached = _render("cached", rounds=2)
    assert cached["results"][0] == plain
    assert cached["results"][1] == plain, "a cache hit rendered differently from the first compile"
    escaped, unescaped = plain[6], plain[7]
    assert escaped == "a<1>b<2>", "the backslash case did not exercise Ansible's escaping"
    assert unescaped != escaped
    assert plain[8] == "mm {{ name }}", "the #jinja2: header case did not change the delimiters"
    # One compiled file per distinct template and escaping (a template without a backslash in a
    # string constant compiles to the same code either way, but is keyed apart all the same).
    assert cached["files"] == 2 * len(TEMPLATES)
    # The run's folder is gone when the process ends.
    assert not Path(cached["folder"]).exists()


FORKED = textwrap.dedent(
    """
    import importlib.util, json, os, sys
    from ansible.template import Templar
    from ansible.parsing.dataloader import DataLoader
    from ansible._internal._datatag._tags import TrustedAsTemplate

    spec = importlib.util.spec_from_file_location("jcc", sys.argv[1])
    jcc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(jcc)
    cache = jcc.install()
    assert jcc.install() is cache, "installing twice must keep one cache"
    text = TrustedAsTemplate().tag("{{ name ~ '!' }}")

    compiled = []
    real = cache.put
    cache.put = lambda key, code, **kw: (compiled.append(os.getpid()), real(key, code, **kw))

    def render():
        return Templar(loader=DataLoader(), variables={"name": "mm"}).template(text)

    pid = os.fork()
    if pid == 0:  # a worker: compiles and writes the code for the run
        ok = render() == "mm!" and compiled == [os.getpid()]
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    # The parent (another worker's view) never compiled it, yet finds it in the run's folder.
    files = sorted(p.name for p in cache.folder.iterdir())
    # A damaged file is compiled again, not trusted.
    (cache.folder / files[0]).write_bytes(b"not marshal")
    cache.memory.clear()
    second = render()
    print(json.dumps({"child": os.waitstatus_to_exitcode(status), "files": len(files),
                      "parent_compiles": compiled, "second": second}))
    """
)


def test_a_worker_reads_what_another_worker_compiled_and_recompiles_a_damaged_file() -> None:
    result = subprocess.run(
        [sys.executable, "-c", FORKED, str(CACHE)], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["child"] == 0, "the forked worker did not compile and render the template once"
    assert out["files"] == 1
    # The parent compiled only after the file was damaged: once.
    assert len(out["parent_compiles"]) == 1
    assert out["second"] == "mm!"


VAULTED = textwrap.dedent(
    """
    import importlib.util, json, sys
    from ansible._internal._datatag._tags import VaultedValue
    from ansible._internal._templating._jinja_bits import AnsibleEnvironment

    spec = importlib.util.spec_from_file_location("jcc", sys.argv[1])
    jcc = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(jcc)
    cache = jcc.install()
    secret = VaultedValue(ciphertext="$ANSIBLE_VAULT;1.1;AES256\\n00").tag("pw-{{ 'canary-7f3a' }}")
    env = AnsibleEnvironment()
    env.from_string(secret)
    env.from_string("x-{{ 'not-secret' }}")
    files = [p.read_bytes() for p in cache.folder.iterdir()]
    print(json.dumps({"memory": len(cache.memory), "files": len(files),
                      "canary_on_disk": any(b"canary-7f3a" in f for f in files)}))
    """
)


def test_a_vaulted_template_is_never_written_to_the_runs_folder() -> None:
    result = subprocess.run(
        [sys.executable, "-c", VAULTED, str(CACHE)], capture_output=True, text=True, check=False, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    # Both compiled (kept in memory); only the plain one shared through the folder.
    assert out == {"memory": 2, "files": 1, "canary_on_disk": False}


def test_a_killed_runs_folder_is_removed_by_the_next_run(tmp_path: Path) -> None:
    dead = subprocess.Popen(["sleep", "0"])  # a pid whose process has exited
    dead.wait()
    orphan = tmp_path / f"mediamind-jinja-{dead.pid}-x"
    alive = tmp_path / f"mediamind-jinja-{os.getpid()}-y"
    other = tmp_path / "mediamind-jinja-notapid"
    for folder in (orphan, alive, other):
        folder.mkdir()
        (folder / "code").write_bytes(b"x")
    probe = (
        "import importlib.util, sys; spec = importlib.util.spec_from_file_location('jcc', sys.argv[1]);"
        "jcc = importlib.util.module_from_spec(spec); spec.loader.exec_module(jcc); jcc.install()"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, str(CACHE)],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env={**os.environ, "TMPDIR": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert not orphan.exists()
    assert alive.exists()
    assert other.exists()
    # The probe's own folder went away when it ended.
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, other.name])
