"""A server whose clock is 40 s off: one rejected attempt, then success, and never again."""

from __future__ import annotations

import pytest

from auth_hooks import KalshiAuth, Rejected, load_private_key
from tests.support.keys import KeyFiles
from tests.support.verifying_server import SignatureCheckingServer

from .conftest import KEY_ID
from .helpers import MODES, amend

# The Date header has 1 s resolution: the learned offset is good to about a second.
TOLERANCE_MS = 1500


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("skew_s", [40, -40])
@pytest.mark.parametrize("key_name", ["ed25519", "rsa_pkcs1"])
def test_one_rejected_attempt_then_success_and_the_offset_is_learned(
    key_files: dict[str, KeyFiles], mode: str, skew_s: int, key_name: str
) -> None:
    auth = KalshiAuth(KEY_ID, load_private_key(key_files[key_name].path))
    server = SignatureCheckingServer(
        {KEY_ID: key_files[key_name].public_pem}, window_ms=10_000, skew_s=skew_s
    )
    with server.running():
        [first] = amend(mode, auth, server.base_url)
        assert first.order_id == "ord-1"
        assert [r.verdict for r in server.received] == ["header_timestamp_expired", "ok"]
        assert abs(auth.clock_offset_ms - skew_s * 1000) <= TOLERANCE_MS
        # The re-sent request carried a new timestamp and a new signature.
        rejected, accepted = server.received
        assert rejected.headers["kalshi-access-timestamp"] != accepted.headers["kalshi-access-timestamp"]
        assert rejected.headers["kalshi-access-signature"] != accepted.headers["kalshi-access-signature"]

        # The next amend (a new client, the same auth) needs no retry.
        [second] = amend(mode, auth, server.base_url, order_id="ord-2")
        assert second.order_id == "ord-2"
        assert [r.verdict for r in server.received[2:]] == ["ok"]
        assert abs(auth.clock_offset_ms - skew_s * 1000) <= TOLERANCE_MS
    auth.close()


@pytest.mark.parametrize("mode", MODES)
def test_a_server_beyond_any_window_is_rejected_after_one_resend(
    key_files: dict[str, KeyFiles], ed_auth: KalshiAuth, mode: str
) -> None:
    # A server that refuses every timestamp (window 0) must not make the client loop:
    # exactly one re-send after header_timestamp_expired, then Rejected.
    server = SignatureCheckingServer({KEY_ID: key_files["ed25519"].public_pem}, window_ms=-1)
    with server.running():
        with pytest.raises(Rejected) as caught:
            amend(mode, ed_auth, server.base_url)
        assert [r.verdict for r in server.received] == ["header_timestamp_expired"] * 2
    assert caught.value.status == 401 and caught.value.code == "header_timestamp_expired"
