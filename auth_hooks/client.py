"""``make_client``: the generated ``AuthenticatedClient``, configured safely for Kalshi."""

from __future__ import annotations

import ipaddress
import os
import ssl
import sys
import threading
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any, Self, TypeVar

import httpx
from attrs import define, field
from kalshi_trade_api.client import AuthenticatedClient

from .auth import KalshiAuth
from .classify import aread_and_check, read_and_check
from .errors import KalshiConfigError
from .httpcore_transport import AsyncBoundedHTTPTransport, BoundedHTTPTransport
from .httpx_clients import LeanAsyncClient, LeanClient
from .lane import AsyncWireTransport, Lane, WireTransport
from .signing import KEY_HEADER
from .transports import DEFAULT_LIMITS, DEFAULT_MAX_RESPONSE_BYTES, Bounds
from .wire import Origin, PoolBook, WirePool

if TYPE_CHECKING:
    from .wire_async import AsyncWirePool

_Pool = TypeVar("_Pool", bound=PoolBook[Any])

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


# The API's base path: every operation's path in openapi.yaml is relative to it, so a
# base URL without it would reach other paths (and their 404s look like "order not found").
API_BASE_PATH = "/trade-api/v2"
ASYNC_BACKENDS = ("auto", "aiohttp", "httpx")

Verify = bool | str | os.PathLike[str] | ssl.SSLContext


def make_client(
    auth: KalshiAuth,
    *,
    env: str | None = None,
    base_url: str | None = None,
    timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
    deadline: float | None = None,
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    verify: Verify = True,
    proxy: str | httpx.URL | httpx.Proxy | None = None,
    trust_env: bool = True,
    limits: httpx.Limits = DEFAULT_LIMITS,
    connect_retries: int = DEFAULT_CONNECT_RETRIES,
    async_backend: str = "auto",
    transport: httpx.BaseTransport | None = None,
    async_transport: httpx.AsyncBaseTransport | None = None,
    **httpx_args: Any,
) -> KalshiClient:
    """The generated client, signing with ``auth``, for ``env`` ("prod" / "demo") or ``base_url``.

    Safe defaults: a finite timeout, redirects never followed (httpx would carry the
    KALSHI-* headers to the other host), TLS verified (``verify=False`` must be
    spelled out), plain ``http://`` only to a loopback host.

    Every request is bounded: it ends within ``deadline`` seconds in all (default: the
    connect timeout plus the read timeout of the request; ``math.inf`` for none), and an
    answer longer than ``max_response_bytes`` (default 8 MiB) is cut off. Either, once
    the request may have left, is an ``httpx.TransportError`` (OutcomeUnknown for an amend).

    TLS and proxies as httpx's ``trust_env``: HTTPS_PROXY / HTTP_PROXY / ALL_PROXY /
    NO_PROXY are read each time a pool is built, SSL_CERT_FILE / SSL_CERT_DIR by
    make_client (the CAs are loaded then, not on the first amend), unless
    ``trust_env=False``. ``verify`` is True, False, an ``ssl.SSLContext``,
    or the path of a PEM file (or directory) of CA certificates; it applies through a
    ``proxy`` too.

    Requests go on connection pools of our own (:mod:`auth_hooks.wire` and
    :mod:`auth_hooks.wire_async`, HTTP/1.1 keep-alive), under the httpx clients and
    under the direct route :func:`auth_hooks.call` takes (:mod:`auth_hooks.lane`).
    Through a proxy, sync requests use httpcore's pool and async ones need httpx-aiohttp
    (without it the first async request raises KalshiConfigError saying so, unless
    ``async_backend="httpx"`` asks for httpx's own pool, several times slower);
    ``async_backend="aiohttp"`` chooses aiohttp without a proxy too. A ``transport`` or
    ``async_transport`` you pass is used as it is: none of the above applies to it.
    ``httpx_args`` go to both httpx clients (and make calls go through httpx's client).
    """
    if not isinstance(auth, KalshiAuth):
        raise KalshiConfigError("auth must be a KalshiAuth (see KalshiAuth.from_env)")
    if httpx_args.get("follow_redirects"):
        raise KalshiConfigError(
            "follow_redirects is refused: a redirect would carry the KALSHI-* headers elsewhere"
        )
    httpx_args.pop("follow_redirects", None)
    for reserved in ("auth", "base_url", "event_hooks", "verify", "cookies", "headers", "mounts"):
        if reserved in httpx_args:
            raise KalshiConfigError(f"{reserved} is set by make_client; it cannot be passed in httpx_args")
    if connect_retries < 0:
        raise KalshiConfigError("connect_retries must be 0 or more")
    if async_backend not in ASYNC_BACKENDS:
        raise KalshiConfigError(
            f"async_backend must be one of {', '.join(ASYNC_BACKENDS)}, got {async_backend!r}"
        )
    if (
        isinstance(max_response_bytes, bool)
        or not isinstance(max_response_bytes, int)
        or max_response_bytes < 1
    ):
        raise KalshiConfigError(f"max_response_bytes must be a positive int, got {max_response_bytes!r}")
    if deadline is not None and (isinstance(deadline, bool) or not deadline > 0):
        raise KalshiConfigError(f"deadline must be a positive number of seconds, got {deadline!r}")
    _check_verify(verify)
    client = KalshiClient(
        base_url=resolve_base_url(env, base_url),
        token=auth.key_id,
        prefix="",
        auth_header_name=KEY_HEADER,
        timeout=timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout),
        verify_ssl=verify,  # type: ignore[arg-type]  # a PathLike too, turned into a context here
        follow_redirects=False,
        httpx_args=httpx_args,
        auth=auth,
        connect_retries=connect_retries,
        transport=transport,
        async_transport=async_transport,
        bounds=Bounds(max_response_bytes=max_response_bytes, deadline=deadline),
        proxy=_proxy(proxy),
        trust_env=trust_env,
        limits=limits,
        async_backend=async_backend,
    )
    if transport is None or async_transport is None:
        # The CA bundle (30-60 ms to load) is read now, at start-up, not on the critical
        # path of the first amend; a CA file that cannot be used fails here too.
        client.tls_context()
    return client


def _check_verify(verify: object) -> None:
    if isinstance(verify, bool | ssl.SSLContext):
        return
    if isinstance(verify, str | os.PathLike):
        if not os.path.exists(verify):
            raise KalshiConfigError(f"verify={os.fspath(verify)!r}: no such CA file or directory")
        if not os.path.isdir(verify):
            # Read now, so a file that holds no certificate fails here, not on the first amend.
            try:
                ssl.create_default_context(cafile=os.fspath(verify))
            except (ssl.SSLError, OSError, ValueError) as exc:
                raise KalshiConfigError(
                    f"verify={os.fspath(verify)!r}: not a PEM file of CA certificates ({type(exc).__name__})"
                ) from None
        return
    raise KalshiConfigError(
        f"verify must be True, False, an ssl.SSLContext or a CA file path, not {type(verify).__name__}"
    )


def _proxy(proxy: str | httpx.URL | httpx.Proxy | None) -> httpx.Proxy | None:
    if proxy is None:
        return None
    result = proxy if isinstance(proxy, httpx.Proxy) else httpx.Proxy(proxy)
    if result.url.scheme not in ("http", "https"):
        raise KalshiConfigError(f"proxy must be an http:// or https:// URL, got scheme {result.url.scheme!r}")
    return result


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
    try:
        url = httpx.URL(base_url)
        # A host name the resolver cannot encode (a label over 63 characters, a bad
        # xn-- label) must fail here, not as an unexplained error while sending.
        url.host.encode("idna")
    except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
        raise KalshiConfigError(f"base_url is not a usable URL ({exc}): {base_url!r}") from None
    if url.scheme == "http" and not _is_loopback(url.host):
        raise KalshiConfigError(f"plain http is refused for non-loopback host {url.host!r}: use https")
    if url.scheme not in ("http", "https") or not url.host:
        raise KalshiConfigError(f"base_url must be an http(s) URL with a host, got {base_url!r}")
    if url.query or url.fragment or not url.path.rstrip("/").endswith(API_BASE_PATH):
        raise KalshiConfigError(
            f"base_url must end in the API's base path {API_BASE_PATH} "
            f"(e.g. https://external-api.kalshi.com{API_BASE_PATH}), got {base_url!r}"
        )
    return base_url.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _running_loop() -> Any:
    """The running asyncio loop, or None (no asyncio imported, none running, or trio)."""
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return None
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def _close_when_loop_ends(client: httpx.AsyncClient) -> AsyncGenerator[None, None]:
    """Closes ``client`` when asyncio shuts the loop's async generators down.

    asyncio.run() finalises every async generator still alive before it closes the loop
    (``loop.shutdown_asyncgens``): this one, started on the loop the pool was built on,
    closes that pool there. So a script that ends without ``aclose`` leaves no open
    connections (nor aiohttp's "Unclosed client session"), and a client used again from
    another asyncio.run() finds its old pool closed on its own loop, not dangling.
    """
    try:
        yield
    finally:
        await client.aclose()


@define
class KalshiClient(AuthenticatedClient):
    """The generated ``AuthenticatedClient`` whose httpx clients are built by us, lazily.

    Wrapping, not patching: generated code is untouched. Each httpx client is made on
    first use, so a sync-only bot never pays for the async stack and vice versa.

    Life cycle: ``with client:`` / ``async with client:`` close both pools at the end
    (``close()`` closes the sync one, ``aclose()`` the async one), and may be entered
    again: a closed pool is rebuilt on the next request. The async pool belongs to the event loop it was
    built on; used from another loop (a second ``asyncio.run``) once the first has
    stopped, the client builds a new pool there. While the first loop still runs
    (another thread), or whenever you passed ``async_transport`` (which cannot be
    rebuilt), a second loop gets KalshiConfigError before anything is sent.
    """

    _auth: KalshiAuth = field(kw_only=True, alias="auth")
    _connect_retries: int = field(default=DEFAULT_CONNECT_RETRIES, kw_only=True, alias="connect_retries")
    _transport: httpx.BaseTransport | None = field(default=None, kw_only=True, alias="transport")
    _async_transport: httpx.AsyncBaseTransport | None = field(
        default=None, kw_only=True, alias="async_transport"
    )
    _bounds: Bounds = field(factory=Bounds, kw_only=True, alias="bounds")
    _proxy: httpx.Proxy | None = field(default=None, kw_only=True, alias="proxy")
    _trust_env: bool = field(default=True, kw_only=True, alias="trust_env")
    _limits: httpx.Limits = field(default=DEFAULT_LIMITS, kw_only=True, alias="limits")
    _async_backend: str = field(default="auto", kw_only=True, alias="async_backend")

    # Two threads making their first request at once must not build two pools.
    _build_lock: threading.Lock = field(factory=threading.Lock, init=False, repr=False)
    _ssl_context: ssl.SSLContext | None = field(default=None, init=False, repr=False)
    _async_loop: Any = field(default=None, init=False, repr=False)
    # The loop-end closers of async pools built so far, kept alive until they ran: one
    # collected early would ask its (maybe closed) loop to run it.
    _closers: list[AsyncGenerator[None, None]] = field(factory=list, init=False, repr=False)
    _closing: set[Any] = field(factory=set, init=False, repr=False)  # aclose tasks started by __exit__
    _built_async: httpx.AsyncClient | None = field(default=None, init=False, repr=False)
    # The direct routes (auth_hooks.lane) of the httpx clients built here, with their pools.
    _sync_route: tuple[httpx.Client, Lane, WirePool] | None = field(default=None, init=False, repr=False)
    _async_route: tuple[httpx.AsyncClient, Lane, AsyncWirePool] | None = field(
        default=None, init=False, repr=False
    )

    def get_httpx_client(self) -> httpx.Client:
        if self._client is None:
            with self._build_lock:
                if self._client is None:
                    pool = None if self._transport is not None else self._wire_pool(WirePool)
                    transport = self._transport or (
                        WireTransport(pool, self._origin_url())
                        if pool is not None
                        else BoundedHTTPTransport(**self._transport_args())
                    )
                    client = LeanClient(
                        transport=transport,
                        # The auth's hook first: it times the headers' arrival for the clock
                        # estimate before read_and_check reads the (maybe slow) body (our
                        # pools note the head's arrival themselves; other transports' not).
                        event_hooks={"response": [self._auth.record_headers_arrival, read_and_check]},
                        **self._common_args(),
                    )
                    if pool is not None and not self._httpx_args:
                        self._sync_route = (client, Lane(client, self._auth, pool.origin.host_header), pool)
                    self._client = client
        return self._client

    def sync_route(self) -> tuple[Lane, WirePool] | None:
        """The direct route of the sync httpx client, when it is the one built here with
        a pool of our own (see :mod:`auth_hooks.lane`); None: send through httpx."""
        http = self.get_httpx_client()
        route = self._sync_route
        return (route[1], route[2]) if route is not None and route[0] is http else None

    def async_route(self) -> tuple[Lane, AsyncWirePool] | None:
        """:meth:`sync_route` for the async httpx client (of the running event loop)."""
        http = self.get_async_httpx_client()
        route = self._async_route
        return (route[1], route[2]) if route is not None and route[0] is http else None

    def _origin_url(self) -> httpx.URL:
        return httpx.URL(self._base_url)

    def _wire_pool(self, kind: type[_Pool]) -> _Pool | None:
        """A pool of ``kind`` (WirePool or AsyncWirePool) for the base URL; None with a proxy,
        which only httpcore's and aiohttp's pools can go through."""
        if self._proxy_for_base_url() is not None:
            return None
        return kind(
            Origin(self._origin_url(), self.tls_context()),
            limits=self._limits,
            bounds=self._bounds,
            connect_retries=self._connect_retries,
            clock=self._auth.server_clock.local_s,
        )

    def get_async_httpx_client(self) -> httpx.AsyncClient:
        loop = _running_loop()
        client = self._async_client
        if client is not None and (loop is None or loop is self._async_loop):
            return client
        with self._build_lock:
            if loop is not None and self._async_loop is not None and loop is not self._async_loop:
                self._leave_loop()
            if self._async_client is None:
                pool = None if self._async_transport is not None else self._default_async_pool()
                transport = self._async_transport or (
                    AsyncWireTransport(pool, self._origin_url())
                    if pool is not None
                    else self._default_async_transport()
                )
                client = LeanAsyncClient(
                    transport=transport,
                    event_hooks={"response": [self._auth.arecord_headers_arrival, aread_and_check]},
                    **self._common_args(),
                )
                if pool is not None and not self._httpx_args:
                    self._async_route = (client, Lane(client, self._auth, pool.origin.host_header), pool)
                self._async_client = self._built_async = client
                if loop is not None:
                    self._close_at_loop_end(self._async_client)
            elif loop is not None and self._async_loop is None and self._async_client is self._built_async:
                self._close_at_loop_end(self._async_client)  # built outside any loop, first used here
            if loop is not None:
                self._async_loop = loop
            return self._async_client

    def _leave_loop(self) -> None:
        """Drops the async pool of the loop it was used on, before another loop uses the client."""
        old = self._async_loop
        client = self._async_client
        if self._async_transport is not None or (client is not None and client is not self._built_async):
            raise KalshiConfigError(
                "this client's async transport was given to make_client (or its httpx client set) and "
                "belongs to the event loop it was first used on: make a new client for this loop; "
                "nothing was sent"
            )
        if client is None:
            return  # closed: a new pool is built for the new loop
        if old.is_running():
            raise KalshiConfigError(
                "this client's async pool is in use on another running event loop (another thread): "
                "make one client per event loop; nothing was sent"
            )
        # The old loop has stopped: its closer has run (asyncio.run) or will run if that
        # loop runs again. Either way this loop gets a pool of its own.
        self._async_client = None
        self._closers = [closer for closer in self._closers if getattr(closer, "ag_frame", None) is not None]

    def _close_at_loop_end(self, client: httpx.AsyncClient) -> None:
        closer = _close_when_loop_ends(client)
        # Started by hand up to its yield (it awaits nothing before): asyncio's first-iter
        # hook, installed for the running loop, registers it with that loop right here.
        try:
            closer.asend(None).send(None)
        except StopIteration:
            self._closers.append(closer)

    def _transport_args(self) -> dict[str, Any]:
        return {
            "ssl_context": self.tls_context(),
            "proxy": self._proxy_for_base_url(),
            "limits": self._limits,
            "bounds": self._bounds,
            "connect_retries": self._connect_retries,
        }

    def _common_args(self) -> dict[str, Any]:
        """What the sync and async httpx clients share."""
        return {
            "base_url": self._base_url,
            "cookies": self._cookies,
            # No compressed answers: Kalshi's are small, and a decoded size is one more
            # thing to bound (the transports decode one sent anyway within the cap).
            "headers": {"Accept-Encoding": "identity", **self._headers},
            "timeout": self._timeout,
            "follow_redirects": False,
            "auth": self._auth,
            "trust_env": self._trust_env,
            **self._httpx_args,
        }

    def _default_async_pool(self) -> AsyncWirePool | None:
        """The asyncio pool of our own ("auto", no proxy), or None for httpx's or aiohttp's."""
        if self._async_backend != "auto":
            return None
        from .wire_async import AsyncWirePool  # here: sync-only bots never import asyncio

        return self._wire_pool(AsyncWirePool)

    def _default_async_transport(self) -> httpx.AsyncBaseTransport:
        if self._async_backend != "httpx":
            try:
                import httpx_aiohttp  # noqa: F401  (installing it opts in to aiohttp)

                from .aiohttp_transport import AiohttpTransport
            except ImportError:
                # Through a proxy async needs it: httpx's own pool is several times slower
                # per amend with many in flight than sync (make bench). Choosing it must be explicit.
                why = "through a proxy" if self._async_backend == "auto" else "with async_backend='aiohttp'"
                raise KalshiConfigError(
                    f"async requests {why} need httpx-aiohttp (pip install httpx-aiohttp); "
                    "make_client(async_backend='httpx') uses httpx's own pool instead, "
                    "which is much slower with many amends in flight"
                ) from None
            return AiohttpTransport(**self._transport_args())
        return AsyncBoundedHTTPTransport(**self._transport_args())

    def tls_context(self) -> ssl.SSLContext:
        """The TLS context of both pools, made once (loading a CA bundle takes 30-60 ms).

        A plain-http base URL (loopback only) never does TLS, and loading the CA bundle
        costs start-up time for nothing; such a client gets a context that trusts no CA
        at all, so an https request through it would fail closed, not open.
        """
        if self._ssl_context is None:
            verify: Any = self._verify_ssl
            if httpx.URL(self._base_url).scheme == "http":
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            elif isinstance(verify, str | os.PathLike):
                path = os.fspath(verify)
                if os.path.isdir(path):
                    context = ssl.create_default_context(capath=path)
                else:
                    context = ssl.create_default_context(cafile=path)
            else:
                context = httpx.create_ssl_context(verify=verify, trust_env=self._trust_env)
            if not isinstance(verify, ssl.SSLContext):
                # Ours to configure (one you pass is used as it is): the pools speak HTTP/1.1.
                context.set_alpn_protocols(["http/1.1"])
            self._ssl_context = context
        return self._ssl_context

    def _proxy_for_base_url(self) -> httpx.Proxy | None:
        """``proxy=``, or the environment's proxy for the base URL (httpx's trust_env rules)."""
        if self._proxy is not None or not self._trust_env:
            return self._proxy
        from urllib.request import getproxies, proxy_bypass_environment  # type: ignore[attr-defined]

        url = httpx.URL(self._base_url)
        proxies = getproxies()
        chosen = proxies.get(url.scheme) or proxies.get("all")
        if not chosen:
            return None
        host = url.host if url.port is None else f"{url.host}:{url.port}"
        if proxies.get("no") and proxy_bypass_environment(host, proxies):
            return None
        return _proxy(chosen if "://" in chosen else f"http://{chosen}")

    def close(self) -> None:
        """Closes the sync pool (the async one closes with ``aclose``); the next request
        opens a new one."""
        with self._build_lock:
            client, self._client = self._client, None
        if client is not None:
            client.close()

    async def aclose(self) -> None:
        """Closes the async pool; the next request opens a new one."""
        with self._build_lock:
            client, self._async_client = self._async_client, None
        if client is not None:
            await client.aclose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *args: object) -> None:
        """Closes both pools. The async one only when its loop runs in this thread (it is
        closed there, as a task) or has ended (asyncio.run closed it already)."""
        self.close()
        loop = _running_loop()
        if self._async_client is not None and loop is not None and loop is self._async_loop:
            with self._build_lock:
                client, self._async_client = self._async_client, None
            if client is not None:
                task = loop.create_task(client.aclose())
                self._closing.add(task)
                task.add_done_callback(self._closing.discard)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *args: object) -> None:
        """Closes both pools."""
        self.close()
        await self.aclose()

    def __repr__(self) -> str:
        return f"KalshiClient(base_url={self._base_url!r}, auth={self._auth!r})"
