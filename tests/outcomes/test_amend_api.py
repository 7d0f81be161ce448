"""amend_order's own contract: arguments checked before sending, every exception
classified (or passed through when it is not about the request), the detailed
variants, and the generated functions called directly never crashing."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import aiohttp
import httpx
import pytest
from httpx_aiohttp import AiohttpTransport
from kalshi_trade_api.api.orders import amend_order_v2
from kalshi_trade_api.models import AmendOrderV2Request, BookSide

from auth_hooks import (
    AppliedResponse,
    KalshiAuth,
    KalshiConfigError,
    NotSent,
    OutcomeUnknown,
    Rejected,
    amend_order,
    amend_order_async,
    amend_order_detailed,
    amend_order_detailed_async,
    make_client,
)
from tests.support import faulty_server as fs
from tests.support.faulty_server import FaultyServer

from .helpers import body


class Exploding(httpx.BaseTransport):
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
        self.calls = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        raise self.exc


class AsyncExploding(httpx.AsyncBaseTransport):
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise self.exc


@pytest.mark.parametrize("order_id", ["", ".", ".."])
def test_order_ids_that_would_change_the_path_are_refused_before_sending(
    ed_auth: KalshiAuth, order_id: str
) -> None:
    transport = Exploding(AssertionError("must not be sent"))
    with make_client(ed_auth, base_url="http://127.0.0.1:1/trade-api/v2", transport=transport) as client:
        with pytest.raises(KalshiConfigError, match="order_id"):
            amend_order(client, order_id, body())
        with pytest.raises(KalshiConfigError, match="body"):
            amend_order(client, "ord-1", {"ticker": "X"})  # type: ignore[call-overload]
    assert transport.calls == 0


def test_an_unforeseen_exception_from_the_transport_is_unknown_with_its_cause(ed_auth: KalshiAuth) -> None:
    error = RuntimeError("something no one planned for")
    with (
        make_client(
            ed_auth, base_url="http://127.0.0.1:1/trade-api/v2", transport=Exploding(error)
        ) as client,
        pytest.raises(OutcomeUnknown) as caught,
    ):
        amend_order(client, "ord-1", body())
    assert caught.value.__cause__ is error
    assert caught.value.order_id == "ord-1" and "RuntimeError" in str(caught.value)


def test_interrupts_and_cancellation_are_not_classified(ed_auth: KalshiAuth) -> None:
    with (
        make_client(
            ed_auth, base_url="http://127.0.0.1:1/trade-api/v2", transport=Exploding(KeyboardInterrupt())
        ) as client,
        pytest.raises(KeyboardInterrupt),
    ):
        amend_order(client, "ord-1", body())

    async def cancelled() -> None:
        client = make_client(
            ed_auth,
            base_url="http://127.0.0.1:1/trade-api/v2",
            async_transport=AsyncExploding(asyncio.CancelledError()),
        )
        await amend_order_async(client, "ord-1", body())

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(cancelled())


def test_detailed_variants_return_the_raw_answer(ed_auth: KalshiAuth) -> None:
    with FaultyServer(fs.ok()) as server:
        with make_client(ed_auth, base_url=server.base_url) as client:
            applied = amend_order_detailed(client, "ord-1", body())

        async def run() -> AppliedResponse:
            client = make_client(ed_auth, base_url=server.base_url)
            try:
                return await amend_order_detailed_async(client, "ord-2", body())
            finally:
                await client.aclose()

        applied_async = asyncio.run(run())
    for result, order_id in ((applied, "ord-1"), (applied_async, "ord-2")):
        assert result.status_code == 200
        assert result.parsed.order_id == order_id
        assert result.content.startswith(b'{"order_id": "' + order_id.encode())
        assert result.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("reply", "problem"),
    [
        (b'{"order_id": "ord-1"}', "KeyError: 'ts_ms'"),
        (b'{"order_id": "ord-1", "ts_ms": "1715793690123"}', "with ts_ms of JSON type string"),
        (b'{"order_id": 7, "ts_ms": 1}', "with order_id of JSON type number"),
        (b'{"order_id": "ord-1", "ts_ms": true}', "with ts_ms of JSON type boolean"),
        (b'{"order_id": "ord-1", "ts_ms": 1, "fill_count": 3}', "with fill_count of JSON type number"),
    ],
)
def test_a_200_must_hold_what_the_generated_model_says(
    ed_auth: KalshiAuth, reply: bytes, problem: str
) -> None:
    # What a 200 must hold comes from the generated model alone (its from_dict and its
    # attrs field types): applied, but unreadable, is an unknown outcome.
    with (
        FaultyServer(fs.reply(200, reply)) as server,
        make_client(ed_auth, base_url=server.base_url) as client,
        pytest.raises(OutcomeUnknown) as caught,
    ):
        amend_order(client, "ord-1", body())
    assert problem in str(caught.value)
    assert "applied, but its result cannot be read" in str(caught.value)


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (fs.reply(520, b"<html>cloudflare</html>"), OutcomeUnknown),
        (fs.reply(200, b"<html>"), OutcomeUnknown),
        (fs.reply(400, b"[" * 50_000), Rejected),
    ],
)
def test_the_generated_functions_called_directly_raise_outcomes_not_crashes(
    ed_auth: KalshiAuth, reply: fs.Behaviour, expected: type[Exception]
) -> None:
    # A bot that calls the generated code itself still gets a classified outcome (the
    # response hook), never ValueError / KeyError / JSONDecodeError from the parser.
    with (
        FaultyServer(reply) as server,
        make_client(ed_auth, base_url=server.base_url) as client,
        pytest.raises(expected),
    ):
        amend_order_v2.sync_detailed("ord-1", client=client, body=body())


# -- a full pool: the request waits for a connection and never leaves -------------------


def pool_of_one(mode: str) -> dict[str, Any]:
    if mode == "aiohttp":
        return {"async_transport": AiohttpTransport(limits=httpx.Limits(max_connections=1))}
    if mode == "httpx-async":
        return {"async_transport": httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=1))}
    if mode == "httpx-sync":
        return {"transport": httpx.HTTPTransport(limits=httpx.Limits(max_connections=1))}
    return {"limits": httpx.Limits(max_connections=1)}  # make_client's own pools


@pytest.mark.parametrize("mode", ["sync", "httpx-sync", "async", "aiohttp", "httpx-async"])
def test_waiting_too_long_for_a_pooled_connection_is_not_sent(ed_auth: KalshiAuth, mode: str) -> None:
    # One amend holds the only connection (the server stalls); the second waits for the
    # pool, times out, and must be NotSent: the server never sees it.
    timeout = httpx.Timeout(3.0, pool=0.2)
    with FaultyServer(fs.stall(1.0)) as server:
        client = make_client(ed_auth, base_url=server.base_url, timeout=timeout, **pool_of_one(mode))
        if mode in ("sync", "httpx-sync"):
            first = threading.Thread(target=lambda: amend_order(client, "ord-1", body()))
            first.start()
            assert server.wait_for_posts(1)
            with pytest.raises(NotSent) as caught:
                amend_order(client, "ord-2", body())
            first.join()
            client.close()
        else:

            async def run() -> None:
                holder = asyncio.create_task(amend_order_async(client, "ord-1", body()))
                assert await asyncio.to_thread(server.wait_for_posts, 1)
                try:
                    await amend_order_async(client, "ord-2", body())
                finally:
                    await holder
                    await client.aclose()

            with pytest.raises(NotSent) as caught:
                asyncio.run(run())
        assert [r.target.split("/")[-2] for r in server.requests] == ["ord-1"]
    assert caught.value.order_id == "ord-2"
    if mode == "aiohttp":
        # httpx-aiohttp reports it as ConnectTimeout, like a drop after sending; the
        # cause, aiohttp's ConnectionTimeoutError, says it never left.
        transport_error = caught.value.__cause__
        assert isinstance(transport_error, httpx.ConnectTimeout)
        assert isinstance(transport_error.__cause__, aiohttp.ConnectionTimeoutError)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("price", 0.57),
        ("price", "0.5"),
        ("price", "0.56789"),
        ("count", 10),
        ("count", "1E+1"),
        ("count", "1.001"),
    ],
)
def test_a_body_with_a_non_fixed_point_price_or_count_is_refused_before_sending(
    field: str, value: object
) -> None:
    body = AmendOrderV2Request(ticker="T", side=BookSide.BID, price="0.5600", count="10.00")
    setattr(body, field, value)
    # No client is needed: the check runs before anything is built or sent.
    with pytest.raises(KalshiConfigError, match=f"^{field} must be a fixed-point string"):
        amend_order(None, "o1", body)  # type: ignore[call-overload]
