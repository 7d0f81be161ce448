"""Edges of the own pools (auth_hooks.wire, wire_async, lane), each once a defect:

1. the connect-retry back-off ends by the request's deadline (sync and async);
2. an idle asyncio connection reads nothing, whatever the server pushes: memory stays bounded;
3. an asyncio connection the server closed before a byte of the request was written is
   NotSent (no raw OSError escaping the pool, no OutcomeUnknown);
4. a connection whose request carried ``Connection: close`` is not used again;
5. the one resend after a refused timestamp ends by the call's deadline, not a fresh one;
6. a signature that cannot be made is NotSent, its exception's text not carried along.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
import traceback
from collections.abc import Iterator
from typing import cast

import httpx
import pytest
from kalshi_trade_api.api.orders import amend_order_v2

import auth_hooks.auth
from auth_hooks import (
    KalshiAuth,
    KalshiClient,
    NotSent,
    OutcomeUnknown,
    amend_order,
    amend_order_async,
    make_client,
)
from auth_hooks.transports import NotSentUnsupported, never_sent
from tests.outcomes.helpers import body
from tests.support import faulty_server as fs

from .servers import Sent

MB = 1024 * 1024


def _amend(mode: str, client: KalshiClient, order_id: str) -> None:
    if mode == "sync":
        amend_order(client, order_id, body())
    else:
        asyncio.run(amend_order_async(client, order_id, body()))


# -- 1. the deadline bounds the connect retries' back-off too ------------------------------


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_connect_retries_end_by_the_deadline(mode: str, auth: KalshiAuth) -> None:
    # Nobody listens: every connect is refused at once. With a 0.2 s deadline the amend
    # must give up (NotSent) by then; the pool sleeps RETRY_DELAYS[1] = 0.5 s between the
    # second and third attempt without looking at the deadline, and ends after 0.5 s.
    deadline = 0.2
    base_url = f"http://127.0.0.1:{fs.closed_port()}/trade-api/v2"
    client = make_client(auth, base_url=base_url, deadline=deadline, connect_retries=2)
    start = time.monotonic()
    with pytest.raises(NotSent):
        _amend(mode, client, "o1")
    took = time.monotonic() - start
    client.close()
    assert took < deadline + 0.15, f"the request's {deadline} s deadline ended after {took:.2f} s"


# -- 2. an idle asyncio connection holds at most what the kernel buffers -------------------


def _answer_then_push(sent: Sent, limit: int, done: threading.Event) -> fs.Behaviour:
    """A proper keep-alive 200, then (once the client has pooled the connection) bytes
    nobody asked for on the idle connection."""

    def behave(conn: socket.socket, request: fs.RawRequest, stop: threading.Event) -> bool:
        conn.sendall(fs.response_bytes(200, fs.ok_body(request), reason="OK"))
        if stop.wait(0.3):  # read and pooled by now; sent with the answer, it is never pooled
            return False
        piece = b"x" * (64 * 1024)
        with contextlib.suppress(OSError):
            while sent.bytes < limit and not stop.is_set():
                conn.sendall(piece)
                sent.bytes += len(piece)
        done.set()
        return False

    return behave


def test_an_idle_async_connection_does_not_buffer_what_the_server_pushes(auth: KalshiAuth) -> None:
    # The sync pool does not read an idle socket: the server can push only what the
    # kernel buffers (a few MB) before its send blocks. The asyncio pool keeps reading its
    # idle connections and appends every byte to the connection's list, unbounded: the
    # server pushes all it wants while the bot waits for its next amend.
    sent, pushed_all = Sent(), threading.Event()
    limit = 48 * MB
    with fs.FaultyServer(_answer_then_push(sent, limit, pushed_all)) as server:
        client = make_client(auth, base_url=server.base_url)

        async def run() -> None:
            async with client:
                await amend_order_async(client, "o1", body())
                # Idle, the loop running: a bounded client lets the server push a few MB.
                await asyncio.to_thread(pushed_all.wait, 2.0)

        asyncio.run(run())
        pushed = sent.bytes
    assert pushed < 16 * MB, f"{pushed // MB} MB read into memory from an idle connection"


# -- 3. closed before a byte of the request was written: NotSent ----------------------------


@contextlib.contextmanager
def closes_at_once() -> Iterator[tuple[str, list[int]]]:
    """A loopback server that closes every connection as soon as it accepts it, reading
    nothing; yields its base URL and the bytes it found waiting on each connection."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.05)
    found: list[int] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.setblocking(False)
            try:
                found.append(len(conn.recv(65536)))
            except BlockingIOError:
                found.append(0)
            except OSError:
                found.append(-1)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/trade-api/v2", found
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def _hog_each_iteration(loop: asyncio.AbstractEventLoop, stop: threading.Event) -> None:
    """Holds the event loop 20 ms every iteration, as a bot's CPU-bound callbacks do."""
    if not stop.is_set():
        time.sleep(0.02)
        loop.call_soon(_hog_each_iteration, loop, stop)


@pytest.mark.parametrize("route", ["direct", "httpx"])
def test_a_connection_closed_before_the_request_was_written_is_not_sent(route: str, auth: KalshiAuth) -> None:
    # The server accepts and closes at once. On a busy event loop the EOF is delivered
    # before _connect_once resumes, so the socket is already closed when it sets
    # TCP_NODELAY: the raw OSError escapes the pool (the amend is OutcomeUnknown,
    # "unexpected OSError", and the generated function raises a bare OSError). Guarded,
    # write() would still raise httpx.WriteError ("closed before the request could be
    # written"), which is OutcomeUnknown too. Nothing was written: it is NotSent.
    with closes_at_once() as (base_url, found):
        client = make_client(auth, base_url=base_url, connect_retries=0)

        async def run() -> BaseException:
            stop = threading.Event()
            _hog_each_iteration(asyncio.get_running_loop(), stop)
            try:
                if route == "direct":
                    await amend_order_async(client, "o1", body())
                else:
                    await amend_order_v2.asyncio_detailed("o1", client=client, body=body())
            except Exception as exc:
                return exc
            finally:
                stop.set()
                await client.aclose()
            raise AssertionError("the amend succeeded against a server that answers nothing")

        error = asyncio.run(run())
    assert all(size <= 0 for size in found), found  # not a byte of the request arrived
    if route == "direct":
        assert isinstance(error, NotSent), f"{type(error).__name__}: {error}"
    else:
        assert isinstance(error, httpx.TransportError) and never_sent(error), repr(error)


# -- 4. a request that says Connection: close is the last on its connection -----------------


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_request_sent_with_connection_close_is_the_last_on_its_connection(
    mode: str, auth: KalshiAuth
) -> None:
    # RFC 9112 section 9.6: a client that sends "Connection: close" must not send further
    # requests on that connection (httpx's own transport opens a new one). The server
    # here answers without echoing the close and keeps the socket open, as one that
    # closes a moment later would look to the next request: that request must go on a
    # new connection, not into one the server is closing (lost, OutcomeUnknown).
    with fs.FaultyServer(fs.ok()) as server:
        client = cast(
            KalshiClient, make_client(auth, base_url=server.base_url).with_headers({"Connection": "close"})
        )
        if mode == "sync":
            with client:
                amend_order(client, "o1", body())
                amend_order(client, "o2", body())
        else:

            async def run() -> None:
                async with client:
                    await amend_order_async(client, "o1", body())
                    await amend_order_async(client, "o2", body())

            asyncio.run(run())
        sent = [(fs.order_id_of(r), r.headers.get("connection"), r.connection) for r in server.requests]
    assert sent == [("o1", "close", 0), ("o2", "close", 1)]


def test_the_async_pool_outside_asyncio_says_so_and_sends_nothing(auth: KalshiAuth) -> None:
    # Under another async library (trio) there is no asyncio loop: NotSent, naming the fix.
    client = make_client(auth, base_url=f"http://127.0.0.1:{fs.closed_port()}/trade-api/v2")
    route = client.async_route()
    assert route is not None
    lane, pool = route
    running = pool.send(b"GET / HTTP/1.1\r\n\r\n", "GET", lane.timeouts())
    with pytest.raises(NotSentUnsupported, match="async_backend='httpx'") as caught:
        running.send(None)  # driven by hand, as another event loop would: no asyncio loop
    assert never_sent(caught.value)


# -- 5. the one resend after a refused timestamp stays within the call's deadline ---------


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_the_resend_after_a_refused_timestamp_shares_the_first_sends_deadline(
    mode: str, auth: KalshiAuth
) -> None:
    # 0.4 s for the 401 header_timestamp_expired, then the resend is never answered: with
    # a 0.8 s deadline the whole amend must end near 0.8 s, not 0.4 s + a fresh 0.8 s.
    expired = b'{"error":{"code":"header_timestamp_expired","message":"expired"}}'
    behaviours = [fs.stall(0.4, fs.reply(401, expired)), fs.stall(30.0)]
    with fs.FaultyServer(behaviours) as server:
        client = make_client(auth, base_url=server.base_url, deadline=0.8)
        started = time.monotonic()
        with pytest.raises(OutcomeUnknown):
            _amend(mode, client, "ord-1")
        elapsed = time.monotonic() - started
        assert server.posts == 2  # refused once, re-sent once, never a third time
    assert elapsed < 1.1, elapsed


# -- 6. a signature that cannot be made: nothing was written, so NotSent -----------------


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_failed_signature_is_not_sent_and_names_no_detail(
    mode: str, auth: KalshiAuth, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing(key: object, text: bytes) -> str:
        raise ValueError("internal key detail")

    monkeypatch.setattr(auth_hooks.auth, "sign_text", failing)
    with fs.FaultyServer(fs.ok()) as server:
        client = make_client(auth, base_url=server.base_url)
        with pytest.raises(NotSent, match="signing failed") as caught:
            _amend(mode, client, "ord-1")
        assert server.requests == []
    assert "internal key detail" not in "".join(traceback.format_exception(caught.value))
