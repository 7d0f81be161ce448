"""A raw-socket HTTP/1.1 server on 127.0.0.1 that misbehaves on purpose.

Each test picks what the server does once it has read a whole request: answer
properly, answer with garbage, stall, reset the connection, close it mid-body...
(a :data:`Behaviour`, see the factories below). The server counts the POSTs it has
FULLY received, which is what a test needs to prove that nothing was silently sent
twice. No HTTP library is involved on this side: what goes on the wire is exactly
what the test wrote.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.utils import formatdate
from types import TracebackType


@dataclass(frozen=True)
class RawRequest:
    method: str
    target: str
    headers: dict[str, str]  # names lower-cased
    body: bytes
    connection: int  # which accepted connection (0, 1, ...) carried it


# What the server does with one fully read request: returns True to keep the connection
# open for the next request. ``stop`` is set when the server shuts down (wait on it).
Behaviour = Callable[[socket.socket, RawRequest, threading.Event], bool]


@dataclass
class FaultyServer:
    """``with FaultyServer(behaviour) as server: server.base_url``.

    ``behaviour`` may be a sequence: the n-th request gets the n-th behaviour and the
    last one repeats.
    """

    behaviour: Behaviour | Sequence[Behaviour]
    requests: list[RawRequest] = field(default_factory=list)
    connections: int = 0
    base_url: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _stop: threading.Event = field(default_factory=threading.Event)
    _sockets: list[socket.socket] = field(default_factory=list)
    _threads: list[threading.Thread] = field(default_factory=list)
    _listener: socket.socket | None = None
    _arrived: threading.Condition = field(init=False)

    def __post_init__(self) -> None:
        self._arrived = threading.Condition(self._lock)

    def wait_for_posts(self, count: int, timeout: float = 5.0) -> bool:
        """Blocks until ``count`` POSTs have been received in full (False on timeout)."""
        with self._arrived:
            return self._arrived.wait_for(
                lambda: sum(1 for r in self.requests if r.method == "POST") >= count, timeout
            )

    @property
    def posts(self) -> int:
        """POST requests received in full (headers and the whole Content-Length body)."""
        with self._lock:
            return sum(1 for request in self.requests if request.method == "POST")

    def __enter__(self) -> FaultyServer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        self._listener = listener
        self.base_url = f"http://127.0.0.1:{listener.getsockname()[1]}/trade-api/v2"
        self._start(self._accept_loop)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in list(self._threads):
            thread.join(5)

    def _start(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                number = self.connections
                self.connections += 1
                self._sockets.append(conn)
            self._start(self._serve, conn, number)

    def _behaviour_for(self, index: int) -> Behaviour:
        if callable(self.behaviour):
            return self.behaviour
        return self.behaviour[min(index, len(self.behaviour) - 1)]

    def _serve(self, conn: socket.socket, number: int) -> None:
        reader = _Reader(conn)
        try:
            while not self._stop.is_set():
                request = reader.request(number)
                if request is None:
                    return
                with self._arrived:
                    index = len(self.requests)
                    self.requests.append(request)
                    self._arrived.notify_all()
                if not self._behaviour_for(index)(conn, request, self._stop):
                    return
        except OSError:
            return
        finally:
            with contextlib.suppress(OSError):
                conn.close()


class _Reader:
    def __init__(self, conn: socket.socket) -> None:
        self._conn = conn
        self._buffer = b""

    def request(self, connection: int) -> RawRequest | None:
        """The next whole request, or None when the peer closed before sending one in full."""
        while b"\r\n\r\n" not in self._buffer:
            if not self._fill():
                return None
        head, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        method, target, _version = lines[0].split(" ", 2)
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self._buffer) < length:
            if not self._fill():
                return None
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        return RawRequest(method, target, headers, body, connection)

    def _fill(self) -> bool:
        chunk = self._conn.recv(65536)
        self._buffer += chunk
        return bool(chunk)


# -- behaviours --------------------------------------------------------------------


def response_bytes(
    status: int,
    body: bytes = b"",
    *,
    reason: str = "Whatever",
    headers: dict[str, str] | None = None,
    content_length: int | None = None,
) -> bytes:
    """A well-formed HTTP/1.1 response head plus ``body`` (Content-Length may lie)."""
    lines = [f"HTTP/1.1 {status} {reason}", f"Date: {formatdate(time.time(), usegmt=True)}"]
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    if "Content-Length" not in all_headers and "Transfer-Encoding" not in all_headers:
        all_headers["Content-Length"] = str(len(body) if content_length is None else content_length)
    lines += [f"{name}: {value}" for name, value in all_headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def order_id_of(request: RawRequest) -> str:
    return request.target.split("?")[0].rstrip("/").split("/")[-2]


def ok_body(request: RawRequest, **extra: object) -> bytes:
    """The body of a 200 like the exchange's, for the order in the request's path."""
    return json.dumps({"order_id": order_id_of(request), "ts_ms": int(time.time() * 1000), **extra}).encode()


def ok(*, keep_alive: bool = True) -> Behaviour:
    """A proper 200."""

    def behave(conn: socket.socket, request: RawRequest, stop: threading.Event) -> bool:
        conn.sendall(response_bytes(200, ok_body(request), reason="OK"))
        return keep_alive

    return behave


def reply(
    status: int,
    body: bytes = b"",
    *,
    headers: dict[str, str] | None = None,
    keep_alive: bool = True,
    reason: str = "Whatever",
) -> Behaviour:
    """A well-formed response with this status, headers and body."""

    def behave(conn: socket.socket, request: RawRequest, stop: threading.Event) -> bool:
        conn.sendall(response_bytes(status, body, headers=headers, reason=reason))
        return keep_alive

    return behave


def raw(data: bytes, *, then: str = "close") -> Behaviour:
    """Writes ``data`` as it is, then ``then``: "close" (FIN), "reset" (RST) or "keep"."""

    def behave(conn: socket.socket, request: RawRequest, stop: threading.Event) -> bool:
        conn.sendall(data)
        return _then(conn, then)

    return behave


def reset() -> Behaviour:
    """Resets the connection (RST) without a byte of answer."""
    return raw(b"", then="reset")


def close() -> Behaviour:
    """Closes the connection cleanly (FIN) without a byte of answer."""
    return raw(b"", then="close")


def partial_body(status: int, body: bytes, *, sent: int, then: str = "reset") -> Behaviour:
    """Announces ``len(body)`` bytes, sends only the first ``sent``, then resets or closes."""
    return raw(response_bytes(status, body[:sent], content_length=len(body)), then=then)


def stall(seconds: float, then: Behaviour | None = None) -> Behaviour:
    """Says nothing for ``seconds`` (or until the server stops), then behaves like ``then``."""

    def behave(conn: socket.socket, request: RawRequest, stop: threading.Event) -> bool:
        if stop.wait(seconds):
            return False
        return (then or ok())(conn, request, stop)

    return behave


def ok_then_close_when_idle(idle_s: float) -> Behaviour:
    """A proper keep-alive 200, then the server closes the idle connection after ``idle_s``."""

    def behave(conn: socket.socket, request: RawRequest, stop: threading.Event) -> bool:
        conn.sendall(response_bytes(200, ok_body(request), reason="OK"))
        stop.wait(idle_s)
        return False

    return behave


def _then(conn: socket.socket, then: str) -> bool:
    if then == "keep":
        return True
    if then == "reset":
        # SO_LINGER with a zero timeout: close() sends RST instead of FIN.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    elif then != "close":
        raise ValueError(f"unknown then={then!r}")
    return False


def closed_port() -> int:
    """A loopback port nobody listens on (connections to it are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
