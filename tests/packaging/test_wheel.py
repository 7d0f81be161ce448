"""`pip install` of the project's wheel gives a working client and CLI in a fresh venv;
the local exchange is an extra that brings its own dependencies and spec."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Pip may take a while on a cold cache; every step is still bounded.
STEP_TIMEOUT_S = 240


def clean_env(**extra: str) -> dict[str, str]:
    # No PYTHONPATH: a fresh venv must see only what was installed into it (a path to the
    # repository would make pip take the project as installed already).
    return {**{k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, **extra}


def run(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [str(arg) for arg in args],
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT_S,
        env=clean_env() if env is None else env,
        check=False,
    )
    assert done.returncode == 0, (
        f"{' '.join(map(str, args))} exited {done.returncode}:\n{done.stderr[-2000:]}"
    )
    return done


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "-w",
        dist,
        ROOT,
        env=env,
    )
    [built] = dist.glob("*.whl")
    return built


def fresh_venv(path: Path) -> Path:
    venv.create(path, with_pip=True, symlinks=True)
    return path / "bin"


def test_the_wheel_gives_a_client_and_cli_that_need_only_the_core_dependencies(
    wheel: Path, tmp_path: Path
) -> None:
    bin_dir = fresh_venv(tmp_path / "venv")
    # Pinned to the versions the project tests with (requirements-dev.txt).
    pins = ("-c", ROOT / "requirements-dev.txt")
    run(bin_dir / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *pins, wheel)
    installed = run(bin_dir / "python", "-m", "pip", "list", "--format=freeze").stdout.lower()
    assert "starlette" not in installed and "uvicorn" not in installed
    run(
        bin_dir / "python",
        "-c",
        "import auth_hooks, kalshi_trade_api; from kalshi_trade_api.api.orders import get_order; "
        "from auth_hooks import make_client, amend_order, resolve_amend",
    )
    assert "exit" in run(bin_dir / "kalshi-amend", "--help").stdout.lower()


def test_the_local_exchange_extra_runs_the_demo_from_the_installed_wheel(wheel: Path, tmp_path: Path) -> None:
    bin_dir = fresh_venv(tmp_path / "venv")
    pins = ("-c", ROOT / "requirements-dev.txt")
    run(
        bin_dir / "python",
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        *pins,
        f"{wheel}[local-exchange]",
    )
    # Run from elsewhere, so nothing is imported from the repository itself.
    env = clean_env()
    demo = subprocess.run(
        [str(bin_dir / "python"), "-m", "kalshi_amend.demo"],
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT_S,
        cwd=tmp_path,
        env=env,
        check=False,
    )
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert '"fill_count"' in demo.stdout
