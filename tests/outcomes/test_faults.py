"""Fault injection: a raw-socket server misbehaves on purpose, and every amend still ends
in a result or in exactly one outcome class, with nothing silently sent twice.

Every case runs three ways: sync (httpx.Client), async on the default aiohttp transport,
and async on httpx's own pool. The server counts the POSTs it received in full; whenever
the outcome is unknown that count must be exactly one.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from auth_hooks import (
    KalshiAuth,
    NotSent,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    RequestOutcome,
    amend_order,
    amend_order_async,
    make_client,
)
from auth_hooks.errors import REJECTED_BY_STATUS
from auth_hooks.transports import never_sent
from tests.support import faulty_server as fs
from tests.support.faulty_server import Behaviour, FaultyServer

from .helpers import MODES, amend, body

MB = 1024 * 1024
HTML = b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>cloudflare</center></body></html>"
TIMEOUT = 0.3  # the client's timeout in the slow-server case


def ok_with(**extra: Any) -> Behaviour:
    def behave(conn: socket.socket, request: fs.RawRequest, stop: Any) -> bool:
        conn.sendall(fs.response_bytes(200, fs.ok_body(request, **extra), reason="OK"))
        return True

    return behave


def json_reply(status: int, value: Any, **kwargs: Any) -> Behaviour:
    return fs.reply(status, json.dumps(value).encode(), **kwargs)


@dataclass(frozen=True)
class Case:
    behaviour: Callable[[], Behaviour]
    expected: type[RequestOutcome] | None  # None: the amend succeeds
    status: int | None = None
    code: str | None = None


DEEP = b"[" * 100_000 + b"]" * 100_000
BIG_OK_PADDING = "x" * (5 * MB)

CASES: dict[str, Case] = {
    # The connection dies after the whole request was sent: may have been applied.
    "reset before response": Case(fs.reset, OutcomeUnknown),
    "closed before response": Case(fs.close, OutcomeUnknown),
    "reset mid-body": Case(lambda: fs.partial_body(200, b"x" * 5000, sent=100, then="reset"), OutcomeUnknown),
    "closed mid-body": Case(
        lambda: fs.partial_body(200, b"x" * 5000, sent=100, then="close"), OutcomeUnknown
    ),
    "slower than the timeout": Case(lambda: fs.stall(5.0), OutcomeUnknown),
    # Answers the generated parser cannot take.
    "truncated JSON 200": Case(
        lambda: fs.reply(200, b'{"order_id": "ord-1", "ts_ms": 17'), OutcomeUnknown, 200
    ),
    "truncated JSON 400": Case(lambda: fs.reply(400, b'{"error": {"code": "inva'), Rejected, 400),
    "HTML 502": Case(lambda: fs.reply(502, HTML, headers={"Content-Type": "text/html"}), OutcomeUnknown, 502),
    "HTML 503": Case(lambda: fs.reply(503, HTML, headers={"Content-Type": "text/html"}), OutcomeUnknown, 503),
    "520 with HTML": Case(
        lambda: fs.reply(520, HTML, headers={"Content-Type": "text/html"}), OutcomeUnknown, 520
    ),
    "599 JSON": Case(lambda: json_reply(599, {"error": "x"}), OutcomeUnknown, 599),
    "499 not IANA": Case(lambda: json_reply(499, {"msg": "client closed"}), Rejected, 499),
    "200 without ts_ms": Case(lambda: json_reply(200, {"order_id": "ord-1"}), OutcomeUnknown, 200),
    "200 with ts_ms as a string": Case(
        lambda: json_reply(200, {"order_id": "ord-1", "ts_ms": "17"}), OutcomeUnknown, 200
    ),
    "200 with ts_ms as a float": Case(
        lambda: json_reply(200, {"order_id": "ord-1", "ts_ms": 1.5}), OutcomeUnknown, 200
    ),
    "200 with ts_ms as true": Case(
        lambda: json_reply(200, {"order_id": "ord-1", "ts_ms": True}), OutcomeUnknown, 200
    ),
    "200 with a numeric fill_count": Case(
        lambda: json_reply(200, {"order_id": "ord-1", "ts_ms": 1, "fill_count": 3}), OutcomeUnknown, 200
    ),
    "200 JSON array": Case(lambda: fs.reply(200, b"[]"), OutcomeUnknown, 200),
    "200 JSON null": Case(lambda: fs.reply(200, b"null"), OutcomeUnknown, 200),
    "200 empty body": Case(lambda: fs.reply(200, b""), OutcomeUnknown, 200),
    "200 nested 100k deep": Case(lambda: fs.reply(200, DEEP), OutcomeUnknown, 200),
    "400 nested 100k deep": Case(lambda: fs.reply(400, b'{"error": ' + DEEP + b"}"), Rejected, 400),
    "500 nested 100k deep": Case(lambda: fs.reply(500, DEEP), OutcomeUnknown, 500),
    "200 not UTF-8": Case(
        lambda: fs.reply(200, b'{"order_id": "\xff\xfe", "ts_ms": 1}'), OutcomeUnknown, 200
    ),
    "200 with unknown extra fields": Case(lambda: ok_with(queue_position=3, venue={"a": [1, 2]}), None),
    "5 MB JSON 200": Case(lambda: ok_with(padding=BIG_OK_PADDING), None),
    "5 MB garbage 200": Case(lambda: fs.reply(200, b"\x00garbage" * (5 * MB // 8)), OutcomeUnknown, 200),
    "5 MB HTML 500": Case(lambda: fs.reply(500, b"<p>" * (5 * MB // 3)), OutcomeUnknown, 500),
    "garbage status line": Case(lambda: fs.raw(b"HELLO WORLD\r\n\r\n"), OutcomeUnknown),
    "bad chunked encoding": Case(
        lambda: fs.raw(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
        ),
        OutcomeUnknown,
    ),
    "gzip that is not gzip": Case(
        lambda: fs.reply(200, b"not gzip at all", headers={"Content-Encoding": "gzip"}), OutcomeUnknown
    ),
    "close-delimited HTTP/1.0 200": Case(
        lambda: fs.raw(
            b'HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{"order_id": "ord-1", "ts_ms": 1}'
        ),
        None,
    ),
    # Statuses the spec does not list.
    "201 JSON": Case(lambda: json_reply(201, {"order_id": "ord-1", "ts_ms": 1}), OutcomeUnknown, 201),
    "204 no body": Case(lambda: fs.reply(204), OutcomeUnknown, 204),
    "302 redirect (not followed)": Case(
        lambda: fs.reply(302, b"", headers={"Location": "http://127.0.0.1:1/elsewhere"}), OutcomeUnknown, 302
    ),
    "418 text": Case(lambda: fs.reply(418, b"teapot", headers={"Content-Type": "text/plain"}), Rejected, 418),
    # Kalshi's own error shapes.
    "429 as Kalshi sends it": Case(lambda: json_reply(429, {"error": "too many requests"}), RateLimited, 429),
    "429 as HTML": Case(lambda: fs.reply(429, HTML, headers={"Content-Type": "text/html"}), RateLimited, 429),
    "404 nested": Case(
        lambda: json_reply(404, {"error": {"code": "not_found", "message": "order not found"}}),
        Rejected,
        404,
        "not_found",
    ),
    "409 duplicate client order id": Case(
        lambda: json_reply(409, {"error": {"code": "order_already_exists", "message": "used"}}),
        Rejected,
        409,
        "order_already_exists",
    ),
    "400 flat": Case(
        lambda: json_reply(400, {"code": "bad_request", "message": "bad"}), Rejected, 400, "bad_request"
    ),
    "400 bare": Case(lambda: json_reply(400, {"msg": "subaccount must be between 0 and 63"}), Rejected, 400),
    "500 JSON": Case(
        lambda: json_reply(500, {"error": {"code": "internal", "message": "oops"}}), OutcomeUnknown, 500
    ),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(CASES))
def test_each_fault_ends_in_its_outcome_class(ed_auth: KalshiAuth, mode: str, name: str) -> None:
    case = CASES[name]
    with FaultyServer(case.behaviour()) as server:
        started = time.monotonic()
        if case.expected is None:
            [result] = amend(mode, ed_auth, server.base_url, timeout=TIMEOUT if "slower" in name else 5.0)
            assert result.order_id == "ord-1"
            if "extra" in name:
                assert result.additional_properties == {"queue_position": 3, "venue": {"a": [1, 2]}}
            if "5 MB" in name:
                assert len(result.additional_properties["padding"]) == 5 * MB
        else:
            with pytest.raises(RequestOutcome) as caught:
                amend(mode, ed_auth, server.base_url, timeout=TIMEOUT if "slower" in name else 5.0)
            exc = caught.value
            # A 4xx is the Rejected subclass for its status (OrderNotFound for 404...).
            expected = (
                REJECTED_BY_STATUS.get(exc.status or 0, Rejected)
                if case.expected is Rejected
                else case.expected
            )
            assert type(exc) is expected, f"{type(exc).__name__}: {exc}"
            assert exc.status == case.status
            if case.code is not None:
                assert exc.code == case.code
            # The caller can tell which amend this was, and the message stays one short line.
            assert exc.order_id == "ord-1"
            assert exc.updated_client_order_id == "2a0e3fc9-b593-4aa3-96e5-82f7f7566c2a"
            assert len(str(exc)) < 700 and "\n" not in str(exc)
        elapsed = time.monotonic() - started
        # Nothing that reached the server was sent again.
        assert server.posts == 1
    if "slower" in name:
        assert elapsed < TIMEOUT + 1.5


def test_the_cases_cover_every_outcome_class() -> None:
    assert {case.expected for case in CASES.values()} == {None, OutcomeUnknown, Rejected, RateLimited}


# -- connection refused ---------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("connect_retries", [0, 2])
def test_connection_refused_is_not_sent_and_the_connect_retry_is_bounded(
    ed_auth: KalshiAuth, mode: str, connect_retries: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = fs.closed_port()
    attempts: list[object] = []
    real_connect = socket.socket.connect

    def counting_connect(self: socket.socket, address: Any) -> None:
        if isinstance(address, tuple) and address[1] == port:
            attempts.append(address)
        real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", counting_connect)
    started = time.monotonic()
    with pytest.raises(NotSent) as caught:
        amend(mode, ed_auth, f"http://127.0.0.1:{port}/trade-api/v2", connect_retries=connect_retries)
    assert type(caught.value) is NotSent
    assert caught.value.status is None and "safe to send again" in str(caught.value)
    # httpx retries the connect itself; make_client wraps aiohttp's transport to do the same.
    assert len(attempts) == 1 + connect_retries
    assert time.monotonic() - started < 3.0


# -- keep-alive connections the server gave up on -------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_connection_closed_while_idle_is_never_a_silent_duplicate(ed_auth: KalshiAuth, mode: str) -> None:
    # First amend: 200 on a keep-alive connection, which the server then closes while idle.
    # The second amend must find out (success on a new connection) or say "unknown"; the
    # server must never see the second amend twice.
    with FaultyServer(fs.ok_then_close_when_idle(0.05)) as server:
        outcomes: list[str] = []
        if mode == "sync":
            with make_client(ed_auth, base_url=server.base_url, timeout=5.0) as client:
                amend_order(client, "ord-1", body())
                time.sleep(0.3)  # real time: the server must close the idle connection first
                try:
                    amend_order(client, "ord-1", body())
                    outcomes.append("ok")
                except OutcomeUnknown:
                    outcomes.append("unknown")
        else:

            async def run() -> None:
                transport = httpx.AsyncHTTPTransport() if mode == "httpx-async" else None
                client = make_client(
                    ed_auth, base_url=server.base_url, timeout=5.0, async_transport=transport
                )
                try:
                    await amend_order_async(client, "ord-1", body())
                    await asyncio.sleep(0.3)
                    try:
                        await amend_order_async(client, "ord-1", body())
                        outcomes.append("ok")
                    except OutcomeUnknown:
                        outcomes.append("unknown")
                finally:
                    await client.aclose()

            asyncio.run(run())
        if outcomes == ["ok"]:
            assert server.posts == 2 and server.connections == 2
        else:
            assert outcomes == ["unknown"] and server.posts <= 2


@pytest.mark.parametrize("mode", MODES)
def test_a_reused_connection_dropped_after_the_request_is_unknown_not_resent(
    ed_auth: KalshiAuth, mode: str
) -> None:
    # The race a stale keep-alive connection really poses: the server reads the second
    # request on the reused connection and drops it. POST is not idempotent: no re-send.
    with FaultyServer([fs.ok(), fs.close()]) as server:
        with pytest.raises(OutcomeUnknown):
            amend(mode, ed_auth, server.base_url, times=2)
        assert server.connections == 1  # the second amend did go out on the pooled connection
        assert server.posts == 2  # one per amend: the second was not sent again


def test_aiohttp_disconnect_after_send_is_unknown_whatever_its_exception_type(ed_auth: KalshiAuth) -> None:
    # httpx-aiohttp's own transport labelled a server disconnecting after the request as
    # httpx.ConnectTimeout; ours decides from where the failure happened (after the
    # connection was handed over), so it can never read as "never sent".
    with FaultyServer(fs.close()) as server:
        with pytest.raises(OutcomeUnknown) as caught:
            amend("aiohttp", ed_auth, server.base_url)
        assert server.posts == 1
    transport_error = caught.value.__cause__
    assert isinstance(transport_error, httpx.TransportError)
    assert not never_sent(transport_error)
    # aiohttp's exception is replaced, not chained: its repr would carry the signature.
    assert transport_error.__cause__ is None and transport_error.__context__ is None


@pytest.mark.parametrize("mode", MODES)
def test_gzip_encoded_200_is_read(ed_auth: KalshiAuth, mode: str) -> None:
    def behave(conn: socket.socket, request: fs.RawRequest, stop: Any) -> bool:
        conn.sendall(
            fs.response_bytes(200, gzip.compress(fs.ok_body(request)), headers={"Content-Encoding": "gzip"})
        )
        return True

    with FaultyServer(behave) as server:
        [result] = amend(mode, ed_auth, server.base_url)
        assert result.order_id == "ord-1" and server.posts == 1


def test_an_absurd_date_header_does_not_spoil_a_200(ed_auth: KalshiAuth) -> None:
    def behave(conn: socket.socket, request: fs.RawRequest, stop: Any) -> bool:
        head = b"HTTP/1.1 200 OK\r\nDate: Mon, 01 Jan 99999999999 00:00:00 GMT\r\nContent-Type: application/json\r\n"
        payload = fs.ok_body(request)
        conn.sendall(head + b"Content-Length: " + str(len(payload)).encode() + b"\r\n\r\n" + payload)
        return True

    with FaultyServer(behave) as server:
        [result] = amend("sync", ed_auth, server.base_url)
        assert result.order_id == "ord-1"
