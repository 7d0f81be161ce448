"""The pools speak HTTP/1.1 only: make_client's own TLS context offers just "http/1.1" in
ALPN, and a server that picks another protocol (h2, offered by an SSLContext of yours) is
refused before a byte of the request is written: NotSent, never garbage sent as HTTP/2."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from auth_hooks import KalshiAuth, NotSent

from .modes import amend
from .servers import Ca


@dataclass
class AlpnServer:
    port: int = 0
    chosen: list[str | None] = field(default_factory=list)
    received: list[bytes] = field(default_factory=list)


@contextlib.contextmanager
def alpn_server(ca: Ca, protocols: list[str]) -> Iterator[AlpnServer]:
    """A TLS server that negotiates ALPN from ``protocols``, records what was chosen and any
    bytes sent after the handshake, and closes without answering."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.ca.issue_cert("127.0.0.1").configure_cert(context)
    context.set_alpn_protocols(protocols)
    listener = socket.create_server(("127.0.0.1", 0))
    state = AlpnServer(listener.getsockname()[1])
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(2)
                try:
                    tls = context.wrap_socket(conn, server_side=True)
                except (OSError, ssl.SSLError):
                    state.received.append(b"")
                    continue
                with tls:
                    state.chosen.append(tls.selected_alpn_protocol())
                    tls.settimeout(0.3)
                    try:
                        state.received.append(tls.recv(65536))
                    except (OSError, ssl.SSLError):
                        state.received.append(b"")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        stop.set()
        thread.join(5)
        listener.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_a_server_choosing_h2_is_refused_before_sending(mode: str, auth: KalshiAuth, ca: Ca) -> None:
    offers_h2 = ca.client_context()
    offers_h2.set_alpn_protocols(["h2", "http/1.1"])
    with alpn_server(ca, ["h2"]) as server, pytest.raises(NotSent, match="chose 'h2'"):
        amend(mode, auth, f"https://127.0.0.1:{server.port}/trade-api/v2", verify=offers_h2)
    assert server.chosen == ["h2"]  # not retried: it would choose h2 again
    assert server.received == [b""]  # nothing of the request arrived


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_make_clients_own_context_offers_http_1_1_only(mode: str, auth: KalshiAuth, ca: Ca) -> None:
    with alpn_server(ca, ["h2", "http/1.1"]) as server, contextlib.suppress(Exception):
        amend(mode, auth, f"https://127.0.0.1:{server.port}/trade-api/v2", verify=str(ca.path))
    assert server.chosen[0] == "http/1.1"
    assert server.received[0].startswith(b"POST /trade-api/v2/")
