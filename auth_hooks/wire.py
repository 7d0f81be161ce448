"""A keep-alive HTTP/1.1 connection pool on plain sockets: one write and one read per request.

Why not httpcore: on a loopback amend, httpcore + h11 + httpx's client layer cost about
as much CPU as the exchange round trip itself (``make bench``). This pool does what an
amend needs and nothing else: HTTP/1.1 (no HTTP/2, no proxy: through a proxy sync
requests use :mod:`auth_hooks.httpcore_transport`, async ones
:mod:`auth_hooks.aiohttp_transport`), request bytes written with one ``sendall``, the
answer read whole.

Where a failure happened decides its class (see :mod:`auth_hooks.transports`):

* waiting for a pooled connection, connecting, DNS, the TLS handshake: a
  :class:`~auth_hooks.transports.NeverSent` error, nothing of the request was written;
* from the first write on: a plain ``httpx.TransportError`` subclass (the request may
  have arrived), the request's total deadline included.

A pooled connection is checked before reuse: one the server closed while it was idle
(an edge's idle timeout) reads as readable-at-EOF and is dropped, so the request goes
on a fresh connection instead of into a dead one. Idle connections older than
``keepalive_expiry`` are dropped unused.

Every request is bounded: its deadline (:class:`~auth_hooks.transports.Bounds`) caps
each socket operation, the answer's head (:data:`~auth_hooks.http11.MAX_HEAD_BYTES`) and
body (``max_response_bytes``, decoded size too) are capped as they arrive.
"""

from __future__ import annotations

import contextlib
import math
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

import httpx

from . import http11
from .http11 import RawAnswer
from .transports import (
    Bounds,
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

READ_SIZE = 256 * 1024


class Timeouts:
    """Seconds for each step (None: no limit of its own), as ``httpx.Timeout`` gives them."""

    __slots__ = ("connect", "pool", "read", "write")

    def __init__(self, timeouts: dict[str, float | None]) -> None:
        """From httpx's form: ``httpx.Timeout.as_dict()`` or a request's timeout extension."""
        self.connect = timeouts.get("connect")
        self.read = timeouts.get("read")
        self.write = timeouts.get("write")
        self.pool = timeouts.get("pool")

    def as_dict(self) -> dict[str, float | None]:
        return {"connect": self.connect, "read": self.read, "write": self.write, "pool": self.pool}


class Origin:
    """Where the pool connects: host, port, TLS (None for plain http), the Host header."""

    __slots__ = ("host", "host_header", "port", "tls")

    def __init__(self, url: httpx.URL, tls: ssl.SSLContext | None) -> None:
        self.host = url.raw_host.decode("ascii")
        default = 443 if url.scheme == "https" else 80
        self.port = url.port or default
        self.tls = tls if url.scheme == "https" else None
        shown = f"[{self.host}]" if ":" in self.host else self.host
        self.host_header = (shown if self.port == default else f"{shown}:{self.port}").encode("ascii")


def seconds_left(own: float | None, deadline: float, error: Callable[[str], Exception]) -> float | None:
    """One step's timeout: its own, or the time left before the deadline if less."""
    if deadline == math.inf:
        return own
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the request's deadline passed")
    return left if own is None or left < own else own


def deadline_for(bounds: Bounds, timeouts: Timeouts, until: float | None) -> float:
    """The monotonic time a request must end by (inf: none)."""
    seconds = bounds.deadline_s(timeouts.as_dict(), until)
    return math.inf if seconds is None else time.monotonic() + seconds


def readable_now(fd: int) -> bool:
    """Whether a socket has something to read (data, a close) at this instant."""
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(0))
    return bool(select.select([fd], [], [], 0)[0])


class Connection:
    """One socket of the pool, and the pool's generation it was opened in."""

    __slots__ = ("generation", "idle", "idle_since", "sock")

    def __init__(self, sock: socket.socket, generation: int) -> None:
        self.sock = sock
        self.generation = generation
        self.idle = False
        self.idle_since = 0.0

    def is_dead(self) -> bool:
        """True when the server closed it or sent something unasked while it was idle."""
        sock = self.sock
        tls = isinstance(sock, ssl.SSLSocket)
        if isinstance(sock, ssl.SSLSocket) and sock.pending():
            return True
        try:
            readable = readable_now(sock.fileno())
            if not readable or not tls:
                return readable
            # Readable TLS: maybe only a TLS record (a late session ticket), which leaves
            # the connection usable; a close or any answer byte does not.
            sock.settimeout(0)
            sock.recv(1)  # b"" at a close, or a byte nobody asked for: dead either way
            return True
        except ssl.SSLWantReadError:
            return False
        except (OSError, ValueError):
            return True

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


class Pooled(Protocol):
    """What the bookkeeping needs of a connection, sync or async."""

    idle: bool
    idle_since: float
    generation: int

    def is_dead(self) -> bool: ...

    def close(self) -> None: ...


C = TypeVar("C", bound=Pooled)


class PoolBook(Generic[C]):
    """The bookkeeping both pools share, without I/O or waiting: the idle connections (the
    most recently used last), the count held against ``max_connections``, keep-alive
    expiry and generations. The sync pool calls it under its lock; the async one from
    its event loop."""

    def __init__(
        self,
        origin: Origin,
        *,
        limits: httpx.Limits,
        bounds: Bounds,
        connect_retries: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.origin = origin
        self.bounds = bounds
        self._retries = connect_retries
        self._clock = clock
        self._max_connections = limits.max_connections or math.inf
        self._max_idle = (
            math.inf if limits.max_keepalive_connections is None else limits.max_keepalive_connections
        )
        self._expiry = limits.keepalive_expiry
        self._idle: list[C] = []
        self._open = 0  # connections counted against max_connections: idle and in use
        # Bumped by closing the pool: a connection of an older generation is closed, never pooled.
        self._generation = 0
        self._setup()

    def _setup(self) -> None:
        """What waiting for a free connection needs: a lock, or a queue of futures."""

    def deadline(self, timeouts: Timeouts, until: float | None) -> float | None:
        """The ``time.monotonic()`` time a request starting now must end by (None: never),
        to hand on as ``until`` when one call sends more than once."""
        deadline = deadline_for(self.bounds, timeouts, until)
        return None if deadline == math.inf else deadline

    def _take_idle(self) -> C | None:
        """The warmest idle connection still usable; expired or dead ones are closed on the way."""
        while self._idle:
            connection = self._idle.pop()
            expired = self._expiry is not None and time.monotonic() - connection.idle_since > self._expiry
            if expired or connection.is_dead():  # an edge may close an idle one any time
                self._discard(connection)
            else:
                connection.idle = False
                return connection
        return None

    def _reserve(self) -> int | None:
        """Counts a connection about to be opened, and gives the generation it belongs to;
        None when ``max_connections`` are open already (undo with :meth:`_unreserve`)."""
        if self._open >= self._max_connections:
            return None
        self._open += 1
        return self._generation

    def _unreserve(self) -> None:
        self._open -= 1

    def _put_back(self, connection: C, reusable: bool) -> None:
        """A connection whose request ended: kept for the next one, or closed."""
        if reusable and connection.generation == self._generation and len(self._idle) < self._max_idle:
            connection.idle_since = time.monotonic()
            connection.idle = True
            self._idle.append(connection)
        else:
            self._discard(connection)

    def _discard(self, connection: C) -> None:
        connection.close()
        self._open -= 1

    def _retire(self) -> None:
        """Closes the idle connections; those in use are closed when their request ends."""
        self._generation += 1
        while self._idle:
            self._discard(self._idle.pop())


class WirePool(PoolBook[Connection]):
    """Connections to one origin, shared by threads; see the module docstring for the rules."""

    def _setup(self) -> None:
        self._free = threading.Condition(threading.Lock())

    # -- one request ---------------------------------------------------------------------

    def send(
        self, data: bytes, method: str, timeouts: Timeouts, until: float | None = None, *, close: bool = False
    ) -> RawAnswer:
        """Writes ``data`` (a whole request) and returns the whole answer. ``close``: the
        request asked for ``Connection: close``, so its connection is not used again."""
        deadline = deadline_for(self.bounds, timeouts, until)
        connection = self._acquire(timeouts, deadline)
        reusable = False
        try:
            if time.monotonic() >= deadline:  # spent getting the connection: still unsent
                reusable = True
                raise PoolTimedOut("the request's deadline passed before it could be written")
            answer, reusable = self._exchange(connection, data, method, timeouts, deadline)
        finally:
            self._release(connection, reusable and not close)
        return answer

    def _exchange(
        self, connection: Connection, data: bytes, method: str, timeouts: Timeouts, deadline: float
    ) -> tuple[RawAnswer, bool]:
        sock = connection.sock
        # Nothing is written yet: a deadline that passes right here is still "not sent".
        sock.settimeout(seconds_left(timeouts.write, deadline, PoolTimedOut))
        try:
            sock.sendall(data)
        except TimeoutError as exc:
            raise _timeout(exc, deadline, httpx.WriteTimeout) from exc
        except OSError as exc:
            raise httpx.WriteError(short(exc)) from exc
        read = _Reader(sock, timeouts.read, deadline)
        reader = http11.AnswerReader(method, self.bounds.max_response_bytes, self._clock)
        while not reader.feed(read()):
            pass
        return reader.answer(), reader.reusable

    # -- the pool ------------------------------------------------------------------------

    def _acquire(self, timeouts: Timeouts, deadline: float) -> Connection:
        wait = seconds_left(timeouts.pool, deadline, PoolTimedOut)
        give_up = math.inf if wait is None else time.monotonic() + wait
        with self._free:
            while True:
                connection = self._take_idle()
                if connection is not None:
                    return connection
                generation = self._reserve()
                if generation is not None:
                    break
                left = give_up - time.monotonic()
                if left <= 0:
                    raise PoolTimedOut("no connection of the pool became free in time")
                self._free.wait(None if left == math.inf else left)
        try:
            return Connection(self._connect(timeouts, deadline), generation)
        except BaseException:
            with self._free:
                self._unreserve()
                self._free.notify()
            raise

    def _release(self, connection: Connection, reusable: bool) -> None:
        with self._free:
            self._put_back(connection, reusable)
            self._free.notify()

    def close(self) -> None:
        """Closes the idle connections; those in use close when their request ends. The
        next request opens a new connection: the pool stays usable."""
        with self._free:
            self._retire()
            self._free.notify_all()

    # -- connecting ----------------------------------------------------------------------

    def _connect(self, timeouts: Timeouts, deadline: float) -> socket.socket:
        attempt = 0
        while True:
            try:
                return self._connect_once(timeouts, deadline)
            except (ConnectFailed, ConnectTimedOut) as error:
                if not retryable(error, attempt, self._retries, deadline):
                    raise
            time.sleep(retry_delay(attempt))
            attempt += 1

    def _connect_once(self, timeouts: Timeouts, deadline: float) -> socket.socket:
        origin = self.origin
        sock = _open_socket(origin, timeouts.connect, deadline)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if origin.tls is None:
                return sock
            sock.settimeout(seconds_left(timeouts.connect, deadline, ConnectTimedOut))
            tls = origin.tls.wrap_socket(sock, server_hostname=origin.host)
        except ssl.SSLCertVerificationError as exc:
            sock.close()
            raise certificate_error(exc.verify_message or "certificate verify failed") from exc
        except TimeoutError as exc:
            sock.close()
            raise ConnectTimedOut(f"the TLS handshake with {origin.host} timed out") from exc
        except (OSError, ValueError) as exc:
            sock.close()
            raise ConnectFailed(f"TLS handshake with {origin.host} failed: {short(exc)}") from exc
        except BaseException:
            sock.close()
            raise
        try:
            check_alpn(tls.selected_alpn_protocol(), origin)
        except NotSentUnsupported:
            tls.close()
            raise
        return tls


def _open_socket(origin: Origin, timeout: float | None, deadline: float) -> socket.socket:
    """A TCP connection to the first of the host's addresses that answers, every attempt
    within the connect timeout and all of them within the deadline (name resolution has
    no timeout of its own: the system resolver's applies)."""
    where = f"{origin.host}:{origin.port}"
    try:
        addresses = socket.getaddrinfo(origin.host, origin.port, type=socket.SOCK_STREAM)
    except OSError as exc:  # socket.gaierror: the name does not resolve
        raise ConnectFailed(f"cannot connect to {where}: {short(exc)}") from exc
    failure: OSError = OSError(f"no address for {origin.host}")
    for family, kind, protocol, _, address in addresses:
        sock = socket.socket(family, kind, protocol)
        try:
            sock.settimeout(seconds_left(timeout, deadline, ConnectTimedOut))
            sock.connect(address)
            return sock
        except TimeoutError as exc:
            sock.close()
            failure = exc
        except OSError as exc:  # refused, unreachable
            sock.close()
            failure = exc
        except BaseException:
            sock.close()
            raise
    if isinstance(failure, TimeoutError):
        raise ConnectTimedOut(f"connecting to {where} timed out") from failure
    raise ConnectFailed(f"cannot connect to {where}: {short(failure)}") from failure


def check_alpn(protocol: str | None, origin: Origin) -> None:
    """Refuses a TLS connection on which the server chose a protocol other than HTTP/1.1
    (an ``ssl.SSLContext`` of yours may offer h2): nothing has been sent on it yet."""
    if protocol not in (None, "http/1.1"):
        raise NotSentUnsupported(
            f"{origin.host} chose {protocol!r} in the TLS handshake; this pool speaks HTTP/1.1 only "
            "(offer only 'http/1.1' in your SSLContext's ALPN protocols)"
        )


class _Reader:
    """Reads the next bytes of the answer, each read bounded by the read timeout and the deadline."""

    __slots__ = ("_deadline", "_sock", "_timeout")

    def __init__(self, sock: socket.socket, timeout: float | None, deadline: float) -> None:
        self._sock = sock
        self._timeout = timeout
        self._deadline = deadline

    def __call__(self) -> bytes:
        try:
            self._sock.settimeout(seconds_left(self._timeout, self._deadline, deadline_passed))
            return self._sock.recv(READ_SIZE)
        except TimeoutError as exc:
            raise _timeout(exc, self._deadline, httpx.ReadTimeout) from exc
        except OSError as exc:
            raise httpx.ReadError(short(exc)) from exc


def deadline_passed(_message: str) -> httpx.TimeoutException:
    """For :func:`seconds_left` once the request may have been written: the deadline error."""
    return deadline_error()


def _timeout(exc: Exception, deadline: float, error: type[httpx.TimeoutException]) -> httpx.TimeoutException:
    return deadline_error() if is_past(deadline) else error(short(exc))
