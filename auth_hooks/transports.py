"""The transports make_client builds, and what a transport error says about a request.

Whether a failed request could have left is decided here, where the failure happened:
the callers classify NotSent versus OutcomeUnknown from :func:`never_sent` alone.
"""

from __future__ import annotations

import httpx

# Transport errors raised before any byte of the request could have left.
_NEVER_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
)


def never_sent(exc: BaseException) -> bool:
    """True when a transport error proves the request never left (connect, DNS, TLS, pool)."""
    if not isinstance(exc, _NEVER_SENT):
        return False
    # httpx-aiohttp maps every aiohttp.ClientConnectionError, including a server that
    # drops the connection after reading the request, to httpx.ConnectTimeout. Only
    # aiohttp's own connector errors and its connect timeout (raised while waiting for
    # a pooled or new connection, before the request is written) mean "never connected".
    cause = exc.__cause__
    if cause is None or not type(cause).__module__.startswith("aiohttp"):
        return True
    import aiohttp  # only reached when aiohttp raised, so it is installed

    return isinstance(cause, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError)


class ConnectRetryingTransport(httpx.AsyncBaseTransport):
    """Retries an async request whose connection could not be made, like httpx's
    ``retries=``, for transports that have no such option (httpx-aiohttp's ignores it).

    Only errors that prove the request never left are retried (see
    :func:`never_sent`); delays 0, 0.5, 1 s as httpcore's.
    """

    def __init__(self, inner: httpx.AsyncBaseTransport, retries: int) -> None:
        self._inner = inner
        self._retries = retries

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        attempt = 0
        while True:
            try:
                return await self._inner.handle_async_request(request)
            except httpx.TransportError as exc:
                if attempt >= self._retries or not never_sent(exc):
                    raise
            if attempt:
                import asyncio  # only async code reaches here

                await asyncio.sleep(0.5 * 2 ** (attempt - 1))
            attempt += 1

    async def aclose(self) -> None:
        await self._inner.aclose()
