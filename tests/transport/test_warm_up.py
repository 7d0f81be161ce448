"""Issue 13's warm-up: warm_up() / warm_up_async() open the connection ahead of the first
amend with one read (Get Order of an order that does not exist), on all three transports."""

from __future__ import annotations

import asyncio
import json
import socket
import threading

import pytest

from auth_hooks import (
    AuthenticationFailed,
    KalshiAuth,
    amend_order,
    amend_order_async,
    load_private_key,
    make_client,
    warm_up,
    warm_up_async,
)
from auth_hooks.warmup import WARM_UP_ORDER_ID
from tests.outcomes.helpers import body
from tests.support import faulty_server as fs
from tests.support.keys import KeyFiles

from .modes import MODES, client_args

NOT_FOUND = json.dumps({"error": {"code": "not_found", "message": "order not found"}}).encode()


def _exchange_like(conn: socket.socket, request: fs.RawRequest, stop: threading.Event) -> bool:
    if request.method == "GET":
        return fs.reply(404, NOT_FOUND)(conn, request, stop)
    return fs.ok()(conn, request, stop)


@pytest.mark.parametrize("mode", MODES)
def test_connect_opens_the_connection_the_amend_then_uses(mode: str, auth: KalshiAuth) -> None:
    with fs.FaultyServer(_exchange_like) as server:
        client = make_client(auth, base_url=server.base_url, **client_args(mode))
        if mode == "sync":
            with client:
                warm_up(client)
                amend_order(client, "o1", body())
        else:

            async def run() -> None:
                async with client:
                    await warm_up_async(client)
                    await amend_order_async(client, "o1", body())

            asyncio.run(run())
        assert [r.method for r in server.requests] == ["GET", "POST"]
        assert server.requests[0].target.endswith(f"/portfolio/orders/{WARM_UP_ORDER_ID}")
        assert server.connections == 1  # the amend went out on the warmed connection


def test_connect_reports_a_key_the_exchange_refuses(key_files: dict[str, KeyFiles]) -> None:
    from local_exchange import Exchange, serve

    exchange = Exchange()
    exchange.add_account("known", key_files["ed25519"].public_pem)
    auth = KalshiAuth("known", load_private_key(key_files["ed25519"].path))
    stranger = KalshiAuth("stranger", load_private_key(key_files["ed25519"].path))
    with serve(exchange, tls=True) as server:
        assert server.ca_path is not None
        with make_client(auth, base_url=server.base_url, verify=server.ca_path) as client:
            warm_up(client)  # the real 404 of the local exchange, over TLS
        with (
            make_client(stranger, base_url=server.base_url, verify=server.ca_path) as client,
            pytest.raises(AuthenticationFailed),
        ):
            warm_up(client)
