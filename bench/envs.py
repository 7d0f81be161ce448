"""The peers' own virtualenv, .bench/peers-venv (git-ignored): made on first use, reused after.

The peers are never installed into the project's .venv, so their dependencies (pydantic,
urllib3, ...) cannot change what ours imports or how fast. Kalshi's SDKs 3.34.0 declare
Python 3.13+ and kalshi-sdk 3.12+, yet install and run on the 3.11 here: pip's
--ignore-requires-python. Each peer is installed on its own, so one that fails leaves the
others usable; a stamp file records what was installed, so a later run only redoes what changed.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from bench.clients import KALSHI_SDK, OFFICIAL, OFFICIAL_ASYNC
from bench.common import WORK_DIR

PEERS = {
    OFFICIAL: f"{OFFICIAL}==3.34.0",  # Kalshi's official SDK
    OFFICIAL_ASYNC: f"{OFFICIAL_ASYNC}==3.34.0",  # its asyncio twin
    KALSHI_SDK: f"{KALSHI_SDK}==22.4.0",
}
PEERS_VENV = WORK_DIR / "peers-venv"

Log = Callable[[str], None]


def _tail(text: str, lines: int = 2, chars: int = 300) -> str:
    """The end of a tool's complaint, short enough for a table's note."""
    tail = " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])
    return tail if len(tail) <= chars else "..." + tail[-chars:]


def ensure_peers_venv(log: Log) -> tuple[Path | None, dict[str, str]]:
    """The peers' python (None if there is none) and, per missing peer, why."""
    python = PEERS_VENV / "bin" / "python"
    if not python.exists():
        log(f"creating {PEERS_VENV} (first run only)")
        # From the interpreter running the bench, so every client runs on the same Python.
        made = subprocess.run(
            [sys.executable, "-m", "venv", str(PEERS_VENV)], capture_output=True, text=True, check=False
        )
        if made.returncode != 0:
            return None, dict.fromkeys(PEERS, f"could not create {PEERS_VENV}: {_tail(made.stderr)}")
    stamp = PEERS_VENV / ".bench-installed"
    pip_install = [str(python), "-m", "pip", "install", "--quiet", "--ignore-requires-python"]
    installed = set(stamp.read_text().split()) if stamp.exists() else set()
    missing: dict[str, str] = {}
    for name, requirement in PEERS.items():
        if requirement in installed:
            continue
        log(f"installing {requirement} into {PEERS_VENV}")
        pip = subprocess.run(
            [*pip_install, requirement],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
        )
        if pip.returncode == 0:
            installed.add(requirement)
        else:
            missing[name] = f"pip install {requirement} failed: {_tail(pip.stderr)}"
    stamp.write_text("\n".join(sorted(installed)) + "\n")
    return python, missing
