"""httpx transports on an httpcore pool whose every socket operation respects the deadline.

httpx's own HTTPTransport takes no network backend, and its exceptions do not say
whether the request was written; these build the httpcore pool themselves (public
httpcore API: ``network_backend=``) and map httpcore's errors by where they happened
(see :mod:`auth_hooks.transports`).
"""

from __future__ import annotations

import ssl
import time
import typing
from collections.abc import AsyncIterator, Iterable, Iterator

import httpcore
import httpx

if typing.TYPE_CHECKING:
    pass

from .transports import (
    DEFAULT_BOUNDS,
    DEFAULT_LIMITS,
    Bounds,
    ConnectFailed,
    ConnectTimedOut,
    Decoder,
    NotSentUnsupported,
    PoolTimedOut,
    ProxyRefused,
    certificate_error,
    certificate_problem,
    deadline_error,
    decoding,
    is_past,
    retry_delay,
    retryable,
    short,
    time_left,
    too_large,
    with_deadline,
)


class _DeadlineStream(httpcore.NetworkStream):
    __slots__ = ("_stream",)

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, time_left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, time_left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(
            self._stream.start_tls(ssl_context, server_hostname, time_left(timeout, httpcore.ConnectTimeout))
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
            host, port, time_left(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[typing.Any] | None = None
    ) -> httpcore.NetworkStream:
        stream = self._backend.connect_unix_socket(
            path, time_left(timeout, httpcore.ConnectTimeout), socket_options
        )
        return _DeadlineStream(stream)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _AsyncDeadlineStream(httpcore.AsyncNetworkStream):
    __slots__ = ("_stream",)

    def __init__(self, stream: httpcore.AsyncNetworkStream) -> None:
        self._stream = stream

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109
        return await self._stream.read(max_bytes, time_left(timeout, httpcore.ReadTimeout))

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109
        await self._stream.write(buffer, time_left(timeout, httpcore.WriteTimeout))

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._stream.start_tls(
            ssl_context, server_hostname, time_left(timeout, httpcore.ConnectTimeout)
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
            host, port, time_left(timeout, httpcore.ConnectTimeout), local_address, socket_options
        )
        return _AsyncDeadlineStream(stream)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109
        socket_options: Iterable[typing.Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self._backend.connect_unix_socket(
            path, time_left(timeout, httpcore.ConnectTimeout), socket_options
        )
        return _AsyncDeadlineStream(stream)

    async def sleep(self, seconds: float) -> None:
        await self._backend.sleep(seconds)


# httpcore raises these only while getting a connection, before writing a byte of the
# request (its connect and TLS code, its pool, its proxy tunnel): "where" in httpcore.
def _from_httpcore(exc: Exception, deadline: float) -> httpx.TransportError:
    message = short(exc)
    if isinstance(exc, httpcore.ConnectError):
        problem = certificate_problem(exc)
        return certificate_error(problem) if problem else ConnectFailed(message)
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
    message = short(exc)
    if isinstance(exc, httpcore.TimeoutException):
        if is_past(deadline):
            return deadline_error()
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
        extensions, deadline = with_deadline(request.extensions, self._bounds)
        core_request = _core_request(request, extensions)
        attempt = 0
        while True:
            try:
                response = self._pool.handle_request(core_request)
                break
            except _HTTPCORE_ERRORS as exc:
                error = _from_httpcore(exc, deadline)
                if not retryable(error, attempt, self._retries, deadline):
                    raise error from exc
            time.sleep(retry_delay(attempt))
            attempt += 1
        limit = self._bounds.max_response_bytes
        headers, decoder = decoding(response.headers, limit)
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

    def __init__(self, stream: typing.Any, limit: int, deadline: float, decoder: Decoder | None) -> None:
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
                    raise too_large(self._limit)
                yield chunk if self._decoder is None else self._decoder.decode(chunk)
        except _HTTPCORE_ERRORS as exc:
            raise _after_send_httpcore(exc, self._deadline) from exc
        if self._decoder is not None:
            self._decoder.finish()

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
        extensions, deadline = with_deadline(request.extensions, self._bounds)
        core_request = _core_request(request, extensions)
        attempt = 0
        while True:
            try:
                response = await self._pool.handle_async_request(core_request)
                break
            except _HTTPCORE_ERRORS as exc:
                error = _from_httpcore(exc, deadline)
                if not retryable(error, attempt, self._retries, deadline):
                    raise error from exc
            await self._backend.sleep(retry_delay(attempt))
            attempt += 1
        limit = self._bounds.max_response_bytes
        headers, decoder = decoding(response.headers, limit)
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

    def __init__(self, stream: typing.Any, limit: int, deadline: float, decoder: Decoder | None) -> None:
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
                    raise too_large(self._limit)
                yield chunk if self._decoder is None else self._decoder.decode(chunk)
        except _HTTPCORE_ERRORS as exc:
            raise _after_send_httpcore(exc, self._deadline) from exc
        if self._decoder is not None:
            self._decoder.finish()

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        except _HTTPCORE_ERRORS as exc:
            raise _after_send_httpcore(exc, self._deadline) from exc
