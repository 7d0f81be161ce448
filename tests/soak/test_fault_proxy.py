"""The fault proxy itself, with httpx against the local exchange: each fault does what it says."""

from __future__ import annotations

import asyncio
import json
import ssl
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
from kalshi_trade_api.models import AmendOrderV2Request, BookSide

from auth_hooks import KalshiAuth, amend_order, load_private_key, make_client
from local_exchange import Exchange, RunningServer, serve
from tests.support.fault_proxy import (
    Fault,
    FaultProxy,
    RequestInfo,
    _Answer,
    _read_answer,
    _unchunked,
    always,
    seeded,
)
from tests.support.keys import KeyFiles

MARKET = "KXPROXY-26DEC-T1"
KEY_ID = "proxy-test-key"
# Generous: the proxy answers at once; only DELAY needs the client to time out.
TIMEOUT = httpx.Timeout(30.0)


@pytest.fixture
def exchange(key_files: dict[str, KeyFiles]) -> Exchange:
    ex = Exchange()
    ex.add_market(MARKET)
    ex.add_account(KEY_ID, key_files["ed25519"].public_pem, account="bot")
    return ex


@pytest.fixture
def server(exchange: Exchange) -> Iterator[RunningServer]:
    with serve(exchange) as running:
        yield running
    assert exchange.server_errors == []


@pytest.fixture
def order_id(exchange: Exchange) -> str:
    return exchange.place_order("bot", MARKET, "bid", "0.40", "5")


def admin_path(order_id: str) -> str:
    return f"/_admin/orders/{order_id}"


def seen_by_exchange(exchange: Exchange, path: str) -> int:
    return sum(1 for r in exchange.requests if r.path == path)


def test_pass_relays_the_answer_and_keeps_the_connection(
    server: RunningServer, exchange: Exchange, order_id: str
) -> None:
    with (
        FaultProxy(server.root_url, always(Fault.PASS)) as proxy,
        httpx.Client(timeout=TIMEOUT, trust_env=False) as client,
    ):
        direct = httpx.get(server.root_url + admin_path(order_id), timeout=TIMEOUT, trust_env=False)
        answers = [client.get(proxy.root_url + admin_path(order_id)) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert all(a.json() == direct.json() for a in answers)
    records = proxy.records()
    assert [(r.fault, r.forwarded, r.upstream_status, r.client_status, r.done) for r in records] == [
        (Fault.PASS, True, 200, 200, True)
    ] * 3
    assert len({r.request.connection for r in records}) == 1  # keep-alive through the proxy
    assert seen_by_exchange(exchange, admin_path(order_id)) == 4


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault.DROP_BEFORE, httpx.RemoteProtocolError),
        (Fault.DROP_AFTER, httpx.RemoteProtocolError),
        (Fault.CUT_BODY, httpx.RemoteProtocolError),
    ],
)
def test_connection_faults_leave_the_client_without_an_answer(
    server: RunningServer, exchange: Exchange, order_id: str, fault: Fault, error: type[Exception]
) -> None:
    with (
        FaultProxy(server.root_url, always(fault)) as proxy,
        httpx.Client(timeout=TIMEOUT, trust_env=False) as client,
        pytest.raises(error),
    ):
        client.get(proxy.root_url + admin_path(order_id))
    (record,) = proxy.records()
    assert record.done and record.error is None
    assert record.forwarded is fault.forwards
    assert seen_by_exchange(exchange, admin_path(order_id)) == (1 if fault.forwards else 0)
    assert record.upstream_status == (200 if fault.forwards else None)


def test_cut_body_sends_the_head_and_part_of_the_body(
    server: RunningServer, exchange: Exchange, order_id: str
) -> None:
    with (
        FaultProxy(server.root_url, always(Fault.CUT_BODY)) as proxy,
        httpx.Client(timeout=TIMEOUT, trust_env=False) as client,
        client.stream("GET", proxy.root_url + admin_path(order_id)) as response,
    ):
        assert response.status_code == 200
        with pytest.raises(httpx.RemoteProtocolError):
            response.read()
    (record,) = proxy.records()
    assert record.upstream_body is not None and len(record.upstream_body) > 2


def test_delay_holds_the_answer_until_the_client_gives_up(
    server: RunningServer, exchange: Exchange, order_id: str
) -> None:
    with FaultProxy(server.root_url, always(Fault.DELAY)) as proxy:
        with httpx.Client(timeout=0.3, trust_env=False) as client, pytest.raises(httpx.ReadTimeout):
            client.get(proxy.root_url + admin_path(order_id))
        assert proxy.wait_settled(admin_path(order_id))
    (record,) = proxy.records()
    assert (record.forwarded, record.upstream_status, record.client_status) == (True, 200, None)
    assert seen_by_exchange(exchange, admin_path(order_id)) == 1


def test_forward_late_forwards_only_once_the_client_gave_up(
    server: RunningServer, exchange: Exchange, order_id: str
) -> None:
    with FaultProxy(server.root_url, always(Fault.FORWARD_LATE)) as proxy:
        with httpx.Client(timeout=0.3, trust_env=False) as client, pytest.raises(httpx.ReadTimeout):
            client.get(proxy.root_url + admin_path(order_id))
        assert proxy.wait_settled(admin_path(order_id))
    (record,) = proxy.records()
    assert (record.forwarded, record.upstream_status, record.client_status) == (True, 200, None)
    assert seen_by_exchange(exchange, admin_path(order_id)) == 1


@pytest.mark.parametrize(("fault", "status"), [(Fault.REPLY_5XX, 502), (Fault.FORWARD_THEN_503, 503)])
def test_5xx_faults_answer_and_keep_the_connection(
    server: RunningServer, exchange: Exchange, order_id: str, fault: Fault, status: int
) -> None:
    with (
        FaultProxy(server.root_url, always(fault)) as proxy,
        httpx.Client(timeout=TIMEOUT, trust_env=False) as client,
    ):
        answers = [client.get(proxy.root_url + admin_path(order_id)) for _ in range(2)]
    assert [a.status_code for a in answers] == [status, status]
    records = proxy.records()
    assert [(r.forwarded, r.client_status) for r in records] == [(fault.forwards, status)] * 2
    assert records[0].request.connection == records[1].request.connection
    assert seen_by_exchange(exchange, admin_path(order_id)) == (2 if fault.forwards else 0)


def test_a_fault_hits_one_request_of_a_kept_alive_connection(
    server: RunningServer, exchange: Exchange, order_id: str
) -> None:
    plan = {0: Fault.PASS, 1: Fault.REPLY_5XX, 2: Fault.FORWARD_THEN_503, 3: Fault.PASS}

    def schedule(info: RequestInfo) -> Fault:
        return plan[info.index]

    with (
        FaultProxy(server.root_url, schedule) as proxy,
        httpx.Client(timeout=TIMEOUT, trust_env=False) as client,
    ):
        statuses = [client.get(proxy.root_url + admin_path(order_id)).status_code for _ in plan]
    assert statuses == [200, 502, 503, 200]
    assert len({r.request.connection for r in proxy.records()}) == 1
    assert seen_by_exchange(exchange, admin_path(order_id)) == 3


def test_a_signed_amend_goes_through_intact(
    server: RunningServer, exchange: Exchange, order_id: str, key_files: dict[str, KeyFiles]
) -> None:
    body = AmendOrderV2Request(ticker=MARKET, side=BookSide.BID, price="0.4100", count="7.00")
    auth = KalshiAuth(KEY_ID, load_private_key(key_files["ed25519"].path))
    with (
        FaultProxy(server.root_url, always(Fault.PASS)) as proxy,
        make_client(auth, base_url=proxy.base_url, timeout=TIMEOUT, trust_env=False) as client,
    ):
        result = amend_order(client, order_id, body)
    auth.close()
    assert result.order_id == order_id
    order = exchange.order(order_id)
    assert (order.price, order.count) == (Decimal("0.41"), Decimal(7))
    (record,) = proxy.records()
    assert record.request.method == "POST"
    assert json.loads(record.request.body)["price"] == "0.4100"
    assert "KALSHI-ACCESS-SIGNATURE".lower() not in repr(record).lower()


@pytest.mark.parametrize("fault", [Fault.PASS, Fault.DROP_AFTER, Fault.CUT_BODY, Fault.FORWARD_THEN_503])
def test_tls_towards_the_client(
    server: RunningServer,
    exchange: Exchange,
    order_id: str,
    proxy_tls: tuple[ssl.SSLContext, str],
    fault: Fault,
) -> None:
    context, ca_path = proxy_tls
    with (
        FaultProxy(server.root_url, always(fault), tls=context) as proxy,
        httpx.Client(
            timeout=TIMEOUT, trust_env=False, verify=ssl.create_default_context(cafile=ca_path)
        ) as client,
    ):
        assert proxy.root_url.startswith("https://")
        try:
            status: int | str = client.get(proxy.root_url + admin_path(order_id)).status_code
        except httpx.RemoteProtocolError:
            status = "no answer"
    expected = {Fault.PASS: 200, Fault.FORWARD_THEN_503: 503}.get(fault, "no answer")
    assert status == expected
    (record,) = proxy.records()
    assert (record.forwarded, record.upstream_status) == (True, 200)


def test_a_failing_schedule_is_recorded_and_closes_the_connection(
    server: RunningServer, exchange: Exchange, order_id: str
) -> None:
    def schedule(info: RequestInfo) -> Fault:
        raise KeyError("no plan for it")

    with (
        FaultProxy(server.root_url, schedule) as proxy,
        httpx.Client(timeout=TIMEOUT, trust_env=False) as client,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        client.get(proxy.root_url + admin_path(order_id))
    (record,) = proxy.records()
    assert record.done and record.error is not None and "no plan for it" in record.error
    assert seen_by_exchange(exchange, admin_path(order_id)) == 0


def test_seeded_schedule_depends_on_the_seed_and_the_request_only() -> None:
    weights = {fault: 1.0 for fault in Fault}

    def info(index: int, body: bytes, method: str = "POST") -> RequestInfo:
        return RequestInfo(index, 0, method, "/x", {}, body)

    first, again, other = seeded(7, weights), seeded(7, weights), seeded(8, weights)
    bodies = [str(n).encode() for n in range(200)]
    picks = [first(info(n, b)) for n, b in enumerate(bodies)]
    # Arrival order does not matter: the same request gets the same fault.
    assert picks == [again(info(999 - n, b)) for n, b in enumerate(bodies)]
    assert picks != [other(info(n, b)) for n, b in enumerate(bodies)]
    assert set(picks) == set(Fault)
    assert first(info(0, b"", method="GET")) is Fault.PASS


def test_chunked_answers_are_framed_and_unchunked() -> None:
    async def read(raw: bytes) -> _Answer:
        reader = asyncio.StreamReader()
        reader.feed_data(raw)
        reader.feed_eof()
        return await _read_answer(reader, "GET")

    raw = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=1\r\nde\r\n0\r\n\r\nNEXT"
    answer = asyncio.run(read(raw))
    assert answer.status == 200 and not answer.close
    assert answer.body == b"3\r\nabc\r\n2;x=1\r\nde\r\n0\r\n\r\n"
    assert _unchunked(answer) == b"abcde"
