"""End to end through make_client's own HTTP/1.1 pools (auth_hooks.wire, auth_hooks.wire_async)
and the direct route beside httpx (auth_hooks.lane), against real servers on 127.0.0.1.

What these check, sync and async:

* the direct route (``amend_order``) and httpx's (the generated function called directly,
  through WireTransport) put the same request on the wire, byte for byte but for the
  timestamp and signature, query included;
* a pooled connection the server closed while idle is found dead before reuse, and an
  idle connection older than ``keepalive_expiry`` is dropped although still open;
* answers framed every way HTTP/1.1 allows (chunked with extensions and trailers, cut
  anywhere, ``Connection: close``, read until close, interim 1xx, HTTP/1.0) are read,
  and their connection is reused exactly when that is allowed;
* a client header holding CR/LF (or a name that is no token) never reaches the server;
* the direct route steps aside for what only httpx does (event hooks added later,
  cookies, ``httpx_args``) and follows ``with_timeout``;
* many threads (sync) or tasks (async) on one small pool: all answered, never more
  connections than allowed, nothing sent twice; a cancelled async amend leaves the pool
  usable and its connection unused.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import httpx
import pytest
from kalshi_trade_api.api.orders import amend_order_v2
from kalshi_trade_api.client import AuthenticatedClient
from kalshi_trade_api.models import AmendOrderV2Response
from kalshi_trade_api.types import UNSET, Unset

from auth_hooks import (
    KalshiAuth,
    KalshiClient,
    KalshiConfigError,
    NotSent,
    OutcomeUnknown,
    amend_order,
    amend_order_async,
    make_client,
)
from auth_hooks.transports import never_sent
from tests.outcomes.helpers import body
from tests.support import faulty_server as fs
from tests.support.keys import KeyFiles
from tests.support.verifying_server import SignatureCheckingServer

from .conftest import KEY_ID

# make_client's defaults: the sync WirePool and the asyncio AsyncWirePool.
MODES = ("sync", "async")
# Header values that differ between two requests however they are sent.
FRESH_PER_REQUEST = {b"kalshi-access-timestamp", b"kalshi-access-signature"}


# -- a FaultyServer that also keeps every byte it read ------------------------------------


class _Tap:
    """A socket that keeps a copy of every byte read from it."""

    def __init__(self, sock: socket.socket, sink: bytearray) -> None:
        self._sock = sock
        self._sink = sink

    def recv(self, size: int) -> bytes:
        data = self._sock.recv(size)
        self._sink += data
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


@dataclass
class RecordingServer(fs.FaultyServer):
    """FaultyServer, plus ``raw[n]``: the bytes received on its n-th connection."""

    raw: dict[int, bytearray] = field(default_factory=dict)

    def _serve(self, conn: socket.socket, number: int) -> None:
        sink = self.raw.setdefault(number, bytearray())
        super()._serve(cast(socket.socket, _Tap(conn, sink)), number)


@dataclass
class WireRequest:
    line: bytes
    headers: list[tuple[bytes, bytes]]  # as sent, in order
    body: bytes

    def target(self) -> str:
        return self.line.split(b" ")[1].decode("ascii")

    def names(self) -> list[bytes]:
        return sorted(name.lower() for name, _ in self.headers)

    def fixed_headers(self) -> list[tuple[bytes, bytes]]:
        return sorted((n.lower(), v) for n, v in self.headers if n.lower() not in FRESH_PER_REQUEST)

    def as_dict(self) -> dict[str, str]:
        return {name.decode().lower(): value.decode() for name, value in self.headers}


def split_requests(raw: bytes) -> list[WireRequest]:
    """The requests of one connection's byte stream (bodies framed by Content-Length)."""
    requests = []
    while raw:
        end = raw.index(b"\r\n\r\n")
        line, *header_lines = raw[:end].split(b"\r\n")
        headers = []
        for header_line in header_lines:
            name, _, value = header_line.partition(b":")
            headers.append((name, value.strip()))
        length = sum(int(v) for n, v in headers if n.lower() == b"content-length")
        requests.append(WireRequest(line, headers, raw[end + 4 : end + 4 + length]))
        raw = raw[end + 4 + length :]
    return requests


# -- running amends one after the other on one client -------------------------------------

Step = str | float  # an order id to amend, or seconds to wait


def run_steps(
    mode: str, client: KalshiClient, steps: Sequence[Step], *, subaccount: int | Unset = UNSET
) -> list[AmendOrderV2Response]:
    """Amends (and waits) in order on ``client``, then closes its pool."""
    if mode == "sync":
        results = []
        try:
            for step in steps:
                if isinstance(step, float):
                    time.sleep(step)
                else:
                    results.append(amend_order(client, step, body(), subaccount=subaccount))
        finally:
            client.close()
        return results

    async def run() -> list[AmendOrderV2Response]:
        results = []
        try:
            for step in steps:
                if isinstance(step, float):
                    await asyncio.sleep(step)
                else:
                    results.append(await amend_order_async(client, step, body(), subaccount=subaccount))
        finally:
            await client.aclose()
        return results

    return asyncio.run(run())


def order_ids(results: Sequence[AmendOrderV2Response]) -> list[str]:
    return [result.order_id for result in results]


def connections_used(server: fs.FaultyServer) -> list[int]:
    """Which connection carried each request, in arrival order."""
    return [request.connection for request in server.requests]


def each_once(server: fs.FaultyServer) -> Counter[str]:
    return Counter(fs.order_id_of(request) for request in server.requests)


@pytest.fixture
def checker(key_files: dict[str, KeyFiles]) -> SignatureCheckingServer:
    """Kalshi's signature check (not running: only its ``check``)."""
    return SignatureCheckingServer({KEY_ID: key_files["ed25519"].public_pem})


@pytest.fixture
def verifying(key_files: dict[str, KeyFiles]) -> Iterator[SignatureCheckingServer]:
    state = SignatureCheckingServer({KEY_ID: key_files["ed25519"].public_pem})
    with state.running():
        yield state


# -- 1. both routes send the same request -------------------------------------------------


def send_both_ways(
    mode: str, client: KalshiClient, *, subaccount: int | Unset = UNSET
) -> tuple[AmendOrderV2Response, int]:
    """``amend_order`` (the direct route), then the generated function (through httpx)."""
    if mode == "sync":
        with client:
            assert client.sync_route() is not None  # amend_order takes the direct route
            direct = amend_order(client, "ord-1", body(), subaccount=subaccount)
            generated = amend_order_v2.sync_detailed(
                "ord-1", client=client, body=body(), subaccount=subaccount
            )
        return direct, generated.status_code

    async def run() -> tuple[AmendOrderV2Response, int]:
        async with client:
            assert client.async_route() is not None
            direct = await amend_order_async(client, "ord-1", body(), subaccount=subaccount)
            generated = await amend_order_v2.asyncio_detailed(
                "ord-1", client=client, body=body(), subaccount=subaccount
            )
        return direct, generated.status_code

    return asyncio.run(run())


def assert_same_request(direct: WireRequest, through_httpx: WireRequest) -> None:
    assert direct.line == through_httpx.line
    assert direct.names() == through_httpx.names()  # the same names, as often, case aside
    assert direct.fixed_headers() == through_httpx.fixed_headers()  # and the same values
    assert direct.body == through_httpx.body
    for request in (direct, through_httpx):
        assert [name.lower() for name, _ in request.headers].count(b"host") == 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("subaccount", [UNSET, 3], ids=["no query", "subaccount"])
@pytest.mark.parametrize(
    "extra", [{}, {"X-Trace": "t-1", "User-Agent": "bot/1"}], ids=["plain", "with_headers"]
)
def test_both_routes_send_the_same_request(
    mode: str,
    subaccount: int | Unset,
    extra: dict[str, str],
    auth: KalshiAuth,
    checker: SignatureCheckingServer,
) -> None:
    server = RecordingServer(fs.ok())
    with server:
        client = cast(KalshiClient, make_client(auth, base_url=server.base_url).with_headers(extra))
        direct_result, status = send_both_ways(mode, client, subaccount=subaccount)
        assert direct_result.order_id == "ord-1" and status == 200
        assert server.connections == 1  # both routes share the one pool
        direct, through_httpx = split_requests(bytes(server.raw[0]))
    assert_same_request(direct, through_httpx)
    expected = "/trade-api/v2/portfolio/events/orders/ord-1/amend" + (
        "?subaccount=3" if subaccount == 3 else ""
    )
    assert direct.target() == expected
    for name, value in extra.items():
        assert direct.as_dict()[name.lower()] == value
    for request in (direct, through_httpx):
        assert checker.check("POST", request.target(), request.as_dict()) == "ok"


@pytest.mark.parametrize("mode", MODES)
def test_a_host_header_set_on_the_client_replaces_the_default_on_both_routes(
    mode: str, auth: KalshiAuth
) -> None:
    # httpx sends a client's own Host header instead of the URL's; a request with two
    # Host headers is one a server must refuse (RFC 9112 section 3.2).
    server = RecordingServer(fs.ok())
    with server:
        client = cast(
            KalshiClient,
            make_client(auth, base_url=server.base_url).with_headers({"Host": "exchange.example"}),
        )
        send_both_ways(mode, client)
        direct, through_httpx = split_requests(bytes(server.raw[0]))
    assert [v for n, v in through_httpx.headers if n.lower() == b"host"] == [b"exchange.example"]
    assert [v for n, v in direct.headers if n.lower() == b"host"] == [b"exchange.example"]
    assert_same_request(direct, through_httpx)


# -- 2. and 3. idle connections --------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_connection_the_server_closed_while_idle_is_not_reused(mode: str, auth: KalshiAuth) -> None:
    # A 200 on a keep-alive connection, which the server closes 50 ms later. The next
    # amend must notice before writing (its request would be lost, and a POST is never
    # re-sent) and go out once, on a new connection: a success, not an unknown outcome.
    with fs.FaultyServer(fs.ok_then_close_when_idle(0.05)) as server:
        client = make_client(auth, base_url=server.base_url)
        results = run_steps(mode, client, ["o1", 0.3, "o2", 0.3, "o3"])
        assert order_ids(results) == ["o1", "o2", "o3"]
        assert connections_used(server) == [0, 1, 2]
        assert server.posts == 3 and server.connections == 3


@pytest.mark.parametrize("mode", MODES)
def test_keepalive_expiry_drops_an_idle_connection_the_server_kept(mode: str, auth: KalshiAuth) -> None:
    limits = httpx.Limits(max_connections=10, max_keepalive_connections=10, keepalive_expiry=0.2)
    with fs.FaultyServer(fs.ok()) as server:
        client = make_client(auth, base_url=server.base_url, limits=limits)
        results = run_steps(mode, client, ["o1", "o2", 0.4, "o3", "o4"])
        assert order_ids(results) == ["o1", "o2", "o3", "o4"]
        # Reused while fresh; after 0.4 s idle a new one, though the server kept the old open.
        assert connections_used(server) == [0, 0, 1, 1]
        assert server.posts == 4


# -- 4. answers framed every way ----------------------------------------------------------


def _answer(status_line: bytes, headers: list[bytes], payload: bytes) -> bytes:
    return status_line + b"\r\n" + b"".join(h + b"\r\n" for h in headers) + b"\r\n" + payload


def _chunked(payload: bytes) -> bytes:
    first, second = payload[:10], payload[10:]
    return (
        b"%x;ext=1\r\n%s\r\n" % (len(first), first)
        + b"%X\r\n%s\r\n" % (len(second), second)
        + b"0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n"
    )


JSON = b"Content-Type: application/json"


def _framed(build: Callable[[bytes], bytes], then: str, *, piece: int = 0) -> fs.Behaviour:
    """Answers with ``build(ok body)``, whole or ``piece`` bytes per write, then ``then``."""

    def behave(conn: socket.socket, request: fs.RawRequest, stop: threading.Event) -> bool:
        data = build(fs.ok_body(request))
        if piece:
            for at in range(0, len(data), piece):
                conn.sendall(data[at : at + piece])
                time.sleep(0.001)
        else:
            conn.sendall(data)
        return then == "keep"

    return behave


def _length(payload: bytes) -> bytes:
    return b"Content-Length: %d" % len(payload)


# name: (behaviour, whether the connection may carry the next request)
FRAMINGS: dict[str, tuple[fs.Behaviour, bool]] = {
    "content-length": (_framed(lambda p: _answer(b"HTTP/1.1 200 OK", [JSON, _length(p)], p), "keep"), True),
    "chunked with extensions and trailers": (
        _framed(
            lambda p: _answer(b"HTTP/1.1 200 OK", [JSON, b"Transfer-Encoding: chunked"], _chunked(p)), "keep"
        ),
        True,
    ),
    "chunked, a few bytes per write": (
        _framed(
            lambda p: _answer(b"HTTP/1.1 200 OK", [JSON, b"Transfer-Encoding: chunked"], _chunked(p)),
            "keep",
            piece=7,
        ),
        True,
    ),
    "102 and 103 before the 200": (
        _framed(
            lambda p: (
                b"HTTP/1.1 102 Processing\r\n\r\n"
                + b"HTTP/1.1 103 Early Hints\r\nLink: </x>; rel=preload\r\n\r\n"
                + _answer(b"HTTP/1.1 200 OK", [JSON, _length(p)], p)
            ),
            "keep",
        ),
        True,
    ),
    # The server leaves the connection open: only the header says not to reuse it.
    "Connection: close": (
        _framed(lambda p: _answer(b"HTTP/1.1 200 OK", [JSON, _length(p), b"Connection: close"], p), "keep"),
        False,
    ),
    "no Content-Length, read until close": (
        _framed(lambda p: _answer(b"HTTP/1.1 200 OK", [JSON], p), "close"),
        False,
    ),
    "HTTP/1.0": (_framed(lambda p: _answer(b"HTTP/1.0 200 OK", [JSON, _length(p)], p), "keep"), False),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("framing", FRAMINGS)
def test_every_framing_is_read_and_reused_only_when_allowed(
    mode: str, framing: str, auth: KalshiAuth
) -> None:
    behaviour, reusable = FRAMINGS[framing]
    with fs.FaultyServer(behaviour) as server:
        client = make_client(auth, base_url=server.base_url)
        results = run_steps(mode, client, ["o1", "o2", "o3"])
        assert order_ids(results) == ["o1", "o2", "o3"]
        assert connections_used(server) == ([0, 0, 0] if reusable else [0, 1, 2])
        assert server.posts == 3


# -- 5. headers the server must never see ---------------------------------------------------

BAD_HEADERS = {
    "CRLF in a value": {"X-Test": "a\r\nX-Injected: 1"},
    "LF in a value": {"X-Test": "a\nX-Injected: 1"},
    "NUL in a value": {"X-Test": "a\x00b"},
    "a name that is no token": {"X Injected": "1"},
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bad", BAD_HEADERS)
def test_a_header_that_could_inject_is_never_sent(mode: str, bad: str, auth: KalshiAuth) -> None:
    headers = BAD_HEADERS[bad]
    errors: list[BaseException] = []

    def attempt_both_routes_sync(client: AuthenticatedClient) -> None:
        with pytest.raises((KalshiConfigError, NotSent)) as direct:
            amend_order(client, "bad", body())
        with pytest.raises(httpx.HTTPError) as through_httpx:
            amend_order_v2.sync_detailed("bad", client=client, body=body())
        errors.extend([direct.value, through_httpx.value])

    async def attempt_both_routes_async(client: AuthenticatedClient) -> None:
        with pytest.raises((KalshiConfigError, NotSent)) as direct:
            await amend_order_async(client, "bad", body())
        with pytest.raises(httpx.HTTPError) as through_httpx:
            await amend_order_v2.asyncio_detailed("bad", client=client, body=body())
        errors.extend([direct.value, through_httpx.value])

    with fs.FaultyServer(fs.ok()) as server:
        client = make_client(auth, base_url=server.base_url)
        if mode == "sync":
            with client:
                attempt_both_routes_sync(client.with_headers(headers))  # a new client
                amend_order(client, "good", body())
                client.with_headers(headers)  # and the one in use, changed in place
                attempt_both_routes_sync(client)
        else:

            async def run() -> None:
                async with client:
                    await attempt_both_routes_async(client.with_headers(headers))
                    await amend_order_async(client, "good", body())
                    client.with_headers(headers)
                    await attempt_both_routes_async(client)

            asyncio.run(run())
        assert [fs.order_id_of(r) for r in server.requests] == ["good"]
    for error in errors:
        assert isinstance(error, KalshiConfigError) or never_sent(error), repr(error)
        assert "Injected: 1" not in str(error) and "a\x00b" not in str(error)


# -- 6. where the direct route steps aside ------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_request_hook_added_later_is_called(
    mode: str, auth: KalshiAuth, verifying: SignatureCheckingServer
) -> None:
    seen: list[str] = []
    client = make_client(auth, base_url=verifying.base_url)
    if mode == "sync":

        def hook(request: httpx.Request) -> None:
            seen.append(request.url.path)

        with client:
            amend_order(client, "before", body())
            client.get_httpx_client().event_hooks["request"].append(hook)
            amend_order(client, "after", body())
    else:

        async def ahook(request: httpx.Request) -> None:
            seen.append(request.url.path)

        async def run() -> None:
            async with client:
                await amend_order_async(client, "before", body())
                client.get_async_httpx_client().event_hooks["request"].append(ahook)
                await amend_order_async(client, "after", body())

        asyncio.run(run())
    assert seen == ["/trade-api/v2/portfolio/events/orders/after/amend"]
    assert [r.verdict for r in verifying.received] == ["ok", "ok"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("how", ["in place", "new client"])
def test_cookies_set_on_the_client_reach_the_server(
    mode: str, how: str, auth: KalshiAuth, verifying: SignatureCheckingServer
) -> None:
    client = make_client(auth, base_url=verifying.base_url)

    def with_cookie() -> AuthenticatedClient:
        evolved = client.with_cookies({"a": "b"})
        return client if how == "in place" else evolved

    if mode == "sync":
        with client:
            amend_order(client, "before", body())
            cookied = with_cookie()
            try:
                amend_order(cookied, "after", body())
            finally:
                if cookied is not client:
                    cast(KalshiClient, cookied).close()
    else:

        async def run() -> None:
            async with client:
                await amend_order_async(client, "before", body())
                cookied = with_cookie()
                try:
                    await amend_order_async(cookied, "after", body())
                finally:
                    if cookied is not client:
                        await cast(KalshiClient, cookied).aclose()

        asyncio.run(run())
    before, after = verifying.received
    assert "cookie" not in before.headers
    assert after.headers.get("cookie") == "a=b"
    assert [before.verdict, after.verdict] == ["ok", "ok"]


AMENDS = "/trade-api/v2/portfolio/events/orders"


@pytest.mark.parametrize("mode", MODES)
def test_httpx_args_apply_to_every_amend(
    mode: str, auth: KalshiAuth, verifying: SignatureCheckingServer
) -> None:
    client = make_client(auth, base_url=verifying.base_url, params={"x": "1"})
    assert client.sync_route() is None  # httpx_args: every request goes through httpx
    assert order_ids(run_steps(mode, client, ["o1", "o1"])) == ["o1", "o1"]
    assert [r.raw_path for r in verifying.received] == [f"{AMENDS}/o1/amend?x=1"] * 2
    assert [r.verdict for r in verifying.received] == ["ok"] * 2


@pytest.mark.parametrize("mode", MODES)
def test_httpx_params_and_a_subaccount_both_reach_the_server_every_time(
    mode: str, auth: KalshiAuth, verifying: SignatureCheckingServer
) -> None:
    # The same order amended twice: the second request's URL is the one remembered from
    # the first (auth_hooks.httpx_clients), and must still carry the subaccount.
    client = make_client(auth, base_url=verifying.base_url, params={"x": "1"})
    assert order_ids(run_steps(mode, client, ["o2", "o2"], subaccount=3)) == ["o2", "o2"]
    assert [r.raw_path for r in verifying.received] == [f"{AMENDS}/o2/amend?x=1&subaccount=3"] * 2


@pytest.mark.parametrize("mode", MODES)
def test_with_timeout_in_place_bounds_the_direct_route(mode: str, auth: KalshiAuth) -> None:
    # The timeout set on the client in use applies to the next amend; the connection it
    # gave up on (its answer may still come) is never reused.
    with fs.FaultyServer([fs.ok(), fs.stall(5.0), fs.ok()]) as server:
        client = make_client(auth, base_url=server.base_url, timeout=5.0)
        if mode == "sync":
            with client:
                amend_order(client, "o1", body())
                client.with_timeout(httpx.Timeout(0.2))
                with pytest.raises(OutcomeUnknown) as caught:
                    amend_order(client, "o2", body())
                client.with_timeout(httpx.Timeout(5.0))
                amend_order(client, "o3", body())
        else:

            async def run() -> pytest.ExceptionInfo[OutcomeUnknown]:
                async with client:
                    await amend_order_async(client, "o1", body())
                    client.with_timeout(httpx.Timeout(0.2))
                    with pytest.raises(OutcomeUnknown) as refused:
                        await amend_order_async(client, "o2", body())
                    client.with_timeout(httpx.Timeout(5.0))
                    await amend_order_async(client, "o3", body())
                return refused

            caught = asyncio.run(run())
        assert [(fs.order_id_of(r), r.connection) for r in server.requests] == [
            ("o1", 0),
            ("o2", 0),
            ("o3", 1),
        ]
    assert isinstance(caught.value.__cause__, httpx.TimeoutException)


# -- 7. and 8. many at once, and cancellation ------------------------------------------------

THREADS = 8
PER_THREAD = 20


def test_many_threads_share_a_pool_of_two(auth: KalshiAuth) -> None:
    expected = Counter(f"t{n}-{i}" for n in range(THREADS) for i in range(PER_THREAD))
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)
    with fs.FaultyServer(fs.ok()) as server:
        client = make_client(auth, base_url=server.base_url, limits=httpx.Limits(max_connections=2))

        def worker(n: int) -> None:
            start.wait()
            try:
                for i in range(PER_THREAD):
                    assert amend_order(client, f"t{n}-{i}", body()).order_id == f"t{n}-{i}"
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        client.close()
        assert errors == []
        assert each_once(server) == expected
        assert server.connections <= 2


@pytest.mark.parametrize("max_connections", [None, 2], ids=["no limit", "max_connections=2"])
def test_32_async_amends_in_flight_on_one_client(max_connections: int | None, auth: KalshiAuth) -> None:
    count = 32
    limits = httpx.Limits(max_connections=max_connections)
    with fs.FaultyServer(fs.ok()) as server:
        client = make_client(auth, base_url=server.base_url, limits=limits)

        async def run() -> list[AmendOrderV2Response]:
            async with client:
                return await asyncio.gather(
                    *(amend_order_async(client, f"a{i}", body()) for i in range(count))
                )

        assert order_ids(asyncio.run(run())) == [f"a{i}" for i in range(count)]
        assert each_once(server) == Counter(f"a{i}" for i in range(count))
        assert server.connections <= (max_connections or count)


async def _until(condition: Callable[[], bool], within_s: float = 5.0) -> None:
    ends = time.monotonic() + within_s
    while not condition():
        assert time.monotonic() < ends, "timed out waiting"
        await asyncio.sleep(0.005)


def test_cancelling_an_async_amend_after_it_was_sent_leaves_the_pool_usable(auth: KalshiAuth) -> None:
    # One connection allowed. The first amend reaches the server, which never answers;
    # it is cancelled. The next must get the pool's one slot back, on a NEW connection:
    # on the old one the first amend's answer may still come and be read as its own.
    limits = httpx.Limits(max_connections=1)
    with fs.FaultyServer([fs.stall(10.0), fs.ok()]) as server:
        client = make_client(auth, base_url=server.base_url, limits=limits, timeout=httpx.Timeout(2.0))

        async def run() -> AmendOrderV2Response:
            async with client:
                first = asyncio.ensure_future(amend_order_async(client, "first", body()))
                assert await asyncio.to_thread(server.wait_for_posts, 1)
                first.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await first
                return await amend_order_async(client, "second", body())

        assert asyncio.run(run()).order_id == "second"
        assert [(fs.order_id_of(r), r.connection) for r in server.requests] == [("first", 0), ("second", 1)]


def test_cancelling_an_async_amend_waiting_for_the_pool_sends_it_never(auth: KalshiAuth) -> None:
    # One connection allowed, held by A; B and C wait for it. A's end hands the
    # connection to B, and B is cancelled in that same step (before it ran again): B must
    # end cancelled and unsent, and C must still get the connection, not wait out the
    # pool timeout while it lies idle.
    release = threading.Event()

    def held(conn: socket.socket, request: fs.RawRequest, stop: threading.Event) -> bool:
        release.wait(5)
        return fs.ok()(conn, request, stop)

    limits = httpx.Limits(max_connections=1)
    with fs.FaultyServer([held, fs.ok()]) as server:
        client = make_client(
            auth, base_url=server.base_url, limits=limits, timeout=httpx.Timeout(5.0, pool=1.0)
        )

        async def run() -> tuple[list[AmendOrderV2Response | BaseException], str]:
            route = client.async_route()
            assert route is not None
            pool = route[1]
            tasks: dict[str, asyncio.Future[AmendOrderV2Response]] = {}

            async def a_then_cancel_b() -> AmendOrderV2Response:
                result = await amend_order_async(client, "A", body())
                tasks["B"].cancel()
                return result

            async with client:
                try:
                    tasks["A"] = asyncio.ensure_future(a_then_cancel_b())
                    assert await asyncio.to_thread(server.wait_for_posts, 1)
                    tasks["B"] = asyncio.ensure_future(amend_order_async(client, "B", body()))
                    await _until(lambda: len(pool._waiting) == 1)
                    tasks["C"] = asyncio.ensure_future(amend_order_async(client, "C", body()))
                    await _until(lambda: len(pool._waiting) == 2)
                finally:
                    release.set()
                outcomes = await asyncio.gather(*tasks.values(), return_exceptions=True)
                return outcomes, type(outcomes[1]).__name__

        (a, b, c), b_kind = asyncio.run(run())
        assert isinstance(a, AmendOrderV2Response) and a.order_id == "A"
        assert isinstance(b, asyncio.CancelledError), f"B was not cancelled: {b_kind}"
        assert isinstance(c, AmendOrderV2Response) and c.order_id == "C", repr(c)
        assert each_once(server) == Counter(["A", "C"])


@pytest.mark.parametrize("mode", MODES)
def test_kalshi_headers_set_on_the_client_are_replaced_by_the_signature_on_both_routes(
    mode: str, auth: KalshiAuth, checker: SignatureCheckingServer
) -> None:
    # The auth flow replaces them on httpx's route; the direct route must not send a second copy.
    stale = {"KALSHI-ACCESS-SIGNATURE": "c3RhbGU=", "KALSHI-ACCESS-TIMESTAMP": "1"}
    server = RecordingServer(fs.ok())
    with server:
        client = cast(KalshiClient, make_client(auth, base_url=server.base_url).with_headers(stale))
        send_both_ways(mode, client)
        requests = split_requests(bytes(server.raw[0]))
    for request in requests:
        for name in stale:
            assert [n for n, _ in request.headers if n.lower() == name.lower().encode()] == [name.encode()]
        assert checker.check("POST", request.target(), request.as_dict()) == "ok"
