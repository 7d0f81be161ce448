"""Import time and process start to first completed amend, in fresh processes.

Import time is measured inside a fresh interpreter around the imports a user needs for an
amend (bench/probes/import_time.py), so it leaves out the interpreter's own start.
Start-to-first-amend is the wall clock from just before the spawn to the exit of a script
that imports, loads the key, makes the client and sends one amend: everything a cron job or
a freshly restarted bot pays. Each is run several times (after one discarded run that
writes .pyc files and warms the page cache) and the median is reported.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import Context
from bench.proc import run_child

PROBES_DIR = Path(__file__).resolve().parent / "probes"


@dataclass(frozen=True)
class Probe:
    name: str
    env: str  # "main" (.venv), "user" (.bench/user-venv) or "peers" (.bench/peers-venv)
    modules: tuple[str, ...]  # what a user's script imports to send an amend
    script: str  # start-to-first-amend script in bench/probes


OUR_MODULES = ("auth_hooks", "kalshi_trade_api.api.orders.amend_order_v2", "kalshi_trade_api.models")

PROBES: tuple[Probe, ...] = (
    # The targets use "ours": a user's environment (bench/envs.py says why not the .venv).
    Probe("ours", "user", OUR_MODULES, "first_amend_ours.py"),
    Probe("ours-dev-venv", "main", OUR_MODULES, "first_amend_ours.py"),
    Probe("official-sdk", "peers", ("kalshi_python_sync",), "first_amend_official.py"),
    Probe(
        "kalshi-py",
        "peers",
        ("kalshi_py", "kalshi_py.api.portfolio.amend_order", "kalshi_py.models"),
        "first_amend_kalshi_py.py",
    ),
)


@dataclass
class ProbeResult:
    name: str
    import_ns: list[int] = field(default_factory=list)
    first_amend_ns: list[int] = field(default_factory=list)
    maxrss_kb: list[int] = field(default_factory=list)  # of the first-amend processes
    problem: str = ""


def _env() -> dict[str, str]:
    # Users run with cached bytecode. With PYTHONDONTWRITEBYTECODE set (this machine sets
    # it), modules without a .pyc would be compiled on every start and the slowest to
    # compile would look slowest to import; unset, the discarded first run writes them.
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def measure(probe: Probe, python: Path, ctx: Context, runs: int) -> ProbeResult:
    result = ProbeResult(probe.name)
    env = _env()
    importer = [str(python), str(PROBES_DIR / "import_time.py"), *probe.modules]
    script = [str(python), str(PROBES_DIR / probe.script), ctx.base_url, str(ctx.key_path)]
    script.append(ctx.key_id)
    for run in range(runs + 1):
        imported = run_child(importer, timeout=60, env=env)
        if imported.returncode != 0:
            result.problem = f"import failed: {imported.stderr.strip().splitlines()[-1:]}"
            return result
        amended = run_child(script, timeout=60, env=env)
        if amended.returncode != 0:
            result.problem = f"first amend failed: {amended.stderr.strip().splitlines()[-1:]}"
            return result
        if run == 0:
            continue  # warm-up, discarded
        result.import_ns.append(int(imported.stdout))
        result.first_amend_ns.append(amended.wall_ns)
        result.maxrss_kb.append(amended.maxrss_kb)
    return result
