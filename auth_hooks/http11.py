"""HTTP/1.1 as pure functions: a request's bytes, an answer's head, and its body framing.

No I/O here (:mod:`auth_hooks.wire` and :mod:`auth_hooks.wire_async` do it), so every
rule is tested against byte vectors. Strict where a lenient reader would be unsafe:

* outgoing: a header name must be an RFC 9110 token and a value may hold no control
  character (a CR or LF would let a value inject a header or a second request);
* incoming: the head is bounded (:data:`MAX_HEAD_BYTES`, :data:`MAX_HEADERS`), obsolete
  line folding and malformed lines are refused, and conflicting ``Content-Length``
  values are refused rather than guessed between (RFC 9112 section 6.3: a classic
  response-splitting vector).

What a violation means depends on the side: a bad outgoing header is found before a
byte is written (:class:`UnsendableHeader`); a bad answer arrives after the request
was sent (:class:`AnswerViolation`, an ``httpx.RemoteProtocolError``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import httpx

from .transports import NeverSent, decoding, too_large

# Far above any answer head of this API (Kalshi's are under 1 KB), low enough to bound memory.
MAX_HEAD_BYTES = 64 * 1024
MAX_HEADERS = 128
# A chunk-size line (extensions included) or a trailer line, without its CRLF; a trailer
# section holds at most MAX_HEADERS lines.
MAX_CHUNK_LINE = 4096

Header = tuple[bytes, bytes]

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# Control characters other than HTAB, and DEL: never in a field value (RFC 9110 5.5).
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
# A request target in origin form, already percent-encoded: visible ASCII only.
_TARGET = re.compile(rb"/[\x21-\x7e]*")
_STATUS_LINE = re.compile(rb"HTTP/1\.([01]) ([1-9][0-9][0-9])(?: ([^\x00-\x08\x0a-\x1f\x7f]*))?")


class UnsendableHeader(httpx.LocalProtocolError, NeverSent):
    """A request header or target that cannot go on the wire as it is; nothing was sent."""


class AnswerViolation(httpx.RemoteProtocolError):
    """The answer breaks HTTP/1.1 framing; the request had been sent."""


# -- the request -------------------------------------------------------------------------


def check_header(name: bytes, value: bytes) -> None:
    """Raises :class:`UnsendableHeader` for a name that is not a token or a value with a
    control character (the value is never shown: it may be a credential)."""
    if not _TOKEN.fullmatch(name):
        raise UnsendableHeader(f"header name {name[:40]!r} is not an HTTP token; nothing was sent")
    if _BAD_VALUE.search(value):
        raise UnsendableHeader(
            f"header {name.decode('ascii')} holds a control character (CR, LF, NUL...); nothing was sent"
        )


def encode_head(method: str, target: bytes, headers: Iterable[Header]) -> bytes:
    """The request line and header lines, each ending in CRLF, every header checked.

    Not yet the whole head: more header lines may follow, then the blank line ``CRLF``.
    """
    if not _TOKEN.fullmatch(method.encode("ascii", "replace")):
        raise UnsendableHeader(f"the method {method[:20]!r} is not an HTTP token; nothing was sent")
    if not _TARGET.fullmatch(target):
        raise UnsendableHeader("the request target is not a percent-encoded path; nothing was sent")
    return b"%s %s HTTP/1.1\r\n" % (method.encode("ascii"), target) + encode_lines(headers)


def encode_lines(headers: Iterable[Header]) -> bytes:
    """Header lines, each ending in CRLF, every header checked."""
    lines = []
    for name, value in headers:
        check_header(name, value)
        lines.append(b"%s: %s\r\n" % (name, value))
    return b"".join(lines)


def asks_to_close(headers: Iterable[Header]) -> bool:
    """Whether request headers say ``Connection: close`` (then the connection carries no other)."""
    return any(
        name.lower() == b"connection" and b"close" in {t.strip().lower() for t in value.split(b",")}
        for name, value in headers
    )


# -- the answer ----------------------------------------------------------------------------


class Head:
    """An answer's status line and headers (names as sent, values without surrounding blanks)."""

    __slots__ = ("headers", "minor_version", "reason", "status")

    def __init__(self, minor_version: int, status: int, reason: bytes, headers: list[Header]) -> None:
        self.minor_version = minor_version
        self.status = status
        self.reason = reason
        self.headers = headers

    def values(self, name: bytes) -> list[bytes]:
        """The values of header ``name`` (lower case), in order."""
        return [value for key, value in self.headers if key.lower() == name]

    def keeps_alive(self) -> bool:
        """Whether the connection may carry another request after this answer."""
        tokens = {t.strip().lower() for value in self.values(b"connection") for t in value.split(b",")}
        if self.minor_version == 0:
            return False  # HTTP/1.0 keep-alive is an opt-in this client never asks for
        return b"close" not in tokens


def parse_head(buffer: bytes, start: int = 0) -> tuple[Head, int] | None:
    """The head at ``start`` in ``buffer`` and where it ends (its blank line included), or
    None while it is incomplete. Raises :class:`AnswerViolation` for a malformed or
    oversized head."""
    end = buffer.find(b"\r\n\r\n", start)
    # The head, blank line included, is at most MAX_HEAD_BYTES whatever the reads' cut: an
    # incomplete one of MAX_HEAD_BYTES bytes already needs at least one more.
    if end - start + 4 > MAX_HEAD_BYTES if end >= 0 else len(buffer) - start >= MAX_HEAD_BYTES:
        raise AnswerViolation(f"the answer's head is longer than {MAX_HEAD_BYTES} bytes")
    if end < 0:
        return None
    lines = buffer[start:end].split(b"\r\n")
    match = _STATUS_LINE.fullmatch(lines[0])
    if match is None:
        raise AnswerViolation(f"not an HTTP/1.1 status line: {lines[0][:60]!r}")
    if len(lines) - 1 > MAX_HEADERS:
        raise AnswerViolation(f"the answer has more than {MAX_HEADERS} headers")
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or not _TOKEN.fullmatch(name):
            raise AnswerViolation(f"malformed header line in the answer: {line[:60]!r}")
        value = value.strip(b" \t")
        if _BAD_VALUE.search(value):
            raise AnswerViolation(f"header {name[:40]!r} of the answer holds a control character")
        headers.append((name, value))
    return Head(int(match[1]), int(match[2]), match[3] or b"", headers), end + 4


# How an answer's body is delimited (RFC 9112 section 6.3).
NO_BODY = -1
CHUNKED = -2
UNTIL_CLOSE = -3


def body_framing(method: str, head: Head) -> int:
    """The body's length in bytes, or NO_BODY, CHUNKED or UNTIL_CLOSE."""
    status = head.status
    if method == "HEAD" or status < 200 or status in (204, 304):
        return NO_BODY
    codings = [c.strip().lower() for v in head.values(b"transfer-encoding") for c in v.split(b",")]
    if codings:
        if codings[-1] != b"chunked":
            return UNTIL_CLOSE
        if head.values(b"content-length"):
            # Both: a smuggling vector; refused rather than trusting either.
            raise AnswerViolation("the answer has both Transfer-Encoding and Content-Length")
        return CHUNKED
    lengths = {v.strip() for value in head.values(b"content-length") for v in value.split(b",")}
    if not lengths:
        return UNTIL_CLOSE
    if len(lengths) > 1:
        raise AnswerViolation("the answer has conflicting Content-Length values")
    (length,) = lengths
    if not length.isdigit() or len(length) > 18:
        raise AnswerViolation(f"the answer's Content-Length is not a number: {length[:20]!r}")
    return int(length)


class ChunkedBody:
    """Decodes a chunked body as its bytes arrive, keeping at most ``limit`` bytes of body.

    :meth:`feed` takes the next bytes from the connection and returns the body bytes
    they complete; :attr:`done` is set after the last chunk and its trailers, and
    :attr:`rest` then holds whatever followed (a well-behaved server sends nothing).
    """

    __slots__ = ("_buffer", "_left", "_limit", "_received", "_state", "done", "rest")

    _SIZE, _DATA, _DATA_END, _TRAILER = range(4)

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._received = 0
        self._buffer = b""
        self._state = self._SIZE
        self._left = 0
        self.done = False
        self.rest = b""

    def feed(self, data: bytes) -> list[bytes]:
        buffer = self._buffer + data if self._buffer else data
        out: list[bytes] = []
        at = 0
        while not self.done:
            if self._state == self._SIZE:
                end = _line_end(buffer, at, "a chunk-size line")
                if end < 0:
                    break
                size = buffer[at:end].split(b";", 1)[0].strip(b" \t")
                if not size or len(size) > 16 or size.strip(b"0123456789abcdefABCDEF"):
                    raise AnswerViolation(f"bad chunk size in the answer: {size[:20]!r}")
                self._left = int(size, 16)
                at = end + 2
                if self._left == 0:
                    self._state = self._TRAILER  # _left now counts trailer lines
                else:
                    self._received += self._left
                    if self._received > self._limit:
                        raise too_large(self._limit)
                    self._state = self._DATA
            elif self._state == self._DATA:
                piece = buffer[at : at + self._left]
                if not piece:
                    break
                out.append(piece)
                at += len(piece)
                self._left -= len(piece)
                if self._left == 0:
                    self._state = self._DATA_END
            elif self._state == self._DATA_END:
                if len(buffer) - at < 2:
                    break
                if buffer[at : at + 2] != b"\r\n":
                    raise AnswerViolation("a chunk of the answer does not end in CRLF")
                at += 2
                self._state = self._SIZE
            else:  # trailers: header lines up to a blank line, skipped
                end = _line_end(buffer, at, "a trailer line")
                if end < 0:
                    break
                line_empty = end == at
                at = end + 2
                if line_empty:
                    self.done = True
                    self.rest = buffer[at:]
                    at = len(buffer)
                else:
                    self._left += 1
                    if self._left > MAX_HEADERS:
                        raise AnswerViolation(f"the answer has more than {MAX_HEADERS} trailer lines")
        self._buffer = buffer[at:]
        return out


def _line_end(buffer: bytes, at: int, what: str) -> int:
    """Where the CRLF ending the line at ``at`` starts, or -1 while it has not arrived;
    a line longer than MAX_CHUNK_LINE is refused however the reads cut it."""
    end = buffer.find(b"\r\n", at)
    if (end - at if end >= 0 else len(buffer) - at - 1) > MAX_CHUNK_LINE:
        raise AnswerViolation(f"{what} of the answer is too long")
    return end


class RawAnswer:
    """An answer as received: status, headers, the whole body (decoded), when the head arrived."""

    __slots__ = ("body", "head_at", "headers", "reason", "status")

    def __init__(
        self, status: int, reason: bytes, headers: list[Header], body: bytes, head_at: float
    ) -> None:
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body
        self.head_at = head_at


class AnswerReader:
    """Reads one answer from the bytes a connection delivers, whatever their cut.

    ``feed(data)`` with each read (``b""`` at end of stream) returns True once the whole
    answer is in: interim 1xx answers skipped, the body framed as the head says, decoded
    within ``limit``; then :meth:`answer` has it and :attr:`reusable` says whether the
    connection may carry another request. ``clock`` times the head's arrival.
    """

    __slots__ = (
        "_body",
        "_buffer",
        "_chunked",
        "_clock",
        "_framing",
        "_head",
        "_head_at",
        "_limit",
        "_method",
        "_received",
        "reusable",
    )

    def __init__(self, method: str, limit: int, clock: Callable[[], float]) -> None:
        self._method = method
        self._limit = limit
        self._clock = clock
        self._buffer = b""
        self._head: Head | None = None
        self._head_at = 0.0
        self._framing = NO_BODY
        self._chunked: ChunkedBody | None = None
        self._body: list[bytes] = []
        self._received = 0
        self.reusable = False

    def feed(self, data: bytes) -> bool:
        eof = not data
        if self._head is None:
            if eof:
                raise httpx.RemoteProtocolError(
                    "the server closed the connection in the middle of the answer's head"
                    if self._buffer
                    else "the server closed the connection without answering"
                )
            self._buffer += data
            if not self._read_head():
                return False
            data, self._buffer = self._buffer, b""
        return self._read_body(data, eof)

    def _read_head(self) -> bool:
        at = 0  # sliced once at the end: a flood of 1xx heads costs linear time, not quadratic
        while True:  # 1xx answers (102 Processing, 103 Early Hints) come before the answer
            parsed = parse_head(self._buffer, at)
            if parsed is None:
                self._buffer = self._buffer[at:]
                return False
            head, at = parsed
            if head.status == 101:
                raise AnswerViolation("the server switched protocols unasked")
            if head.status >= 200:
                self._buffer = self._buffer[at:]
                break
        self._head, self._head_at = head, self._clock()
        self._framing = body_framing(self._method, head)
        if self._framing > self._limit:
            raise too_large(self._limit)
        if self._framing == CHUNKED:
            self._chunked = ChunkedBody(self._limit)
        return True

    def _read_body(self, data: bytes, eof: bool) -> bool:
        framing = self._framing
        if framing == NO_BODY:
            return self._end(data)
        if eof and framing != UNTIL_CLOSE:
            raise httpx.RemoteProtocolError("the server closed the connection in the middle of the answer")
        if framing == CHUNKED:
            chunked = self._chunked
            assert chunked is not None
            self._body += chunked.feed(data)
            return self._end(chunked.rest) if chunked.done else False
        if framing == UNTIL_CLOSE:
            if eof:
                return self._end(b"")
            self._add(data)
            return False
        missing = framing - self._received
        self._add(data[:missing])
        return self._end(data[missing:]) if self._received == framing else False

    def _add(self, data: bytes) -> None:
        self._received += len(data)
        if self._received > self._limit:
            raise too_large(self._limit)
        self._body.append(data)

    def _end(self, rest: bytes) -> bool:
        assert self._head is not None
        self.reusable = self._framing != UNTIL_CLOSE and not rest and self._head.keeps_alive()
        return True

    def answer(self) -> RawAnswer:
        head = self._head
        assert head is not None
        body = b"".join(self._body)
        headers, decoder = decoding(head.headers, self._limit)
        if decoder is not None:
            body = decoder.decode(body)
            decoder.finish()
        return RawAnswer(head.status, head.reason, list(headers), body, self._head_at)
