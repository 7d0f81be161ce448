"""A fault-injecting HTTP/1.1 proxy on 127.0.0.1, between a client and the local exchange.

    with FaultProxy(server.root_url, schedule) as proxy:
        client = make_client(auth, base_url=proxy.base_url)
        ...
        proxy.records()  # per request: the fault applied, forwarded or not, upstream status

It runs its own asyncio loop in a background thread. Each request read from a client
connection gets a :class:`Fault` from ``schedule`` (a callable, e.g. :func:`seeded`).

Why the proxy parses HTTP instead of forwarding bytes: clients keep connections alive,
so a fault must hit ONE request, and the proxy must know where that request ends
(Content-Length) and where its answer's body starts (to cut it). So it speaks HTTP/1.1
itself: plain, or TLS towards the client when given a server ``tls`` context (the
client then trusts that certificate's CA; the proxy still talks plain http upstream).
A chunked request body is refused (501); no client under test sends one.

Ground truth the proxy guarantees: every forwarded request goes upstream exactly once,
on a fresh upstream connection (so the proxy itself can never send anything twice), and
the upstream answer is read in full BEFORE the client sees anything of the fault. When
a forwarded fault reaches the client the exchange has finished with the request. The
exception is a client that gives up on its own (its timeout) while the exchange is
still working: each record keeps when the request went upstream and when its answer
came back, so a test can tell whether a later read could have seen it, or wait for it
(:meth:`FaultProxy.wait_settled`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from types import TracebackType

HEAD_LIMIT = 64 * 1024
# How long a DELAY fault holds an answer when the client never gives up.
DEFAULT_HOLD_S = 60.0
UPSTREAM_TIMEOUT_S = 30.0
STARTUP_TIMEOUT_S = 10.0


class Fault(StrEnum):
    """What the proxy does with one request."""

    PASS = "pass"  # forward, relay the answer
    DROP_BEFORE = "drop_before"  # read the request, close without forwarding
    DROP_AFTER = "drop_after"  # forward, close before any byte of the answer
    CUT_BODY = "cut_body"  # forward, relay the head and half the body, close
    DELAY = "delay"  # forward, hold the answer until the client gives up, close
    REPLY_5XX = "reply_5xx"  # answer 502 itself, without forwarding
    FORWARD_THEN_503 = "forward_then_503"  # forward, then answer 503 anyway
    # Hold the request until the client gives up, then forward it: a request delayed on
    # the way, which can land after the client has read the order back.
    FORWARD_LATE = "forward_late"

    @property
    def forwards(self) -> bool:
        return self not in (Fault.DROP_BEFORE, Fault.REPLY_5XX)


@dataclass(frozen=True)
class RequestInfo:
    """One request as the proxy read it, before it picks the fault."""

    index: int  # arrival order over the proxy's life
    connection: int  # which accepted client connection carried it
    method: str
    target: str  # path and query, as sent
    # Names lower-cased. Out of repr: they carry the request's signature.
    headers: Mapping[str, str] = field(repr=False)
    body: bytes = b""


@dataclass(frozen=True)
class ProxyRecord:
    """What the proxy did with one request (complete once ``done``)."""

    request: RequestInfo
    fault: Fault
    forwarded: bool = False  # every byte of the request was written upstream
    upstream_status: int | None = None  # the exchange's answer, when one was read in full
    upstream_body: bytes | None = None
    client_status: int | None = None  # the status line the client got (None: none at all)
    error: str | None = None  # an unplanned failure (upstream unreachable, ...)
    done: bool = False
    # time.monotonic() when the last byte went upstream, and when the whole answer was
    # back: whatever the exchange did with the request, it did between the two.
    forwarded_at: float | None = None
    answered_at: float | None = None


Schedule = Callable[[RequestInfo], Fault]


def seeded(
    seed: int | str,
    weights: Mapping[Fault, float],
    *,
    methods: frozenset[str] = frozenset({"POST"}),
) -> Schedule:
    """A schedule that picks a fault by ``weights`` from a hash of the seed and the request.

    Keyed on the request's content, not its arrival order, so concurrent clients get the
    same faults on every run with the same seed. Methods not in ``methods`` pass through.
    """
    faults = list(weights)
    cumulative = list(weights.values())

    def choose(info: RequestInfo) -> Fault:
        if info.method not in methods:
            return Fault.PASS
        digest = hashlib.sha256(f"{seed}|{info.method}|{info.target}|".encode() + info.body).digest()
        return random.Random(digest).choices(faults, cumulative)[0]

    return choose


def always(fault: Fault) -> Schedule:
    return lambda info: fault


class _Unsupported(Exception):
    """A request the proxy cannot frame (answered 501)."""


@dataclass(frozen=True)
class _Request:
    method: str
    target: str
    headers: dict[str, str] = field(repr=False)
    body: bytes = b""


@dataclass(frozen=True)
class _Answer:
    status: int
    head: bytes  # status line and headers, with the blank line
    body: bytes  # as framed on the wire (chunked stays chunked)
    close: bool  # the upstream said Connection: close


class FaultProxy:
    """The proxy; use as a context manager. ``upstream`` is ``http://host:port`` (any path ignored)."""

    def __init__(
        self,
        upstream: str,
        schedule: Schedule,
        *,
        hold_s: float = DEFAULT_HOLD_S,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        scheme, _, rest = upstream.partition("://")
        if scheme != "http":
            raise ValueError(f"the fault proxy speaks plain http only, not {upstream!r}")
        hostport = rest.split("/", 1)[0]
        host, _, port = hostport.rpartition(":")
        self.upstream_host = host
        self.upstream_port = int(port)
        self.schedule = schedule
        self.hold_s = hold_s
        self.tls = tls
        self.port = 0
        self._lock = threading.Condition()
        self._records: list[ProxyRecord] = []
        self._connections = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._startup_error: BaseException | None = None

    # -- public ------------------------------------------------------------------------

    @property
    def root_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """A client's base URL through the proxy (Kalshi's ``/trade-api/v2`` prefix)."""
        return self.root_url + "/trade-api/v2"

    def records(self) -> list[ProxyRecord]:
        """Every request read so far, in arrival order (finished or not: see ``done``)."""
        with self._lock:
            return list(self._records)

    def wait_settled(self, target_part: str = "", timeout: float = 60.0) -> bool:
        """Blocks until no request whose target contains ``target_part`` is still being
        handled; False on timeout. Lets a test read the exchange only once a request that
        its client gave up on has reached its final state upstream."""
        with self._lock:
            return self._lock.wait_for(
                lambda: all(r.done for r in self._records if target_part in r.request.target), timeout
            )

    def __enter__(self) -> FaultProxy:
        self._thread = threading.Thread(target=self._run, name="fault-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(STARTUP_TIMEOUT_S) or self._startup_error is not None:
            raise RuntimeError("the fault proxy failed to start") from self._startup_error
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        loop, stopping = self._loop, self._stopping
        if loop is not None and stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                loop.call_soon_threadsafe(stopping.set)
        if self._thread is not None:
            self._thread.join(STARTUP_TIMEOUT_S)
            if self._thread.is_alive():
                raise RuntimeError("the fault proxy did not stop in time")

    # -- the loop ----------------------------------------------------------------------

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as error:  # reported to __enter__ if startup failed
            self._startup_error = error
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        tasks: set[asyncio.Task[None]] = set()

        async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            task = asyncio.current_task()
            assert task is not None
            tasks.add(task)
            try:
                await self._serve_connection(reader, writer)
            except asyncio.CancelledError:
                # Shutting down. Ending normally: asyncio's stream callback would log a
                # cancelled connection task as an error.
                pass
            finally:
                tasks.discard(task)
                writer.close()

        server = await asyncio.start_server(on_connect, "127.0.0.1", 0, limit=HEAD_LIMIT, ssl=self.tls)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stopping.wait()
            server.close()
            for task in list(tasks):
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            connection = self._connections
            self._connections += 1
        while True:
            try:
                request = await self._read_request(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                return  # the client closed (idle keep-alive, or mid-request)
            except _Unsupported:
                await _send(writer, _simple_answer(501))
                return
            except (asyncio.LimitOverrunError, ValueError):
                await _send(writer, _simple_answer(400))
                return
            index, info = self._add(request, connection)
            try:
                fault = self.schedule(info)
                self._update(index, fault=fault)
                keep_alive = await self._apply(fault, info, index, reader, writer)
            except Exception as error:  # a bug here or in the schedule: recorded, connection closed
                self._update(index, error=f"proxy: {type(error).__name__}: {error}")
                return
            finally:
                self._update(index, done=True)
            if not keep_alive:
                return

    async def _apply(
        self,
        fault: Fault,
        info: RequestInfo,
        index: int,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        """Carries out ``fault``; True when the client connection stays open."""
        if fault is Fault.DROP_BEFORE:
            return False
        if fault is Fault.REPLY_5XX:
            self._update(index, client_status=502)
            await _send(writer, _simple_answer(502))
            return True
        if fault is Fault.FORWARD_LATE:
            await self._until_client_gives_up(reader)
            await self._forward(info, index)
            return False
        answer = await self._forward(info, index)
        if answer is None:
            return False  # upstream failed: the client gets no answer (recorded as error)
        if fault is Fault.PASS:
            self._update(index, client_status=answer.status)
            await _send(writer, answer.head + answer.body)
            return not answer.close
        if fault is Fault.DROP_AFTER:
            return False
        if fault is Fault.CUT_BODY:
            self._update(index, client_status=answer.status)
            await _send(writer, answer.head + answer.body[: len(answer.body) // 2])
            return False
        if fault is Fault.DELAY:
            # Never answered late, so the client's only view is "no answer in time".
            await self._until_client_gives_up(reader)
            return False
        assert fault is Fault.FORWARD_THEN_503
        self._update(index, client_status=503)
        await _send(writer, _simple_answer(503))
        return True

    async def _until_client_gives_up(self, reader: asyncio.StreamReader) -> None:
        """Until the client closes its end (its timeout) or hold_s passes."""
        with contextlib.suppress(TimeoutError, ConnectionError):
            await asyncio.wait_for(_until_closed(reader), self.hold_s)

    async def _forward(self, info: RequestInfo, index: int) -> _Answer | None:
        """Sends the request upstream on a fresh connection and reads the whole answer."""
        try:
            async with asyncio.timeout(UPSTREAM_TIMEOUT_S):
                up_reader, up_writer = await asyncio.open_connection(
                    self.upstream_host, self.upstream_port, limit=HEAD_LIMIT
                )
                try:
                    up_writer.write(_request_bytes(info))
                    await up_writer.drain()
                    self._update(index, forwarded=True, forwarded_at=time.monotonic())
                    answer = await _read_answer(up_reader, info.method)
                finally:
                    up_writer.close()
        except (
            OSError,
            asyncio.IncompleteReadError,
            asyncio.LimitOverrunError,
            TimeoutError,
            ValueError,
        ) as error:
            self._update(index, error=f"upstream: {type(error).__name__}: {error}")
            return None
        self._update(
            index,
            upstream_status=answer.status,
            upstream_body=_unchunked(answer),
            answered_at=time.monotonic(),
        )
        return answer

    async def _read_request(self, reader: asyncio.StreamReader) -> _Request:
        head = await reader.readuntil(b"\r\n\r\n")
        request_line, headers = _parse_head(head)
        method, target, version = request_line.split(" ", 2)
        if not version.startswith("HTTP/1."):
            raise ValueError(f"not HTTP/1.x: {version!r}")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            raise _Unsupported("chunked request bodies")
        length = int(headers.get("content-length", "0"))
        body = await reader.readexactly(length) if length else b""
        return _Request(method, target, headers, body)

    # -- records -----------------------------------------------------------------------

    def _add(self, request: _Request, connection: int) -> tuple[int, RequestInfo]:
        with self._lock:
            index = len(self._records)
            info = RequestInfo(
                index, connection, request.method, request.target, request.headers, request.body
            )
            # PASS until the schedule has spoken (a moment later, before anything is done).
            self._records.append(ProxyRecord(info, Fault.PASS))
            return index, info

    def _update(self, index: int, **changes: object) -> None:
        with self._lock:
            self._records[index] = replace(self._records[index], **changes)  # type: ignore[arg-type]
            self._lock.notify_all()


# -- HTTP bits ---------------------------------------------------------------------------


def _parse_head(head: bytes) -> tuple[str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise ValueError(f"bad header line {line!r}")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers


def _request_bytes(info: RequestInfo) -> bytes:
    # The head is rebuilt from what was parsed (names lower-cased: HTTP names are
    # case-insensitive), so what goes upstream is exactly the request as understood.
    lines = [f"{info.method} {info.target} HTTP/1.1"]
    lines += [f"{name}: {value}" for name, value in info.headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + info.body


async def _read_answer(reader: asyncio.StreamReader, method: str) -> _Answer:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, headers = _parse_head(head)
    status = int(status_line.split(" ", 2)[1])
    close = "close" in headers.get("connection", "").lower()
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        body = b""
    elif "chunked" in headers.get("transfer-encoding", "").lower():
        body = await _read_chunked(reader)
    elif "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    else:
        body, close = await reader.read(), True
    return _Answer(status, head, body, close)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    raw = bytearray()
    while True:
        size_line = await reader.readuntil(b"\r\n")
        raw += size_line
        size = int(size_line.split(b";", 1)[0].strip(), 16)
        if size == 0:
            while True:  # trailers, up to the blank line
                line = await reader.readuntil(b"\r\n")
                raw += line
                if line == b"\r\n":
                    return bytes(raw)
        raw += await reader.readexactly(size + 2)


def _unchunked(answer: _Answer) -> bytes:
    if b"chunked" not in answer.head.lower():
        return answer.body
    out, rest = bytearray(), answer.body
    while rest:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line.split(b";", 1)[0], 16)
        if size == 0:
            break
        out += rest[:size]
        rest = rest[size + 2 :]
    return bytes(out)


def _simple_answer(status: int) -> bytes:
    """What the proxy answers itself: 502/503 as a gateway would, 400/501 for what it cannot read."""
    reasons = {400: "Bad Request", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable"}
    if status == 503:
        # Kalshi's own 503 shape, so the client sees a well-formed exchange error.
        body = b'{"error":{"code":"service_unavailable","message":"fault proxy: answered 503"}}'
        kind = "application/json"
    else:
        # A gateway's HTML page: the client must cope with a 5xx that is not JSON.
        body = f"<html><body><h1>{status} {reasons[status]}</h1>fault proxy</body></html>".encode()
        kind = "text/html"
    head = (
        f"HTTP/1.1 {status} {reasons[status]}\r\ncontent-type: {kind}\r\ncontent-length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


async def _send(writer: asyncio.StreamWriter, data: bytes) -> None:
    # The client may be gone (it timed out): that is its business, not an error here.
    with contextlib.suppress(ConnectionError, OSError):
        writer.write(data)
        await writer.drain()


async def _until_closed(reader: asyncio.StreamReader) -> None:
    while await reader.read(4096):
        pass
