"""Issue 11 items 2 and 5 on the transport side: whether a request could have left is
decided by where the failure happened, on all three transports, and no exception
reachable from what they raise holds the request's signature."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable

import httpx
import pytest

from auth_hooks import (
    KalshiAuth,
    NotSent,
    OutcomeUnknown,
    amend_order,
    amend_order_async,
    make_client,
)
from auth_hooks.transports import ConnectFailed, PoolTimedOut, never_sent
from tests.outcomes.helpers import body
from tests.support import faulty_server as fs

from .modes import MODES, amend, chain, client_args


@pytest.mark.parametrize("mode", MODES)
def test_a_refused_connection_is_not_sent(mode: str, auth: KalshiAuth) -> None:
    base_url = f"http://127.0.0.1:{fs.closed_port()}/trade-api/v2"
    with pytest.raises(NotSent) as caught:
        amend(mode, auth, base_url, connect_retries=0)
    assert isinstance(caught.value.__cause__, ConnectFailed)


FAULTS_AFTER_SENDING: dict[str, Callable[[], fs.Behaviour]] = {
    "closed without an answer": fs.close,
    "reset without an answer": fs.reset,
    "garbage status line": lambda: fs.raw(b"HELLO WORLD\r\n\r\n"),
    "headers cut short": lambda: fs.raw(b"HTTP/1.1 200 OK\r\nContent-Le"),
    "body cut short": lambda: fs.partial_body(200, b'{"order_id": "ord-1", "ts_ms": 1}', sent=5),
    "bad chunked encoding": lambda: fs.raw(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nxx\r\n", then="close"
    ),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fault", FAULTS_AFTER_SENDING)
def test_a_failure_after_sending_is_unknown_and_chains_no_signature(
    mode: str, fault: str, auth: KalshiAuth
) -> None:
    with fs.FaultyServer(FAULTS_AFTER_SENDING[fault]()) as server:
        with pytest.raises(OutcomeUnknown) as caught:
            amend(mode, auth, server.base_url, connect_retries=2)
        assert server.posts == 1  # never sent twice
        signature = server.requests[0].headers["kalshi-access-signature"]
    transport_error = caught.value.__cause__
    assert isinstance(transport_error, httpx.TransportError)
    assert not never_sent(transport_error)
    for exc in chain(caught.value):
        assert signature not in repr(exc)
        assert signature not in str(exc)
        assert signature not in repr(vars(exc))


@pytest.mark.parametrize("mode", MODES)
def test_a_full_pool_is_not_sent(mode: str, auth: KalshiAuth) -> None:
    # One connection allowed and held by a stalled amend: the second waits for it in
    # the pool and gives up before writing anything.
    release = threading.Event()

    def held(conn: object, request: fs.RawRequest, stop: threading.Event) -> bool:
        release.wait(20)
        return fs.ok()(conn, request, stop)  # type: ignore[arg-type]

    timeout = httpx.Timeout(20.0, pool=0.3, connect=0.3)
    kwargs = {**client_args(mode), "limits": httpx.Limits(max_connections=1), "timeout": timeout}
    with fs.FaultyServer(held) as server:
        client = make_client(auth, base_url=server.base_url, connect_retries=0, **kwargs)
        if mode == "sync":
            first = threading.Thread(target=amend_order, args=(client, "first", body()))
            first.start()
            assert server.wait_for_posts(1, timeout=20)
            with pytest.raises(NotSent) as caught:
                amend_order(client, "second", body())
            release.set()
            first.join(20)
            client.close()
        else:

            async def run() -> BaseException:
                task = asyncio.ensure_future(amend_order_async(client, "first", body()))
                assert await asyncio.to_thread(server.wait_for_posts, 1, 20)
                try:
                    with pytest.raises(NotSent) as refused:
                        await amend_order_async(client, "second", body())
                finally:
                    release.set()
                    await task
                    await client.aclose()
                return refused.value

            caught_exc = asyncio.run(run())
        assert server.posts == 1
    error = caught.value if mode == "sync" else caught_exc
    assert isinstance(error.__cause__, httpx.TransportError) and never_sent(error.__cause__)
    if mode != "aiohttp":  # aiohttp's connect timeout covers the pool wait: ConnectTimedOut
        assert isinstance(error.__cause__, PoolTimedOut)


@pytest.mark.parametrize("mode", MODES)
def test_a_deadline_spent_waiting_for_the_pool_is_not_sent(mode: str, auth: KalshiAuth) -> None:
    # One connection, held by a request with a long deadline; the second request has a
    # long pool timeout but a short deadline (connect + read = 0.5 s): its wait for the
    # pool ends at the deadline, before anything of it is written.
    release = threading.Event()
    held_until_released: list[bool] = []

    def held(conn: socket.socket, request: fs.RawRequest, stop: threading.Event) -> bool:
        held_until_released.append(release.wait(20))
        return fs.ok()(conn, request, stop)

    path = "/portfolio/events/orders/o/amend"
    long, short = httpx.Timeout(30.0), httpx.Timeout(0.25, pool=30.0)
    kwargs = {**client_args(mode), "limits": httpx.Limits(max_connections=1), "connect_retries": 0}
    with fs.FaultyServer(held) as server:
        client = make_client(auth, base_url=server.base_url, **kwargs)
        if mode == "sync":
            http = client.get_httpx_client()
            first = threading.Thread(target=http.post, args=(path,), kwargs={"json": {}, "timeout": long})
            first.start()
            assert server.wait_for_posts(1, timeout=20)
            with pytest.raises(httpx.TransportError) as caught:
                http.post(path, json={}, timeout=short)
            release.set()
            first.join(20)
            client.close()
            error: BaseException = caught.value
        else:

            async def run() -> BaseException:
                http = client.get_async_httpx_client()
                task = asyncio.ensure_future(http.post(path, json={}, timeout=long))
                assert await asyncio.to_thread(server.wait_for_posts, 1, 20)
                try:
                    with pytest.raises(httpx.TransportError) as refused:
                        await http.post(path, json={}, timeout=short)
                finally:
                    release.set()
                    await task
                    await client.aclose()
                return refused.value

            error = asyncio.run(run())
        assert server.posts == 1
    assert never_sent(error), repr(error)
    assert held_until_released == [True]  # it gave up while the connection was still held
