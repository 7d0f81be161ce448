"""``make_client``: the generated ``AuthenticatedClient``, configured safely for Kalshi."""

from __future__ import annotations

import ipaddress
import ssl
import threading
from typing import Any

import httpx
from attrs import define, field
from kalshi_trade_api.client import AuthenticatedClient

from .auth import KalshiAuth
from .classify import aread_and_check, read_and_check
from .errors import KalshiConfigError
from .httpx_clients import LeanAsyncClient, LeanClient
from .signing import KEY_HEADER
from .transports import ConnectRetryingTransport

# The spec's production and demo servers (openapi.yaml `servers`; a test keeps them in step).
ENVIRONMENTS = {
    "prod": "https://external-api.kalshi.com/trade-api/v2",
    "demo": "https://external-api.demo.kalshi.co/trade-api/v2",
}
# The generated client's default is no timeout at all: a bot would hang forever on a
# dead connection. Connect failures are cheap to detect; reads allow for a slow exchange.
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
# Connect attempts repeated by the transport; a request that may have left is never repeated.
DEFAULT_CONNECT_RETRIES = 2


def make_client(
    auth: KalshiAuth,
    *,
    env: str | None = None,
    base_url: str | None = None,
    timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    verify: bool | ssl.SSLContext = True,
    connect_retries: int = DEFAULT_CONNECT_RETRIES,
    transport: httpx.BaseTransport | None = None,
    async_transport: httpx.AsyncBaseTransport | None = None,
    **httpx_args: Any,
) -> KalshiClient:
    """The generated client, signing with ``auth``, for ``env`` ("prod" / "demo") or ``base_url``.

    Safe defaults: a finite timeout, redirects never followed (httpx would carry the
    KALSHI-* headers to the other host), TLS verified (``verify=False`` must be
    spelled out), plain ``http://`` only to a loopback host. Async requests use
    httpx-aiohttp's transport when it is installed (it holds up far better with many
    requests in flight) and httpx's own otherwise. ``httpx_args`` go to both httpx clients.
    """
    if not isinstance(auth, KalshiAuth):
        raise KalshiConfigError("auth must be a KalshiAuth (see KalshiAuth.from_env)")
    if httpx_args.get("follow_redirects"):
        raise KalshiConfigError(
            "follow_redirects is refused: a redirect would carry the KALSHI-* headers elsewhere"
        )
    httpx_args.pop("follow_redirects", None)
    for reserved in ("auth", "base_url", "event_hooks", "verify", "cookies", "headers"):
        if reserved in httpx_args:
            raise KalshiConfigError(f"{reserved} is set by make_client; it cannot be passed in httpx_args")
    if connect_retries < 0:
        raise KalshiConfigError("connect_retries must be 0 or more")
    return KalshiClient(
        base_url=resolve_base_url(env, base_url),
        token=auth.key_id,
        prefix="",
        auth_header_name=KEY_HEADER,
        timeout=timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout),
        verify_ssl=verify,
        follow_redirects=False,
        httpx_args=httpx_args,
        auth=auth,
        connect_retries=connect_retries,
        transport=transport,
        async_transport=async_transport,
    )


def resolve_base_url(env: str | None, base_url: str | None) -> str:
    """The base URL for ``env`` or ``base_url`` (exactly one), checked for safety."""
    if env and base_url:
        raise KalshiConfigError("give either env or base_url, not both")
    if env:
        try:
            return ENVIRONMENTS[env]
        except KeyError:
            raise KalshiConfigError(f"unknown env {env!r}: use one of {', '.join(ENVIRONMENTS)}") from None
    if not base_url:
        # Never a silent production default: an amend sent to the wrong exchange is real money.
        raise KalshiConfigError("no exchange chosen: give env ('prod' or 'demo') or base_url")
    url = httpx.URL(base_url)
    if url.scheme == "http" and not _is_loopback(url.host):
        raise KalshiConfigError(f"plain http is refused for non-loopback host {url.host!r}: use https")
    if url.scheme not in ("http", "https") or not url.host:
        raise KalshiConfigError(f"base_url must be an http(s) URL with a host, got {base_url!r}")
    return base_url.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@define
class KalshiClient(AuthenticatedClient):
    """The generated ``AuthenticatedClient`` whose httpx clients are built by us, lazily.

    Wrapping, not patching: generated code is untouched. Each httpx client is made on
    first use, so a sync-only bot never pays for the async stack and vice versa.
    """

    _auth: KalshiAuth = field(kw_only=True, alias="auth")
    _connect_retries: int = field(default=DEFAULT_CONNECT_RETRIES, kw_only=True, alias="connect_retries")
    _transport: httpx.BaseTransport | None = field(default=None, kw_only=True, alias="transport")
    _async_transport: httpx.AsyncBaseTransport | None = field(
        default=None, kw_only=True, alias="async_transport"
    )

    # Two threads making their first request at once must not build two pools.
    _build_lock: threading.Lock = field(factory=threading.Lock, init=False, repr=False)

    def get_httpx_client(self) -> httpx.Client:
        if self._client is None:
            with self._build_lock:
                if self._client is None:
                    transport = self._transport or httpx.HTTPTransport(
                        verify=self._tls(), retries=self._connect_retries
                    )
                    self._client = LeanClient(
                        transport=transport,
                        event_hooks={"response": [read_and_check]},
                        **self._common_args(),
                    )
        return self._client

    def get_async_httpx_client(self) -> httpx.AsyncClient:
        if self._async_client is None:
            with self._build_lock:
                if self._async_client is None:
                    self._async_client = LeanAsyncClient(
                        transport=self._async_transport or self._default_async_transport(),
                        event_hooks={"response": [aread_and_check]},
                        **self._common_args(),
                    )
        return self._async_client

    def _common_args(self) -> dict[str, Any]:
        """What the sync and async httpx clients share."""
        return {
            "base_url": self._base_url,
            "cookies": self._cookies,
            "headers": self._headers,
            "timeout": self._timeout,
            "follow_redirects": False,
            "auth": self._auth,
            **self._httpx_args,
        }

    def _default_async_transport(self) -> httpx.AsyncBaseTransport:
        try:
            from httpx_aiohttp import AiohttpTransport
        except ImportError:  # optional: httpx's own pool works, but slows with many in flight
            return httpx.AsyncHTTPTransport(verify=self._tls(), retries=self._connect_retries)
        # httpx-aiohttp ignores retries=: connect retries are added around it.
        return ConnectRetryingTransport(AiohttpTransport(verify=self._tls()), self._connect_retries)

    def _tls(self) -> bool | str | ssl.SSLContext:
        """The TLS setting for the transports.

        A plain-http base URL (loopback only) never does TLS, and loading the CA bundle
        costs 30-60 ms of start-up for nothing; such a client gets a context that trusts
        no CA at all, so an https request through it would fail closed, not open.
        """
        if httpx.URL(self._base_url).scheme == "http":
            return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        return self._verify_ssl

    def close(self) -> None:
        """Closes the sync httpx client (the async one closes with ``aclose``)."""
        if self._client is not None:
            self._client.close()

    async def aclose(self) -> None:
        if self._async_client is not None:
            await self._async_client.aclose()

    def __repr__(self) -> str:
        return f"KalshiClient(base_url={self._base_url!r}, auth={self._auth!r})"
