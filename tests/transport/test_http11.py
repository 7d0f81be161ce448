"""Byte vectors for :mod:`auth_hooks.http11`, the pure HTTP/1.1 framing under our own pool:
the exact request head :func:`encode_head` writes and every header or target it refuses
before a byte leaves (never echoing a value); :func:`parse_head` on good, incomplete,
malformed and oversized answer heads; how :func:`body_framing` delimits a body and when
:meth:`Head.keeps_alive` lets the connection be reused; the incremental
:class:`ChunkedBody` decoder with its size limit; and :class:`AnswerReader` end to end:
1xx answers skipped, bodies framed and decoded within the limit, end of stream at every
stage, reuse, the injected clock, and the same answer whatever the cut of the bytes.
"""

from __future__ import annotations

import gzip
import itertools
import zlib
from collections.abc import Callable, Iterable

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from auth_hooks.http11 import (
    CHUNKED,
    MAX_CHUNK_LINE,
    MAX_HEAD_BYTES,
    MAX_HEADERS,
    NO_BODY,
    UNTIL_CLOSE,
    AnswerReader,
    AnswerViolation,
    ChunkedBody,
    Head,
    RawAnswer,
    UnsendableHeader,
    body_framing,
    check_header,
    encode_head,
    parse_head,
)
from auth_hooks.transports import NeverSent, ResponseTooLarge, UnreadableEncoding, never_sent

LIMIT = 1 << 20


class Clock:
    """A clock the test moves by hand, counting how often it is read."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now
        self.calls = 0

    def __call__(self) -> float:
        self.calls += 1
        return self.now


def make_head(status: int = 200, *headers: tuple[bytes, bytes], minor: int = 1) -> Head:
    return Head(minor, status, b"", list(headers))


def cut(data: bytes, at: Iterable[int]) -> list[bytes]:
    """``data`` in pieces cut at the positions ``at`` (never an empty piece: that is EOF)."""
    points = [0, *sorted({p for p in at if 0 < p < len(data)}), len(data)]
    return [data[a:b] for a, b in itertools.pairwise(points)]


def read(pieces: Iterable[bytes], method: str = "GET", limit: int = LIMIT) -> AnswerReader:
    """Feeds ``pieces`` in order; the answer must be complete at the last one and not before."""
    reader = AnswerReader(method, limit, Clock())
    pieces = list(pieces)
    for number, piece in enumerate(pieces, 1):
        done = reader.feed(piece)
        assert done is (number == len(pieces)), f"feed {number} of {len(pieces)} returned {done}"
    return reader


def summary(reader: AnswerReader) -> tuple[int, bytes, list[tuple[bytes, bytes]], bytes, bool]:
    answer = reader.answer()
    return answer.status, answer.reason, answer.headers, answer.body, reader.reusable


def feed_all(data: bytes, method: str = "GET", limit: int = LIMIT) -> AnswerReader:
    reader = AnswerReader(method, limit, Clock())
    reader.feed(data)
    return reader


# -- encode_head ---------------------------------------------------------------------------


def test_encode_head_writes_the_request_line_and_each_header_exactly() -> None:
    head = encode_head(
        "POST",
        b"/trade-api/v2/portfolio/orders/abc-123/amend?x=1&y=%20",
        [
            (b"Host", b"api.elections.kalshi.com"),
            (b"Content-Type", b"application/json"),
            (b"Content-Length", b"42"),
            (b"KALSHI-ACCESS-KEY", b"key-id"),
        ],
    )
    assert head == (
        b"POST /trade-api/v2/portfolio/orders/abc-123/amend?x=1&y=%20 HTTP/1.1\r\n"
        b"Host: api.elections.kalshi.com\r\n"
        b"Content-Type: application/json\r\n"
        b"Content-Length: 42\r\n"
        b"KALSHI-ACCESS-KEY: key-id\r\n"
    )


def test_encode_head_without_headers_is_the_request_line_alone() -> None:
    assert encode_head("GET", b"/", []) == b"GET / HTTP/1.1\r\n"


def test_encode_head_takes_any_iterable_of_headers() -> None:
    headers = ((name, b"v") for name in (b"A", b"B"))
    assert encode_head("GET", b"/x", headers) == b"GET /x HTTP/1.1\r\nA: v\r\nB: v\r\n"


@pytest.mark.parametrize(
    ("value", "line"),
    [
        (b"", b"X: \r\n"),
        (b"a\tb", b"X: a\tb\r\n"),  # HTAB is allowed in a field value
        (b"caf\xc3\xa9", b"X: caf\xc3\xa9\r\n"),  # obs-text passes as it is
        (b" padded ", b"X:  padded \r\n"),  # sent as given
        (b'"quoted", list; q=0.5', b'X: "quoted", list; q=0.5\r\n'),
    ],
)
def test_encode_head_sends_allowed_values_unchanged(value: bytes, line: bytes) -> None:
    assert encode_head("GET", b"/", [(b"X", value)]) == b"GET / HTTP/1.1\r\n" + line


def test_every_token_character_is_allowed_in_a_header_name() -> None:
    name = b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    check_header(name, b"v")
    assert encode_head("GET", b"/", [(name, b"v")]) == b"GET / HTTP/1.1\r\n" + name + b": v\r\n"


BAD_VALUES = [
    b"secret\r\nX-Evil: 1",
    b"secret\r\n\r\nGET /other HTTP/1.1",
    b"secret\nX-Evil: 1",
    b"secret\rX-Evil: 1",
    b"secret\x00",
    b"\x00secret",
    b"secret\x01",
    b"secret\x08",
    b"secret\x0b",
    b"secret\x0c",
    b"secret\x1b[31m",
    b"secret\x1f",
    b"secret\x7f",
]


@pytest.mark.parametrize("value", BAD_VALUES)
def test_a_value_with_a_control_character_is_refused_without_showing_it(value: bytes) -> None:
    with pytest.raises(UnsendableHeader) as caught:
        encode_head("POST", b"/x", [(b"Host", b"h"), (b"KALSHI-ACCESS-SIGNATURE", value)])
    exc = caught.value
    assert isinstance(exc, NeverSent)
    assert isinstance(exc, httpx.LocalProtocolError)
    assert never_sent(exc)
    assert "secret" not in str(exc)
    assert "secret" not in repr(exc)
    assert "X-Evil" not in str(exc)
    assert "KALSHI-ACCESS-SIGNATURE" in str(exc)
    assert "nothing was sent" in str(exc)


@pytest.mark.parametrize("value", BAD_VALUES)
def test_check_header_refuses_a_control_character_without_showing_it(value: bytes) -> None:
    with pytest.raises(UnsendableHeader) as caught:
        check_header(b"Authorization", value)
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize(
    "name",
    [
        b"",
        b"X Token",
        b"X-Token ",
        b" X-Token",
        b"X:Token",
        b"X-Token:",
        b"X-Token\r\nX-Evil",
        b"X\x00",
        b"X\t",
        b"caf\xc3\xa9",
        b"(x)",
        b"a/b",
        b"a@b",
        b"a{b}",
        b'a"b',
        b"a,b",
        b"a;b",
        b"a=b",
        b"a?b",
        b"a[b]",
        b"a\\b",
        b"a<b>",
        b"\x7f",
    ],
)
def test_a_header_name_that_is_not_a_token_is_refused(name: bytes) -> None:
    with pytest.raises(UnsendableHeader) as caught:
        encode_head("GET", b"/", [(name, b"secret")])
    assert isinstance(caught.value, NeverSent)
    assert "secret" not in str(caught.value)
    with pytest.raises(UnsendableHeader):
        check_header(name, b"v")


@pytest.mark.parametrize(
    "target",
    [
        b"",
        b"a",
        b"*",
        b"x/a",
        b"http://example.com/a",
        b"/a b",
        b"/a\tb",
        b"/a\r\nX-Evil: 1",
        b"/a\n",
        b"/a\x00",
        b"/a\x7f",
        b"/caf\xc3\xa9",
        b" /a",
        b"/a ",
    ],
)
def test_a_target_that_is_not_an_encoded_path_is_refused(target: bytes) -> None:
    with pytest.raises(UnsendableHeader) as caught:
        encode_head("GET", target, [])
    assert isinstance(caught.value, NeverSent)
    assert never_sent(caught.value)


@pytest.mark.parametrize(
    "target", [b"/", b"/a/b", b"/a?b=c&d=%20", b"/~user/!$&'()*+,;=:@", b"//double", b"/a#frag"]
)
def test_a_target_of_visible_ascii_after_a_slash_is_sent(target: bytes) -> None:
    assert encode_head("GET", target, []) == b"GET " + target + b" HTTP/1.1\r\n"


@pytest.mark.parametrize(
    "method", ["", "GE T", "GET ", " GET", "GET\r\n", "GET\r\nX: 1", "G\x00T", "GÉT", "GET/", "(GET)", "G:T"]
)
def test_a_method_that_is_not_a_token_is_refused(method: str) -> None:
    with pytest.raises(UnsendableHeader) as caught:
        encode_head(method, b"/", [])
    assert isinstance(caught.value, NeverSent)


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "PATCH", "M-SEARCH", "get"])
def test_a_token_method_is_sent_as_given(method: str) -> None:
    assert encode_head(method, b"/", []) == method.encode() + b" / HTTP/1.1\r\n"


@given(value=st.binary(max_size=40))
@settings(max_examples=200, deadline=None)
def test_a_value_is_sent_exactly_when_it_has_no_control_character(value: bytes) -> None:
    bad = any((byte < 0x20 and byte != 0x09) or byte == 0x7F for byte in value)
    if bad:
        with pytest.raises(UnsendableHeader) as caught:
            encode_head("GET", b"/", [(b"X", value)])
        # One fixed message whatever the value: nothing of it can show.
        assert str(caught.value) == "header X holds a control character (CR, LF, NUL...); nothing was sent"
    else:
        assert encode_head("GET", b"/", [(b"X", value)]) == b"GET / HTTP/1.1\r\nX: " + value + b"\r\n"


# -- parse_head ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "buffer",
    [
        b"",
        b"H",
        b"HTTP/1.1 200 OK",
        b"HTTP/1.1 200 OK\r\n",
        b"HTTP/1.1 200 OK\r\nA: b",
        b"HTTP/1.1 200 OK\r\nA: b\r\n",
        b"HTTP/1.1 200 OK\r\nA: b\r\n\r",
        b"HTTP/1.1 200 OK\r\nA: b\n\n",  # bare LFs do not end a head
        b"garbage that is not yet a head",  # judged once complete
    ],
)
def test_parse_head_returns_none_while_the_head_is_incomplete(buffer: bytes) -> None:
    assert parse_head(buffer) is None


def test_parse_head_gives_status_reason_headers_and_the_head_length() -> None:
    raw = (
        b"HTTP/1.1 201 Created\r\n"
        b"Content-Type: application/json\r\n"
        b"X-Padded:   spaced value \t \r\n"
        b"X-Tight:v\r\n"
        b"X-Empty:\r\n"
        b"X-Blank:   \r\n"
        b"set-cookie: a=1\r\n"
        b"Set-Cookie: b=2\r\n"
        b"\r\n"
    )
    parsed = parse_head(raw + b'{"body": true}')
    assert parsed is not None
    head, size = parsed
    assert size == len(raw)
    assert head.minor_version == 1
    assert head.status == 201
    assert head.reason == b"Created"
    assert head.headers == [
        (b"Content-Type", b"application/json"),
        (b"X-Padded", b"spaced value"),
        (b"X-Tight", b"v"),
        (b"X-Empty", b""),
        (b"X-Blank", b""),
        (b"set-cookie", b"a=1"),
        (b"Set-Cookie", b"b=2"),
    ]
    assert head.values(b"set-cookie") == [b"a=1", b"b=2"]
    assert head.values(b"content-type") == [b"application/json"]
    assert head.values(b"missing") == []


@pytest.mark.parametrize(
    ("line", "minor", "status", "reason"),
    [
        (b"HTTP/1.1 200 OK", 1, 200, b"OK"),
        (b"HTTP/1.0 200 OK", 0, 200, b"OK"),
        (b"HTTP/1.1 404 Not Found", 1, 404, b"Not Found"),
        (b"HTTP/1.1 200", 1, 200, b""),
        (b"HTTP/1.1 200 ", 1, 200, b""),
        (b"HTTP/1.1 503 Slow\tDown", 1, 503, b"Slow\tDown"),
        (b"HTTP/1.1 200 caf\xc3\xa9", 1, 200, b"caf\xc3\xa9"),
        (b"HTTP/1.1 100 Continue", 1, 100, b"Continue"),
        (b"HTTP/1.1 599 x", 1, 599, b"x"),
    ],
)
def test_parse_head_reads_the_status_line(line: bytes, minor: int, status: int, reason: bytes) -> None:
    parsed = parse_head(line + b"\r\n\r\n")
    assert parsed is not None
    head, size = parsed
    assert (head.minor_version, head.status, head.reason, head.headers) == (minor, status, reason, [])
    assert size == len(line) + 4


@pytest.mark.parametrize(
    "raw",
    [
        # obsolete line folding
        b"HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A: one\r\n\ttwo\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A: one\r\n two: x\r\n\r\n",
        # no colon, or no name
        b"HTTP/1.1 200 OK\r\nX-A one\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n: value\r\n\r\n",
        # blank before the colon
        b"HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length\t: 5\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n Content-Length: 5\r\n\r\n",
        # a name that is not a token
        b"HTTP/1.1 200 OK\r\nX(A): 1\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX\x00A: 1\r\n\r\n",
        # control characters in a value, bare LF and bare CR included
        b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A: a\x1bb\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A: a\x7fb\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A: a\nX-B: b\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-A: a\rX-B: b\r\n\r\n",
        # bad status lines
        b"HTTP/1.1 20 OK\r\n\r\n",
        b"HTTP/1.1 2000 OK\r\n\r\n",
        b"HTTP/1.1 099 Low\r\n\r\n",
        b"HTTP/1.1 abc OK\r\n\r\n",
        b"HTTP/1.1  200 OK\r\n\r\n",
        b"HTTP/1.1 200\tOK\r\n\r\n",
        b"HTTP/1.2 200 OK\r\n\r\n",
        b"HTTP/2 200 OK\r\n\r\n",
        b"HTTP/2.0 200 OK\r\n\r\n",
        b"HTTP/1.1200 OK\r\n\r\n",
        b"http/1.1 200 OK\r\n\r\n",
        b" HTTP/1.1 200 OK\r\n\r\n",
        b"ICY 200 OK\r\n\r\n",
        b"HTTP/1.1 200 O\x00K\r\n\r\n",
        b"HTTP/1.1 200 OK\nX-A: 1\r\n\r\n",
        b"\r\nHTTP/1.1 200 OK\r\n\r\n",
        b"\r\n\r\n",
    ],
)
def test_parse_head_refuses_a_malformed_head(raw: bytes) -> None:
    with pytest.raises(AnswerViolation) as caught:
        parse_head(raw)
    assert isinstance(caught.value, httpx.RemoteProtocolError)
    assert not never_sent(caught.value)


def test_max_headers_are_accepted_and_one_more_is_refused() -> None:
    lines = b"".join(b"X-%d: v\r\n" % n for n in range(MAX_HEADERS))
    parsed = parse_head(b"HTTP/1.1 200 OK\r\n" + lines + b"\r\n")
    assert parsed is not None
    assert len(parsed[0].headers) == MAX_HEADERS
    with pytest.raises(AnswerViolation, match="more than 128 headers"):
        parse_head(b"HTTP/1.1 200 OK\r\n" + lines + b"X-Last: v\r\n\r\n")


def _head_of(size: int) -> bytes:
    """A complete head of exactly ``size`` bytes, blank line included."""
    start = b"HTTP/1.1 200 OK\r\nX-Pad: "
    end = b"\r\n\r\n"
    return start + b"a" * (size - len(start) - len(end)) + end


def test_an_incomplete_head_that_cannot_fit_is_refused() -> None:
    start = b"HTTP/1.1 200 OK\r\nX-Pad: "
    # MAX_HEAD_BYTES - 1 bytes could still end in time; MAX_HEAD_BYTES bytes cannot.
    assert parse_head(start + b"a" * (MAX_HEAD_BYTES - 1 - len(start))) is None
    with pytest.raises(AnswerViolation, match="longer than 65536 bytes"):
        parse_head(start + b"a" * (MAX_HEAD_BYTES - len(start)))


def test_a_complete_head_over_max_head_bytes_is_refused() -> None:
    with pytest.raises(AnswerViolation, match="longer than 65536 bytes"):
        parse_head(_head_of(MAX_HEAD_BYTES + 100))


def test_a_head_of_max_head_bytes_is_accepted_whole_and_byte_by_byte_at_its_end() -> None:
    raw = _head_of(MAX_HEAD_BYTES)
    parsed = parse_head(raw)
    assert parsed is not None
    assert parsed[1] == MAX_HEAD_BYTES
    for end in range(len(raw) - 4, len(raw)):  # every cut in the closing blank line
        assert parse_head(raw[:end]) is None


@pytest.mark.parametrize("extra", [1, 2, 3, 4])
def test_the_head_limit_does_not_depend_on_the_cut(extra: int) -> None:
    # A head a few bytes over the limit: refused or not, the same whether it arrives in one
    # read or with its last byte in a second one (AnswerReader: "whatever their cut").
    raw = _head_of(MAX_HEAD_BYTES + extra) + b"ok"
    outcomes = []
    for pieces in ([raw], [raw[: len(raw) - 3], raw[len(raw) - 3 :]]):
        reader = AnswerReader("HEAD", LIMIT, Clock())
        try:
            for piece in pieces:
                reader.feed(piece)
        except AnswerViolation:
            outcomes.append("refused")
        else:
            outcomes.append("accepted")
    assert outcomes[0] == outcomes[1], f"whole: {outcomes[0]}, with its last byte apart: {outcomes[1]}"


# -- body_framing --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "status"),
    [("HEAD", 200), ("HEAD", 404), ("GET", 100), ("GET", 103), ("GET", 204), ("POST", 304), ("GET", 199)],
)
def test_answers_without_a_body(method: str, status: int) -> None:
    head = make_head(status, (b"Content-Length", b"10"), (b"Transfer-Encoding", b"chunked"))
    assert body_framing(method, head) == NO_BODY


@pytest.mark.parametrize(
    ("headers", "framing"),
    [
        ([(b"Content-Length", b"0")], 0),
        ([(b"Content-Length", b"42")], 42),
        ([(b"content-length", b" 42 ")], 42),
        ([(b"Content-Length", b"042")], 42),
        ([(b"Content-Length", b"5"), (b"Content-Length", b"5")], 5),
        ([(b"Content-Length", b"5, 5")], 5),
        ([(b"Content-Length", b"5,5"), (b"Content-Length", b"5")], 5),
        ([(b"Content-Length", b"999999999999999999")], 999999999999999999),
        ([(b"Transfer-Encoding", b"chunked")], CHUNKED),
        ([(b"transfer-encoding", b"Chunked")], CHUNKED),
        ([(b"Transfer-Encoding", b"CHUNKED")], CHUNKED),
        ([(b"Transfer-Encoding", b"gzip, chunked")], CHUNKED),
        ([(b"Transfer-Encoding", b"gzip"), (b"Transfer-Encoding", b"chunked")], CHUNKED),
        ([], UNTIL_CLOSE),
        ([(b"Content-Type", b"text/plain")], UNTIL_CLOSE),
        ([(b"Transfer-Encoding", b"gzip")], UNTIL_CLOSE),
        ([(b"Transfer-Encoding", b"chunked, gzip")], UNTIL_CLOSE),
        ([(b"Transfer-Encoding", b"identity")], UNTIL_CLOSE),
        # Transfer-Encoding overrides Content-Length (RFC 9112 6.3): read to the close.
        ([(b"Transfer-Encoding", b"gzip"), (b"Content-Length", b"5")], UNTIL_CLOSE),
    ],
)
def test_body_framing(headers: list[tuple[bytes, bytes]], framing: int) -> None:
    assert body_framing("GET", make_head(200, *headers)) == framing


def test_framing_holds_for_error_statuses_too() -> None:
    assert body_framing("POST", make_head(500, (b"Content-Length", b"7"))) == 7
    assert body_framing("POST", make_head(205, (b"Content-Length", b"0"))) == 0


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ([(b"Transfer-Encoding", b"chunked"), (b"Content-Length", b"5")], "both"),
        ([(b"Content-Length", b"5"), (b"Transfer-Encoding", b"gzip, chunked")], "both"),
        ([(b"Content-Length", b"5"), (b"Content-Length", b"6")], "conflicting"),
        ([(b"Content-Length", b"5, 6")], "conflicting"),
        ([(b"Content-Length", b"5,")], "conflicting"),
        ([(b"Content-Length", b"5"), (b"Content-Length", b"05")], "conflicting"),
        ([(b"Content-Length", b"")], "not a number"),
        ([(b"Content-Length", b"abc")], "not a number"),
        ([(b"Content-Length", b"-1")], "not a number"),
        ([(b"Content-Length", b"+5")], "not a number"),
        ([(b"Content-Length", b"5.0")], "not a number"),
        ([(b"Content-Length", b"0x10")], "not a number"),
        ([(b"Content-Length", b"1 000")], "not a number"),
        ([(b"Content-Length", b"1_000")], "not a number"),
        ([(b"Content-Length", b"1234567890123456789")], "not a number"),
    ],
)
def test_body_framing_refuses(headers: list[tuple[bytes, bytes]], message: str) -> None:
    with pytest.raises(AnswerViolation, match=message):
        body_framing("GET", make_head(200, *headers))


# -- keeps_alive ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minor", "connection", "keeps"),
    [
        (1, [], True),
        (1, [b"keep-alive"], True),
        (1, [b"Upgrade"], True),
        (1, [b"close"], False),
        (1, [b"Close"], False),
        (1, [b"CLOSE"], False),
        (1, [b" close "], False),
        (1, [b"keep-alive, close"], False),
        (1, [b"Upgrade,close"], False),
        (1, [b"keep-alive", b"close"], False),
        (1, [b"closed"], True),
        (1, [b"close-ish, keep-alive"], True),
        (0, [], False),
        (0, [b"keep-alive"], False),
        (0, [b"Keep-Alive"], False),
    ],
)
def test_keeps_alive(minor: int, connection: list[bytes], keeps: bool) -> None:
    head = make_head(200, *[(b"Connection", value) for value in connection], minor=minor)
    assert head.keeps_alive() is keeps


def test_keeps_alive_reads_the_connection_header_whatever_its_case() -> None:
    assert make_head(200, (b"CONNECTION", b"close")).keeps_alive() is False
    assert make_head(200, (b"connection", b"close")).keeps_alive() is False
    assert make_head(200, (b"Proxy-Connection", b"close")).keeps_alive() is True


# -- ChunkedBody ---------------------------------------------------------------------------


def chunked_all(data: bytes, limit: int = LIMIT) -> tuple[bytes, ChunkedBody]:
    decoder = ChunkedBody(limit)
    body = b"".join(decoder.feed(data))
    return body, decoder


def chunked_bytewise(data: bytes, limit: int = LIMIT) -> tuple[bytes, ChunkedBody]:
    decoder = ChunkedBody(limit)
    out = []
    for n in range(len(data)):
        assert not decoder.done
        out += decoder.feed(data[n : n + 1])
    return b"".join(out), decoder


CHUNKED_VECTORS = [
    (b"0\r\n\r\n", b""),
    (b"5\r\nhello\r\n0\r\n\r\n", b"hello"),
    (b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", b"hello world"),
    (b"a\r\n0123456789\r\n0\r\n\r\n", b"0123456789"),
    (b"A\r\n0123456789\r\n0\r\n\r\n", b"0123456789"),
    (b"1f\r\n" + b"x" * 31 + b"\r\n0\r\n\r\n", b"x" * 31),
    (b"1F\r\n" + b"x" * 31 + b"\r\n0\r\n\r\n", b"x" * 31),
    (b"0005\r\nhello\r\n000\r\n\r\n", b"hello"),
    (b"2\r\n\r\n\r\n0\r\n\r\n", b"\r\n"),  # CRLF as data
    (b"5;name=value\r\nhello\r\n0\r\n\r\n", b"hello"),
    (b'5;a=1;b="x;y"\r\nhello\r\n0;last\r\n\r\n', b"hello"),
    (b"5 ;ext\r\nhello\r\n0\t;ext\r\n\r\n", b"hello"),
    (b"5;\r\nhello\r\n0\r\n\r\n", b"hello"),
    (b"5\r\nhello\r\n0\r\nX-Checksum: abc\r\n\r\n", b"hello"),
    (b"5\r\nhello\r\n0\r\nX-A: 1\r\nX-B: 2\r\n\r\n", b"hello"),
    (b"5\r\nhello\r\n0;e=1\r\nX-A: 1\r\n\r\n", b"hello"),
]


@pytest.mark.parametrize(("data", "body"), CHUNKED_VECTORS)
def test_chunked_body_in_one_piece(data: bytes, body: bytes) -> None:
    out, decoder = chunked_all(data)
    assert out == body
    assert decoder.done
    assert decoder.rest == b""


@pytest.mark.parametrize(("data", "body"), CHUNKED_VECTORS)
def test_chunked_body_byte_by_byte_ends_at_its_last_byte(data: bytes, body: bytes) -> None:
    out, decoder = chunked_bytewise(data)
    assert out == body
    assert decoder.done
    assert decoder.rest == b""


def test_chunked_body_gives_data_as_it_arrives() -> None:
    decoder = ChunkedBody(LIMIT)
    assert decoder.feed(b"a\r\n01234") == [b"01234"]
    assert decoder.feed(b"56") == [b"56"]
    assert decoder.feed(b"789\r") == [b"789"]
    assert decoder.feed(b"\n3\r\nabc\r\n") == [b"abc"]
    assert not decoder.done
    assert decoder.feed(b"0\r\n") == []
    assert not decoder.done
    assert decoder.feed(b"\r\n") == []
    assert decoder.done


@pytest.mark.parametrize(
    ("pieces", "body", "rest"),
    [
        ([b"0\r\n\r\nHTTP/1.1 200 OK\r\n"], b"", b"HTTP/1.1 200 OK\r\n"),
        ([b"3\r\nabc\r\n0\r\n\r", b"\nXY"], b"abc", b"XY"),
        ([b"3\r\nabc\r\n0\r\nT: 1\r\n\r\n\r\n"], b"abc", b"\r\n"),
        ([b"3\r\nabc\r\n0\r\n\r\n"], b"abc", b""),
    ],
)
def test_chunked_rest_holds_what_follows_the_end(pieces: list[bytes], body: bytes, rest: bytes) -> None:
    decoder = ChunkedBody(LIMIT)
    out = b"".join(b"".join(decoder.feed(piece)) for piece in pieces)
    assert out == body
    assert decoder.done
    assert decoder.rest == rest


@pytest.mark.parametrize(
    "size_line",
    [
        b"",
        b" ",
        b";ext",
        b"g",
        b"5g",
        b"-1",
        b"+5",
        b"0x5",
        b"5 5",
        b"5.0",
        b"\x005",
        b"0" * 17,
        b"1" * 17,
    ],
)
def test_a_bad_chunk_size_is_refused(size_line: bytes) -> None:
    with pytest.raises(AnswerViolation, match="bad chunk size"):
        ChunkedBody(LIMIT).feed(size_line + b"\r\nhello\r\n0\r\n\r\n")


@pytest.mark.parametrize(
    "data",
    [
        b"5\r\nhelloX\r\n0\r\n\r\n",
        b"5\r\nhello\n0\r\n\r\n",
        b"5\r\nhello\r0\r\n\r\n",
        b"5\r\nhello0\r\n\r\n",
        b"5\r\nhello world\r\n0\r\n\r\n",
        b"3\r\nhello\r\n0\r\n\r\n",
    ],
)
def test_a_chunk_not_ending_in_crlf_is_refused(data: bytes) -> None:
    with pytest.raises(AnswerViolation, match="does not end in CRLF"):
        chunked_all(data)
    with pytest.raises(AnswerViolation, match="does not end in CRLF"):
        chunked_bytewise(data)


def test_a_chunk_of_exactly_the_limit_is_read() -> None:
    body, decoder = chunked_all(b"6\r\nabcdef\r\n4\r\nghij\r\n0\r\n\r\n", limit=10)
    assert body == b"abcdefghij"
    assert decoder.done


@pytest.mark.parametrize(
    "data",
    [
        b"b\r\n",  # one chunk over, refused on its size line before its data
        b"6\r\nabcdef\r\n5\r\n",  # the sum over
        b"ffffffffffffffff\r\n",  # a size beyond any memory
    ],
)
def test_chunks_beyond_the_limit_raise_response_too_large(data: bytes) -> None:
    with pytest.raises(ResponseTooLarge, match="max_response_bytes=10"):
        ChunkedBody(10).feed(data)


def test_a_chunk_size_line_up_to_the_bound_waits_for_more() -> None:
    decoder = ChunkedBody(LIMIT)
    assert decoder.feed(b"1;" + b"e" * (MAX_CHUNK_LINE - 2)) == []
    assert not decoder.done


def test_a_chunk_size_line_too_long_raises() -> None:
    with pytest.raises(AnswerViolation, match="chunk-size line of the answer is too long"):
        ChunkedBody(LIMIT).feed(b"1;" + b"e" * MAX_CHUNK_LINE)
    decoder = ChunkedBody(LIMIT)
    decoder.feed(b"3\r\nabc\r\n1;")
    with pytest.raises(AnswerViolation, match="too long"):
        decoder.feed(b"e" * MAX_CHUNK_LINE)


def test_a_trailer_line_too_long_raises() -> None:
    decoder = ChunkedBody(LIMIT)
    decoder.feed(b"0\r\nX-T: ")
    with pytest.raises(AnswerViolation, match="trailer line of the answer is too long"):
        decoder.feed(b"t" * MAX_CHUNK_LINE)


def test_too_many_trailer_lines_raise() -> None:
    # As many trailer fields as header fields (MAX_HEADERS), not one more.
    trailers = b"".join(b"T-%d: v\r\n" % n for n in range(MAX_HEADERS + 1))
    with pytest.raises(AnswerViolation, match="trailer lines"):
        ChunkedBody(LIMIT).feed(b"0\r\n" + trailers + b"\r\n")
    _, decoder = chunked_all(b"0\r\n" + trailers[: -len(b"T-128: v\r\n")] + b"\r\n")
    assert decoder.done


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (b"1;" + b"e" * (MAX_CHUNK_LINE + 100) + b"\r\nx\r\n0\r\n\r\n", "a chunk-size line over the bound"),
        (b"1;" + b"e" * (MAX_CHUNK_LINE - 2) + b"\r\nx\r\n0\r\n\r\n", "a chunk-size line at the bound"),
        (b"0\r\nX-T: " + b"t" * (MAX_CHUNK_LINE + 100) + b"\r\n\r\n", "a trailer line over the bound"),
        (b"0\r\nX-T: " + b"t" * (MAX_CHUNK_LINE - 5) + b"\r\n\r\n", "a trailer line at the bound"),
    ],
)
def test_the_chunk_line_bound_does_not_depend_on_the_cut(data: bytes, what: str) -> None:
    # In one piece and byte by byte: the same verdict ("whatever their cut").
    verdicts = []
    for size in (len(data), 1):
        decoder = ChunkedBody(LIMIT)
        try:
            for at in range(0, len(data), size):
                decoder.feed(data[at : at + size])
        except AnswerViolation:
            verdicts.append("refused")
        else:
            verdicts.append("accepted" if decoder.done else "incomplete")
    assert verdicts[0] == verdicts[1], f"{what}: whole {verdicts[0]}, in pieces {verdicts[1]}"


def test_a_trailer_section_is_bounded_line_by_line() -> None:
    # MAX_CHUNK_LINE bounds each trailer line and MAX_HEADERS their number: three lines of
    # 2000 bytes pass, one of MAX_CHUNK_LINE + 1 does not.
    trailers = b"".join(b"T-%d: " % n + b"t" * 2000 + b"\r\n" for n in range(3))
    assert chunked_all(b"0\r\n" + trailers + b"\r\n")[1].done
    with pytest.raises(AnswerViolation, match="trailer line"):
        ChunkedBody(LIMIT).feed(b"0\r\nT: " + b"t" * (MAX_CHUNK_LINE - 2) + b"\r\n\r\n")


# -- AnswerReader --------------------------------------------------------------------------

OK_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
OK = OK_HEAD + b'{"ok":true}'


def test_a_content_length_body_in_pieces() -> None:
    reader = AnswerReader("POST", LIMIT, Clock())
    assert reader.feed(b"HTTP/1.1 200 OK\r\nContent-Le") is False
    assert reader.feed(b"ngth: 11\r\n\r\nhello") is False
    assert reader.feed(b" wor") is False
    assert reader.feed(b"ld") is True
    answer = reader.answer()
    assert isinstance(answer, RawAnswer)
    assert answer.status == 200
    assert answer.reason == b"OK"
    assert answer.headers == [(b"Content-Length", b"11")]
    assert answer.body == b"hello world"
    assert reader.reusable is True


def test_an_answer_in_one_piece() -> None:
    reader = read([OK])
    assert summary(reader) == (
        200,
        b"OK",
        [(b"Content-Type", b"application/json"), (b"Content-Length", b"11")],
        b'{"ok":true}',
        True,
    )


def test_a_zero_length_body_ends_with_the_head() -> None:
    reader = read([b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"])
    assert reader.answer().body == b""
    assert reader.reusable is True


@pytest.mark.parametrize(
    "interim",
    [
        b"HTTP/1.1 100 Continue\r\n\r\n",
        b"HTTP/1.1 102 Processing\r\n\r\n",
        b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\n",
        b"HTTP/1.1 102 Processing\r\n\r\n" * 20,
    ],
)
def test_interim_answers_before_the_answer_are_skipped(interim: bytes) -> None:
    data = interim + b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    for pieces in ([data], cut(data, [len(interim)]), cut(data, range(0, len(data), 7))):
        reader = read(pieces)
        assert summary(reader) == (200, b"OK", [(b"Content-Length", b"2")], b"ok", True)


def test_interim_answers_alone_are_not_an_answer() -> None:
    reader = AnswerReader("GET", LIMIT, Clock())
    assert reader.feed(b"HTTP/1.1 100 Continue\r\n\r\n") is False
    assert reader.feed(b"HTTP/1.1 102 Processing\r\n\r\n") is False
    with pytest.raises(httpx.RemoteProtocolError):
        reader.feed(b"")


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\n\r\n",
    ],
)
def test_switching_protocols_is_refused(data: bytes) -> None:
    with pytest.raises(AnswerViolation, match="switched protocols"):
        AnswerReader("GET", LIMIT, Clock()).feed(data)


@pytest.mark.parametrize(
    ("before", "message"),
    [
        ([], "without answering"),
        ([b"H"], "in the middle of the answer's head"),
        ([b"HTTP/1.1 200 OK\r\n"], "in the middle of the answer's head"),
        ([b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r"], "in the middle of the answer's head"),
        ([b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"], "in the middle of the answer"),
        ([b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabcd"], "in the middle of the answer"),
        ([b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", b"ab"], "in the middle of the answer"),
        ([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"], "in the middle of the answer"),
        ([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"], "in the middle of the answer"),
        (
            [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"],
            "in the middle of the answer",
        ),
        ([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n"], "in the middle of the answer"),
        (
            [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nT: 1\r\n"],
            "in the middle of the answer",
        ),
    ],
)
def test_end_of_stream_before_the_answer_ends_raises(before: list[bytes], message: str) -> None:
    reader = AnswerReader("GET", LIMIT, Clock())
    for piece in before:
        assert reader.feed(piece) is False
    with pytest.raises(httpx.RemoteProtocolError, match=message) as caught:
        reader.feed(b"")
    assert not never_sent(caught.value)


def test_a_body_until_close_ends_at_end_of_stream_and_is_not_reusable() -> None:
    reader = AnswerReader("GET", LIMIT, Clock())
    assert reader.feed(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nsome") is False
    assert reader.feed(b" body") is False
    assert reader.feed(b"") is True
    assert reader.answer().body == b"some body"
    assert reader.reusable is False


def test_an_empty_body_until_close() -> None:
    reader = read([b"HTTP/1.1 200 OK\r\n\r\n", b""])
    assert reader.answer().body == b""
    assert reader.reusable is False


def test_a_body_until_close_over_the_limit_raises() -> None:
    reader = AnswerReader("GET", 10, Clock())
    assert reader.feed(b"HTTP/1.1 200 OK\r\n\r\n0123456789") is False
    with pytest.raises(ResponseTooLarge, match="max_response_bytes=10"):
        reader.feed(b"x")


def test_a_transfer_encoding_not_ending_in_chunked_reads_until_close() -> None:
    reader = read([b"HTTP/1.1 200 OK\r\nTransfer-Encoding: identity\r\n\r\nabc", b"def", b""])
    assert reader.answer().body == b"abcdef"
    assert reader.reusable is False


@pytest.mark.parametrize(
    "data",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\nX",
        b"HTTP/1.1 204 No Content\r\n\r\nX",
        b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\nhello",
    ],
)
def test_bytes_after_the_answer_make_the_connection_not_reusable(data: bytes) -> None:
    reader = read([data])
    assert reader.reusable is False


@pytest.mark.parametrize(
    ("method", "data", "body", "reusable"),
    [
        ("GET", b"HTTP/1.1 204 No Content\r\n\r\n", b"", True),
        ("GET", b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", b"", True),
        ("HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", b"", True),
        ("HEAD", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", b"", True),
        ("GET", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", b"ok", False),
        (
            "GET",
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: Keep-Alive, CLOSE\r\n\r\nok",
            b"ok",
            False,
        ),
        ("GET", b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", b"ok", False),
        ("GET", b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok", b"ok", False),
        ("GET", b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", b"ok", True),
        ("GET", b"HTTP/1.1 500 Oops\r\nContent-Length: 4\r\n\r\noops", b"oops", True),
    ],
)
def test_reuse_and_body_by_answer(method: str, data: bytes, body: bytes, reusable: bool) -> None:
    reader = read([data], method=method)
    assert reader.answer().body == body
    assert reader.reusable is reusable


def test_a_chunked_body_in_pieces() -> None:
    reader = AnswerReader("GET", LIMIT, Clock())
    assert reader.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhe") is False
    assert reader.feed(b"llo\r\n6;x=y\r\n world\r\n") is False
    assert reader.feed(b"0\r\nX-Trailer: t\r\n") is False
    assert reader.feed(b"\r\n") is True
    answer = reader.answer()
    assert answer.body == b"hello world"
    assert answer.headers == [(b"Transfer-Encoding", b"chunked")]
    assert reader.reusable is True


def test_a_chunked_body_over_the_limit_raises() -> None:
    reader = AnswerReader("GET", 10, Clock())
    assert reader.feed(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n") is False
    with pytest.raises(ResponseTooLarge, match="max_response_bytes=10"):
        reader.feed(b"5\r\n")


def test_a_content_length_over_the_limit_raises_before_any_body_byte() -> None:
    reader = AnswerReader("GET", 10, Clock())
    with pytest.raises(ResponseTooLarge, match="max_response_bytes=10"):
        reader.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n")


def test_a_content_length_of_the_limit_is_read() -> None:
    reader = read([b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", b"0123456789"], limit=10)
    assert reader.answer().body == b"0123456789"


def test_a_framing_violation_in_the_head_raises_from_feed() -> None:
    reader = AnswerReader("GET", LIMIT, Clock())
    with pytest.raises(AnswerViolation, match="both"):
        reader.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n")
    reader = AnswerReader("GET", LIMIT, Clock())
    with pytest.raises(AnswerViolation, match="conflicting"):
        reader.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n")


def _encoded_answer(encoding: bytes, body: bytes) -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: %s\r\nContent-Length: %d\r\n\r\n"
        % (encoding, len(body))
        + body
    )


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        (b"gzip", gzip.compress),
        (b"GZIP", gzip.compress),
        (b"x-gzip", gzip.compress),
        (b"deflate", zlib.compress),
    ],
)
def test_an_encoded_body_is_decoded_and_handed_on_as_identity(
    encoding: bytes, compress: Callable[[bytes], bytes]
) -> None:
    plain = b'{"order": {"order_id": "abc"}}' * 10
    encoded = compress(plain)
    reader = read(cut(_encoded_answer(encoding, encoded), range(0, 400, 13)))
    answer = reader.answer()
    assert answer.body == plain
    assert answer.headers == [(b"Content-Type", b"text/plain")]
    assert reader.reusable is True


def test_an_identity_encoding_is_left_as_it_is() -> None:
    data = _encoded_answer(b"identity", b"plain")
    answer = read([data]).answer()
    assert answer.body == b"plain"
    assert (b"Content-Encoding", b"identity") in answer.headers


def test_a_gzip_body_decoding_to_exactly_the_limit_is_read() -> None:
    plain = b"a" * 1000
    reader = read([_encoded_answer(b"gzip", gzip.compress(plain))], limit=1000)
    assert reader.answer().body == plain


def test_a_gzip_bomb_beyond_the_limit_raises_response_too_large() -> None:
    bomb = gzip.compress(b"\0" * 1_000_000)
    assert len(bomb) < 2000
    reader = read([_encoded_answer(b"gzip", bomb)], limit=10_000)
    with pytest.raises(ResponseTooLarge, match="max_response_bytes=10000"):
        reader.answer()


def test_a_chunked_gzip_bomb_beyond_the_limit_raises_response_too_large() -> None:
    bomb = gzip.compress(b"\0" * 1_000_000)
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Encoding: gzip\r\n\r\n"
    data += b"%x\r\n%s\r\n0\r\n\r\n" % (len(bomb), bomb)
    reader = read([data], limit=10_000)
    with pytest.raises(ResponseTooLarge):
        reader.answer()


@pytest.mark.parametrize(
    ("encoding", "body", "message"),
    [
        (b"br", b"\x0b\x02\x80hello\x03", "not asked for"),
        (b"zstd", b"whatever", "not asked for"),
        (b"gzip, identity", b"whatever", "not asked for"),
        (b"gzip", b"this is not gzip", "corrupt"),
        (b"deflate", b"\xff\xff\xff\xff", "corrupt"),
    ],
)
def test_an_unreadable_encoding_raises(encoding: bytes, body: bytes, message: str) -> None:
    reader = read([_encoded_answer(encoding, body)])
    with pytest.raises(UnreadableEncoding, match=message):
        reader.answer()


def test_head_at_is_read_from_the_clock_when_the_final_head_arrives() -> None:
    clock = Clock(now=1.0)
    reader = AnswerReader("GET", LIMIT, clock)
    assert reader.feed(b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 2") is False
    assert clock.calls == 0
    clock.now = 2.5
    assert reader.feed(b"00 OK\r\nContent-Length: 4\r\n\r\nab") is False
    assert clock.calls == 1
    clock.now = 9.0
    assert reader.feed(b"cd") is True
    assert clock.calls == 1
    assert reader.answer().head_at == 2.5


# -- the same answer whatever the cut ------------------------------------------------------

ANSWERS = [
    ("GET", OK),
    (
        "GET",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;e=1\r\n world\r\n0\r\nT: v\r\n\r\n",
    ),
    ("GET", b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" + OK),
    ("GET", _encoded_answer(b"gzip", gzip.compress(b"compressed body " * 8))),
    ("GET", b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"),
    ("HEAD", b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n"),
    ("GET", b"HTTP/1.1 204 No Content\r\nX-Request-Id: 1\r\n\r\n"),
]


def _expected(method: str, data: bytes) -> tuple[int, bytes, list[tuple[bytes, bytes]], bytes, bool]:
    return summary(read([data], method=method))


@pytest.mark.parametrize(("method", "data"), ANSWERS)
def test_the_same_answer_byte_by_byte(method: str, data: bytes) -> None:
    expected = _expected(method, data)
    assert summary(read(cut(data, range(len(data))), method=method)) == expected


@pytest.mark.parametrize(("method", "data"), ANSWERS)
def test_the_same_answer_at_every_single_cut(method: str, data: bytes) -> None:
    expected = _expected(method, data)
    for at in range(1, len(data)):
        assert summary(read(cut(data, [at]), method=method)) == expected, f"cut at {at}"


@given(data=st.data())
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_same_answer_at_random_cuts(data: st.DataObject) -> None:
    method, raw = data.draw(st.sampled_from(ANSWERS))
    cuts = data.draw(st.lists(st.integers(1, len(raw) - 1), max_size=12))
    assert summary(read(cut(raw, cuts), method=method)) == _expected(method, raw)


def test_an_answer_until_close_is_the_same_at_every_cut() -> None:
    raw = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end"
    for at in range(1, len(raw)):
        reader = read([*cut(raw, [at]), b""])
        assert summary(reader) == (200, b"OK", [(b"Content-Type", b"text/plain")], b"until the end", False)


def test_a_compressed_body_cut_short_is_refused_not_read_as_a_prefix() -> None:
    whole = gzip.compress(b'{"order_id": "o-1"}' * 50)
    for body, readable in ((whole, True), (whole[:-6], False)):
        head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(body)
        reader = AnswerReader("GET", LIMIT, Clock())
        assert reader.feed(head + body)
        if readable:
            assert reader.answer().body == b'{"order_id": "o-1"}' * 50
        else:
            with pytest.raises(UnreadableEncoding, match="cut short"):
                reader.answer()
