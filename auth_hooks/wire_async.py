"""The asyncio twin of :mod:`auth_hooks.wire`: the same pool rules, on asyncio transports.

Only the I/O differs: the answer is read by the same :class:`~auth_hooks.http11.AnswerReader`
and failures are classified by the same "where did it fail" rule. A connection is an
``asyncio.Protocol`` (no streams, no tasks per request): data arriving wakes the one
request waiting on it, and a timer bounds each wait by the read timeout and the
request's deadline.

A request cancelled from outside (``asyncio.wait_for``, task cancellation) once written
leaves its connection closed, never pooled: the answer may still be on its way.
"""

from __future__ import annotations

import asyncio
import math
import socket
import ssl
import time
from collections import deque
from typing import Any

import httpx

from . import http11
from .http11 import RawAnswer
from .transports import (
    ClosedBeforeSending,
    ConnectFailed,
    ConnectTimedOut,
    NotSentUnsupported,
    PoolTimedOut,
    certificate_error,
    deadline_error,
    is_past,
    retry_delay,
    retryable,
    short,
)
from .wire import PoolBook, Timeouts, check_alpn, deadline_for, deadline_passed, readable_now, seconds_left


class _Connection(asyncio.Protocol):
    """One connection: what has arrived, and the request (if any) waiting for more."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.idle_since = 0.0
        self.generation = 0  # the pool's, when it was opened
        self.idle = False  # in the pool, no request on it
        self._data: list[bytes] = []
        self._eof = False
        self._lost: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None

    # -- asyncio.Protocol ----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.idle:
            # Nothing was asked: such a connection can carry no answer of ours, and
            # keeping what a server pushes between requests would grow without bound.
            self._eof = True
            if self.transport is not None:
                self.transport.close()
            return
        self._data.append(data)
        self._wake()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake()
        return False  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof = True
        self._lost = exc
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- for the pool ----------------------------------------------------------------------

    def is_dead(self) -> bool:
        """True when the server closed it or sent something unasked while it was idle."""
        if self._eof or self._data or self.transport is None or self.transport.is_closing():
            return True
        sock = self.transport.get_extra_info("socket")
        if sock is None:
            return False
        try:  # bytes (a FIN, a TLS alert) the event loop has not delivered yet
            return readable_now(sock.fileno())
        except (OSError, ValueError):
            return True

    def write(self, data: bytes) -> None:
        transport = self.transport
        if transport is None or transport.is_closing() or self._eof:
            raise ClosedBeforeSending("the connection closed before the request could be written")
        transport.write(data)

    async def read(self, timeout: float | None, deadline: float) -> bytes:  # noqa: ASYNC109
        """The bytes arrived since the last read (waiting for some), or b"" at the end of stream."""
        if not self._data and not self._eof:
            wait = seconds_left(timeout, deadline, deadline_passed)
            loop = asyncio.get_running_loop()
            waiter = self._waiter = loop.create_future()
            timer = None if wait is None else loop.call_later(wait, _expire, waiter)
            try:
                await waiter
            finally:
                self._waiter = None
                if timer is not None:
                    timer.cancel()
            if waiter.result() is _EXPIRED:
                raise deadline_error() if is_past(deadline) else httpx.ReadTimeout("timed out")
        if self._data:
            data = b"".join(self._data) if len(self._data) > 1 else self._data[0]
            self._data.clear()
            return data
        if self._lost is not None:
            raise httpx.ReadError(short(self._lost)) from self._lost
        return b""

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


_EXPIRED: Any = object()


def _expire(waiter: asyncio.Future[Any]) -> None:
    if not waiter.done():
        waiter.set_result(_EXPIRED)


class AsyncWirePool(PoolBook[_Connection]):
    """Connections to one origin, used by one event loop (see :mod:`auth_hooks.wire`)."""

    def _setup(self) -> None:
        self._waiting: deque[asyncio.Future[Any]] = deque()

    async def send(
        self, data: bytes, method: str, timeouts: Timeouts, until: float | None = None, *, close: bool = False
    ) -> RawAnswer:
        """Writes ``data`` (a whole request) and returns the whole answer. ``close``: the
        request asked for ``Connection: close``, so its connection is not used again."""
        deadline = deadline_for(self.bounds, timeouts, until)
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # another async library (trio): nothing was sent
            raise NotSentUnsupported(
                "make_client's async pool runs on asyncio; with another async library pass "
                "async_backend='httpx'; nothing was sent"
            ) from None
        connection = await self._acquire(timeouts, deadline)
        reusable = False
        try:
            if time.monotonic() >= deadline:  # spent getting the connection: still unsent
                reusable = True
                raise PoolTimedOut("the request's deadline passed before it could be written")
            connection.write(data)
            reader = http11.AnswerReader(method, self.bounds.max_response_bytes, self._clock)
            while not reader.feed(await connection.read(timeouts.read, deadline)):
                pass
            reusable = reader.reusable
            return reader.answer()
        finally:
            self._release(connection, reusable and not close)

    # -- the pool ------------------------------------------------------------------------

    async def _acquire(self, timeouts: Timeouts, deadline: float) -> _Connection:
        wait = seconds_left(timeouts.pool, deadline, PoolTimedOut)
        give_up = math.inf if wait is None else time.monotonic() + wait
        while True:
            connection = self._take_idle()
            if connection is not None:
                return connection
            generation = self._reserve()
            if generation is not None:
                break
            await self._wait_for_free(give_up)
        try:
            connection = await self._connect(timeouts, deadline)
        except BaseException:
            self._unreserve()
            self._notify()
            raise
        connection.generation = generation
        return connection

    async def _wait_for_free(self, give_up: float) -> None:
        left = give_up - time.monotonic()
        if left <= 0:
            raise PoolTimedOut("no connection of the pool became free in time")
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Any] = loop.create_future()
        self._waiting.append(waiter)
        timer = None if left == math.inf else loop.call_later(left, _expire, waiter)
        try:
            await waiter
        except BaseException:
            # Cancelled after a freed slot was handed to this waiter (not by the timer):
            # hand it to the next one, or it would sit unused while they time out.
            if waiter.done() and not waiter.cancelled() and waiter.result() is not _EXPIRED:
                self._notify()
            raise
        finally:
            if timer is not None:
                timer.cancel()
            if waiter in self._waiting:
                self._waiting.remove(waiter)
        if waiter.result() is _EXPIRED:
            raise PoolTimedOut("no connection of the pool became free in time")

    def _notify(self) -> None:
        while self._waiting:
            waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def _release(self, connection: _Connection, reusable: bool) -> None:
        self._put_back(connection, reusable)
        self._notify()

    async def aclose(self) -> None:
        """Closes the idle connections; those in use close when their request ends. The
        next request opens a new connection: the pool stays usable."""
        self._retire()

    # -- connecting ----------------------------------------------------------------------

    async def _connect(self, timeouts: Timeouts, deadline: float) -> _Connection:
        attempt = 0
        while True:
            try:
                return await self._connect_once(timeouts, deadline)
            except (ConnectFailed, ConnectTimedOut) as error:
                if not retryable(error, attempt, self._retries, deadline):
                    raise
            await asyncio.sleep(retry_delay(attempt))
            attempt += 1

    async def _connect_once(self, timeouts: Timeouts, deadline: float) -> _Connection:
        origin = self.origin
        wait = seconds_left(timeouts.connect, deadline, ConnectTimedOut)
        loop = asyncio.get_running_loop()
        connection = _Connection()
        opening = loop.create_connection(
            lambda: connection,
            origin.host,
            origin.port,
            ssl=origin.tls,
            server_hostname=origin.host if origin.tls is not None else None,
        )
        try:
            await asyncio.wait_for(opening, wait)
        except TimeoutError as exc:
            raise ConnectTimedOut(f"connecting to {origin.host}:{origin.port} timed out") from exc
        except ssl.SSLCertVerificationError as exc:
            raise certificate_error(exc.verify_message or "certificate verify failed") from exc
        except (OSError, ValueError) as exc:  # refused, unreachable, DNS, a failed TLS handshake
            raise ConnectFailed(f"cannot connect to {origin.host}:{origin.port}: {short(exc)}") from exc
        transport = connection.transport
        try:
            if transport is None or transport.is_closing():
                raise OSError("the server closed the connection at once")
            tls_object = transport.get_extra_info("ssl_object")
            if tls_object is not None:
                check_alpn(tls_object.selected_alpn_protocol(), origin)
            sock = transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except NotSentUnsupported:
            connection.close()
            raise
        except OSError as exc:  # closed by the server before we could use it: nothing sent
            connection.close()
            raise ConnectFailed(f"cannot connect to {origin.host}:{origin.port}: {short(exc)}") from exc
        return connection
