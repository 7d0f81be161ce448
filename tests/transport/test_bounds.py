"""Issue 11 item 3: every request is bounded in size and in total time, on all three
transports, with bounded memory; going over either once sent is OutcomeUnknown."""

from __future__ import annotations

import gzip
import json
import time

import pytest

from auth_hooks import KalshiAuth, OutcomeUnknown
from auth_hooks.transports import DeadlineExceeded, ResponseTooLarge
from tests.support import faulty_server as fs

from .modes import MODES, amend
from .servers import Sent, endless_chunked, endless_processing, trickle

MB = 1024 * 1024
# Generous: the point is that it ends, near the deadline, not after the server's 60 s.
ENDS_WITHIN_S = 30.0


@pytest.mark.parametrize("mode", MODES)
def test_an_endless_chunked_200_stops_at_the_cap(mode: str, auth: KalshiAuth) -> None:
    sent = Sent()
    with fs.FaultyServer(endless_chunked(sent)) as server:
        with pytest.raises(OutcomeUnknown) as caught:
            amend(mode, auth, server.base_url, max_response_bytes=1 * MB)
        assert server.posts == 1
    assert isinstance(caught.value.__cause__, ResponseTooLarge)
    assert "max_response_bytes=1048576" in str(caught.value)
    # Read as it streams and dropped at the cap: the server could not push much more
    # than the cap plus the sockets' buffers before the client closed the connection.
    assert sent.bytes < 64 * MB


@pytest.mark.parametrize("mode", MODES)
def test_a_body_within_the_cap_is_read(mode: str, auth: KalshiAuth) -> None:
    with fs.FaultyServer(fs.ok()) as server:
        result = amend(mode, auth, server.base_url, max_response_bytes=4096)
    assert result.order_id == "ord-1"


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("behaviour", [trickle, endless_processing], ids=["trickled body", "endless 102"])
def test_the_deadline_is_total_not_per_read(mode: str, behaviour: object, auth: KalshiAuth) -> None:
    # Each byte (or 102) arrives well within the read timeout, so only a total deadline
    # ends this: connect + read = 1 s here.
    with fs.FaultyServer(behaviour()) as server:  # type: ignore[operator]
        start = time.monotonic()
        with pytest.raises(OutcomeUnknown) as caught:
            amend(mode, auth, server.base_url, timeout=0.5)
        took = time.monotonic() - start
        assert server.posts == 1
    assert isinstance(caught.value.__cause__, DeadlineExceeded), repr(caught.value.__cause__)
    assert took < ENDS_WITHIN_S


@pytest.mark.parametrize("mode", MODES)
def test_an_explicit_deadline_overrides_the_derived_one(mode: str, auth: KalshiAuth) -> None:
    with fs.FaultyServer(trickle()) as server, pytest.raises(OutcomeUnknown) as caught:
        amend(mode, auth, server.base_url, timeout=30.0, deadline=0.5)
    assert isinstance(caught.value.__cause__, DeadlineExceeded)


@pytest.mark.parametrize("mode", MODES)
def test_a_slow_but_timely_answer_is_not_cut(mode: str, auth: KalshiAuth) -> None:
    with fs.FaultyServer(fs.stall(0.3)) as server:
        result = amend(mode, auth, server.base_url, timeout=5.0)
    assert result.order_id == "ord-1"


def _gzip_reply(data: bytes) -> fs.Behaviour:
    return fs.reply(200, gzip.compress(data), headers={"Content-Encoding": "gzip"})


@pytest.mark.parametrize("mode", MODES)
def test_a_compressed_answer_is_decoded_within_the_cap(mode: str, auth: KalshiAuth) -> None:
    bomb = b" " * (64 * MB)  # 64 KB on the wire
    with fs.FaultyServer(_gzip_reply(bomb)) as server:
        with pytest.raises(OutcomeUnknown) as caught:
            amend(mode, auth, server.base_url, max_response_bytes=1 * MB)
        assert server.requests[0].headers["accept-encoding"] == "identity"
    assert isinstance(caught.value.__cause__, ResponseTooLarge)


@pytest.mark.parametrize("mode", MODES)
def test_a_compressed_answer_within_the_cap_is_read(mode: str, auth: KalshiAuth) -> None:
    answer = json.dumps({"order_id": "ord-1", "ts_ms": 1}).encode()
    with fs.FaultyServer(_gzip_reply(answer)) as server:
        assert amend(mode, auth, server.base_url).order_id == "ord-1"
