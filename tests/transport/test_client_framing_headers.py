"""A framing header set on the client (``with_headers``: ``Content-Length`` or
``Transfer-Encoding``) is replaced on both routes by the body's own ``Content-Length``:
never sent beside it (two lengths, or chunked plus a length, is a request RFC 9112
section 6.3 says a server must refuse or may frame differently, and a connection framed
differently by the two ends swallows the next request's first bytes)."""

from __future__ import annotations

from typing import cast

import pytest

from auth_hooks import KalshiAuth, KalshiClient, make_client
from tests.support import faulty_server as fs

from .test_wire import RecordingServer, send_both_ways

FRAMING = (b"content-length", b"transfer-encoding")


def _framing_headers(raw: bytes) -> list[list[tuple[bytes, bytes]]]:
    """The framing headers of each request of one connection's byte stream, in order.

    Each body is framed as FaultyServer frames it (the last Content-Length), so two
    Content-Length headers do not throw the split off.
    """
    found = []
    while raw:
        end = raw.index(b"\r\n\r\n")
        headers = []
        for line in raw[:end].split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            headers.append((name.strip().lower(), value.strip()))
        framing = [(n, v) for n, v in headers if n in FRAMING]
        found.append(framing)
        lengths = [int(v) for n, v in framing if n == b"content-length"]
        raw = raw[end + 4 + (lengths[-1] if lengths else 0) :]
    return found


@pytest.mark.parametrize("mode", ["sync", "async"])
@pytest.mark.parametrize(
    "extra", [{"Content-Length": "3"}, {"Transfer-Encoding": "chunked"}], ids=["length", "chunked"]
)
def test_a_framing_header_set_on_the_client_is_replaced_on_the_direct_route_as_on_httpx(
    mode: str, extra: dict[str, str], auth: KalshiAuth
) -> None:
    server = RecordingServer(fs.ok())
    with server:
        client = cast(KalshiClient, make_client(auth, base_url=server.base_url).with_headers(extra))
        send_both_ways(mode, client)  # amend_order (direct route), then the generated function
        direct, through_httpx = _framing_headers(bytes(server.raw[0]))
    assert len(through_httpx) == 1 and through_httpx[0][0] == b"content-length"
    assert direct == through_httpx, f"the direct route sent {direct}, httpx's route {through_httpx}"
