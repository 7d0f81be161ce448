"""Serving the exchange with uvicorn on loopback, in a background thread or in the foreground."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn

from .app import API_PREFIX, create_app
from .exchange import Exchange
from .validation import DEFAULT_SPEC_PATH

STARTUP_TIMEOUT_S = 10.0
SHUTDOWN_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class RunningServer:
    exchange: Exchange
    host: str
    port: int

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

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
) -> _Server:
    config = uvicorn.Config(
        create_app(exchange, strict_responses=strict_responses, spec_path=spec_path),
        http="h11",
        lifespan="off",
        access_log=access_log,
        log_level="info" if access_log else "warning",
        # The app sets Date from the exchange's (skewable) clock; uvicorn's would be a second one.
        date_header=False,
        server_header=False,
    )
    return _Server(config)


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
) -> Iterator[RunningServer]:
    """Runs `exchange` over HTTP in a background thread for the duration of the block."""
    sock = bind_loopback(host, port)
    actual_port: int = sock.getsockname()[1]
    server = make_server(exchange, strict_responses=strict_responses, spec_path=spec_path)
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
        yield RunningServer(exchange, host, actual_port)
    finally:
        server.stop()
        thread.join(SHUTDOWN_TIMEOUT_S)
        sock.close()
        if thread.is_alive():
            raise RuntimeError("the local exchange did not stop in time")
