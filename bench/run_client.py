"""One client variant, timed in a process of its own; prints one JSON object on stdout.

    python -m bench.run_client VARIANT --port N --keys DIR [--seconds S] [--warmup S]

A process per variant keeps one client's imports, threads, connection pools and garbage
away from the next one's timings. Standard library only at module level: the peers'
variants run this with the peers' virtualenv.

Output: {"variant", "samples_ns": [...], "ops", "maxrss_kb"} and, instead of samples,
"unavailable" (the client cannot run here: not a failure of the bench) or "error".
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import resource
import sys
import traceback
from pathlib import Path
from typing import Any

from bench.common import Context, Unavailable
from bench.measure import AsyncOp, Budget, time_async, time_sync
from bench.variants import BY_NAME, Variant

AMENDS_PER_WORKER = 8  # async batch = in_flight * this many amends


def _setup(variant: Variant) -> Any:
    module, _, function = variant.setup.partition(":")
    return getattr(importlib.import_module(module), function)


async def _run_async(variant: Variant, ctx: Context, budget: Budget) -> list[int]:
    # Set up inside the running loop: async transports may bind to it when created.
    op: AsyncOp = _setup(variant)(ctx)
    return await time_async(op, budget, variant.in_flight, AMENDS_PER_WORKER)


def run(variant: Variant, ctx: Context, budget: Budget) -> dict[str, Any]:
    result: dict[str, Any] = {"variant": variant.name}
    try:
        if variant.in_flight:
            samples = asyncio.run(_run_async(variant, ctx, budget))
            result["ops"] = len(samples) * variant.in_flight * AMENDS_PER_WORKER
        else:
            samples = time_sync(_setup(variant)(ctx), budget)
            result["ops"] = len(samples)
        result["samples_ns"] = samples
    except Unavailable as exc:
        result["unavailable"] = str(exc)
    except Exception as exc:  # any failure becomes the row's text, not a crash of the bench
        result["error"] = f"{type(exc).__name__}: {exc}"
        traceback.print_exc()
    # Linux reports kibibytes.
    result["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Time one bench variant")
    parser.add_argument("variant", choices=sorted(BY_NAME))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--keys", type=Path, required=True)
    parser.add_argument("--seconds", type=float, default=Budget.seconds)
    parser.add_argument("--warmup", type=float, default=Budget.warmup_seconds)
    parser.add_argument("--min-ops", type=int, default=Budget.min_ops)
    args = parser.parse_args(argv)
    variant = BY_NAME[args.variant]
    budget = Budget(
        seconds=args.seconds,
        warmup_seconds=args.warmup,
        min_ops=args.min_ops,
        pause_seconds=variant.pause_ms / 1000,
    )
    result = run(variant, Context(args.port, args.keys, variant.key), budget)
    json.dump(result, sys.stdout)
    return 1 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main())
