"""`make bench`: every client variant against one loopback server, then the report.

    .venv/bin/python -m bench [--seconds 0.35] [--rounds 4] [--no-peers] [--only a,b]

Progress goes to stderr; the report (Markdown) to stdout and to .bench/latest.md.
Exits 0 whether the targets pass or not (it is a measurement; --strict makes a FAIL exit 1).
A client that cannot run becomes a row saying why; only a broken harness stops the run.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import platform
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import report, startup
from bench import server as server_module
from bench.common import WORK_DIR, Context
from bench.envs import ensure_peers_venv, ensure_user_venv
from bench.keys import write_keys
from bench.proc import run_child
from bench.variants import VARIANTS, Variant

METHOD = """
- One server (bench/server.py: asyncio, HTTP/1.1 keep-alive, canned 200 amend response) in
  its own process on 127.0.0.1; every client in its own process, one after another, in
  {rounds} round(s), alternately forwards and backwards, whose samples are pooled.
  Nothing is pinned to a core: an opt-in background signer may use the second core, as it
  would in production.
- Per process: warm-up ({warmup} s, discarded), then `gc.collect(); gc.freeze()` with the
  collector left on, then each op timed alone with time.perf_counter_ns for {seconds} s.
- "-paced" rows wait 2 ms (untimed) before each amend, as a bot waits for the market:
  back to back, a background pre-signer has no idle time to work in.
- Async rows: 32 workers keep 32 amends in flight; a sample is one batch's wall time
  divided by its amends, so its median is a per-amend cost.
- The server checks every connection's first signature, then one in 256 (and the timestamp's
  freshness): a client that signs wrongly fails instead of looking fast.
- Same order, ticker, price and count everywhere; ours and the floors send the same V2 body
  and headers through httpx. The peers only have the V1 path: they send its body (side,
  action and client order ids too) and parse the two orders it returns.
- Kalshi's official SDK signs every request twice (in ApiClient.call_api and again in
  KalshiClient.update_params_for_auth): measured as it ships.
- Peak RSS is ru_maxrss of the child. Import is timed inside a fresh interpreter; start to
  first amend is spawn-to-exit wall time, median of {startup_runs} after a discarded one.
  "ours" runs in .bench/user-venv (requirements.txt plus the vendored packages, as a user
  installs it); "ours-dev-venv" is the same in the developer .venv, whose editable-install
  finder and rich/click (httpx then imports its CLI) users never pay for.
- Keys are fresh for each run: RSA-2048 PKCS#1 PEM and Ed25519 PKCS#8 PEM.
"""


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def machine_facts() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in ("httpx", "cryptography"))
    return {
        "date (`date -u`)": datetime.now(UTC).strftime("%a %b %d %H:%M:%S UTC %Y"),
        "machine": f"{cpu}, {len(os.sched_getaffinity(0))} cores, Linux {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()} ({versions})",
    }


def server_stats(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/__stats", timeout=5) as answer:
        stats: dict[str, Any] = json.load(answer)
    return stats


def run_variant(
    variant: Variant, python: Path, port: int, keys_dir: Path, args: argparse.Namespace
) -> dict[str, Any]:
    argv = [str(python), "-m", "bench.run_client", variant.name, "--port", str(port)]
    argv += ["--keys", str(keys_dir), "--seconds", str(args.seconds), "--warmup", str(args.warmup)]
    if args.min_ops is not None:
        argv += ["--min-ops", str(args.min_ops)]
    done = run_child(argv, timeout=60 + 20 * args.seconds)
    try:
        result: dict[str, Any] = json.loads(done.stdout)
    except ValueError:
        last = done.stderr.strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
        return {"variant": variant.name, "error": last[0], "maxrss_kb": done.maxrss_kb}
    if "error" in result:
        log(f"{variant.name} failed; its stderr:\n{done.stderr}")
    if result.get("samples_ns"):
        result["round_medians_ns"] = [report.median(result["samples_ns"])]
    result["maxrss_kb"] = done.maxrss_kb
    return result


def merge(into: dict[str, Any], more: dict[str, Any]) -> None:
    """Pool one more round's samples into a variant's result; the first problem sticks."""
    if not into:
        into.update(more)
    elif "samples_ns" in into and "samples_ns" in more:
        into["samples_ns"] += more["samples_ns"]
        into["round_medians_ns"] += more["round_medians_ns"]
        into["ops"] += more["ops"]
        into["maxrss_kb"] = max(into["maxrss_kb"], more["maxrss_kb"])
    elif "samples_ns" in into:
        into.clear()
        into.update(more)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__.splitlines()[0] if __doc__ else None
    )
    parser.add_argument("--seconds", type=float, default=0.35, help="timed seconds per variant per round")
    parser.add_argument("--warmup", type=float, default=0.1, help="warm-up seconds per process")
    parser.add_argument("--rounds", type=int, default=4, help="runs of every variant, pooled")
    parser.add_argument("--min-ops", type=int, default=None, help="minimum timed ops per process")
    parser.add_argument("--startup-runs", type=int, default=5, help="fresh processes per start-up probe")
    parser.add_argument("--no-peers", action="store_true", help="skip the PyPI peers (no install)")
    parser.add_argument("--only", default="*", help="comma-separated name patterns of variants and probes")
    parser.add_argument("--out", type=Path, default=WORK_DIR / "latest.md", help="Markdown report path")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target fails")
    return parser.parse_args(argv)


def prepare_envs(needed: set[str], no_peers: bool) -> tuple[dict[str, Path], dict[str, str]]:
    """The python of each needed environment, and why an environment or a peer is missing."""
    pythons = {"main": Path(sys.executable)}
    why_not: dict[str, str] = {}
    if "peers" in needed:
        if no_peers:
            why_not["peers"] = "skipped (--no-peers)"
        else:
            python, missing = ensure_peers_venv(log)
            why_not.update(missing)  # by peer: the other peer may still run
            if python is None:
                why_not["peers"] = "; ".join(sorted(set(missing.values())))
            else:
                pythons["peers"] = python
    if "user" in needed:
        python, problem = ensure_user_venv(log)
        if python is None:
            why_not["user"] = problem
        else:
            pythons["user"] = python
    return pythons, why_not


def run_variants(
    variants: list[Variant],
    pythons: dict[str, Path],
    why_not: dict[str, str],
    port: int,
    keys_dir: Path,
    args: argparse.Namespace,
) -> dict[str, dict[str, Any]]:
    results: dict[str, dict[str, Any]] = {}
    for round_number in range(1, args.rounds + 1):
        # Forwards, then backwards (see bench/variants/__init__.py).
        for variant in variants if round_number % 2 else variants[::-1]:
            python = pythons.get(variant.env)
            if python is None:
                results[variant.name] = {"unavailable": why_not[variant.env]}
                continue
            log(f"round {round_number}/{args.rounds}: {variant.name}")
            merge(results.setdefault(variant.name, {}), run_variant(variant, python, port, keys_dir, args))
    for variant in variants:
        row = results[variant.name]
        if variant.needs in why_not and "samples_ns" not in row:
            row["unavailable"] = why_not[variant.needs]  # pip's reason beats "No module named"
    return results


def run_probes(
    probes: list[startup.Probe], pythons: dict[str, Path], why_not: dict[str, str], ctx: Context, runs: int
) -> list[startup.ProbeResult]:
    done = []
    for probe in probes:
        python = pythons.get(probe.env)
        if python is None:
            done.append(startup.ProbeResult(probe.name, problem=why_not[probe.env]))
            continue
        log(f"start-up probe: {probe.name} x{runs}")
        done.append(startup.measure(probe, python, ctx, runs))
    return done


def run_facts(load_before: float, stats: dict[str, Any], began: float) -> dict[str, str]:
    facts = machine_facts()
    busy = " (other processes were busy: expect noise)" if load_before > 0.7 else ""
    facts["load average (1 min), start / end"] = f"{load_before:.2f} / {os.getloadavg()[0]:.2f}{busy}"
    rejected = f" (last: {stats['last_rejection']})" if stats["rejected"] else ""
    facts["server"] = (
        f"{stats['requests']} requests on {stats['connections']} connections, "
        f"{stats['verified']} signatures verified, {stats['rejected']} rejected{rejected}"
    )
    facts["bench time"] = f"{time.monotonic() - began:.0f} s"
    return facts


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began, load_before = time.monotonic(), os.getloadavg()[0]
    patterns = args.only.split(",")
    variants = [v for v in VARIANTS if any(fnmatch.fnmatch(v.name, p) for p in patterns)]
    probes = [pr for pr in startup.PROBES if any(fnmatch.fnmatch(pr.name, p) for p in patterns)]
    WORK_DIR.mkdir(exist_ok=True)
    pythons, why_not = prepare_envs({v.env for v in variants} | {p.env for p in probes}, args.no_peers)

    with tempfile.TemporaryDirectory(prefix="kalshi-bench-keys-") as tmp:
        keys_dir = Path(tmp)
        write_keys(keys_dir)
        server, port = server_module.start(keys_dir)
        try:
            results = run_variants(variants, pythons, why_not, port, keys_dir, args)
            ctx = Context(port, keys_dir, "rsa")  # the peers take only RSA keys
            probed = run_probes(probes, pythons, why_not, ctx, args.startup_runs)
            stats = server_stats(port)
        finally:
            assert server.stdin is not None
            server.stdin.close()
            server.wait(timeout=10)

    method = METHOD.format(
        rounds=args.rounds, warmup=args.warmup, seconds=args.seconds, startup_runs=args.startup_runs
    )
    text, checked = report.render(results, probed, run_facts(load_before, stats, began), method)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    log(f"wrote {args.out}")
    failed = [target for target in checked if target.verdict == "FAIL"]
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    sys.exit(main())
