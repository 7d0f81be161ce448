"""What a transport error says about a request, and the bounds every request has.

Whether a failed request could have left is decided where the failure happened:
every error the pools and transports (:mod:`auth_hooks.wire`, :mod:`auth_hooks.wire_async`,
:mod:`auth_hooks.httpcore_transport` for proxies, :mod:`auth_hooks.aiohttp_transport`)
raise before the request can have been written is a :class:`NeverSent`; everything after
is a plain ``httpx.TransportError`` subclass. The callers classify NotSent versus
OutcomeUnknown from :func:`never_sent` alone.

Each request is bounded whatever the server does (see :class:`Bounds`):

* a total deadline, not per read: every socket operation (connect, TLS, write, each
  read of the head and of the body) gets the lesser of its own timeout and the time
  left (on httpcore carried in the request's timeout extension); on aiohttp its
  ``ClientTimeout(total=...)``;
* a maximum body size, counted as the body streams in, so memory stays bounded (a
  compressed body, which the clients do not ask for, is decoded within it too).

Prior art: httpx has no total timeout (encode/httpx#1450, #776: "the implementation
would be in httpcore"); this passes the remaining budget to each operation instead.
"""

from __future__ import annotations

import math
import ssl
import time
import typing
import zlib

import attrs
import httpx

if typing.TYPE_CHECKING:
    pass

# A request extension: a ``time.monotonic()`` time the request must end by, whatever its
# own deadline (auth_hooks.call sets it for reads retried within one deadline).
DEADLINE_EXTENSION = "auth_hooks.deadline"
# Far above any answer of this API (an amend's is < 1 KB), low enough to bound memory.
DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
# Delays before connect attempts 2, 3, ... (httpcore's own schedule).
RETRY_DELAYS = (0.0, 0.5, 1.0, 2.0)
# A timeout ending this close to the deadline is the deadline (timers are not exact).
_DEADLINE_SLACK = 0.05
MESSAGE_LIMIT = 200

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


class ClosedBeforeSending(httpx.WriteError, NeverSent):
    """The connection closed before a byte of the request was handed to it."""


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


def short(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= MESSAGE_LIMIT else text[:MESSAGE_LIMIT] + "..."


def certificate_problem(exc: BaseException) -> str | None:
    """The verification message when ``exc`` was caused by a refused certificate."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 8:
        if isinstance(current, ssl.SSLCertVerificationError):
            return current.verify_message or "certificate verify failed"
        current = current.__cause__ or current.__context__
        seen += 1
    return None


def certificate_error(detail: str) -> CertificateVerifyFailed:
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

    def deadline_s(self, timeouts: dict[str, float | None], until: float | None = None) -> float | None:
        """Seconds this request may take; ``until`` (a ``time.monotonic()`` time, from the
        request's :data:`DEADLINE_EXTENSION`) shortens it, e.g. to a caller's own deadline
        over several attempts."""
        seconds = self._own_deadline_s(timeouts)
        if until is None:
            return seconds
        left = max(0.0, until - time.monotonic())
        return left if seconds is None else min(seconds, left)

    def _own_deadline_s(self, timeouts: dict[str, float | None]) -> float | None:
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


def with_deadline(extensions: dict[str, typing.Any], bounds: Bounds) -> tuple[dict[str, typing.Any], float]:
    """The request's extensions with budgeted timeouts, and the deadline (inf if none)."""
    timeouts = extensions.get("timeout") or {}
    seconds = bounds.deadline_s(timeouts, extensions.get(DEADLINE_EXTENSION))
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


def time_left(timeout: float | None, error: type[Exception]) -> float | None:
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


def is_past(deadline: float) -> bool:
    return time.monotonic() >= deadline - _DEADLINE_SLACK


def deadline_error() -> DeadlineExceeded:
    return DeadlineExceeded("the request's total deadline passed before the whole answer arrived")


def too_large(limit: int) -> ResponseTooLarge:
    return ResponseTooLarge(f"the answer is longer than max_response_bytes={limit}")


class UnreadableEncoding(httpx.ReadError):
    """The answer came in a content coding that cannot be read within the size cap."""


Headers = typing.Sequence[tuple[bytes, bytes]]


class Decoder:
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
            raise too_large(self._limit)
        return out

    def finish(self) -> None:
        """At the end of the body: a compressed stream that did not end was cut short (it
        would read as a prefix of the answer)."""
        if self._zlib is not None and not self._zlib.eof:
            raise UnreadableEncoding(f"the answer's {self._encoding.decode()} body is cut short")


_ZLIB_CODINGS = (b"gzip", b"x-gzip", b"deflate")


def decoding(headers: Headers, limit: int) -> tuple[Headers, Decoder | None]:
    """The headers to hand httpx, and the decoder of an encoded answer (None: identity)."""
    for name, value in headers:
        if name.lower() == b"content-encoding":
            encoding = value.strip().lower()
            if encoding in (b"", b"identity"):
                return headers, None
            kept = [(n, v) for n, v in headers if n.lower() not in (b"content-encoding", b"content-length")]
            return kept, Decoder(encoding, limit)
    return headers, None


DEFAULT_BOUNDS = Bounds()
# As many kept alive as may be open: a bot with 32 amends in flight would otherwise close
# and reopen (a TLS handshake each) every connection past the 20th after each burst.
DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=100, keepalive_expiry=5.0)


# -- connect retries ---------------------------------------------------------------------


def retryable(error: httpx.TransportError, attempt: int, retries: int, deadline: float) -> bool:
    """A failed connect is tried again, if the wait before it ends before the deadline; a
    refused certificate, a full pool or a sent request never."""
    return (
        attempt < retries
        and isinstance(error, ConnectFailed | ConnectTimedOut)
        and time.monotonic() + retry_delay(attempt) < deadline
    )


def retry_delay(attempt: int) -> float:
    return RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)]
