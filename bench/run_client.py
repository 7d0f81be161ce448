"""One client in a process of its own; prints one JSON object on stdout.

    python -m bench.run_client CLIENT --keys DIR --ports JSON --cells rsa/http,ed25519/tls
    python -m bench.run_client CLIENT --keys DIR --ports JSON --latency --start-at EPOCH

A process per client keeps one client's imports, threads, pools and garbage away from the
next one's timings. Standard library only at module level: the peers' rows run this with
the peers' virtualenv.

Per amend (default): each cell (key/scheme) builds its own client, then bench.measure
times it; {"cells": {cell: {"samples_ns": [...]} | {"unavailable": why} | {"error": what}}}.

--latency: one RSA client over TLS through the latency proxy. At --start-at (wall clock,
shared by the clients run side by side, each given its own moment) it times the first
amend the client ever sends, then --steady amends back to back, then one more after
--idle seconds without a request: {"first_ns", "steady_ns": [...], "idle_ns"}.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from bench.clients import BY_NAME, Client
from bench.common import Context, Unavailable
from bench.measure import AsyncOp, Budget, time_async, time_sync


def _setup(client: Client) -> Any:
    module, _, function = client.setup.partition(":")
    return getattr(importlib.import_module(module), function)


async def _run_async(client: Client, ctx: Context, budget: Budget) -> list[int]:
    # Set up inside the running loop: async transports may bind to it when created.
    op: AsyncOp = _setup(client)(ctx)
    return await time_async(op, budget, client.in_flight)


def _guarded(run: Any) -> dict[str, Any]:
    """run()'s result, or why it could not run: a failure is a cell's text, not a crash."""
    try:
        result: dict[str, Any] = run()
    except Unavailable as exc:
        return {"unavailable": str(exc)}
    except Exception as exc:
        traceback.print_exc()
        return {"error": f"{type(exc).__name__}: {exc}"}
    return result


def run_cell(client: Client, ctx: Context, budget: Budget) -> dict[str, Any]:
    if client.in_flight:
        return _guarded(lambda: {"samples_ns": asyncio.run(_run_async(client, ctx, budget))})
    return _guarded(lambda: {"samples_ns": time_sync(_setup(client)(ctx), budget, client.pause_s)})


def run_latency(client: Client, ctx: Context, start_at: float, steady: int, idle_s: float) -> dict[str, Any]:
    def run() -> dict[str, Any]:
        op = _setup(client)(ctx)
        time.sleep(max(0.0, start_at - time.time()))
        clock = time.perf_counter_ns
        timed = []
        for _ in range(1 + steady):
            began = clock()
            op()
            timed.append(clock() - began)
        time.sleep(idle_s)
        began = clock()
        op()
        return {"first_ns": timed[0], "steady_ns": timed[1:], "idle_ns": clock() - began}

    return _guarded(run)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time one bench client")
    parser.add_argument("client", choices=sorted(BY_NAME))
    parser.add_argument("--keys", type=Path, required=True)
    parser.add_argument("--ports", type=json.loads, required=True, help='{"http": N, "tls": N, "proxy": N}')
    parser.add_argument("--cells", default="", help="comma-separated key/scheme, timed in this order")
    parser.add_argument("--seconds", type=float, default=Budget.seconds)
    parser.add_argument("--warmup", type=float, default=Budget.warmup_seconds)
    parser.add_argument("--min-ops", type=int, default=Budget.min_ops)
    parser.add_argument("--latency", action="store_true")
    parser.add_argument("--start-at", type=float, default=0.0)
    parser.add_argument("--steady", type=int, default=100)
    parser.add_argument("--idle", type=float, default=10.0)
    args = parser.parse_args(argv)
    client = BY_NAME[args.client]
    result: dict[str, Any]
    if args.latency:
        ctx = Context(args.ports["proxy"], args.keys, "rsa", tls=True)
        result = run_latency(client, ctx, args.start_at, args.steady, args.idle)
    else:
        budget = Budget(seconds=args.seconds, warmup_seconds=args.warmup, min_ops=args.min_ops)
        result = {"cells": {}}
        for cell in filter(None, args.cells.split(",")):
            key, scheme = cell.split("/")
            ctx = Context(args.ports[scheme], args.keys, key, tls=scheme == "tls")
            result["cells"][cell] = run_cell(client, ctx, budget)
    json.dump(result, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
