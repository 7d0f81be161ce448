"""A bounded soak: 840 signed amends through the fault proxy, every verdict checked
against what the exchange applied (tests/soak/bed.py has the plan, the ground truth and
the rules). Sync amends share one client across threads; async ones alternate between
the aiohttp and httpx pools; each runs over plain http and over TLS.

Unknown outcomes are resolved with the same client, so the reads go through the proxy
too, which faults them only where the plan says. The seed and the counts are printed in
the summary at the end of the run; ``SOAK_SEED=<n>`` replays a run.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import ssl
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from kalshi_trade_api.client import AuthenticatedClient

from auth_hooks import (
    AmendNotApplied,
    KalshiAuth,
    KalshiClient,
    NotSent,
    OrderClosed,
    OutcomeUnknown,
    Rejected,
    Resolution,
    ResolvedAmend,
    amend_order,
    amend_order_async,
    load_private_key,
    make_client,
    resolve_amend,
    resolve_amend_async,
)
from local_exchange import Exchange, serve
from tests.soak.bed import (
    BOT_KEY,
    REPORTS,
    Attempt,
    Claim,
    PlannedSchedule,
    judge,
    place_and_plan,
    report,
    setup_exchange,
)
from tests.support.fault_proxy import FaultProxy
from tests.support.keys import KeyFiles

SEED = int(os.environ.get("SOAK_SEED", "20261202"))
ORDERS = 100  # per test over plain http
TLS_ORDERS = 40  # per test over TLS: the same faults, seen through TLS
ATTEMPTS_PER_ORDER = 3
SYNC_THREADS = 8
ASYNC_TASKS = 24
ASYNC_BACKENDS = ("auto", "aiohttp", "httpx")  # orders alternate between the three async pools
# Short, so that a DELAY fault costs little; a pass-through amend slower than this on a
# loaded box only turns into one more unknown outcome, which the judge handles.
TIMEOUT = httpx.Timeout(2.5)
# How long the proxy holds a DELAY answer if a client never gives up.
HOLD_S = 30.0

RESOLUTION_CLAIMS = {
    Resolution.APPLIED: Claim.APPLIED,
    Resolution.NOT_APPLIED_WHEN_READ: Claim.NOT_APPLIED_WHEN_READ,
    Resolution.ORDER_CLOSED: Claim.ORDER_CLOSED,
    Resolution.STILL_UNKNOWN: Claim.UNKNOWN,
}


def bed(
    key_files: dict[str, KeyFiles], name: str, orders: int
) -> tuple[Exchange, list[list[Attempt]], PlannedSchedule]:
    # The write bucket is Kalshi's defence against floods; this soak is not about it.
    exchange = Exchange(write_bucket_size=1e9, write_refill_per_s=1e9)
    setup_exchange(exchange, key_files["ed25519"].public_pem)
    plans = place_and_plan(exchange, random.Random(f"{SEED}-{name}"), orders, ATTEMPTS_PER_ORDER)
    return exchange, plans, PlannedSchedule(plans)


def bot_auth(key_files: dict[str, KeyFiles]) -> KalshiAuth:
    return KalshiAuth(BOT_KEY, load_private_key(key_files["ed25519"].path))


def record_resolved(attempt: Attempt, resolution: object, verdict: str) -> None:
    attempt.resolution = resolution
    kind = getattr(resolution, "kind", None)
    attempt.claim = RESOLUTION_CLAIMS[kind] if isinstance(kind, Resolution) else None
    attempt.verdict = f"{verdict} -> {kind.name if isinstance(kind, Resolution) else kind}"
    if kind is Resolution.STILL_UNKNOWN or resolution is None:
        return
    # The order as read, parsed and raw, so the bot needs no second call.
    order = getattr(resolution, "order", None)
    content = getattr(resolution, "content", None)
    raw = json.loads(content)["order"]["order_id"] if isinstance(content, bytes) else None
    if getattr(order, "order_id", None) != attempt.order_id or raw != attempt.order_id:
        attempt.notes.append(f"resolution {kind} carries the order {order!r}, raw {content!r}")
    if getattr(resolution, "read_at", None) is None:
        attempt.notes.append(f"resolution {kind} has no read time")


def record_exception(attempt: Attempt, exc: Exception) -> None:
    """Records a verdict raised as an exception."""
    attempt.sent_client_id = getattr(exc, "updated_client_order_id", None)
    if isinstance(exc, AmendNotApplied | OrderClosed):
        record_resolved(attempt, exc.resolution, type(exc).__name__)
    elif isinstance(exc, OutcomeUnknown):  # resolve=True, and the read failed too
        record_resolved(attempt, getattr(exc, "resolution", None), "OutcomeUnknown")
    elif isinstance(exc, NotSent):
        attempt.claim, attempt.verdict = Claim.NOT_APPLIED, "NotSent"
    elif isinstance(exc, Rejected):
        attempt.claim, attempt.verdict = Claim.NOT_APPLIED, f"Rejected {exc.status}"
    else:
        attempt.notes.append(f"raised {type(exc).__name__}: {exc}")


def record_result(attempt: Attempt, result: object) -> None:
    if isinstance(result, ResolvedAmend):
        record_resolved(attempt, result.resolution, "ResolvedAmend")
        attempt.sent_client_id = result.updated_client_order_id
    else:
        attempt.claim, attempt.verdict = Claim.APPLIED, "200"
        if attempt.in_call or attempt.client_id is not None:  # the order now carries the id sent
            attempt.sent_client_id = getattr(result, "client_order_id", None)


def run_sync(
    client: AuthenticatedClient, proxy: FaultProxy, schedule: PlannedSchedule, plan: Sequence[Attempt]
) -> None:
    for attempt in plan:
        schedule.running[attempt.order_id] = attempt
        start = len(proxy.records())
        try:
            if attempt.in_call:
                result = amend_order(client, attempt.order_id, attempt.body(), resolve=True)
            else:
                result = amend_order(client, attempt.order_id, attempt.body())
            record_result(attempt, result)
        except OutcomeUnknown as unknown:
            if attempt.in_call:
                record_exception(attempt, unknown)
            else:
                attempt.sent_client_id = unknown.updated_client_order_id
                record_resolved(attempt, resolve_amend(client, unknown), "OutcomeUnknown, resolve_amend")
        except Exception as exc:
            record_exception(attempt, exc)
        finally:
            attempt.window = (start, len(proxy.records()))
            del schedule.running[attempt.order_id]


async def run_async(
    client: AuthenticatedClient, proxy: FaultProxy, schedule: PlannedSchedule, plan: Sequence[Attempt]
) -> None:
    for attempt in plan:
        schedule.running[attempt.order_id] = attempt
        start = len(proxy.records())
        try:
            if attempt.in_call:
                result = await amend_order_async(client, attempt.order_id, attempt.body(), resolve=True)
            else:
                result = await amend_order_async(client, attempt.order_id, attempt.body())
            record_result(attempt, result)
        except OutcomeUnknown as unknown:
            if attempt.in_call:
                record_exception(attempt, unknown)
            else:
                attempt.sent_client_id = unknown.updated_client_order_id
                resolution = await resolve_amend_async(client, unknown)
                record_resolved(attempt, resolution, "OutcomeUnknown, resolve_amend_async")
        except Exception as exc:
            record_exception(attempt, exc)
        finally:
            attempt.window = (start, len(proxy.records()))
            del schedule.running[attempt.order_id]


def settle(proxy: FaultProxy) -> None:
    """Waits for requests still on their way (FORWARD_LATE) to reach the exchange."""
    assert proxy.wait_settled(timeout=HOLD_S + 30), "the proxy still holds requests"


def finish(
    name: str, exchange: Exchange, plans: list[list[Attempt]], proxy: FaultProxy, began: float
) -> None:
    problems, tally = judge(exchange, plans, proxy.records())
    REPORTS.append(report(name, SEED, plans, tally, time.monotonic() - began))
    assert not problems, f"SOAK_SEED={SEED}: {len(problems)} contradictions:\n" + "\n".join(problems[:40])


@dataclass(frozen=True)
class Wire:
    """How the client reaches the proxy: plain http, or TLS trusting a throwaway CA."""

    name: str
    orders: int
    tls: ssl.SSLContext | None = None
    ca_path: str | None = None

    def client(self, auth: KalshiAuth, proxy: FaultProxy, **options: Any) -> KalshiClient:
        verify = self.ca_path if self.ca_path is not None else True
        return make_client(
            auth, base_url=proxy.base_url, timeout=TIMEOUT, trust_env=False, verify=verify, **options
        )


@pytest.fixture(params=["http", "tls"])
def wire(request: pytest.FixtureRequest) -> Wire:
    if request.param == "http":
        return Wire("http", ORDERS)
    context, ca_path = request.getfixturevalue("proxy_tls")
    return Wire("tls", TLS_ORDERS, context, ca_path)


def test_soak_sync(key_files: dict[str, KeyFiles], wire: Wire) -> None:
    began = time.monotonic()
    exchange, plans, schedule = bed(key_files, f"sync-{wire.name}", wire.orders)
    auth = bot_auth(key_files)
    with (
        serve(exchange) as server,
        FaultProxy(server.root_url, schedule, hold_s=HOLD_S, tls=wire.tls) as proxy,
    ):
        with wire.client(auth, proxy) as client, ThreadPoolExecutor(SYNC_THREADS) as pool:
            for done in [pool.submit(run_sync, client, proxy, schedule, plan) for plan in plans]:
                done.result()
        settle(proxy)
    auth.close()
    finish(f"sync over {wire.name}", exchange, plans, proxy, began)


async def test_soak_async(key_files: dict[str, KeyFiles], wire: Wire) -> None:
    began = time.monotonic()
    exchange, plans, schedule = bed(key_files, f"async-{wire.name}", wire.orders)
    auth = bot_auth(key_files)
    with (
        serve(exchange) as server,
        FaultProxy(server.root_url, schedule, hold_s=HOLD_S, tls=wire.tls) as proxy,
    ):
        # Both async pools a bot can get: aiohttp's (the default) and httpx's own.
        clients = [wire.client(auth, proxy, async_backend=backend) for backend in ASYNC_BACKENDS]
        queue = [(clients[n % len(clients)], plan) for n, plan in enumerate(plans)]

        async def worker() -> None:
            while queue:
                client, plan = queue.pop()
                await run_async(client, proxy, schedule, plan)

        try:
            await asyncio.gather(*(worker() for _ in range(ASYNC_TASKS)))
        finally:
            for client in clients:
                await client.aclose()
        await asyncio.to_thread(settle, proxy)
    auth.close()
    finish(f"async (aiohttp and httpx pools) over {wire.name}", exchange, plans, proxy, began)
