"""aiohttp re-sends a GET, PUT or DELETE on its own when a kept-alive connection fails;
through our transport, no request is ever sent twice below the call path."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading

import httpx
import pytest

from auth_hooks.aiohttp_transport import AiohttpTransport
from tests.support import faulty_server as fs
from tests.support.faulty_server import FaultyServer


@pytest.mark.parametrize("method", ["PUT", "DELETE", "GET"])
def test_a_request_lost_on_a_kept_alive_connection_is_not_resent(method: str) -> None:
    # The first request is answered and the connection kept; the second is read in full
    # and the connection then closed without an answer.
    def close_without_answer(conn: socket.socket, request: fs.RawRequest, stop: threading.Event) -> bool:
        conn.close()
        return False

    async def run(base_url: str) -> None:
        transport = AiohttpTransport(ssl_context=ssl.create_default_context())
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as client:
            await client.get("/first")
            with pytest.raises(httpx.TransportError):
                await client.request(method, "/second")

    with FaultyServer([fs.ok(), close_without_answer]) as server:
        asyncio.run(run(server.base_url))
        seconds = [r for r in server.requests if r.target.endswith("/second")]
    assert len(seconds) == 1
