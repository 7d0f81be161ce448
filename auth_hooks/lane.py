"""The direct route to a make_client client's own connection pool, and httpx's way in to it.

:class:`Lane` is how :mod:`auth_hooks.call` sends: it takes what the generated
``_get_kwargs`` returns and writes the very request httpx would send (the client's
headers, httpx's JSON encoding, the URL httpx builds), signed by the client's
:class:`~auth_hooks.auth.KalshiAuth`, on the client's :class:`~auth_hooks.wire.WirePool`.
httpx's client layer (its Request, URL and Headers objects, the auth and event-hook
machinery) costs about as much per amend as the loopback round trip itself; this route
skips it and does what the auth flow and the response hooks do (signing, learning the
exchange's clock from ``Date``, one re-send after ``401 header_timestamp_expired``).

:class:`WireTransport` / :class:`AsyncWireTransport` put the same pool under the
client's httpx clients, so a generated function called directly shares the
connections (and :func:`~auth_hooks.warmup.warm_up` warms both routes at once).

The route is taken only where it sends exactly what httpx would: on the client
make_client built (not one given to ``set_httpx_client``), without a proxy or a
``transport`` of yours, without ``httpx_args``, cookies, default query parameters or
event hooks added to the httpx client, with its auth and base URL as make_client set
them, and for JSON, str or bytes bodies (a form, multipart or streamed body goes
through httpx). Everything else goes through httpx unchanged.
"""

from __future__ import annotations

import json
import logging
from functools import partial
from typing import TYPE_CHECKING, Any

import httpx

from . import http11
from .auth import HEADERS_AT
from .errors import KalshiConfigError, KalshiError, NotSent
from .http11 import RawAnswer
from .httpx_clients import cache_key
from .signing import KEY_HEADER, SIGNATURE_HEADER, TIMESTAMP_HEADER, path_to_sign
from .transports import DEADLINE_EXTENSION, NotSentUnsupported
from .wire import Timeouts, WirePool

if TYPE_CHECKING:
    from .auth import KalshiAuth
    from .wire_async import AsyncWirePool

logger = logging.getLogger("auth_hooks")

# httpx's own encoding of ``json=`` (httpx._content.encode_json), so both routes send the same bytes.
encode_json = partial(json.dumps, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
# What generated ``_get_kwargs`` may return that this route sends as httpx would.
_SUPPORTED = frozenset({"method", "url", "params", "json", "content", "headers", "extensions"})
_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
# Distinct (path, query) pairs remembered; a bot amending many orders recycles them.
TARGET_CACHE_SIZE = 1024
# The framing of a request body: written by the pool's side from the body itself, never
# taken from a client's or an operation's headers (on either route).
_FRAMING = frozenset({"content-length", "transfer-encoding"})
# Headers the direct route writes itself: the framing, and the signature (as the auth flow does).
_WRITTEN_HERE = _FRAMING | {name.lower() for name in (KEY_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)}
_MISSING: Any = object()


class Prepared:
    """A request ready to sign: its head without the signature lines, and its body."""

    __slots__ = ("body", "close", "head", "method", "path", "url_bytes")

    def __init__(self, method: str, path: str, head: bytes, body: bytes, url_bytes: int, close: bool) -> None:
        self.method = method
        self.path = path  # what is signed: the path as sent, without the query
        self.head = head
        self.body = body
        self.url_bytes = url_bytes
        self.close = close  # it says "Connection: close": its connection is not used again


class Lane:
    """The direct route of one httpx client made by make_client (sync or async)."""

    def __init__(self, http: httpx.Client | httpx.AsyncClient, auth: KalshiAuth, host_header: bytes) -> None:
        self._http = http
        self._auth = auth
        self._base_url = http.base_url
        self._host_header = host_header
        self._key_line = f"{KEY_HEADER}: {auth.key_id}\r\n{TIMESTAMP_HEADER}: ".encode("ascii")
        self._targets: dict[Any, tuple[bytes, str] | None] = {}
        self._timeout: tuple[httpx.Timeout, Timeouts] | None = None
        # The client's own header lines, checked and encoded once per distinct set.
        self._client_lines: dict[Any, tuple[bytes, bool, bool]] = {}
        # The hooks make_client installed: hooks added since (the CLI's -v, a user's
        # tracing) would be skipped here, so their requests go through httpx instead.
        self._hooks = {name: list(hooks) for name, hooks in http.event_hooks.items()}

    def prepare(self, kwargs: dict[str, Any]) -> Prepared | None:
        """The request of generated ``_get_kwargs`` output, or None when only httpx can send it.

        Arguments that cannot be encoded raise KalshiConfigError: nothing was sent.
        """
        if not self._sends_as_httpx_would(kwargs):
            return None
        method = kwargs["method"].upper()
        found = self._target(method, kwargs["url"], kwargs.get("params"))
        if found is None:
            return None
        target, path = found
        encoded = _body(kwargs)
        if encoded is None:
            return None
        body, is_json = encoded
        own = kwargs.get("headers") or {}
        try:
            # The framing and the signature are this route's to write, as on httpx's route.
            headers = [
                (name.encode("ascii"), str(value).encode("ascii"))
                for name, value in own.items()
                if name.lower() not in _WRITTEN_HERE
            ]
            client_lines, close, typed = self._client_header_lines(own)
            if is_json and not typed and all(n.lower() != b"content-type" for n, _ in headers):
                headers.append((b"Content-Type", b"application/json"))  # as httpx adds for json=
            if body or method in _WITH_BODY:
                headers.append((b"Content-Length", b"%d" % len(body)))
            head = http11.encode_head(method, target, ()) + client_lines + http11.encode_lines(headers)
        except (UnicodeEncodeError, http11.UnsendableHeader) as exc:
            raise KalshiConfigError(f"request cannot be encoded: {type(exc).__name__}: {exc}") from None
        close = close or http11.asks_to_close(headers)
        return Prepared(method, path, head, body, len(target) + len(self._host_header), close)

    def _sends_as_httpx_would(self, kwargs: dict[str, Any]) -> bool:
        """False when httpx would send something this route does not: arguments it does not
        take, cookies, default query parameters, hooks, auth or base URL changed in place."""
        http = self._http
        return (
            kwargs.keys() <= _SUPPORTED
            and not http.cookies
            and not http.params
            and http.event_hooks == self._hooks
            and http.auth is self._auth
            and http.base_url is self._base_url
        )

    def _client_header_lines(self, own: dict[str, Any]) -> tuple[bytes, bool, bool]:
        """Host and the httpx client's headers (``with_headers`` changes them in place), less
        those the operation, the framing or the signature sets, as checked header lines;
        whether they ask for ``Connection: close``; whether they hold a Content-Type."""
        raw = tuple(self._http.headers.raw)
        overridden = frozenset(name.lower() for name in own)
        key = (raw, overridden)
        found = self._client_lines.get(key)
        if found is None:
            dropped = overridden | _WRITTEN_HERE
            kept = [(n, v) for n, v in raw if n.decode("latin-1").lower() not in dropped]
            # A Host set on the client or by the operation replaces the URL's, as in httpx.
            if "host" not in overridden and all(n.lower() != b"host" for n, _ in kept):
                kept.insert(0, (b"Host", self._host_header))
            typed = any(n.lower() == b"content-type" for n, _ in kept)
            found = (http11.encode_lines(kept), http11.asks_to_close(kept), typed)
            if len(self._client_lines) >= TARGET_CACHE_SIZE:
                self._client_lines.clear()
            self._client_lines[key] = found
        return found

    def _target(self, method: str, url: Any, params: Any) -> tuple[bytes, str] | None:
        """The request target (path and query, encoded as httpx encodes them) and the path to
        sign; built by httpx once per (url, params) and remembered. None: not this pool's origin."""
        key = cache_key(url, params)
        if key is not None:
            cached = self._targets.get(key, _MISSING)  # one lookup: another thread may clear()
            if cached is not _MISSING:
                return cached  # type: ignore[no-any-return]
        try:
            built = self._http.build_request(method, url, params=params).url
        except (TypeError, ValueError, httpx.InvalidURL) as exc:
            raise KalshiConfigError(f"request cannot be encoded: {type(exc).__name__}: {exc}") from None
        base = self._http.base_url
        same_origin = (built.scheme, built.raw_host, built.port) == (base.scheme, base.raw_host, base.port)
        result = (built.raw_path, path_to_sign(built)) if same_origin else None
        if key is not None:
            if len(self._targets) >= TARGET_CACHE_SIZE:
                self._targets.clear()  # rare; cheaper and simpler than LRU bookkeeping
            self._targets[key] = result
        return result

    def timeouts(self) -> Timeouts:
        """The httpx client's timeouts (``with_timeout`` changes them in place)."""
        timeout = self._http.timeout
        cached = self._timeout
        if cached is None or cached[0] is not timeout:
            cached = self._timeout = (timeout, Timeouts(timeout.as_dict()))
        return cached[1]

    def request_bytes(self, prepared: Prepared, timestamp: int, signature: str) -> bytes:
        # The key id is printable ASCII (KalshiAuth checks it), the rest digits and base64.
        return b"%s%d\r\n%s: %s\r\n\r\n%s" % (
            prepared.head + self._key_line,
            timestamp,
            SIGNATURE_HEADER.encode("ascii"),
            signature.encode("ascii"),
            prepared.body,
        )

    def send(self, pool: WirePool, prepared: Prepared, until: float | None) -> httpx.Response:
        """Signs and sends; once more, signed afresh, if the exchange refused the timestamp
        (both within the one deadline of the call)."""
        auth = self._auth
        timeouts = self.timeouts()
        until = pool.deadline(timeouts, until)
        resent = False
        while True:
            try:
                timestamp, signature = auth.signature_for(prepared.method, prepared.path, fresh=resent)
            except KalshiError:
                raise
            except Exception as exc:
                raise _signing_failed(exc) from None
            sent_at = auth.server_clock.local_s()
            data = self.request_bytes(prepared, timestamp, signature)
            answer = pool.send(data, prepared.method, timeouts, until, close=prepared.close)
            response = self._response(prepared, answer)
            if not auth.answer_arrived(response, sent_at, answer.head_at, resent=resent) or resent:
                return response
            resent = True

    async def send_async(
        self, pool: AsyncWirePool, prepared: Prepared, until: float | None
    ) -> httpx.Response:
        """The async twin of :meth:`send`."""
        auth = self._auth
        timeouts = self.timeouts()
        until = pool.deadline(timeouts, until)
        resent = False
        while True:
            try:
                timestamp, signature = await auth.signature_for_async(
                    prepared.method, prepared.path, fresh=resent
                )
            except KalshiError:
                raise
            except Exception as exc:
                raise _signing_failed(exc) from None
            sent_at = auth.server_clock.local_s()
            data = self.request_bytes(prepared, timestamp, signature)
            answer = await pool.send(data, prepared.method, timeouts, until, close=prepared.close)
            response = self._response(prepared, answer)
            if not auth.answer_arrived(response, sent_at, answer.head_at, resent=resent) or resent:
                return response
            resent = True

    def _response(self, prepared: Prepared, answer: RawAnswer) -> httpx.Response:
        if logger.isEnabledFor(logging.DEBUG):  # as httpx logs its requests; headers never
            logger.debug("HTTP %s %s -> %d", prepared.method, prepared.path, answer.status)
        return to_response(answer)


def _signing_failed(exc: Exception) -> NotSent:
    """Signing failed before a byte was written: not sent. The exception is not chained
    and only its type is named (its text might describe the key)."""
    return NotSent(f"not sent: signing failed ({type(exc).__name__}); nothing was written")


def _body(kwargs: dict[str, Any]) -> tuple[bytes, bool] | None:
    """The body as httpx would encode it (``content=`` first, then ``json=``), and whether it
    is JSON; None for content only httpx can stream (a file object, an iterator)."""
    content = kwargs.get("content")
    if content is not None:
        if isinstance(content, str):
            return content.encode("utf-8"), False
        return (content, False) if isinstance(content, bytes) else None
    if kwargs.get("json") is not None:
        try:
            return encode_json(kwargs["json"]).encode("utf-8"), True
        except (TypeError, ValueError) as exc:  # a Decimal, a NaN
            raise KalshiConfigError(f"request cannot be encoded: {type(exc).__name__}: {exc}") from None
    return b"", False


def to_response(answer: RawAnswer, *, for_httpx: bool = False) -> httpx.Response:
    """The answer as an httpx response, its body read; ``for_httpx``: as a stream, which
    httpx's client reads itself (it times ``elapsed`` by that read)."""
    # When the head arrived (the clock reading's end), not when httpx gets the response.
    extensions = {"http_version": b"HTTP/1.1", "reason_phrase": answer.reason, HEADERS_AT: answer.head_at}
    stream = httpx.ByteStream(answer.body)
    response = httpx.Response(answer.status, headers=answer.headers, stream=stream, extensions=extensions)
    if not for_httpx:
        # The body is here whole and already decoded: handed over as httpx keeps a read
        # body (its ``_content``), since read() would run it through httpx's decoder chain
        # (~8 us an answer). tests/transport/test_lane_response.py pins what this relies on.
        response._content = answer.body
        response.is_stream_consumed = True
    return response


# -- httpx's way in -----------------------------------------------------------------------


def request_bytes(request: httpx.Request, origin_url: httpx.URL) -> tuple[bytes, bool]:
    """An httpx request as bytes on the wire; refused (nothing sent) unless for ``origin_url``."""
    url = request.url
    if (url.scheme, url.raw_host, url.port) != (origin_url.scheme, origin_url.raw_host, origin_url.port):
        raise NotSentUnsupported(
            f"this client's pool connects to {origin_url.scheme}://{origin_url.host} only, "
            f"not {url.scheme}://{url.host}; nothing was sent"
        )
    body = request.content
    headers = [
        (name, value) for name, value in request.headers.raw if name.decode("latin-1").lower() not in _FRAMING
    ]
    if body or request.method in _WITH_BODY:
        headers.append((b"Content-Length", b"%d" % len(body)))
    head = http11.encode_head(request.method, url.raw_path, headers)
    return head + b"\r\n" + body, http11.asks_to_close(headers)


def _request_args(request: httpx.Request) -> tuple[Timeouts, float | None]:
    extensions = request.extensions
    return Timeouts(extensions.get("timeout") or {}), extensions.get(DEADLINE_EXTENSION)


class WireTransport(httpx.BaseTransport):
    """An httpx transport on a :class:`~auth_hooks.wire.WirePool` (bodies read whole, bounded)."""

    def __init__(self, pool: WirePool, origin_url: httpx.URL) -> None:
        self.pool = pool
        self._origin_url = origin_url

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        data, close = request_bytes(request, self._origin_url)
        timeouts, until = _request_args(request)
        return to_response(self.pool.send(data, request.method, timeouts, until, close=close), for_httpx=True)

    def close(self) -> None:
        self.pool.close()


class AsyncWireTransport(httpx.AsyncBaseTransport):
    """The async twin of :class:`WireTransport`."""

    def __init__(self, pool: AsyncWirePool, origin_url: httpx.URL) -> None:
        self.pool = pool
        self._origin_url = origin_url

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        data, close = request_bytes(request, self._origin_url)
        timeouts, until = _request_args(request)
        answer = await self.pool.send(data, request.method, timeouts, until, close=close)
        return to_response(answer, for_httpx=True)

    async def aclose(self) -> None:
        await self.pool.aclose()
