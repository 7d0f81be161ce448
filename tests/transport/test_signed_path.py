"""Issue 11 item 6: the path goes out byte for byte as signed, on all three transports
(aiohttp re-quoted it: %3B %3D %3A %40 went out decoded, and the exchange said 401)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from auth_hooks import KalshiAuth
from tests.support.keys import KeyFiles
from tests.support.verifying_server import SignatureCheckingServer

from .conftest import KEY_ID
from .modes import MODES, amend


@pytest.fixture
def server(key_files: dict[str, KeyFiles]) -> Iterator[SignatureCheckingServer]:
    state = SignatureCheckingServer({KEY_ID: key_files["ed25519"].public_pem})
    with state.running():
        yield state


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("order_id", ["a;b=c:d@e", "x%y", "sp ace/+&?#"])
def test_escaped_characters_reach_the_server_as_signed(
    mode: str, order_id: str, auth: KalshiAuth, server: SignatureCheckingServer
) -> None:
    result = amend(mode, auth, server.base_url, order_id=order_id)
    (received,) = server.received
    assert received.verdict == "ok"
    assert result.order_id == received.raw_path.split("/")[-2]
    if ";" in order_id:
        assert "/a%3Bb%3Dc%3Ad%40e/amend" in received.raw_path
