"""An httpx transport on aiohttp, for async requests through a proxy (or with
``async_backend="aiohttp"``), when httpx-aiohttp is installed.

aiohttp is imported only when this transport is built: make_client's own asyncio pool
(:mod:`auth_hooks.wire_async`) is the default, and has no proxy support. Where a failure happened: a connector hook marks the
moment aiohttp hands a connection to the request (``_CONNECTED``); anything raised
before that is :class:`~auth_hooks.transports.NeverSent`.
"""

from __future__ import annotations

import contextvars
import math
import ssl
import time
import typing
from collections.abc import AsyncIterator

import httpx

if typing.TYPE_CHECKING:
    import aiohttp

from .transports import (
    DEADLINE_EXTENSION,
    DEFAULT_BOUNDS,
    DEFAULT_LIMITS,
    MESSAGE_LIMIT,
    Bounds,
    ConnectFailed,
    ConnectTimedOut,
    Decoder,
    NotSentUnsupported,
    ProxyRefused,
    certificate_error,
    certificate_problem,
    deadline_error,
    decoding,
    is_past,
    retry_delay,
    retryable,
    short,
    too_large,
)

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
        session = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            trust_env=False,  # make_client has read the environment already (proxy, CAs)
        )
        # aiohttp silently sends a GET, PUT or DELETE again when a kept-alive connection
        # fails: a write (a cancel, say) could then be applied twice. Retrying is decided
        # above it (reads only); there is no public switch, so the attribute is set.
        if hasattr(session, "_retry_connection"):
            session._retry_connection = False
        return session

    def _timeout(
        self, timeouts: dict[str, float | None], until: float | None = None
    ) -> tuple[aiohttp.ClientTimeout, float]:
        """The aiohttp timeout of one attempt, and the request's deadline (monotonic).

        ``until``: the deadline of a request already under way (a connect retry), so a
        retry gets only the time left, never a fresh total.
        """
        import aiohttp

        connect, read, pool = timeouts.get("connect"), timeouts.get("read"), timeouts.get("pool")
        total = self._bounds.deadline_s(timeouts, until)
        key = (connect, read, pool, total)
        timeout = self._timeouts.get(key) if until is None else None
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
            if until is None:  # totals of requests under way vary: not worth keeping
                self._timeouts[key] = timeout
        return timeout, math.inf if total is None else time.monotonic() + total

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        import asyncio

        import yarl

        if self._session is None or self._session.closed:
            self._session = self._new_session()
        timeouts = request.extensions.get("timeout") or {}
        timeout, deadline = self._timeout(timeouts, request.extensions.get(DEADLINE_EXTENSION))
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
            if not retryable(error, attempt, self._retries, deadline):
                raise error
            await asyncio.sleep(retry_delay(attempt))
            attempt += 1
            timeout, deadline = self._timeout(timeouts, None if math.isinf(deadline) else deadline)
        limit = self._bounds.max_response_bytes
        headers, decoder = decoding(response.raw_headers, limit)
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
            return certificate_error(certificate_problem(exc.certificate_error) or short(exc))
        problem = certificate_problem(exc)
        if problem:
            return certificate_error(problem)
        if isinstance(exc, TimeoutError):  # aiohttp's connect timeouts, or the total deadline
            return ConnectTimedOut(f"no connection in time: {short(exc)}")
        if isinstance(exc, aiohttp.ClientHttpProxyError):
            return ProxyRefused(f"proxy refused the tunnel: {exc.status} {exc.message}")
        if isinstance(exc, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError):
            return NotSentUnsupported(f"{type(exc).__name__}: {short(exc)}")
        return ConnectFailed(f"{type(exc).__name__}: {short(exc)}")
    return _aiohttp_after_send(exc, deadline)


def _aiohttp_after_send(exc: BaseException, deadline: float) -> httpx.TransportError:
    import aiohttp

    name = type(exc).__name__
    if isinstance(exc, TimeoutError):
        if is_past(deadline):
            return deadline_error()
        return httpx.ReadTimeout(f"{name}: no answer in time")
    if isinstance(exc, aiohttp.ClientResponseError):
        # Only its message: its repr and request_info hold the request's headers.
        return httpx.RemoteProtocolError(f"{name}: {str(exc.message)[:MESSAGE_LIMIT]}")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return httpx.RemoteProtocolError("server disconnected without a whole answer")
    return httpx.ReadError(f"{name}: {short(exc)}")


class _AiohttpBody(httpx.AsyncByteStream):
    __slots__ = ("_deadline", "_decoder", "_limit", "_response")

    def __init__(
        self, response: aiohttp.ClientResponse, limit: int, deadline: float, decoder: Decoder | None
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
                    if self._decoder is not None:
                        self._decoder.finish()
                    return
                received += len(chunk)
                if received <= self._limit:
                    yield chunk if self._decoder is None else self._decoder.decode(chunk)
                    continue
                error = too_large(self._limit)
            raise error  # outside the except block: aiohttp's exception is not chained

    async def aclose(self) -> None:
        self._response.release()
