#!/usr/bin/env python3
"""Bootstrap for a fresh machine with only Python 3.11+: create .venv, install the project into
it, then run `python -m federation` there with the same arguments.

    python3 scripts/federation.py [--base-port=8000] [--interval=10] [--no-inventories] ...
"""

import hashlib
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = ROOT / ".venv"
PYTHON = VENV / "bin" / "python"


def main() -> None:
    # This file runs under whatever python3 the user has, so the check is not outdated here.
    if sys.version_info < (3, 11):  # noqa: UP036
        sys.exit(f"Python 3.11 or newer is needed (this is {sys.version.split()[0]}).")
    if not (VENV / "bin" / "pip").exists():  # none yet, or one an earlier attempt left half-made
        create_venv()
    if needs_install():
        print("Installing the project into .venv (first run takes a minute) ...", flush=True)
        subprocess.run(
            [str(PYTHON), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True
        )
        subprocess.run(
            [str(PYTHON), "-m", "pip", "install", "--quiet", f"--editable={ROOT}"], check=True
        )
        (VENV / ".installed").write_text(_digest())
    os.execv(str(PYTHON), [str(PYTHON), "-m", "federation", *sys.argv[1:]])


def create_venv() -> None:
    print(f"Creating {VENV} ...", flush=True)
    try:
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    except (OSError, subprocess.CalledProcessError) as exc:
        shutil.rmtree(VENV, ignore_errors=True)
        sys.exit(
            f"Could not create {VENV} ({exc}). On Debian or Ubuntu, install the python3-venv"
            " package first."
        )


def needs_install() -> bool:
    """Install again only when pyproject.toml changed since the last install: this script's or
    run-tests' (whose stamp, .installed-<digest prefix>, marks an install with the dev extras)."""
    digest = _digest()
    stamp = VENV / ".installed"
    if (VENV / f".installed-{digest[:16]}").exists():
        return False
    return not stamp.exists() or stamp.read_text() != digest


def _digest() -> str:
    return hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()


if __name__ == "__main__":
    main()
