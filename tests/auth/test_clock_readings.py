"""How KalshiAuth feeds the clock, over real loopback servers: a slow body does not skew it.

The server's Date and the client's clock both come from one injected clock, which the
server moves on by 12 s between sending the headers and the body: a body that takes
12 s, without a test that waits 12 s.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from email.utils import formatdate

import httpx
import pytest
from kalshi_trade_api.models import AmendOrderV2Request, BookSide

from auth_hooks import KalshiAuth, amend_order, load_private_key, make_client
from tests.support.faulty_server import Behaviour, FaultyServer, RawRequest, ok_body
from tests.support.keys import KeyFiles
from tests.support.verifying_server import SignatureCheckingServer

START = 1_700_000_000.0
BODY = AmendOrderV2Request(ticker="T", side=BookSide.BID, price="0.5600", count="10.00")


def _slow_body(now: list[float], server_ahead_s: float, headers_seen: threading.Event | None) -> Behaviour:
    def behave(conn: socket.socket, request: RawRequest, stop: threading.Event) -> bool:
        body = ok_body(request)
        head = (
            "HTTP/1.1 200 OK\r\n"
            f"Date: {formatdate(now[0] + server_ahead_s, usegmt=True)}\r\n"
            "Content-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        conn.sendall(head.encode())
        if headers_seen is not None:
            headers_seen.wait(30)  # until the client has the headers
        now[0] += 12.0  # the body takes 12 s to come
        conn.sendall(body)
        return True

    return behave


def test_a_slow_body_does_not_skew_the_offset(key_files: dict[str, KeyFiles]) -> None:
    # Before: Date was compared with when the body finished, and this set -11.5 s.
    now = [START]
    auth = KalshiAuth("k", load_private_key(key_files["ed25519"].path), clock=lambda: now[0])
    with FaultyServer(_slow_body(now, 0.0, None)) as server:
        client = make_client(auth, base_url=server.base_url)
        for order in ("a", "b", "c", "d"):
            assert amend_order(client, order, BODY).order_id == order
        client.close()
    assert auth.clock_offset_ms == 0


def test_with_the_headers_hook_a_slow_body_still_teaches_the_offset(key_files: dict[str, KeyFiles]) -> None:
    # record_headers_arrival, run as the first response hook, times the headers; a later
    # hook reading the slow body does not matter. The exchange is 3 s ahead.
    now = [START]
    auth = KalshiAuth("k", load_private_key(key_files["ed25519"].path), clock=lambda: now[0])
    headers_seen = threading.Event()

    def headers_arrived(response: httpx.Response) -> None:
        auth.record_headers_arrival(response)
        headers_seen.set()

    with (
        FaultyServer(_slow_body(now, 3.0, headers_seen)) as server,
        httpx.Client(
            auth=auth, event_hooks={"response": [headers_arrived, lambda response: response.read()]}
        ) as client,
    ):
        response = client.post(f"{server.base_url}/portfolio/events/orders/o/amend", json={})
        assert response.status_code == 200
        assert json.loads(response.content)["order_id"] == "o"
    assert 3000 <= auth.clock_offset_ms <= 4000


def test_a_plain_httpx_client_recovers_from_a_refused_timestamp(key_files: dict[str, KeyFiles]) -> None:
    # No make_client, no hooks: the flow reads the 401's body itself, re-syncs, re-sends once.
    auth = KalshiAuth("k", load_private_key(key_files["ed25519"].path))
    server = SignatureCheckingServer({"k": key_files["ed25519"].public_pem}, window_ms=10_000, skew_s=-40)
    with server.running(), httpx.Client(auth=auth) as client:
        response = client.post(f"{server.base_url}/portfolio/events/orders/o/amend", json={})
        assert response.status_code == 200
    assert [r.verdict for r in server.received] == ["header_timestamp_expired", "ok"]
    assert abs(auth.clock_offset_ms + 40_000) <= 1500


@pytest.mark.parametrize("key_name", ["ed25519", "rsa_pkcs1"])
def test_a_plain_async_httpx_client_recovers_from_a_refused_timestamp(
    key_files: dict[str, KeyFiles], key_name: str
) -> None:
    auth = KalshiAuth("k", load_private_key(key_files[key_name].path))
    server = SignatureCheckingServer({"k": key_files[key_name].public_pem}, window_ms=10_000, skew_s=40)

    async def amend() -> httpx.Response:
        async with httpx.AsyncClient(auth=auth) as client:
            return await client.post(f"{server.base_url}/portfolio/events/orders/o/amend", json={})

    with server.running():
        assert asyncio.run(amend()).status_code == 200
    assert [r.verdict for r in server.received] == ["header_timestamp_expired", "ok"]
    assert abs(auth.clock_offset_ms - 40_000) <= 1500
