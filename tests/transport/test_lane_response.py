"""The direct route hands the generated parsers an httpx.Response whose body it read itself
(auth_hooks.lane.to_response sets httpx's read-body attribute instead of running httpx's
decoder chain): pins everything the generated code, the auth and the checks read from it,
so an httpx upgrade that changes how a read body is kept fails here, not in production."""

from __future__ import annotations

import httpx
import pytest

from auth_hooks.http11 import RawAnswer
from auth_hooks.lane import to_response

BODY = '{"order_id": "o-é", "ts_ms": 1}'.encode()
HEADERS = [(b"Content-Type", b"application/json; charset=utf-8"), (b"Date", b"Wed, 02 Dec 2026 02:00:00 GMT")]


@pytest.mark.parametrize("for_httpx", [False, True])
def test_an_answer_reads_as_httpx_would_have_read_it(for_httpx: bool) -> None:
    response = to_response(RawAnswer(201, b"Created", HEADERS, BODY, 0.0), for_httpx=for_httpx)
    if for_httpx:
        with pytest.raises(httpx.ResponseNotRead):
            _ = response.content  # httpx's client reads it (and times elapsed by that)
        response.read()
    assert response.status_code == 201
    assert response.reason_phrase == "Created"
    assert response.http_version == "HTTP/1.1"
    assert response.content == BODY
    assert response.read() == BODY
    assert response.json() == {"order_id": "o-é", "ts_ms": 1}
    assert response.text == BODY.decode()
    assert b"".join(response.iter_bytes()) == BODY
    assert response.headers["date"] == "Wed, 02 Dec 2026 02:00:00 GMT"
    assert response.headers.get("content-length") is None  # nothing added to what arrived
    response.close()
    assert response.is_closed


def test_an_empty_answer() -> None:
    response = to_response(RawAnswer(204, b"No Content", [], b"", 0.0))
    assert response.content == b""
    assert response.read() == b""
