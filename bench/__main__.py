"""`make bench`: every client against one set of loopback servers, then the report.

    .venv/bin/python -m bench [--rounds 3] [--seconds 0.3] [--only ours,stdlib] [--no-peers]

Progress goes to stderr; the report (Markdown) to stdout and to .bench/latest.md.
Exits 0 whether the targets pass or not (it is a measurement; --strict makes a FAIL exit 1).
A client that cannot run becomes a cell saying why; only a broken harness stops the run.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from bench import report
from bench import server as server_module
from bench.clients import CELLS, CLIENTS, Client
from bench.common import REPO, WORK_DIR, Context
from bench.envs import PEERS, ensure_peers_venv
from bench.keys import write_keys
from bench.ours import signer

METHOD = """
- One server process (bench/server.py, asyncio, HTTP/1.1 keep-alive, a canned 200 Amend
  Order V2 body) on 127.0.0.1, plain http and TLS (a throwaway CA that every client is
  told to trust), and a latency proxy in front of its TLS port. Every client runs in its
  own process, one after another, in {rounds} rounds, alternately forwards and backwards
  through the table and through its cells; the rounds' samples are pooled. Each target
  also shows the range of its ratio over the rounds' own medians: this 2-core machine is
  shared, and a target whose rounds disagree is flagged borderline.
- Per cell (key and scheme): the client is built as its README shows, warmed up for
  {warmup} s (discarded), then `gc.collect(); gc.freeze()` with the collector left on, then
  each amend timed alone with time.perf_counter_ns for {seconds} s. Async cells: 32 workers
  keep 32 amends in flight; a sample is one batch's wall time over its amends.
- Every client sends the same V2 amend (ticker, side, price, count) and parses the same
  answer into its own model. The server checks each connection's first signature, then one
  in 256 (timestamp freshness included): a client that signs wrongly fails, not looks fast.
- Kalshi's SDKs (kalshi-python-sync/-async 3.34.0) sign every request twice (in
  ApiClient.call_api and again in KalshiClient.update_params_for_auth): measured as they ship.
- The real network: every client of that table runs at the same time in its own process
  (RSA, TLS, through the proxy), each at its own moment {stagger} s apart: the first amend
  its new client sends, {steady} amends back to back, then one after {idle:g} s without a
  request, by when the proxy has closed the idle connection as an edge does. "ours-warm"
  calls auth_hooks.warm_up(client) (a Get Order of a missing order: a read) once made,
  and again whenever it has sent nothing for 4 s, as a bot keeps a connection warm. The
  CA file is certifi's bundle plus the bench CA: loading it costs what production's does.
- Keys are fresh for each run: RSA-2048 PKCS#1 PEM and Ed25519 PKCS#8 PEM.
"""
LATENCY_STAGGER_S = 0.3


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.3, help="timed seconds per cell per round")
    parser.add_argument("--warmup", type=float, default=0.1, help="warm-up seconds per cell")
    parser.add_argument("--rounds", type=int, default=4, help="runs of every client, pooled")
    parser.add_argument("--min-ops", type=int, default=20, help="minimum timed amends per sync cell")
    parser.add_argument("--rtt-ms", type=float, default=20.0, help="the latency proxy's round trip")
    parser.add_argument("--steady", type=int, default=100, help="steady amends behind the proxy")
    parser.add_argument("--idle", type=float, default=10.0, help="idle seconds before the last amend")
    parser.add_argument("--idle-close", type=float, default=5.0, help="the proxy closes idle connections (s)")
    parser.add_argument("--setup", type=float, default=4.0, help="s for the latency clients to start")
    parser.add_argument("--no-latency", action="store_true", help="skip the real-network runs")
    parser.add_argument("--no-peers", action="store_true", help="skip the PyPI peers (no install)")
    parser.add_argument("--only", default="*", help="comma-separated client name patterns")
    parser.add_argument("--out", type=Path, default=WORK_DIR / "latest.md", help="Markdown report path")
    parser.add_argument("--strict", action="store_true", help="exit 1 if a target fails")
    return parser.parse_args(argv)


def prepare_envs(clients: list[Client], no_peers: bool) -> tuple[dict[str, Path], dict[str, str]]:
    """The python of each environment, and why a peer is missing (by PyPI name or "peers")."""
    pythons = {"main": Path(sys.executable)}
    why_not: dict[str, str] = {}
    if any(client.env == "peers" for client in clients):
        if no_peers:
            why_not["peers"] = "skipped (--no-peers)"
        else:
            python, why_not = ensure_peers_venv(log)
            if python is None:
                why_not["peers"] = "; ".join(sorted(set(why_not.values())))
            else:
                pythons["peers"] = python
    return pythons, why_not


def child_argv(client: Client, python: Path, keys_dir: Path, ports: dict[str, int]) -> list[str]:
    return [
        str(python),
        "-m",
        "bench.run_client",
        client.name,
        "--keys",
        str(keys_dir),
        "--ports",
        json.dumps(ports),
    ]


def run_child(argv: list[str], timeout: float) -> dict[str, Any]:
    try:
        done = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"no answer within {timeout:.0f} s"}
    try:
        result: dict[str, Any] = json.loads(done.stdout)
    except ValueError:
        last = done.stderr.strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
        return {"error": last[0]}
    if done.stderr.strip():
        log(f"{argv[3]} said on stderr:\n{done.stderr.strip()}")
    return result


def run_matrix(
    clients: list[Client],
    pythons: dict[str, Path],
    why_not: dict[str, str],
    keys_dir: Path,
    ports: dict[str, int],
    args: argparse.Namespace,
) -> report.Cells:
    cells: report.Cells = {}
    for round_number in range(1, args.rounds + 1):
        forwards = round_number % 2 == 1
        for client in clients if forwards else clients[::-1]:
            mine = cells.setdefault(client.name, {})
            python = pythons.get(client.env)
            if python is None or client.needs in why_not:
                why = why_not.get(client.needs) or why_not[client.env]
                mine.update({cell: {"unavailable": why} for cell in CELLS})
                continue
            log(f"round {round_number}/{args.rounds}: {client.name}")
            argv = child_argv(client, python, keys_dir, ports)
            argv += ["--cells", ",".join(CELLS if forwards else CELLS[::-1]), "--seconds", str(args.seconds)]
            argv += ["--warmup", str(args.warmup), "--min-ops", str(args.min_ops)]
            result = run_child(argv, timeout=60 + 40 * args.seconds)
            for cell in CELLS:
                got = result.get("cells", {}).get(cell, result)
                pooled = mine.setdefault(cell, {})
                if got.get("samples_ns") and "unavailable" not in pooled and "error" not in pooled:
                    pooled.setdefault("samples_ns", []).extend(got["samples_ns"])
                    pooled.setdefault("round_medians_ns", []).append(report.median(got["samples_ns"]))
                elif not got.get("samples_ns"):  # the first problem sticks, and replaces samples
                    pooled.clear()
                    pooled.update(got)
    return cells


def run_latency(
    clients: list[Client],
    pythons: dict[str, Path],
    why_not: dict[str, str],
    keys_dir: Path,
    ports: dict[str, int],
    args: argparse.Namespace,
) -> dict[str, dict[str, Any]]:
    """All latency clients at once, each in its own process, each at its own moment."""
    results: dict[str, dict[str, Any]] = {}
    start = time.time() + args.setup
    running: list[tuple[Client, subprocess.Popen[bytes]]] = []
    for client in clients:
        python = pythons.get(client.env)
        if python is None or client.needs in why_not:
            results[client.name] = {"unavailable": why_not.get(client.needs) or why_not[client.env]}
            continue
        argv = child_argv(client, python, keys_dir, ports)
        argv += ["--latency", "--start-at", str(start + len(running) * LATENCY_STAGGER_S)]
        argv += ["--steady", str(args.steady), "--idle", str(args.idle)]
        running.append(
            (client, subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE))
        )
    log(
        f"real network: {', '.join(client.name for client, _ in running)} side by side, about "
        f"{args.setup + args.idle + args.steady * args.rtt_ms / 800:.0f} s"
    )
    limit = args.setup + args.idle + args.steady * args.rtt_ms / 100 + 60
    for client, child in running:
        try:
            out, err = child.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            child.kill()
            out, err = child.communicate()
        if err.strip():
            log(f"{client.name} (real network) said on stderr:\n{err.decode().strip()}")
        try:
            results[client.name] = json.loads(out)
        except ValueError:
            results[client.name] = {"error": (err.decode().strip().splitlines() or ["no output"])[-1]}
    return results


def signature_costs(keys_dir: Path) -> str:
    """What one signature costs, in this process: the floor under every client's amend."""
    costs = []
    for kind in ("rsa", "ed25519"):
        sign, message = signer(Context(0, keys_dir, kind)), b"1764028800123POST/trade-api/v2/x"
        began = time.perf_counter_ns()
        for _ in range(100):
            sign(message)
        costs.append(f"{kind} {(time.perf_counter_ns() - began) / 100e3:.0f} µs")
    return ", ".join(costs)


def machine_facts() -> dict[str, str]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "unknown",
    )
    ours = ", ".join(
        f"{name} {metadata.version(name)}" for name in ("httpx", "httpx-aiohttp", "aiohttp", "cryptography")
    )
    return {
        "date (`date -u`)": datetime.now(UTC).strftime("%a %b %d %H:%M:%S UTC %Y"),
        "machine": f"{cpu}, {len(os.sched_getaffinity(0))} cores, Linux {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()} ({ours})",
        "peers": ", ".join(PEERS.values()) + " (pip --ignore-requires-python)",
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    began, load_before = time.monotonic(), os.getloadavg()[0]
    patterns = args.only.split(",")
    clients = [c for c in CLIENTS if any(fnmatch.fnmatch(c.name, p) for p in patterns)]
    WORK_DIR.mkdir(exist_ok=True)
    pythons, why_not = prepare_envs(clients, args.no_peers)
    with tempfile.TemporaryDirectory(prefix="kalshi-bench-keys-") as tmp:
        keys_dir = Path(tmp)
        write_keys(keys_dir)
        server, ports = server_module.start(keys_dir, args.rtt_ms, args.idle_close)
        try:
            matrix = [c for c in clients if c.matrix]
            cells = run_matrix(matrix, pythons, why_not, keys_dir, ports, args)
            latency = {}
            if not args.no_latency:
                behind_proxy = [c for c in clients if c.latency]
                latency = run_latency(behind_proxy, pythons, why_not, keys_dir, ports, args)
            with urllib.request.urlopen(f"http://127.0.0.1:{ports['http']}/__stats", timeout=5) as answer:
                stats = json.load(answer)
            facts = machine_facts()
            facts["signature alone"] = signature_costs(keys_dir)
        finally:
            server_module.stop(server)
    busy = " (other processes were busy: expect noise)" if load_before > 0.7 else ""
    facts["load average (1 min), start / end"] = f"{load_before:.2f} / {os.getloadavg()[0]:.2f}{busy}"
    rejected = f" (last: {stats['last_rejection']})" if stats["rejected"] else ""
    facts["server"] = (
        f"{stats['requests']} requests on {stats['connections']} connections, "
        f"{stats['verified']} signatures verified, {stats['rejected']} rejected{rejected}"
    )
    rtt_ms = args.rtt_ms
    if stats["proxy_chunks"]:
        # A round trip through the proxy is its delay plus its timers' lateness each way.
        late_ms = 1e3 * stats["proxy_late_s"] / stats["proxy_chunks"]
        rtt_ms += 2 * late_ms
        facts["latency proxy"] = (
            f"{args.rtt_ms:g} ms round trip; {stats['proxy_chunks']} chunks forwarded, each {late_ms:.2f} ms "
            f"late on average: a round trip is {rtt_ms:.1f} ms, the unit of the real-network table"
        )
    facts["bench time"] = f"{time.monotonic() - began:.0f} s"
    method = METHOD.format(
        rounds=args.rounds,
        warmup=args.warmup,
        seconds=args.seconds,
        stagger=LATENCY_STAGGER_S,
        steady=args.steady,
        idle=args.idle,
    )
    text, checked = report.render(cells, latency, facts, method, rtt_ms)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text + "\n")
    log(f"wrote {args.out}")
    return 1 if args.strict and any(target.verdict == "FAIL" for target in checked) else 0


if __name__ == "__main__":
    sys.exit(main())
