"""The bench's own virtualenvs under .bench/ (git-ignored): made on first use, reused after.

- peers-venv: the two PyPI peers, never installed into the project's .venv, so their
  dependencies (pydantic, urllib3, ...) cannot change what ours imports or how fast.
  Each peer is installed on its own: one that fails leaves the other usable.
- user-venv: what a user of ours has: requirements.txt only (httpx, attrs, cryptography)
  and the two vendored packages, linked into site-packages. Start-up is measured there,
  because the project's .venv is a developer's: an editable install whose finder runs on
  every import, and rich + click (for other tools), which make `import httpx` also import
  its command-line interface. The peers get the same clean treatment in peers-venv.

A stamp file in each records what was installed, so a later run only redoes what changed.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from bench.common import REPO, WORK_DIR

PEERS = {
    "kalshi-python-sync": "kalshi-python-sync==3.2.0",  # Kalshi's official SDK
    "kalshi-py": "kalshi-py==2.0.6.6",
}
PEERS_VENV = WORK_DIR / "peers-venv"
USER_VENV = WORK_DIR / "user-venv"
# Package name in site-packages -> its source in the repository.
VENDORED = {"auth_hooks": REPO / "auth_hooks", "kalshi_trade_api": REPO / "generated" / "kalshi_trade_api"}

Log = Callable[[str], None]


def _tail(text: str, lines: int = 2, chars: int = 300) -> str:
    """The end of a tool's complaint, short enough for a table's note."""
    tail = " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])
    return tail if len(tail) <= chars else "..." + tail[-chars:]


def _python(venv: Path, log: Log) -> tuple[Path | None, str]:
    """The venv's python, making the venv first if needed; or None and why not."""
    python = venv / "bin" / "python"
    if python.exists():
        return python, ""
    log(f"creating {venv} (first run only)")
    # Made from the interpreter running the bench, so every client runs on the same Python.
    made = subprocess.run(
        [sys.executable, "-m", "venv", str(venv)], capture_output=True, text=True, check=False
    )
    if made.returncode != 0:
        return None, f"could not create {venv}: {_tail(made.stderr)}"
    return python, ""


def _pip_install(python: Path, args: list[str]) -> str:
    """pip install ARGS quietly; "" on success, else the end of pip's complaint."""
    pip = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    return "" if pip.returncode == 0 else f"pip install {' '.join(args)} failed: {_tail(pip.stderr)}"


def ensure_peers_venv(log: Log) -> tuple[Path | None, dict[str, str]]:
    """The peers' python (None if there is none) and, per missing peer, why."""
    python, problem = _python(PEERS_VENV, log)
    if python is None:
        return None, dict.fromkeys(PEERS, problem)
    stamp = PEERS_VENV / ".bench-installed"
    installed = set(stamp.read_text().split()) if stamp.exists() else set()
    missing: dict[str, str] = {}
    for name, requirement in PEERS.items():
        if requirement in installed:
            continue
        log(f"installing {requirement} into {PEERS_VENV}")
        problem = _pip_install(python, [requirement])
        if problem:
            missing[name] = problem
        else:
            installed.add(requirement)
    stamp.write_text("\n".join(sorted(installed)) + "\n")
    return python, missing


def ensure_user_venv(log: Log) -> tuple[Path | None, str]:
    """A user's environment for ours: its python, or None and why not."""
    python, problem = _python(USER_VENV, log)
    if python is None:
        return None, problem
    requirements = (REPO / "requirements.txt").read_text()
    stamp = USER_VENV / ".bench-installed"
    if not stamp.exists() or stamp.read_text() != requirements:
        log(f"installing requirements.txt into {USER_VENV}")
        problem = _pip_install(python, ["-r", str(REPO / "requirements.txt")])
        if problem:
            return None, problem
        stamp.write_text(requirements)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site_packages = USER_VENV / "lib" / version / "site-packages"
    for name, source in VENDORED.items():
        # Linked, not copied: the probe always sees the working tree's current code.
        link = site_packages / name
        if not link.is_symlink():
            link.symlink_to(source, target_is_directory=True)
    return python, ""
