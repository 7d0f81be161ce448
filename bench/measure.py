"""Timing loops, run inside the client's own process. Standard library only.

Method, the same for every client:
- warm-up first (connections opened, caches and lazy imports filled), and discarded;
- then `gc.collect(); gc.freeze()`: everything made during set-up and warm-up is moved out of
  the collector's reach, so a full collection does not walk the import graph in the middle
  of the timed loop. The collector stays ENABLED: the garbage a client makes per request,
  and the young-generation collections it causes, are part of its real cost;
- each op is timed alone with time.perf_counter_ns until the time budget is spent (with a
  floor on the count), so fast and slow clients both get stable medians.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

SyncOp = Callable[[], object]
AsyncOp = Callable[[], Awaitable[object]]


@dataclass(frozen=True)
class Budget:
    seconds: float = 0.3  # timed part, per cell
    warmup_seconds: float = 0.1
    min_ops: int = 20


def _settle() -> None:
    gc.collect()
    gc.freeze()


def time_sync(op: SyncOp, budget: Budget, pause_s: float = 0.0) -> list[int]:
    """Per-op durations in ns of `op()` called back to back, or `pause_s` apart (untimed)."""
    clock = time.perf_counter_ns
    stop = clock() + int(budget.warmup_seconds * 1e9)
    done = 0
    while done < 3 or clock() < stop:
        op()
        done += 1
    _settle()
    samples: list[int] = []
    stop = clock() + int(budget.seconds * 1e9)
    end = 0
    while len(samples) < budget.min_ops or end < stop:
        if pause_s:
            time.sleep(pause_s)
        start = clock()
        op()
        end = clock()
        samples.append(end - start)
    return samples


async def _batch(op: AsyncOp, in_flight: int, per_worker: int) -> None:
    # `in_flight` workers each await `per_worker` amends in turn: exactly `in_flight` requests
    # are outstanding at every moment, without a task and a semaphore wait per amend.
    async def worker() -> None:
        for _ in range(per_worker):
            await op()

    await asyncio.gather(*(worker() for _ in range(in_flight)))


async def time_async(op: AsyncOp, budget: Budget, in_flight: int, per_worker: int = 3) -> list[int]:
    """Per-amend cost in ns (batch wall time / amends in the batch), one sample per batch."""
    clock = time.perf_counter_ns
    count = in_flight * per_worker
    stop = clock() + int(budget.warmup_seconds * 1e9)
    done = 0
    while done < 1 or clock() < stop:
        await _batch(op, in_flight, per_worker)
        done += 1
    _settle()
    samples: list[int] = []
    stop = clock() + int(budget.seconds * 1e9)
    end = 0
    while len(samples) < 2 or end < stop:
        start = clock()
        await _batch(op, in_flight, per_worker)
        end = clock()
        samples.append((end - start) // count)
    return samples
