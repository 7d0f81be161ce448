"""Loopback helpers for the transport tests: a throwaway CA, a TLS front, a CONNECT proxy,
and misbehaving answers for tests/support/faulty_server.py.

The TLS front and the proxy are one asyncio loop in a background thread; each just
pipes bytes, so what the client sends reaches the plain server behind unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import trustme

from tests.support.faulty_server import Behaviour, RawRequest

# -- behaviours for FaultyServer --------------------------------------------------------


@dataclass
class Sent:
    """How many body bytes a behaviour managed to write before the client gave up."""

    bytes: int = 0


def endless_chunked(sent: Sent, chunk: int = 64 * 1024, limit: int = 512 * 1024 * 1024) -> Behaviour:
    """A chunked 200 that never ends (up to ``limit`` bytes, so a broken client still ends)."""

    def behave(conn: socket.socket, request: RawRequest, stop: threading.Event) -> bool:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        piece = f"{chunk:x}\r\n".encode() + b" " * chunk + b"\r\n"
        while sent.bytes < limit and not stop.is_set():
            conn.sendall(piece)
            sent.bytes += chunk
        return False

    return behave


def trickle(every_s: float = 0.1, total_s: float = 60.0) -> Behaviour:
    """A 200 announcing a long body, then one byte every ``every_s`` (for ``total_s`` at most)."""

    def behave(conn: socket.socket, request: RawRequest, stop: threading.Event) -> bool:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n")
        for _ in range(int(total_s / every_s)):
            if stop.wait(every_s):
                break
            conn.sendall(b" ")
        return False

    return behave


def endless_processing(every_s: float = 0.1, total_s: float = 60.0) -> Behaviour:
    """``HTTP/1.1 102 Processing`` again and again, never a final answer."""

    def behave(conn: socket.socket, request: RawRequest, stop: threading.Event) -> bool:
        for _ in range(int(total_s / every_s)):
            conn.sendall(b"HTTP/1.1 102 Processing\r\n\r\n")
            if stop.wait(every_s):
                break
        return False

    return behave


# -- a throwaway CA, a TLS front and a CONNECT proxy ------------------------------------


@dataclass
class Ca:
    ca: trustme.CA
    path: Path  # PEM of the CA certificate

    def client_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        self.ca.configure_trust(context)
        return context


def make_ca(directory: Path) -> Ca:
    ca = trustme.CA()
    path = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return Ca(ca, path)


@dataclass
class Fronts:
    """A TLS front (https://127.0.0.1:tls_port -> upstream) and a CONNECT proxy."""

    upstream_port: int
    tls_port: int = 0
    proxy_port: int = 0
    tls_connections: int = 0  # TCP connections accepted by the TLS front (handshakes tried)
    tunnels: list[str] = field(default_factory=list)  # CONNECT targets the proxy opened
    forwarded: list[str] = field(default_factory=list)  # plain-http URLs the proxy forwarded

    def base_url(self, host: str = "127.0.0.1") -> str:
        return f"https://{host}:{self.tls_port}/trade-api/v2"

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (OSError, ssl.SSLError):
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()


async def _join(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str, port: int, first: bytes = b""
) -> None:
    try:
        up_reader, up_writer = await asyncio.open_connection(host, port)
    except OSError:
        writer.close()
        return
    up_writer.write(first)
    await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


@contextlib.contextmanager
def fronts(upstream_port: int, ca: Ca) -> Iterator[Fronts]:
    """Runs a TLS front (cert for 127.0.0.1 and localhost, from ``ca``) before the plain
    server on ``upstream_port``, and a CONNECT proxy, until the block ends."""
    state = Fronts(upstream_port)
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.ca.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    servers: list[asyncio.Server] = []

    async def tls_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        state.tls_connections += 1  # every attempt, a refused handshake too
        try:
            await writer.start_tls(server_context)
        except (OSError, ssl.SSLError):
            writer.close()
            return
        await _join(reader, writer, "127.0.0.1", upstream_port)

    async def proxy_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        method, target, _ = head.split(b"\r\n", 1)[0].decode().split(" ", 2)
        if method != "CONNECT":  # a plain-http request in absolute form: forward it
            url = httpx.URL(target)
            state.forwarded.append(target)
            line = f"{method} {url.raw_path.decode()} HTTP/1.1\r\n".encode()
            await _join(reader, writer, url.host, url.port or 80, first=line + head.split(b"\r\n", 1)[1])
            return
        state.tunnels.append(target)
        host, _, port = target.rpartition(":")
        writer.write(b"HTTP/1.1 200 Connection Established\r\n\r\n")
        await writer.drain()
        await _join(reader, writer, host.strip("[]"), int(port))

    async def start() -> None:
        tls = await asyncio.start_server(tls_client, "127.0.0.1", 0)
        proxy = await asyncio.start_server(proxy_client, "127.0.0.1", 0)
        servers.extend([tls, proxy])
        state.tls_port = tls.sockets[0].getsockname()[1]
        state.proxy_port = proxy.sockets[0].getsockname()[1]

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    ready.wait(10)
    try:
        yield state
    finally:

        async def stop() -> None:
            for server in servers:
                server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
