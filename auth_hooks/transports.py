"""The transports make_client builds, and what a transport error says about a request.

Whether a failed request could have left is decided here, where the failure happened:
the callers classify NotSent versus OutcomeUnknown from :func:`never_sent` alone.
Every error these transports raise before the request can have been written is a
:class:`NeverSent`; everything after is a plain ``httpx.TransportError`` subclass.

Each request is bounded whatever the server does (see :class:`Bounds`):

* a total deadline, not per read: on httpcore every socket operation (connect, TLS,
  write, each read of the head and of the body) gets the lesser of its own timeout and
  the time left, carried in the request's timeout extension (:class:`_Budget`); on
  aiohttp its ``ClientTimeout(total=...)``;
* a maximum body size, counted as the body streams in, so memory stays bounded (a
  compressed body, which the clients do not ask for, is decoded within it too).

Where a failure happened: httpcore raises its Connect*/Pool*/Proxy errors only while
getting a connection; on aiohttp a connector hook marks the moment a connection was
handed to the request (:data:`_CONNECTED`), and anything raised before that is NeverSent.

Prior art: httpx has no total timeout (encode/httpx#1450, #776: "the implementation
would be in httpcore"); this passes the remaining budget to each operation instead.
"""

from __future__ import annotations

import contextvars
import math
import ssl
import time
import typing
import zlib
from collections.abc import AsyncIterator, Iterable, Iterator

import attrs
import httpcore
import httpx

if typing.TYPE_CHECKING:
    import aiohttp

# Far above any answer of this API (an amend's is < 1 KB), low enough to bound memory.
DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
# Delays before connect attempts 2, 3, ... (httpcore's own schedule).
_RETRY_DELAYS = (0.0, 0.5, 1.0, 2.0)
# A timeout ending this close to the deadline is the deadline (timers are not exact).
_DEADLINE_SLACK = 0.05
_MESSAGE_LIMIT = 200

# -- what the transports raise ---------------------------------------------------------


class NeverSent:
    """Mixed into the errors raised where the request cannot have left: safe to send again."""


class ConnectFailed(httpx.ConnectError, NeverSent):
    """No connection could be made (refused, DNS, TLS handshake, proxy unreachable)."""


class CertificateVerifyFailed(httpx.ConnectError, NeverSent):
    """The server's certificate was refused. Never retried: it will not pass next time either."""


class ConnectTimedOut(httpx.ConnectTimeout, NeverSent):
    """Connecting took longer than the connect timeout (or the request's deadline)."""


class PoolTimedOut(httpx.PoolTimeout, NeverSent):
    """No connection of the pool became free in time."""


class ProxyRefused(httpx.ProxyError, NeverSent):
    """The proxy refused to open a tunnel to the exchange (CONNECT not answered 2xx)."""


class NotSentUnsupported(httpx.UnsupportedProtocol, NeverSent):
    """The URL cannot be requested by this transport."""


class ResponseTooLarge(httpx.ReadError):
    """The answer was longer than ``max_response_bytes``; the request had been sent."""


class DeadlineExceeded(httpx.ReadTimeout):
    """The request's total deadline passed after it may have been sent."""


# Raised as they are by any transport only before a request is written (httpx's own
# transports map httpcore's connect-phase errors to these).
_NEVER_SENT_TYPES = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


def never_sent(exc: BaseException) -> bool:
    """True when a transport error proves the request never left (connect, DNS, TLS, pool)."""
    if isinstance(exc, NeverSent):
        return True
    if not isinstance(exc, _NEVER_SENT_TYPES):
        return False
    # A transport make_client did not build. httpx-aiohttp maps every
    # aiohttp.ClientConnectionError, including a server that drops the connection after
    # reading the request, to httpx.ConnectTimeout: for it only aiohttp's own connector
    # errors and its connect timeout mean "never connected".
    cause = exc.__cause__
    if cause is None or not type(cause).__module__.startswith("aiohttp"):
        return True
    import aiohttp  # only reached when aiohttp raised, so it is installed

    return isinstance(cause, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError)


def _short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= _MESSAGE_LIMIT else text[:_MESSAGE_LIMIT] + "..."


def _certificate_problem(exc: BaseException) -> str | None:
    """The verification message when ``exc`` was caused by a refused certificate."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 8:
        if isinstance(current, ssl.SSLCertVerificationError):
            return current.verify_message or "certificate verify failed"
        current = current.__cause__ or current.__context__
        seen += 1
    return None


def _certificate_error(detail: str) -> CertificateVerifyFailed:
    return CertificateVerifyFailed(
        f"certificate verify failed: {detail} (not sent; pass the exchange's CA with verify=)"
    )


# -- bounds ------------------------------------------------------------------------------


@attrs.frozen
class Bounds:
    """What bounds each request.

    ``deadline``: seconds a request may take in all, from entering the transport to the
    last byte of the answer (pool wait, connect, TLS, write, head and body); None
    derives it per request from its timeouts as connect + read (the time to connect
    plus the time allowed for an answer), or no deadline if either is None.
    """

    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    deadline: float | None = None

    def deadline_s(self, timeouts: dict[str, float | None]) -> float | None:
        if self.deadline is not None:
            return None if math.isinf(self.deadline) else self.deadline
        connect, read = timeouts.get("connect"), timeouts.get("read")
        if connect is None or read is None:
            return None
        return connect + read


class _Budget(float):
    """A socket timeout that also carries its request's deadline (``time.monotonic()``).

    Carried in the request's own timeout extension, which httpcore hands unchanged to
    each socket operation, so the deadline follows the request (and its body, read
    after the transport returned) without any per-connection or context state.
    """

    __slots__ = ("deadline",)
    deadline: float


def _budget(timeout: float | None, deadline: float) -> _Budget:
    budget = _Budget(math.inf if timeout is None else timeout)
    budget.deadline = deadline
    return budget


def _with_deadline(extensions: dict[str, typing.Any], bounds: Bounds) -> tuple[dict[str, typing.Any], float]:
    """The request's extensions with budgeted timeouts, and the deadline (inf if none)."""
    timeouts = extensions.get("timeout") or {}
    seconds = bounds.deadline_s(timeouts)
    if seconds is None:
        return extensions, math.inf
    deadline = time.monotonic() + seconds
    pool = timeouts.get("pool")
    budgeted = {
        "connect": _budget(timeouts.get("connect"), deadline),
        "read": _budget(timeouts.get("read"), deadline),
        "write": _budget(timeouts.get("write"), deadline),
        # Waited for at the start, when all of the deadline is left: a plain float will do.
        "pool": seconds if pool is None else min(pool, seconds),
    }
    return {**extensions, "timeout": budgeted}, deadline


def _left(timeout: float | None, error: type[Exception]) -> float | None:
    """The timeout for one socket operation: its own, or the time left if less."""
    if type(timeout) is not _Budget:
        return timeout
    left = timeout.deadline - time.monotonic()
    if left <= 0:
        raise error("the request's deadline passed")
    own = float(timeout)
    if left < own:
        return left
    return None if math.isinf(own) else own


def _past(deadline: float) -> bool:
    return time.monotonic() >= deadline - _DEADLINE_SLACK


def _deadline_error() -> DeadlineExceeded:
    return DeadlineExceeded("the request's total deadline passed before the whole answer arrived")


def _too_large(limit: int) -> ResponseTooLarge:
    return ResponseTooLarge(f"the answer is longer than max_response_bytes={limit}")


class UnreadableEncoding(httpx.ReadError):
    """The answer came in a content coding that cannot be read within the size cap."""


Headers = typing.Sequence[tuple[bytes, bytes]]


class _Decoder:
    """Decodes a gzip or deflate body, its output capped like the body itself.

    The clients ask for ``Accept-Encoding: identity``; a server that compresses anyway is
    decoded here, within ``max_response_bytes`` (httpx's own decoders have no bound: a
    small gzip bomb would fill memory), and the answer handed on as identity.
    """

    __slots__ = ("_encoding", "_left", "_limit", "_zlib")

    def __init__(self, encoding: bytes, limit: int) -> None:
        self._encoding = encoding
        self._limit = self._left = limit
        # MAX_WBITS | 32: a zlib or a gzip header, whichever comes.
        self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 32) if encoding in _ZLIB_CODINGS else None

    def decode(self, chunk: bytes) -> bytes:
        if self._zlib is None:
            raise UnreadableEncoding(f"the answer's content coding {self._encoding!r} was not asked for")
        try:
            out = self._zlib.decompress(chunk, self._left + 1)
        except zlib.error as exc:
            raise UnreadableEncoding(
                f"the answer's {self._encoding.decode()} body is corrupt: {exc}"
            ) from None
        self._left -= len(out)
        if self._left < 0 or self._zlib.unconsumed_tail:
            raise _too_large(self._limit)
        return out


_ZLIB_CODINGS = (b"gzip", b"x-gzip", b"deflate")


def _decoding(headers: Headers, limit: int) -> tuple[Headers, _Decoder | None]:
    """The headers to hand httpx, and the decoder of an encoded answer (None: identity)."""
    for name, value in headers:
        if name.lower() == b"content-encoding":
            encoding = value.strip().lower()
            if encoding in (b"", b"identity"):
                return headers, None
            kept = [(n, v) for n, v in headers if n.lower() not in (b"content-encoding", b"content-length")]
            return kept, _Decoder(encoding, limit)
    return headers, None


DEFAULT_BOUNDS = Bounds()
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)

# -- httpcore: a network backend that applies the deadline to every socket operation ----


class _DeadlineStream(httpcore.NetworkStream):
    __slots__ = ("_stream",)

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(
            self._stream.start_tls(ssl_context, server_hostname, _left(timeout, httpcore.ConnectTimeout))
        )

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self) -> None:
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(
            host, port, _left(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[typing.Any] | None = None
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_unix_socket(
            path, _left(timeout, httpcore.ConnectTimeout), socket_options
        )
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _AsyncDeadlineStream(httpcore.AsyncNetworkStream):
    __slots__ = ("_stream",)

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        return await self._stream.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        await self._stream.write(buffer, _left(timeout, httpcore.WriteTimeout))

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._stream.start_tls(
            ssl_context, server_hostname, _left(timeout, httpcore.ConnectTimeout)
        )
        return _AsyncDeadlineStream(stream)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class _AsyncDeadlineBackend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self._backend = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._backend.connect_tcp(
            host, port, _left(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _AsyncDeadlineStream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._backend.connect_unix_socket(
            path, _left(timeout, httpcore.ConnectTimeout), socket_options
        )
        return _AsyncDeadlineStream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


# httpcore raises these only while getting a connection, before writing a byte of the
# request (its connect and TLS code, its pool, its proxy tunnel): "where" in httpcore.
def _from_httpcore(exc: Exception, deadline: float) -> httpx.TransportError:
    message = _short(exc)
    if isinstance(exc, httpcore.ConnectError):
        problem = _certificate_problem(exc)
        return _certificate_error(problem) if problem else ConnectFailed(message)
    if isinstance(exc, httpcore.ConnectTimeout):
        return ConnectTimedOut(message)
    if isinstance(exc, httpcore.PoolTimeout):
        return PoolTimedOut(message)
    if isinstance(exc, httpcore.ProxyError):
        return ProxyRefused(message)
    if isinstance(exc, httpcore.UnsupportedProtocol):
        return NotSentUnsupported(message)
    return _after_send_httpcore(exc, deadline)


def _after_send_httpcore(exc: Exception, deadline: float) -> httpx.TransportError:
    """An httpcore error once the request may have left."""
    message = _short(exc)
    if isinstance(exc, httpcore.TimeoutException):
        if _past(deadline):
            return _deadline_error()
        return (
            httpx.WriteTimeout(message)
            if isinstance(exc, httpcore.WriteTimeout)
            else httpx.ReadTimeout(message)
        )
    if isinstance(exc, httpcore.WriteError):
        return httpx.WriteError(message)
    if isinstance(exc, httpcore.RemoteProtocolError):
        return httpx.RemoteProtocolError(message)
    if isinstance(exc, httpcore.LocalProtocolError):
        return httpx.LocalProtocolError(message)
    return httpx.ReadError(message)


_HTTPCORE_ERRORS = (
    httpcore.ConnectError,
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.ProxyError,
    httpcore.UnsupportedProtocol,
)


def _retryable(error: httpx.TransportError, attempt: int, retries: int, deadline: float) -> bool:
    """A failed connect is tried again; a refused certificate, a full pool or a sent request never."""
    return (
        attempt < retries
        and isinstance(error, ConnectFailed | ConnectTimedOut)
        and time.monotonic() < deadline
    )


def _retry_delay(attempt: int) -> float:
    return _RETRY_DELAYS[min(attempt, len(_RETRY_DELAYS) - 1)]


def _core_request(request: httpx.Request, extensions: dict[str, typing.Any]) -> httpcore.Request:
    url = request.url
    return httpcore.Request(
        method=request.method,
        url=httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
        headers=request.headers.raw,
        content=request.stream,
        extensions=extensions,
    )


def _pool_args(
    ssl_context: ssl.SSLContext, proxy: httpx.Proxy | None, limits: httpx.Limits
) -> dict[str, typing.Any]:
    args: dict[str, typing.Any] = {
        "ssl_context": ssl_context,
        "max_connections": limits.max_connections,
        "max_keepalive_connections": limits.max_keepalive_connections,
        "keepalive_expiry": limits.keepalive_expiry,
    }
    if proxy is not None:
        args.update(
            proxy_url=httpcore.URL(
                scheme=proxy.url.raw_scheme,
                host=proxy.url.raw_host,
                port=proxy.url.port,
                target=proxy.url.raw_path,
            ),
            proxy_auth=proxy.raw_auth,
            proxy_headers=proxy.headers.raw,
            proxy_ssl_context=proxy.ssl_context,
        )
    return args


class BoundedHTTPTransport(httpx.BaseTransport):
    """httpx's sync transport, on httpcore, with a total deadline, a size cap, and connect
    retries that tell a refused certificate from a failed connect."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext,
        proxy: httpx.Proxy | None = None,
        limits: httpx.Limits = DEFAULT_LIMITS,
        bounds: Bounds = DEFAULT_BOUNDS,
        connect_retries: int = 0,
    ) -> None:
        args = _pool_args(ssl_context, proxy, limits)
        backend = _DeadlineBackend()
        self._pool: httpcore.ConnectionPool = (
            httpcore.HTTPProxy(network_backend=backend, **args)
            if proxy is not None
            else httpcore.ConnectionPool(network_backend=backend, **args)
        )
        self._bounds = bounds
        self._retries = connect_retries

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        extensions, deadline = _with_deadline(request.extensions, self._bounds)
        core_request = _core_request(request, extensions)
        attempt = 0
        while True:
            try:
                response = self._pool.handle_request(core_request)
                break
            except _HTTPCORE_ERRORS as exc:
                error = _from_httpcore(exc, deadline)
                if not _retryable(error, attempt, self._retries, deadline):
                    raise error from exc
            time.sleep(_retry_delay(attempt))
            attempt += 1
        limit = self._bounds.max_response_bytes
        headers, decoder = _decoding(response.headers, limit)
        return httpx.Response(
            status_code=response.status,
            headers=headers,
            stream=_Body(response.stream, limit, deadline, decoder),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


class _Body(httpx.SyncByteStream):
    __slots__ = ("_deadline", "_decoder", "_limit", "_stream")

    def __init__(self, stream: typing.Any, limit: int, deadline: float, decoder: _Decoder | None) -> None:
        self._stream = stream
        self._limit = limit
        self._deadline = deadline
        self._decoder = decoder

    def __iter__(self) -> Iterator[bytes]:
        received = 0
        try:
            for chunk in self._stream:
                received += len(chunk)
                if received > self._limit:
                    raise _too_large(self._limit)
                yield chunk if self._decoder is None else self._decoder.decode(chunk)
        except _HTTPCORE_ERRORS as exc:
            raise _after_send_httpcore(exc, self._deadline) from exc

    def close(self) -> None:
        try:
            self._stream.close()
        except _HTTPCORE_ERRORS as exc:
            raise _after_send_httpcore(exc, self._deadline) from exc


class AsyncBoundedHTTPTransport(httpx.AsyncBaseTransport):
    """The async twin of :class:`BoundedHTTPTransport`, on httpcore's anyio backend."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext,
        proxy: httpx.Proxy | None = None,
        limits: httpx.Limits = DEFAULT_LIMITS,
        bounds: Bounds = DEFAULT_BOUNDS,
        connect_retries: int = 0,
    ) -> None:
        args = _pool_args(ssl_context, proxy, limits)
        backend = _AsyncDeadlineBackend()
        self._pool: httpcore.AsyncConnectionPool = (
            httpcore.AsyncHTTPProxy(network_backend=backend, **args)
            if proxy is not None
            else httpcore.AsyncConnectionPool(network_backend=backend, **args)
        )
        self._backend = backend
        self._bounds = bounds
        self._retries = connect_retries

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        extensions, deadline = _with_deadline(request.extensions, self._bounds)
        core_request = _core_request(request, extensions)
        attempt = 0
        while True:
            try:
                response = await self._pool.handle_async_request(core_request)
                break
            except _HTTPCORE_ERRORS as exc:
                error = _from_httpcore(exc, deadline)
                if not _retryable(error, attempt, self._retries, deadline):
                    raise error from exc
            await self._backend.sleep(_retry_delay(attempt))
            attempt += 1
        limit = self._bounds.max_response_bytes
        headers, decoder = _decoding(response.headers, limit)
        return httpx.Response(
            status_code=response.status,
            headers=headers,
            stream=_AsyncBody(response.stream, limit, deadline, decoder),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


class _AsyncBody(httpx.AsyncByteStream):
    __slots__ = ("_deadline", "_decoder", "_limit", "_stream")

    def __init__(self, stream: typing.Any, limit: int, deadline: float, decoder: _Decoder | None) -> None:
        self._stream = stream
        self._limit = limit
        self._deadline = deadline
        self._decoder = decoder

    async def __aiter__(self) -> AsyncIterator[bytes]:
        received = 0
        try:
            async for chunk in self._stream:
                received += len(chunk)
                if received > self._limit:
                    raise _too_large(self._limit)
                yield chunk if self._decoder is None else self._decoder.decode(chunk)
        except _HTTPCORE_ERRORS as exc:
            raise _after_send_httpcore(exc, self._deadline) from exc

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        except _HTTPCORE_ERRORS as exc:
            raise _after_send_httpcore(exc, self._deadline) from exc


# -- aiohttp ---------------------------------------------------------------------------

# Set by the connector once aiohttp has a connection for the request: before that
# nothing of the request can have been written. A context variable, because aiohttp
# awaits the connector in the task that made the request.
_CONNECTED: contextvars.ContextVar[bool] = contextvars.ContextVar("kalshi_aiohttp_connected", default=False)


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport on aiohttp: much faster than httpcore with many requests in flight.

    Unlike httpx-aiohttp's: the URL goes out exactly as signed (no re-quoting), a failure
    is classified by where it happened (no connection yet, or after), aiohttp's own
    exceptions (whose repr holds the request's headers, signature included) are never
    chained, and each request is bounded in total time and body size.
    """

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext,
        proxy: httpx.Proxy | None = None,
        limits: httpx.Limits = DEFAULT_LIMITS,
        bounds: Bounds = DEFAULT_BOUNDS,
        connect_retries: int = 0,
    ) -> None:
        import aiohttp  # noqa: F401  (fails here, at build time, when it is not installed)

        self._ssl_context = ssl_context
        self._proxy = proxy
        self._limits = limits
        self._bounds = bounds
        self._retries = connect_retries
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}

    def _new_session(self) -> aiohttp.ClientSession:
        import aiohttp

        class Connector(aiohttp.TCPConnector):
            async def connect(self, *args: typing.Any, **kwargs: typing.Any) -> aiohttp.connector.Connection:
                connection = await super().connect(*args, **kwargs)
                _CONNECTED.set(True)
                return connection

        connector = Connector(
            ssl=self._ssl_context,
            limit=self._limits.max_connections or 0,
            keepalive_timeout=self._limits.keepalive_expiry,
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            trust_env=False,  # make_client has read the environment already (proxy, CAs)
        )

    def _timeout(self, timeouts: dict[str, float | None]) -> tuple[aiohttp.ClientTimeout, float]:
        import aiohttp

        connect, read, pool = timeouts.get("connect"), timeouts.get("read"), timeouts.get("pool")
        total = self._bounds.deadline_s(timeouts)
        key = (connect, read, pool, total)
        timeout = self._timeouts.get(key)
        if timeout is None:
            if len(self._timeouts) > 64:
                self._timeouts.clear()
            # aiohttp's connect covers the wait for a pooled connection and the connect.
            timeout = aiohttp.ClientTimeout(
                total=total,
                connect=None if pool is None or connect is None else pool + connect,
                sock_connect=connect,
                sock_read=read,
            )
            self._timeouts[key] = timeout
        return timeout, math.inf if total is None else time.monotonic() + total

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import asyncio

        import yarl

        if self._session is None or self._session.closed:
            self._session = self._new_session()
        timeout, deadline = self._timeout(request.extensions.get("timeout") or {})
        # encoded=True: the path goes out byte for byte as signed; aiohttp would re-quote
        # it otherwise (%3B %3D %3A %40 sent decoded, so the signature no longer matches).
        url = yarl.URL(str(request.url), encoded=True)
        data = request.content or None
        proxy = self._proxy
        attempt = 0
        while True:
            _CONNECTED.set(False)
            error: httpx.TransportError
            try:
                response = await self._session.request(
                    request.method,
                    url,
                    headers=request.headers,
                    data=data,
                    allow_redirects=False,
                    timeout=timeout,
                    server_hostname=request.extensions.get("sni_hostname"),
                    proxy=None if proxy is None else str(proxy.url),
                    proxy_headers=None if proxy is None else proxy.headers,
                    proxy_auth=None if proxy is None or proxy.auth is None else _basic_auth(proxy.auth),
                )
            except Exception as exc:  # classified below, never chained
                error = _aiohttp_error(exc, _CONNECTED.get(), deadline)
            else:
                break
            # Raised outside the except block, so nothing of aiohttp's is chained as
            # __context__: its exceptions' repr holds the request headers, signature included.
            if not _retryable(error, attempt, self._retries, deadline):
                raise error
            await asyncio.sleep(_retry_delay(attempt))
            attempt += 1
        limit = self._bounds.max_response_bytes
        headers, decoder = _decoding(response.raw_headers, limit)
        return httpx.Response(
            status_code=response.status,
            headers=headers,
            stream=_AiohttpBody(response, limit, deadline, decoder),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": (response.reason or "").encode()},
        )

    async def aclose(self) -> None:
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()


def _basic_auth(auth: tuple[str, str]) -> aiohttp.BasicAuth:
    import aiohttp

    return aiohttp.BasicAuth(auth[0], auth[1])


def _aiohttp_error(exc: Exception, connected: bool, deadline: float) -> httpx.TransportError:
    """The httpx error for an aiohttp failure: where it happened decides NeverSent."""
    import aiohttp

    if not connected:
        if isinstance(exc, aiohttp.ClientConnectorCertificateError):
            return _certificate_error(_certificate_problem(exc.certificate_error) or _short(exc))
        problem = _certificate_problem(exc)
        if problem:
            return _certificate_error(problem)
        if isinstance(exc, TimeoutError):  # aiohttp's connect timeouts, or the total deadline
            return ConnectTimedOut(f"no connection in time: {_short(exc)}")
        if isinstance(exc, aiohttp.ClientHttpProxyError):
            return ProxyRefused(f"proxy refused the tunnel: {exc.status} {exc.message}")
        if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
            return NotSentUnsupported(f"{type(exc).__name__}: {_short(exc)}")
        return ConnectFailed(f"{type(exc).__name__}: {_short(exc)}")
    return _aiohttp_after_send(exc, deadline)


def _aiohttp_after_send(exc: BaseException, deadline: float) -> httpx.TransportError:
    import aiohttp

    name = type(exc).__name__
    if isinstance(exc, TimeoutError):
        if _past(deadline):
            return _deadline_error()
        return httpx.ReadTimeout(f"{name}: no answer in time")
    if isinstance(exc, aiohttp.ClientResponseError):
        # Only its message: its repr and request_info hold the request's headers.
        return httpx.RemoteProtocolError(f"{name}: {str(exc.message)[:_MESSAGE_LIMIT]}")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError("server disconnected without a whole answer")
    return httpx.ReadError(f"{name}: {_short(exc)}")


class _AiohttpBody(httpx.AsyncByteStream):
    __slots__ = ("_deadline", "_decoder", "_limit", "_response")

    def __init__(
        self, response: aiohttp.ClientResponse, limit: int, deadline: float, decoder: _Decoder | None
    ) -> None:
        self._response = response
        self._limit = limit
        self._deadline = deadline
        self._decoder = decoder

    async def __aiter__(self) -> AsyncIterator[bytes]:
        import aiohttp

        received = 0
        content = self._response.content
        while True:
            error: httpx.TransportError
            try:
                chunk = await content.readany()
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                error = _aiohttp_after_send(exc, self._deadline)
            else:
                if not chunk:
                    return
                received += len(chunk)
                if received <= self._limit:
                    yield chunk if self._decoder is None else self._decoder.decode(chunk)
                    continue
                error = _too_large(self._limit)
            raise error  # outside the except block: aiohttp's exception is not chained

    async def aclose(self) -> None:
        self._response.release()
