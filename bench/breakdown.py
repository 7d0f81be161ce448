"""Where sync clients' time goes: cProfile self-time grouped by layer, side by side.

    .venv/bin/python -m bench.breakdown ours ours-raw stdlib [--cell ed25519/http] [--ops 3000]

Starts its own bench server, warms each client up, profiles --ops amends of each, and
prints µs per amend in each layer (httpx, httpcore + h11, our pool, auth_hooks, generated code,
signing, socket I/O...) for every client, then the functions with the most self-time in
the first. cProfile inflates the cost of Python calls, so compare the columns and read
the shares, not the absolute numbers; the bench itself has the real times.
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
    ("/auth_hooks/http11.py", "auth_hooks pool and HTTP/1.1 (wire, http11, lane)"),
    ("/auth_hooks/wire", "auth_hooks pool and HTTP/1.1 (wire, http11, lane)"),
    ("/auth_hooks/lane.py", "auth_hooks pool and HTTP/1.1 (wire, http11, lane)"),
    ("_transport.py", "auth_hooks transport"),
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


def by_layer(profile: cProfile.Profile) -> dict[str, float]:
    # pstats keeps its table in an undocumented attribute: (file, line, function) -> timings.
    Timings = tuple[int, int, float, float, object]
    raw: dict[tuple[str, int, str], Timings] = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    layers: dict[str, float] = defaultdict(float)
    for (filename, _, function), (_, _, self_time, _, _) in raw.items():
        layers[layer_of(filename, function)] += self_time
    return layers


def main() -> None:
    parser = argparse.ArgumentParser(description="Profile sync bench clients by layer")
    sync_clients = [name for name, client in BY_NAME.items() if not client.in_flight and client.env == "main"]
    parser.add_argument("clients", nargs="+", choices=sync_clients)
    parser.add_argument("--cell", choices=CELLS, default="ed25519/http")
    parser.add_argument("--ops", type=int, default=3000)
    parser.add_argument("--top", type=int, default=15, help="functions to list by self-time")
    args = parser.parse_args()
    key, scheme = args.cell.split("/")
    profiles = {}
    with tempfile.TemporaryDirectory(prefix="kalshi-bench-keys-") as tmp:
        write_keys(Path(tmp))
        server, ports = server_module.start(Path(tmp))
        try:
            for name in args.clients:
                op = _setup(BY_NAME[name])(Context(ports[scheme], Path(tmp), key, tls=scheme == "tls"))
                for _ in range(300):
                    op()
                profiles[name] = profile = cProfile.Profile()
                profile.enable()
                for _ in range(args.ops):
                    op()
                profile.disable()
        finally:
            server_module.stop(server)
    layers = {name: by_layer(profile) for name, profile in profiles.items()}
    first = layers[args.clients[0]]
    print(f"{args.cell}, µs per amend under cProfile ({args.ops} amends each)\n")
    print("".join(f"{name:>10}" for name in args.clients) + "  layer")
    for layer in sorted(
        {layer for table in layers.values() for layer in table}, key=lambda x: -first.get(x, 0)
    ):
        cells = (f"{layers[name].get(layer, 0) / args.ops * 1e6:10.0f}" for name in args.clients)
        print("".join(cells) + f"  {layer}")
    print(
        "".join(f"{sum(layers[name].values()) / args.ops * 1e6:10.0f}" for name in args.clients) + "  total\n"
    )
    pstats.Stats(profiles[args.clients[0]]).sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
