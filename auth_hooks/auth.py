"""``KalshiAuth``: an ``httpx.Auth`` that signs every request the way Kalshi verifies it."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from typing import TYPE_CHECKING

import httpx
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from .clock import ServerClock
from .errors import KalshiConfigError, KalshiKeyError, error_code_and_message
from .keys import SigningKey, load_private_key
from .presign import SignaturePipeline
from .signing import path_to_sign, sign_text, signature_headers, text_to_sign

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor

logger = logging.getLogger("auth_hooks")

TIMESTAMP_EXPIRED = "header_timestamp_expired"
# Where record_headers_arrival leaves the local time a response's headers arrived.
HEADERS_AT = "kalshi_auth.headers_at"

# RSA signing (~0.2 ms, GIL released) goes to these threads in async code so the event
# loop keeps moving requests; Ed25519 is cheaper than the hand-off and stays inline.
_SIGNING_THREADS: ThreadPoolExecutor | None = None
_SIGNING_THREADS_LOCK = threading.Lock()


def _signing_threads() -> ThreadPoolExecutor:
    global _SIGNING_THREADS
    with _SIGNING_THREADS_LOCK:  # one pool per process, made on first async use
        if _SIGNING_THREADS is None:
            from concurrent.futures import ThreadPoolExecutor  # async code only

            _SIGNING_THREADS = ThreadPoolExecutor(
                max_workers=os.cpu_count() or 2, thread_name_prefix="kalshi-sign"
            )
        return _SIGNING_THREADS


class KalshiAuth(httpx.Auth):
    """Sets KALSHI-ACCESS-KEY, -TIMESTAMP and -SIGNATURE on every request.

    One object serves sync and async clients and any number of threads and tasks.
    ``presign=True`` (RSA keys only) prepares signatures in a background thread; see
    :mod:`auth_hooks.presign` for what it trades. ``clock`` is injectable for tests.
    It also keeps the exchange's clock offset (see :class:`ServerClock`): on a
    ``401 header_timestamp_expired`` it re-syncs from the response's ``Date`` header,
    signs again and re-sends once, which is safe because the exchange refused the
    request before acting on it.

    Each response's ``Date`` is one clock reading, an interval between the moment the
    request was handed to httpx (or to the pool, on the direct route of
    :mod:`auth_hooks.lane`) and the moment its headers arrived. The flows cannot
    see that moment themselves: httpx runs response event hooks (which may read the
    body) before handing the response to the auth flow. So :meth:`record_headers_arrival`
    is a response hook that notes it; without it, the time the flow gets the response
    is used, and a slow body only widens the interval (a reading wider than
    ``MAX_SPAN_MS`` is dropped), so it cannot skew the estimate.

    The key id must be printable ASCII without surrounding blanks (it goes in a header
    as it is); anything else is refused here with :class:`KalshiConfigError`.
    """

    # The flows below read a response body themselves, and only a 401's (whose body says
    # whether our timestamp was refused): the clock reading is taken before any read.
    requires_response_body = False

    def __init__(
        self,
        key_id: str,
        private_key: SigningKey
        | rsa.RSAPrivateKey
        | ed25519.Ed25519PrivateKey
        | str
        | bytes
        | os.PathLike[str],
        *,
        password: str | bytes | None = None,
        clock: Callable[[], float] = time.time,
        presign: bool = False,
        presign_max_age_ms: int = 1000,
    ) -> None:
        """``private_key`` is a loaded key, or what :func:`load_private_key` takes (a path,
        ``~`` expanded, or PEM text as str or bytes) with ``password`` for an encrypted one."""
        _check_key_id(key_id)
        self.key_id = key_id
        self.key = _signing_key(private_key, password)
        self.server_clock = ServerClock(clock)
        self._offload_async_signing = self.key.key_type == "rsa"
        self._pipeline: SignaturePipeline | None = None
        # An Ed25519 signature (~30 us) is cheaper than handing one over between threads.
        if presign and self.key.key_type == "rsa":
            self._pipeline = SignaturePipeline(
                self._sign_now, self.server_clock.read_ms, max_age_ms=presign_max_age_ms
            )
            self.server_clock.on_change(lambda _offset: self._discard_prepared())

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        clock: Callable[[], float] = time.time,
        presign: bool = False,
        presign_max_age_ms: int = 1000,
    ) -> KalshiAuth:
        """Builds the auth from ``KALSHI_API_KEY_ID`` and ``KALSHI_PRIVATE_KEY_PATH``
        (or ``KALSHI_PRIVATE_KEY`` holding the PEM), with ``KALSHI_PRIVATE_KEY_PASSWORD``
        for an encrypted key."""
        env = os.environ if environ is None else environ
        key_id = env.get("KALSHI_API_KEY_ID", "").strip()
        if not key_id:
            raise KalshiConfigError("KALSHI_API_KEY_ID is not set")
        path, pem = env.get("KALSHI_PRIVATE_KEY_PATH"), env.get("KALSHI_PRIVATE_KEY")
        if path and pem:
            raise KalshiConfigError("set only one of KALSHI_PRIVATE_KEY_PATH and KALSHI_PRIVATE_KEY")
        if not path and not pem:
            raise KalshiConfigError("set KALSHI_PRIVATE_KEY_PATH (or KALSHI_PRIVATE_KEY with the PEM)")
        # The PEM as bytes: it is PEM text even if it lost its BEGIN line (never a path).
        source: str | bytes = path if path else (pem or "").encode("utf-8")
        key = load_private_key(source, env.get("KALSHI_PRIVATE_KEY_PASSWORD") or None)
        return cls(key_id, key, clock=clock, presign=presign, presign_max_age_ms=presign_max_age_ms)

    @property
    def presign_stats(self) -> tuple[int, int] | None:
        """(hits, misses) of the presigning pipeline, or None when it is off."""
        return None if self._pipeline is None else (self._pipeline.hits, self._pipeline.misses)

    @property
    def clock_offset_ms(self) -> int:
        """The exchange clock minus the local clock, as learned so far (for monitoring)."""
        return self.server_clock.offset_ms

    def close(self) -> None:
        """Stops the presigning worker, if any."""
        if self._pipeline is not None:
            self._pipeline.close()

    def __repr__(self) -> str:
        return f"KalshiAuth(key_id={self.key_id!r}, key={self.key.description})"

    __str__ = __repr__

    # -- the flows ----------------------------------------------------------------

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        # Overrides httpx.Auth's so that the clock reading is taken when the response comes
        # back, before this flow reads any body (httpx's would read every body first).
        path = path_to_sign(request.url)
        self._apply(request, path, *self._timestamp_and_signature(request.method, path))
        sent_at = self.server_clock.local_s()
        response = yield request
        received_at = self._headers_at(response)
        if response.status_code == 401:
            response.read()
        if self._needs_resend(response, sent_at, received_at):
            self._apply(request, path, *self._sign_now(request.method, path))
            sent_at = self.server_clock.local_s()
            response = yield request
            self._observe(response, sent_at, self._headers_at(response))

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        # The same flow as sync_auth_flow; only the signing may move off the event loop.
        path = path_to_sign(request.url)
        self._apply(request, path, *await self._timestamp_and_signature_async(request.method, path))
        sent_at = self.server_clock.local_s()
        response = yield request
        received_at = self._headers_at(response)
        if response.status_code == 401:
            await response.aread()
        if self._needs_resend(response, sent_at, received_at):
            self._apply(request, path, *await self._sign_now_async(request.method, path))
            sent_at = self.server_clock.local_s()
            response = yield request
            self._observe(response, sent_at, self._headers_at(response))

    auth_flow = sync_auth_flow  # the name httpx.Auth documents; httpx itself calls the two above

    def record_headers_arrival(self, response: httpx.Response) -> None:
        """An httpx response event hook: notes when the response's headers arrived.

        httpx runs response hooks before the body is read, and the auth flow sees the
        response after them. Installed as the first hook (make_client does), the clock
        reading is measured against the headers' arrival even when a later hook reads a
        slow body; without it the reading is taken when the flow gets the response. A
        transport that noted the arrival itself (make_client's pools do) is left as it is.
        """
        _note_headers_at(response, self.server_clock.local_s())

    async def arecord_headers_arrival(self, response: httpx.Response) -> None:
        """:meth:`record_headers_arrival` for an ``httpx.AsyncClient`` (hooks there are awaited)."""
        _note_headers_at(response, self.server_clock.local_s())

    # -- for senders that do not go through httpx's auth flow (auth_hooks.lane) ---

    def signature_for(self, method: str, path: str, *, fresh: bool = False) -> tuple[int, str]:
        """A timestamp and signature for ``METHOD path`` (``fresh``: none prepared ahead)."""
        signed = self._sign_now(method, path) if fresh else self._timestamp_and_signature(method, path)
        self._log_signed(method, path, signed[0])
        return signed

    async def signature_for_async(self, method: str, path: str, *, fresh: bool = False) -> tuple[int, str]:
        """:meth:`signature_for` in async code (an RSA signature is made off the event loop)."""
        if fresh:
            signed = await self._sign_now_async(method, path)
        else:
            signed = await self._timestamp_and_signature_async(method, path)
        self._log_signed(method, path, signed[0])
        return signed

    def answer_arrived(
        self, response: httpx.Response, sent_at: float, received_at: float, *, resent: bool = False
    ) -> bool:
        """Learns the clock offset from an answer whose headers arrived at ``received_at``.

        True when the exchange refused our timestamp: sign afresh and send once more, as
        the auth flows do (never again after that one resend, ``resent=True``).
        """
        if resent:
            self._observe(response, sent_at, received_at)
            return False
        return self._needs_resend(response, sent_at, received_at)

    # -- pieces shared by both flows ----------------------------------------------

    def _timestamp_and_signature(self, method: str, path: str) -> tuple[int, str]:
        if self._pipeline is not None:
            prepared = self._pipeline.take(method, path)
            if prepared is not None:
                return prepared
        return self._sign_now(method, path)

    async def _timestamp_and_signature_async(self, method: str, path: str) -> tuple[int, str]:
        if self._pipeline is not None:
            prepared = self._pipeline.take(method, path, wait=False)  # never block the loop
            if prepared is not None:
                return prepared
        return await self._sign_now_async(method, path)

    def _sign_now(self, method: str, path: str) -> tuple[int, str]:
        timestamp = self.server_clock.now_ms()
        return timestamp, sign_text(self.key, text_to_sign(timestamp, method, path))

    async def _sign_now_async(self, method: str, path: str) -> tuple[int, str]:
        if not self._offload_async_signing:
            return self._sign_now(method, path)
        import asyncio  # here, not at the top: sync-only bots start faster without it

        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # another async library (trio): sign inline
            return self._sign_now(method, path)
        return await loop.run_in_executor(_signing_threads(), self._sign_now, method, path)

    def _discard_prepared(self) -> None:
        if self._pipeline is not None:
            self._pipeline.discard_all()

    def _apply(self, request: httpx.Request, path: str, timestamp: int, signature: str) -> None:
        request.headers.update(signature_headers(self.key_id, timestamp, signature))
        self._log_signed(request.method, path, timestamp)

    @staticmethod
    def _log_signed(method: str, path: str, timestamp: int) -> None:
        if logger.isEnabledFor(logging.DEBUG):
            # Never the signature: with the timestamp it would be replayable.
            logger.debug("signed %s %s at %d", method, path, timestamp)

    def _headers_at(self, response: httpx.Response) -> float:
        at = response.extensions.get(HEADERS_AT)
        return at if isinstance(at, float) else self.server_clock.local_s()

    def _observe(
        self, response: httpx.Response, sent_at: float, received_at: float, *, force: bool = False
    ) -> None:
        self.server_clock.observe(response.headers.get("date"), received_at, sent_at=sent_at, force=force)

    def _needs_resend(self, response: httpx.Response, sent_at: float, received_at: float) -> bool:
        """Learns the clock offset; True when the exchange refused our timestamp."""
        if response.status_code != 401:
            self._observe(response, sent_at, received_at)
            return False
        code, _ = error_code_and_message(response.content)
        if code != TIMESTAMP_EXPIRED:
            self._observe(response, sent_at, received_at)
            return False
        before = self.server_clock.offset_ms
        self._observe(response, sent_at, received_at, force=True)
        logger.info(
            "exchange refused our timestamp; clock offset %d ms -> %d ms, signing again",
            before,
            self.server_clock.offset_ms,
        )
        return True


def _note_headers_at(response: httpx.Response, at: float) -> None:
    extensions = response.extensions
    if isinstance(extensions, dict):  # a transport may hand over a read-only mapping: then no note
        # Our pools note when the head arrived themselves, before the body was read.
        extensions.setdefault(HEADERS_AT, at)


def _check_key_id(key_id: object) -> None:
    """Refuses a key id that cannot go in a header as it is (one line naming the problem)."""
    if not isinstance(key_id, str) or not key_id.strip():
        raise KalshiConfigError("key id is empty: set KALSHI_API_KEY_ID or pass the key id")
    if key_id.isascii() and key_id.isprintable() and key_id.strip() == key_id:
        return  # the common case, checked in C
    shown = repr(key_id) if len(key_id) <= 80 else f"{key_id[:60]!r}... ({len(key_id)} characters)"
    if "\r" in key_id or "\n" in key_id:
        problem = "contains a line break (CR or LF)"
    elif "\x00" in key_id:
        problem = "contains a NUL character"
    elif not key_id.isascii():
        problem = "contains a non-ASCII character"
    elif key_id.strip() != key_id:
        problem = "has leading or trailing whitespace"
    else:
        problem = "contains a non-printable character"
    raise KalshiConfigError(f"key id {shown} {problem}: a key id is printable ASCII (copy it again)")


def _signing_key(private_key: object, password: str | bytes | None) -> SigningKey:
    if isinstance(private_key, SigningKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        if password is not None:
            raise KalshiKeyError("password is only for a key given as a path or PEM text, not a loaded key")
        return private_key if isinstance(private_key, SigningKey) else SigningKey(private_key)
    if isinstance(private_key, str | bytes | os.PathLike):
        return load_private_key(private_key, password)
    if hasattr(private_key, "private_bytes"):  # another cryptography key type: EC, DSA, ...
        return SigningKey(private_key)  # type: ignore[arg-type]  # raises, naming the type
    raise KalshiKeyError(
        f"unsupported private key of type {type(private_key).__name__}: pass a file path, "
        "PEM text (str or bytes), or a key from load_private_key"
    )
