"""The exchange under abuse: malformed bodies get a 400 in Kalshi's shape (never a 500),
bodies are capped and read only after the signature, connections that send nothing or
half a head are closed, and the records of traffic are bounded."""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import local_exchange.exchange as exchange_module
from local_exchange import Exchange, RequestRecord, RunningServer, serve
from local_exchange.app import MAX_BODY_BYTES

from .conftest import MARKET
from .support import AmendApi, TestKey, amend_path, signed_headers

# Generous: these wait for the server to act on a 1 s timeout on a loaded 2-core box.
SOCKET_TIMEOUT_S = 30.0


def body(**fields: Any) -> dict[str, Any]:
    return {"ticker": MARKET, "side": "bid", "price": "0.40", "count": "9", **fields}


def with_raw(field: str, raw: bytes) -> bytes:
    """An amend body whose `field` is the raw JSON text given."""
    return json.dumps(body()).encode().removesuffix(b"}") + b', "' + field.encode() + b'": ' + raw + b"}"


@pytest.fixture
def order_id(exchange: Exchange) -> str:
    exchange.place_order("bob", MARKET, "ask", "0.60", "5")  # something to cross
    return exchange.place_order("alice", MARKET, "bid", "0.40", "10")


@pytest.mark.parametrize(
    "raw",
    [
        b'{"ticker": ' + b"[" * 20_000 + b"]" * 20_000 + b"}",  # deeper than the parser's recursion
        with_raw("ticker", b"[" * 500 + b"]" * 500),
        json.dumps(body(ticker=json.loads('{"a":' * 40 + "1" + "}" * 40))).encode(),
        json.dumps(body(count="1" * 40)).encode(),
        json.dumps(body(price="0.60", count="1" * 40)).encode(),  # crossing, 40 digits
        json.dumps(body(count="9" * 27 + ".5")).encode(),
        json.dumps(body(price="1" * 40 + ".00")).encode(),
        json.dumps(body(expiration_time=10**40)).encode(),
        json.dumps(body(expiration_time=2**63 - 1)).encode(),  # an int64, but past year 9999
        json.dumps(body(exchange_index=10**40)).encode(),
        with_raw("exchange_index", b"1" * 5000),  # more digits than Python converts
        with_raw("exchange_index", b"1e999"),
        with_raw("count", b"1" * 4000),
        with_raw("client_order_id", b'"\\ud800"'),  # a lone surrogate: valid JSON, not UTF-8
        with_raw("\\udfff", b"1"),
    ],
    ids=lambda raw: f"{raw[:30]!r}...{len(raw)}",
)
def test_malformed_bodies_get_a_400_in_kalshis_shape(
    api: AmendApi, exchange: Exchange, order_id: str, alice_key: TestKey, raw: bytes
) -> None:
    response = api.amend(order_id, raw, key=alice_key)
    assert response.status_code == 400, response.text
    payload = response.json()
    assert set(payload) == {"error"} or set(payload) == {"code", "message"}
    assert exchange.order(order_id).count == 10
    assert exchange.fills() == []
    # The `server` fixture also asserts that nothing was recorded as an exchange bug.


def test_a_body_over_the_cap_is_refused_and_the_connection_closed(
    api: AmendApi, order_id: str, alice_key: TestKey
) -> None:
    padded = b" " * MAX_BODY_BYTES + json.dumps(body()).encode()
    response = api.amend(order_id, padded, key=alice_key)
    assert response.status_code == 400
    assert "over the limit" in response.json()["error"]["message"]
    assert response.headers["connection"] == "close"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap holds while streaming
        yield from [b" " * 8192] * (MAX_BODY_BYTES // 8192 + 1)
        yield json.dumps(body()).encode()

    path = amend_path(order_id)
    headers = signed_headers(alice_key, "POST", path, api.now_ms()) | {"content-type": "application/json"}
    streamed = api.client.post(api.server.root_url + path, content=chunks(), headers=headers)
    assert streamed.status_code == 400
    assert "over the limit" in streamed.json()["error"]["message"]


def raw_connection(server: RunningServer) -> socket.socket:
    """A socket to the server, TLS-wrapped when it serves HTTPS: what goes on it is raw."""
    sock = socket.create_connection((server.host, server.port), timeout=SOCKET_TIMEOUT_S)
    if server.ca_path is None:
        return sock
    context = ssl.create_default_context(cafile=str(server.ca_path))
    return context.wrap_socket(sock, server_hostname=server.host)


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (or the timeout fails it)."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_the_signature_is_checked_before_the_body_is_read(
    api: AmendApi, order_id: str, alice_key: TestKey
) -> None:
    # A head announcing 10 MB and no body at all: the 401 comes from the headers alone.
    head = (
        f"POST {amend_path(order_id)} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 10000000\r\nKALSHI-ACCESS-KEY: alice-key\r\n\r\n"
    )
    with raw_connection(api.server) as sock:
        sock.sendall(head.encode())
        answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 401 ")


@pytest.fixture
def quick_server(exchange: Exchange) -> Iterator[RunningServer]:
    """Timeouts of 1 s, so that the tests below wait only a little."""
    with serve(exchange, idle_timeout_s=1, body_timeout_s=1.0) as running:
        yield running
    assert exchange.server_errors == []


@pytest.mark.parametrize(
    "sent",
    [
        b"",  # connects and says nothing
        b"GET /trade-api/v2/portfolio/orders/x HTTP/1.1\r\nHost: x\r\n",  # half a head
        b"G",
    ],
)
def test_connections_that_send_no_whole_head_are_closed(quick_server: RunningServer, sent: bytes) -> None:
    with raw_connection(quick_server) as sock:
        sock.sendall(sent)
        assert read_until_closed(sock) == b""  # closed without an answer


def test_a_kept_alive_connection_must_send_its_next_head_in_time(
    quick_server: RunningServer, exchange: Exchange
) -> None:
    with raw_connection(quick_server) as sock:
        sock.sendall(b"GET /trade-api/v2/portfolio/orders/x HTTP/1.1\r\nHost: x\r\n\r\nGET /trade")
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 401 ")
    assert answer.count(b"HTTP/1.1") == 1


def test_a_signed_body_that_never_arrives_is_refused(
    quick_server: RunningServer, exchange: Exchange, order_id: str, alice_key: TestKey
) -> None:
    path = amend_path(order_id)
    headers = signed_headers(alice_key, "POST", path, exchange.now_ms())
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items()) + "\r\n"
    with raw_connection(quick_server) as sock:
        sock.sendall(head.encode() + b'{"ticker": ')
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 400 ")
    assert b"did not arrive within 1 s" in answer
    assert exchange.order(order_id).count == 10


def test_what_is_recorded_per_request_is_bounded(
    monkeypatch: pytest.MonkeyPatch, api: AmendApi, exchange: Exchange, alice_key: TestKey
) -> None:
    long_id = "x" * 5000
    response = api.get_order(long_id, key=alice_key)
    assert response.status_code == 404
    record = exchange.requests[-1]
    assert len(record.path) == exchange_module.RECORDED_TEXT_LIMIT

    monkeypatch.setattr(exchange_module, "REQUEST_RECORD_LIMIT", 3)
    monkeypatch.setattr(exchange_module, "RECORD_LIMIT", 3)
    small = Exchange()
    for n in range(5):
        small.record_request(RequestRecord("POST", f"/p{n}", "", 404, None, n))
    small.record_request(RequestRecord("POST", "/p4", "", 404, None, 5))
    assert [r.ts_ms for r in small.requests] == [3, 4, 5]
    assert small.post_count() == 6  # the total is never forgotten
    assert [small.post_count(f"/p{n}") for n in range(5)] == [0, 0, 1, 1, 2]


def test_tls(exchange: Exchange, alice_key: TestKey) -> None:
    order_id = exchange.place_order("alice", MARKET, "bid", "0.40", "10")
    with serve(exchange, tls=True) as server:
        assert server.base_url.startswith("https://127.0.0.1:")
        assert server.ca_path is not None
        ca_path = server.ca_path
        trusting = ssl.create_default_context(cafile=str(ca_path))
        with httpx.Client(verify=trusting, timeout=10.0) as client:
            path = f"/trade-api/v2/portfolio/orders/{order_id}"
            headers = signed_headers(alice_key, "GET", path, exchange.now_ms())
            response = client.get(server.root_url + path, headers=headers)
            assert response.status_code == 200
        with pytest.raises(httpx.ConnectError, match="certificate verify failed"):
            httpx.get(server.root_url + path, timeout=10.0)  # the system's CAs do not know it
    assert not ca_path.exists()  # thrown away with the server
