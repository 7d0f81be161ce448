"""Where one sync client's time goes: cProfile self-time grouped by layer.

    .venv/bin/python -m bench.breakdown ours [--cell ed25519/http] [--ops 3000] [--top 15]

Starts its own bench server, warms the client up, profiles --ops amends and prints the
share of each layer (httpx, httpcore + h11, auth_hooks, generated code, signing, socket
I/O...) and the functions with the most self-time. cProfile inflates the cost of Python
calls, so read the shares, not the absolute numbers; the bench itself has the real times.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
from collections import defaultdict
from pathlib import Path

from bench import server as server_module
from bench.clients import BY_NAME, CELLS
from bench.common import Context
from bench.keys import write_keys
from bench.run_client import _setup

# (substring of the file path, layer); the first match wins. Builtins ("~") are matched by
# the name of the function instead, see layer_of.
LAYERS = (
    ("/httpcore/", "httpcore + h11 (HTTP/1.1 on the socket)"),
    ("/h11/", "httpcore + h11 (HTTP/1.1 on the socket)"),
    ("/httpx/", "httpx client (URLs, headers, auth and hook plumbing, cookies)"),
    ("/auth_hooks/classify.py", "auth_hooks response checks"),
    ("/auth_hooks/call.py", "auth_hooks call path + amend checks"),
    ("/auth_hooks/outcomes.py", "auth_hooks call path + amend checks"),
    ("/auth_hooks/fixed_point.py", "auth_hooks call path + amend checks"),
    ("/auth_hooks/transports.py", "auth_hooks transport"),
    ("/auth_hooks/", "auth_hooks signing flow and client (without the signature)"),
    ("/kalshi_trade_api/", "generated code (kwargs, to_dict, parsing)"),
    ("/json/", "json"),
    ("/bench/", "bench loop"),
)


def layer_of(filename: str, function: str) -> str:
    if filename == "~":  # a builtin: name it by what it does
        if "socket" in function:
            return "socket I/O (includes waiting for the server)"
        if "'sign' of" in function:
            return "signature (cryptography)"
        return "builtins called by the layers above"
    for part, layer in LAYERS:
        if part in filename:
            return layer
    return "other standard library"


def main() -> None:
    parser = argparse.ArgumentParser(description="Profile one sync bench client by layer")
    sync_clients = sorted(
        name for name, client in BY_NAME.items() if not client.in_flight and client.env == "main"
    )
    parser.add_argument("client", choices=sync_clients)
    parser.add_argument("--cell", choices=CELLS, default="ed25519/http")
    parser.add_argument("--ops", type=int, default=3000)
    parser.add_argument("--top", type=int, default=15, help="functions to list by self-time")
    args = parser.parse_args()
    key, scheme = args.cell.split("/")
    with tempfile.TemporaryDirectory(prefix="kalshi-bench-keys-") as tmp:
        write_keys(Path(tmp))
        server, ports = server_module.start(Path(tmp))
        try:
            op = _setup(BY_NAME[args.client])(Context(ports[scheme], Path(tmp), key, tls=scheme == "tls"))
            for _ in range(300):
                op()
            profile = cProfile.Profile()
            profile.enable()
            for _ in range(args.ops):
                op()
            profile.disable()
        finally:
            server_module.stop(server)
    stats = pstats.Stats(profile)
    by_layer: dict[str, float] = defaultdict(float)
    # pstats keeps its table in an undocumented attribute: (file, line, function) -> timings.
    Timings = tuple[int, int, float, float, object]
    raw: dict[tuple[str, int, str], Timings] = stats.stats  # type: ignore[attr-defined]
    for (filename, _, function), (_, _, self_time, _, _) in raw.items():
        by_layer[layer_of(filename, function)] += self_time
    total = sum(by_layer.values())
    print(
        f"{args.client} {args.cell}: {args.ops} amends, {total / args.ops * 1e6:.0f} µs each under cProfile\n"
    )
    for layer, seconds in sorted(by_layer.items(), key=lambda item: -item[1]):
        print(f"{100 * seconds / total:5.1f}%  {layer}")
    print()
    stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
