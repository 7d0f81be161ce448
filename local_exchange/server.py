"""Serving the exchange with uvicorn on loopback, in a background thread or in the foreground.

Connections are bounded in time: one that sends no complete request head within
`idle_timeout_s` (of opening, or of its previous answer) is closed, and so is one idle
after an answer. Heads are bounded in size by h11, bodies by the app (size and time).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from .app import API_PREFIX, BODY_TIMEOUT_S, create_app
from .exchange import Exchange
from .tls import ServerTls, make_server_tls
from .validation import DEFAULT_SPEC_PATH

STARTUP_TIMEOUT_S = 10.0
SHUTDOWN_TIMEOUT_S = 10.0
IDLE_TIMEOUT_S = 5
MAX_HEAD_BYTES = 16 * 1024  # a request line and headers; a signed amend's are under 1 KiB


@dataclass(frozen=True)
class RunningServer:
    exchange: Exchange
    host: str
    port: int
    ca_path: Path | None = None  # with TLS: the PEM file of the CA a client must trust

    @property
    def scheme(self) -> str:
        return "http" if self.ca_path is None else "https"

    @property
    def root_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What a client's base URL would be for Kalshi: ".../trade-api/v2"."""
        return self.root_url + API_PREFIX


def bind_loopback(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening socket on a loopback address (port 0: a free one).

    Refuses other addresses: the exchange has unauthenticated admin views and must not be
    reachable from the network.
    """
    if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"the local exchange only binds to loopback, not {host}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be IPPROTO_TCP (not 0): only then does asyncio set TCP_NODELAY on accepted
    # connections. Without it, Nagle + delayed ACK add 40 ms to every keep-alive response.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        # Listening before uvicorn starts: connections made now wait in the backlog.
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    return sock


def make_server(
    exchange: Exchange,
    *,
    strict_responses: bool = True,
    spec_path: Path = DEFAULT_SPEC_PATH,
    access_log: bool = False,
    tls: ServerTls | None = None,
    idle_timeout_s: int = IDLE_TIMEOUT_S,
    body_timeout_s: float = BODY_TIMEOUT_S,
) -> _Server:
    app = create_app(
        exchange, strict_responses=strict_responses, spec_path=spec_path, body_timeout_s=body_timeout_s
    )
    config = uvicorn.Config(
        app,
        http=_GuardedH11Protocol,
        lifespan="off",
        access_log=access_log,
        log_level="info" if access_log else "warning",
        # The app sets Date from the exchange's (skewable) clock; uvicorn's would be a second one.
        date_header=False,
        server_header=False,
        timeout_keep_alive=idle_timeout_s,
        # A request still running at shutdown (a slow body, a response delay) is cut off
        # rather than holding the stop past SHUTDOWN_TIMEOUT_S.
        timeout_graceful_shutdown=int(SHUTDOWN_TIMEOUT_S / 2),
        h11_max_incomplete_event_size=MAX_HEAD_BYTES,
        ssl_certfile=None if tls is None else str(tls.cert_path),
        ssl_keyfile=None if tls is None else str(tls.key_path),
    )
    return _Server(config)


class _GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for every request head.

    uvicorn times out a connection only when it is idle after an answer, and any byte
    received cancels that. So a connection that never sends a byte, or sends half a
    head and stops, would stay open forever. Here a whole head must arrive within the
    keep-alive timeout of the connection opening or of the previous answer.
    """

    _head_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_timer()

    def data_received(self, data: bytes) -> None:
        cycle = self.cycle
        super().data_received(data)
        if self.cycle is not cycle:  # a whole request head arrived and is being served
            self._cancel_head_timer()

    def on_response_complete(self) -> None:
        cycle = self.cycle
        super().on_response_complete()
        if self.cycle is cycle and not self.transport.is_closing():  # no pipelined request started
            self._arm_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def _arm_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.timeout_keep_alive, self._head_timed_out)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.close()


class _Server(uvicorn.Server):
    """uvicorn's server, telling other threads when it accepts connections, and stopping
    at once when asked (uvicorn itself looks at `should_exit` only every 0.1 s)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self._loop = asyncio.get_running_loop()
        self.ready.set()

    async def main_loop(self) -> None:
        # Still polls: signal handlers (Ctrl-C in the foreground) only set should_exit.
        while not self.should_exit:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=0.1)

    def stop(self) -> None:
        """Thread-safe: asks the server to shut down now."""
        self.should_exit = True
        if self._loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                self._loop.call_soon_threadsafe(self._wake.set)


@contextlib.contextmanager
def serve(
    exchange: Exchange,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    strict_responses: bool = True,
    spec_path: Path = DEFAULT_SPEC_PATH,
    tls: bool = False,
    idle_timeout_s: int = IDLE_TIMEOUT_S,
    body_timeout_s: float = BODY_TIMEOUT_S,
) -> Iterator[RunningServer]:
    """Runs `exchange` in a background thread for the duration of the block.

    `tls=True`: HTTPS, with a certificate for 127.0.0.1, ::1 and localhost signed by a
    throwaway CA made now; clients trust `RunningServer.ca_path`. The CA and keys are
    deleted when the block ends.
    """
    with contextlib.ExitStack() as cleanup:
        server_tls = None
        if tls:
            server_tls = make_server_tls()
            cleanup.callback(shutil.rmtree, server_tls.directory, ignore_errors=True)
        yield cleanup.enter_context(
            _serve_thread(
                exchange,
                host=host,
                port=port,
                tls=server_tls,
                strict_responses=strict_responses,
                spec_path=spec_path,
                idle_timeout_s=idle_timeout_s,
                body_timeout_s=body_timeout_s,
            )
        )


@contextlib.contextmanager
def _serve_thread(
    exchange: Exchange,
    *,
    host: str,
    port: int,
    tls: ServerTls | None,
    strict_responses: bool,
    spec_path: Path,
    idle_timeout_s: int,
    body_timeout_s: float,
) -> Iterator[RunningServer]:
    sock = bind_loopback(host, port)
    actual_port: int = sock.getsockname()[1]
    server = make_server(
        exchange,
        strict_responses=strict_responses,
        spec_path=spec_path,
        tls=tls,
        idle_timeout_s=idle_timeout_s,
        body_timeout_s=body_timeout_s,
    )
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="local-exchange", daemon=True
    )
    thread.start()
    try:
        # ready is set at the end of startup; a thread that died first will never set it.
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not server.ready.wait(0.05):
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the local exchange failed to start (see the log)")
        yield RunningServer(exchange, host, actual_port, None if tls is None else tls.ca_path)
    finally:
        server.stop()
        thread.join(SHUTDOWN_TIMEOUT_S)
        sock.close()
        if thread.is_alive():
            raise RuntimeError("the local exchange did not stop in time")
