"""The peers' own virtualenv, .bench/peers-venv: made on the first run, reused after.

The peers are installed from PyPI with pip, never into the project's .venv, so their
dependencies (pydantic, urllib3, ...) cannot change what ours imports or how fast.
Each peer is installed on its own: one that fails leaves the other usable, and its row
says why. A stamp file lists what is installed, so a later run only retries what is missing.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from bench.common import WORK_DIR

PEERS = {
    "kalshi-python-sync": "kalshi-python-sync==3.2.0",  # Kalshi's official SDK
    "kalshi-py": "kalshi-py==2.0.6.6",
}
VENV = WORK_DIR / "peers-venv"
STAMP = VENV / ".bench-installed"


def _tail(text: str, lines: int = 3) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def ensure_peers_venv(log: Callable[[str], None]) -> tuple[Path | None, dict[str, str]]:
    """Return the peers' python (None if there is none) and, per missing peer, why."""
    python = VENV / "bin" / "python"
    if not python.exists():
        log(f"creating {VENV} (first run only)")
        # Made from the interpreter running the bench, so the peers run on the same Python.
        made = subprocess.run(
            [sys.executable, "-m", "venv", str(VENV)], capture_output=True, text=True, check=False
        )
        if made.returncode != 0:
            reason = f"could not create {VENV}: {_tail(made.stderr)}"
            return None, dict.fromkeys(PEERS, reason)
    installed = set(STAMP.read_text().split()) if STAMP.exists() else set()
    missing: dict[str, str] = {}
    for name, requirement in PEERS.items():
        if requirement in installed:
            continue
        log(f"installing {requirement} into {VENV}")
        pip = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", requirement],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        if pip.returncode == 0:
            installed.add(requirement)
        else:
            missing[name] = f"pip install {requirement} failed: {_tail(pip.stderr)}"
    STAMP.write_text("\n".join(sorted(installed)) + "\n")
    return python, missing
