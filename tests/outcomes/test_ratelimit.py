"""429: rejected and surfaced at once by default; an opt-in bounded retry for 429 only;
an opt-in client-side write token bucket that keeps a bot from getting 429s at all."""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections.abc import Callable

import pytest

from auth_hooks import (
    AMEND_TOKEN_COST,
    Conflict,
    InvalidRequest,
    KalshiAuth,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    RetryOn429,
    WriteTokenBucket,
    amend_order,
    amend_order_async,
    make_client,
)
from tests.support.keys import KeyFiles
from tests.support.verifying_server import Received, Reply, SignatureCheckingServer, ok_reply

from .conftest import KEY_ID
from .helpers import MODES, amend, body

TOO_MANY: Reply = (
    429,
    {"Content-Type": "application/json"},
    json.dumps({"error": "too many requests"}).encode(),
)


def scripted(*statuses: int) -> Callable[[Received], Reply]:
    """Answers the n-th signed request with the n-th status (429, 500, 400 or 200); the last repeats."""
    count = 0
    lock = threading.Lock()

    def respond(request: Received) -> Reply:
        nonlocal count
        with lock:
            status = statuses[min(count, len(statuses) - 1)]
            count += 1
        if status == 200:
            return ok_reply(request)
        if status == 429:
            return TOO_MANY
        return status, {"Content-Type": "application/json"}, json.dumps({"error": {"code": "x"}}).encode()

    return respond


def server_for(
    key_files: dict[str, KeyFiles], respond: Callable[[Received], Reply]
) -> SignatureCheckingServer:
    return SignatureCheckingServer({KEY_ID: key_files["ed25519"].public_pem}, respond=respond)


# -- 429 without any opt-in --------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_429_is_rate_limited_at_once_by_default(
    key_files: dict[str, KeyFiles], ed_auth: KalshiAuth, mode: str
) -> None:
    with server_for(key_files, scripted(429, 200)).running() as server:
        with pytest.raises(RateLimited) as caught:
            amend(mode, ed_auth, server.base_url)
        assert len(server.received) == 1
    exc = caught.value
    assert isinstance(exc, Rejected) and exc.status == 429 and exc.message == "too many requests"


# -- RetryOn429 ----------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_retry_on_429_resends_after_a_jittered_backoff(
    key_files: dict[str, KeyFiles], ed_auth: KalshiAuth, mode: str
) -> None:
    retry = RetryOn429(max_attempts=3, base_delay_s=0.05, max_delay_s=1.0, rng=random.Random(7))
    with server_for(key_files, scripted(429, 429, 200)).running() as server:
        started = time.monotonic()
        [result] = amend(mode, ed_auth, server.base_url, call={"rate_limit_retry": retry})
        elapsed = time.monotonic() - started
        assert result.order_id == "ord-1"
        assert [r.verdict for r in server.received] == ["ok"] * 3
        # Each re-send is signed afresh.
        assert len({r.headers["kalshi-access-signature"] for r in server.received}) == 3
    # Waits of [0.025, 0.05] then [0.05, 0.1] seconds (equal jitter).
    assert 0.075 <= elapsed < 1.0


@pytest.mark.parametrize("mode", MODES)
def test_retry_on_429_gives_up_after_max_attempts(
    key_files: dict[str, KeyFiles], ed_auth: KalshiAuth, mode: str
) -> None:
    retry = RetryOn429(max_attempts=3, base_delay_s=0.01, max_delay_s=0.02)
    with server_for(key_files, scripted(429)).running() as server:
        with pytest.raises(RateLimited) as caught:
            amend(mode, ed_auth, server.base_url, call={"rate_limit_retry": retry})
        assert len(server.received) == 3
    assert "after 3 attempts" in str(caught.value)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("status", "expected"),
    [(500, OutcomeUnknown), (503, OutcomeUnknown), (400, InvalidRequest), (409, Conflict)],
)
def test_retry_on_429_never_resends_anything_else(
    key_files: dict[str, KeyFiles],
    ed_auth: KalshiAuth,
    mode: str,
    status: int,
    expected: type[Exception],
) -> None:
    retry = RetryOn429(max_attempts=5, base_delay_s=0.01, max_delay_s=0.02)
    with server_for(key_files, scripted(status, 200)).running() as server:
        with pytest.raises(expected) as caught:
            amend(mode, ed_auth, server.base_url, call={"rate_limit_retry": retry})
        assert type(caught.value) is expected
        assert len(server.received) == 1


def test_retry_delays_are_bounded_jittered_and_never_zero() -> None:
    retry = RetryOn429(max_attempts=10, base_delay_s=0.05, max_delay_s=1.0, rng=random.Random(1))
    for attempt in range(1, 200):
        ceiling = min(1.0, 0.05 * 2 ** min(attempt - 1, 30))
        delays = {retry.delay_s(attempt) for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(delays) > 1  # jittered
    assert retry.delay_s(10**6) <= 1.0  # no overflow for absurd attempt numbers


@pytest.mark.parametrize(
    "kwargs",
    [{"max_attempts": 0}, {"base_delay_s": -1.0}, {"base_delay_s": 2.0, "max_delay_s": 1.0}],
)
def test_retry_refuses_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match=r"max_attempts|delay"):
        RetryOn429(**kwargs)  # type: ignore[arg-type]


# -- WriteTokenBucket, with an injected clock -------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_basic_tier_numbers_come_from_kalshi_facts() -> None:
    # kalshi-facts.md: amend costs 10 write tokens; Basic: 100 per second, bucket holds 2 s.
    bucket = WriteTokenBucket.for_tier("basic")
    assert (bucket.refill_per_s, bucket.capacity, AMEND_TOKEN_COST) == (100.0, 200.0, 10)
    assert (WriteTokenBucket().refill_per_s, WriteTokenBucket().capacity) == (100.0, 200.0)
    # One amend's worth is kept back from the burst (for a request that arrives late).
    assert bucket.burst == 190.0 and WriteTokenBucket.for_tier("basic", margin=0).burst == 200.0
    with pytest.raises(ValueError, match="unknown tier"):
        WriteTokenBucket.for_tier("platinum")


def test_a_full_basic_bucket_allows_19_amends_then_one_every_100_ms() -> None:
    fake = FakeTime()
    bucket = WriteTokenBucket.for_tier("basic", clock=fake.clock, sleep=fake.sleep)
    assert [bucket.acquire() for _ in range(19)] == [0.0] * 19
    assert fake.slept == []
    waits = [bucket.acquire() for _ in range(5)]
    assert waits == pytest.approx([0.1] * 5)
    assert fake.now == pytest.approx(1000.5)
    fake.now += 10  # idle: refills to the burst and no further
    assert bucket.available == pytest.approx(190.0)


@pytest.mark.parametrize(("margin", "refused"), [(0, 1), (AMEND_TOKEN_COST, 0)])
def test_the_margin_covers_an_amend_that_reaches_the_exchange_late(margin: float, refused: int) -> None:
    # One clock for both sides. The exchange charges on arrival; the first amend takes
    # 0.3 s to arrive (a cold connection), during which our bucket refills to full.
    fake = FakeTime()
    exchange = WriteTokenBucket.for_tier("basic", margin=0, clock=fake.clock)
    ours = WriteTokenBucket.for_tier("basic", margin=margin, clock=fake.clock, sleep=fake.sleep)
    ours.acquire()
    fake.now += 0.3
    refusals = 0 if exchange.try_acquire() else 1
    while ours.try_acquire():  # then a burst of everything our bucket allows, arriving at once
        refusals += 0 if exchange.try_acquire() else 1
    assert refusals == refused


def test_try_acquire_drain_and_bad_costs() -> None:
    fake = FakeTime()
    bucket = WriteTokenBucket(100, 20, margin=0, clock=fake.clock, sleep=fake.sleep)
    assert bucket.try_acquire() and bucket.try_acquire()
    assert not bucket.try_acquire()
    fake.now += 0.1
    assert bucket.try_acquire()
    fake.now += 0.2
    bucket.drain()  # after a 429: the exchange's bucket is empty, so is ours
    assert bucket.available == 0.0 and not bucket.try_acquire()
    fake.now -= 5  # a clock stepping back neither refills nor drains
    assert bucket.available == 0.0
    for cost in (0, -1, 21):
        with pytest.raises(ValueError, match="cost must be"):
            bucket.acquire(cost)
    with pytest.raises(ValueError, match="positive"):
        WriteTokenBucket(0, 10)
    with pytest.raises(ValueError, match="margin"):
        WriteTokenBucket(1, 10, margin=10)


def test_bucket_is_thread_safe_and_paces_to_the_rate() -> None:
    # Real time: 8 threads x 25 one-token acquires from a 10-token bucket refilling
    # 1000/s must take at least (200 - 10) / 1000 s, and hand out every token once.
    bucket = WriteTokenBucket(1000, 10, margin=0)
    started = time.monotonic()
    threads = [threading.Thread(target=lambda: [bucket.acquire(1) for _ in range(25)]) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    assert 0.19 <= elapsed < 1.5
    assert bucket.available <= 10


async def test_bucket_async_paces_and_gives_back_cancelled_tokens() -> None:
    bucket = WriteTokenBucket(1000, 10, margin=0)
    started = time.monotonic()
    await asyncio.gather(*(bucket.acquire_async(1) for _ in range(110)))
    assert 0.095 <= time.monotonic() - started < 1.0
    # A waiter cancelled while it waits returns its reservation.
    before = bucket.available
    waiter = asyncio.create_task(bucket.acquire_async(10))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert bucket.available >= before


# -- the bucket against an exchange that enforces the same limit ----------------------


class ServerBucket:
    """The exchange side: a token bucket per key, 429 when it is empty."""

    def __init__(self, refill_per_s: float, capacity: float) -> None:
        self.bucket = WriteTokenBucket(refill_per_s, capacity, margin=0)
        self.limited = 0

    def __call__(self, request: Received) -> Reply:
        if self.bucket.try_acquire(AMEND_TOKEN_COST):
            return ok_reply(request)
        self.limited += 1
        return TOO_MANY


def test_the_write_bucket_avoids_429s_from_threads_and_tasks_at_once(
    key_files: dict[str, KeyFiles], ed_auth: KalshiAuth
) -> None:
    # A scaled-down tier (Basic's 100 tokens/s would take seconds): 400 tokens/s, a bucket
    # of 5 amends. The margin (one amend) absorbs 25 ms of lateness at this rate; more
    # than that (a starved event loop) can still meet a 429, which is why retry exists.
    exchange = ServerBucket(400, 50)
    shared = WriteTokenBucket(400, 50)
    with server_for(key_files, exchange).running() as server:
        client = make_client(ed_auth, base_url=server.base_url)
        errors: list[BaseException] = []
        go = threading.Event()

        # Distinct orders: Ed25519 signatures are deterministic, so two amends of one order
        # in the same millisecond would carry the same signature (the server refuses that).
        def sync_amends(thread: int) -> None:
            go.wait(5)
            try:
                for i in range(5):
                    amend_order(client, f"ord-{thread}-{i}", body(), write_bucket=shared)
            except BaseException as exc:
                errors.append(exc)

        async def async_amends() -> None:
            await amend_order_async(client, "warm-up", body(), write_bucket=shared)
            go.set()
            await asyncio.gather(
                *(amend_order_async(client, f"ord-a{i}", body(), write_bucket=shared) for i in range(24))
            )
            await client.aclose()

        threads = [threading.Thread(target=sync_amends, args=(n,)) for n in range(2)]
        amend_order(client, "warm-up", body(), write_bucket=shared)
        started = time.monotonic()
        for thread in threads:
            thread.start()
        asyncio.run(async_amends())
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        client.close()
        assert errors == []
        assert exchange.limited == 0 and len(server.received) == 36
    assert elapsed >= (34 - 5) * AMEND_TOKEN_COST / 400 * 0.9


def test_without_the_bucket_a_burst_gets_429s(key_files: dict[str, KeyFiles], ed_auth: KalshiAuth) -> None:
    exchange = ServerBucket(100, 50)
    with server_for(key_files, exchange).running() as server:

        async def burst() -> list[object]:
            client = make_client(ed_auth, base_url=server.base_url)
            try:
                return await asyncio.gather(
                    *(amend_order_async(client, f"ord-{i}", body()) for i in range(30)),
                    return_exceptions=True,
                )
            finally:
                await client.aclose()

        results = asyncio.run(burst())
        limited = [r for r in results if isinstance(r, RateLimited)]
        assert len(limited) >= 10 and exchange.limited == len(limited)  # 300 tokens asked, ~60 there
        assert all(not isinstance(r, BaseException) or isinstance(r, RateLimited) for r in results)


def test_a_429_drains_the_bucket_and_retry_then_waits_for_it(
    key_files: dict[str, KeyFiles], ed_auth: KalshiAuth
) -> None:
    # Another process (not using our bucket) emptied the exchange's bucket: our first
    # amend gets a 429, which drains our bucket, so the retry waits for real tokens
    # (10 tokens at 200 per second: 50 ms) rather than only the 1-2 ms of backoff.
    ours = WriteTokenBucket(200, 20, margin=0)
    with server_for(key_files, scripted(429, 200)).running() as server:
        with make_client(ed_auth, base_url=server.base_url) as client:
            started = time.monotonic()
            result = amend_order(
                client,
                "ord-1",
                body(),
                write_bucket=ours,
                rate_limit_retry=RetryOn429(max_attempts=4, base_delay_s=0.001, max_delay_s=0.002),
            )
            elapsed = time.monotonic() - started
        assert result.order_id == "ord-1" and len(server.received) == 2
    assert elapsed >= AMEND_TOKEN_COST / 200
