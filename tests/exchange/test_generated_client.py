"""End to end: the generated client, signing with auth_hooks, against the local exchange.

Only a few tests: the exchange is checked on its own with hand-signed requests elsewhere;
these show that the pieces fit (and that what the exchange sends, the client reads).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kalshi_trade_api.api.orders import amend_order_v2
from kalshi_trade_api.models import AmendOrderV2Request, AmendOrderV2Response, BookSide, ErrorResponse
from kalshi_trade_api.models.error_detail import ErrorDetail

from auth_hooks import KalshiAuth, KalshiClient, make_client
from local_exchange import Exchange, RunningServer

from .conftest import MARKET
from .support import FakeClock, TestKey, amend_path, trusting


@pytest.fixture
def client(server: RunningServer, clock: FakeClock, alice_key: TestKey) -> Iterator[KalshiClient]:
    """alice's RSA key; the client's clock is the exchange's (both frozen)."""
    auth = KalshiAuth(alice_key.key_id, alice_key.private_key, clock=clock)
    with make_client(auth, base_url=server.base_url, verify=trusting(server)) as client:
        yield client


def amend_body(price: str, count: str) -> AmendOrderV2Request:
    return AmendOrderV2Request(ticker=MARKET, side=BookSide.BID, price=price, count=count)


def test_a_crossing_amend_end_to_end(client: KalshiClient, exchange: Exchange) -> None:
    exchange.place_order("bob", MARKET, "ask", "0.52", "1")
    order_id = exchange.place_order("alice", MARKET, "bid", "0.40", "3")
    response = amend_order_v2.sync_detailed(order_id, client=client, body=amend_body("0.52", "3"))
    assert response.status_code == 200
    parsed = response.parsed
    assert isinstance(parsed, AmendOrderV2Response)
    assert (parsed.fill_count, parsed.remaining_count) == ("1.00", "2.00")
    assert (parsed.average_fill_price, parsed.average_fee_paid) == ("0.520000", "0.017500")
    assert parsed.client_order_id == exchange.order(order_id).client_order_id  # made up at placement
    assert exchange.post_count(amend_path(order_id)) == 1


def test_every_error_shape_parses(client: KalshiClient, exchange: Exchange) -> None:
    order_id = exchange.place_order("alice", MARKET, "bid", "0.40", "3")
    not_found = amend_order_v2.sync_detailed("nope", client=client, body=amend_body("0.40", "2"))
    assert isinstance(not_found.parsed, ErrorResponse)
    assert isinstance(not_found.parsed.error, ErrorDetail)
    assert not_found.parsed.error.code == "not_found"

    bare = amend_order_v2.sync_detailed(order_id, client=client, body=amend_body("0.40", "2"), subaccount=64)
    assert bare.status_code == 400
    assert isinstance(bare.parsed, ErrorResponse)
    assert isinstance(bare.parsed.msg, str)

    exchange.amend_cost = 1_000.0  # more than the bucket holds
    limited = amend_order_v2.sync_detailed(order_id, client=client, body=amend_body("0.40", "2"))
    assert isinstance(limited.parsed, ErrorResponse)
    assert limited.parsed.error == "too many requests"


def test_a_skewed_exchange_clock_is_learned_from_date_and_signed_again(
    server: RunningServer, exchange: Exchange, clock: FakeClock, alice_key: TestKey
) -> None:
    exchange.clock_offset_s = 40.0  # the exchange runs 40 s ahead of the client
    order_id = exchange.place_order("alice", MARKET, "bid", "0.40", "3")
    auth = KalshiAuth(alice_key.key_id, alice_key.private_key, clock=clock)
    with make_client(auth, base_url=server.base_url, verify=trusting(server)) as client:
        response = amend_order_v2.sync_detailed(order_id, client=client, body=amend_body("0.40", "2"))
    assert response.status_code == 200
    # The first attempt was refused (401, not applied), the second accepted: two POSTs.
    assert [r.status for r in exchange.requests] == [401, 200]
    assert len(exchange.signatures_seen(alice_key.key_id)) == 1
