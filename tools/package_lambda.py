"""Build the chatbot Lambda zip deterministically: same sources -> same bytes -> same hash.

    python tools/package_lambda.py [--output build/mediamind_chatbot.zip] [--python-version 3.12]

1. ``pip install --target --require-hashes`` the runtime dependencies of
   ``lambda_src/requirements.txt`` (pinned with their wheel's hash; wheels only, for the
   Lambda runtime's Python version and platform, no bytecode) into
   ``build/lambda-deps`` (cleaned first; skipped when a stamp shows the same requirements,
   Python version and platform were installed already: ``--refresh`` forces it).  boto3 is
   not listed there: the runtime has it.
2. Zip ``lambda_src/mediamind_chatbot`` plus those dependencies with sorted entries, a
   fixed timestamp (1980-01-01 00:00:00, the zip epoch), fixed permissions (0644 files),
   fixed compression level and no ``__pycache__``/``*.pyc``/``RECORD`` churn.
3. Print the path, size, hex sha256 and base64 sha256 (the value Lambda reports as
   ``CodeSha256``, so a deploy can tell whether the code changed).

Exit code 1 with one line on stderr when pip or the build fails.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import shutil
import subprocess  # nosec B404 - runs pip with a fixed argv
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "lambda_src"
PACKAGE = "mediamind_chatbot"
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o100644 << 16  # regular file, rw-r--r--
EXCLUDED_DIRS = {"__pycache__", ".pytest_cache", ".mypy_cache", "bin"}
EXCLUDED_SUFFIXES = (".pyc", ".pyo")
# pip writes these with install-specific content (paths, the installer); not needed at runtime.
EXCLUDED_NAMES = {"RECORD", "INSTALLER", "direct_url.json", "REQUESTED", ".mediamind-deps-stamp"}


class BuildError(Exception):
    pass


STAMP = ".mediamind-deps-stamp"


def install_deps(requirements: Path, target: Path, python_version: str, platform: str) -> bool:
    """Install the pinned deps into `target`; reuse it when requirements/target are unchanged.

    Returns True when pip ran.  The stamp (sha256 of requirements.txt + version + platform)
    makes repeated builds (every deploy runs this) offline and fast.
    """
    stamp = hashlib.sha256(requirements.read_bytes() + f"\0{python_version}\0{platform}".encode()).hexdigest()
    if (target / STAMP).is_file() and (target / STAMP).read_text().strip() == stamp:
        return False
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    lines = [ln.strip() for ln in requirements.read_text().splitlines() if ln.strip() and not ln.startswith("#")]
    if not lines:
        (target / STAMP).write_text(stamp + "\n")
        return True
    argv = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--no-compile", "--no-deps", "--only-binary=:all:", "--require-hashes", "--implementation", "cp",
        "--python-version", python_version, "--platform", platform,
        "--target", str(target), "-r", str(requirements),
    ]  # fmt: skip
    # --no-deps: requirements.txt pins the complete runtime closure (redis has no deps).
    # --require-hashes: only the wheel whose hash the file names is installed; an unpinned
    # or unhashed line fails the build instead of fetching whatever the index serves.
    result = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603  # nosec B603
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise BuildError(f"pip install of {requirements.relative_to(ROOT)} failed: {last}")
    (target / STAMP).write_text(stamp + "\n")
    return True


def _files(base: Path, subdir: Path | None = None) -> list[tuple[str, Path]]:
    start = subdir or base
    out = []
    for path in start.rglob("*"):
        rel = path.relative_to(base)
        if any(part in EXCLUDED_DIRS for part in rel.parts):
            continue
        if not path.is_file() or path.suffix in EXCLUDED_SUFFIXES or path.name in EXCLUDED_NAMES:
            continue
        out.append((rel.as_posix(), path))
    return out


def build_zip(output: Path, deps_dir: Path) -> bytes:
    entries = dict(_files(deps_dir))
    entries.update(_files(SRC, SRC / PACKAGE))  # our code wins over anything of the same name
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w") as zf:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.external_attr = FILE_MODE
            info.create_system = 3  # unix, so the mode bits are honoured on every build host
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, entries[name].read_bytes(), compresslevel=9)
    tmp.replace(output)
    return output.read_bytes()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the chatbot Lambda zip deterministically.")
    parser.add_argument("--output", type=Path, default=ROOT / "build" / f"{PACKAGE}.zip")
    parser.add_argument("--python-version", default="3.12", help="Lambda runtime Python (default 3.12)")
    parser.add_argument("--platform", default="manylinux2014_x86_64", help="wheel platform tag")
    parser.add_argument("--refresh", action="store_true", help="reinstall the dependencies even if unchanged")
    args = parser.parse_args(argv)
    deps = ROOT / "build" / "lambda-deps"
    try:
        if args.refresh and deps.exists():
            shutil.rmtree(deps)
        install_deps(SRC / "requirements.txt", deps, args.python_version, args.platform)
        data = build_zip(args.output.resolve(), deps)
    except (BuildError, OSError) as exc:
        print(f"package_lambda: {exc}", file=sys.stderr)
        return 1
    digest = hashlib.sha256(data).digest()
    print(f"zip:            {args.output}")
    print(f"size:           {len(data)} bytes")
    print(f"sha256:         {digest.hex()}")
    print(f"CodeSha256:     {base64.b64encode(digest).decode()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
