"""Authentication over real HTTP: signatures on the raw path, the timestamp window, the
401 bodies, the Date header, and the records tests elsewhere rely on."""

from __future__ import annotations

import httpx
import pytest

from local_exchange import Exchange

from .conftest import MARKET
from .support import AmendApi, FakeClock, TestKey, amend_path, error_code

BODY = {"ticker": MARKET, "side": "bid", "price": "0.50", "count": "9"}
T0_DATE = "Wed, 18 Nov 2026 21:46:40 GMT"  # support.T0 in RFC 7231 form


@pytest.fixture
def order_id(exchange: Exchange) -> str:
    return exchange.place_order("alice", MARKET, "bid", "0.50", "10")


def assert_401(response: httpx.Response, code: str, details: str | None) -> None:
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == code
    assert error.get("details") == details
    assert error["message"]


def test_rsa_and_ed25519_signatures_are_accepted(
    api: AmendApi, exchange: Exchange, order_id: str, alice_key: TestKey, bob_key: TestKey
) -> None:
    assert api.amend(order_id, BODY, key=alice_key).status_code == 200
    theirs = exchange.place_order("bob", MARKET, "ask", "0.60", "10")
    assert api.amend(theirs, {**BODY, "side": "ask", "price": "0.61"}, key=bob_key).status_code == 200


def test_exactly_one_post_is_counted_and_its_signature_recorded(
    api: AmendApi, exchange: Exchange, order_id: str, alice_key: TestKey
) -> None:
    response = api.amend(order_id, BODY, key=alice_key)
    assert response.status_code == 200
    assert exchange.post_count(amend_path(order_id)) == 1
    assert exchange.post_count() == 1
    signature = response.request.headers["KALSHI-ACCESS-SIGNATURE"]
    assert exchange.signatures_seen(alice_key.key_id) == {signature}
    (record,) = exchange.requests
    assert (record.method, record.path, record.status, record.key_id) == (
        "POST",
        amend_path(order_id),
        200,
        alice_key.key_id,
    )


def test_missing_headers(api: AmendApi, order_id: str, alice_key: TestKey) -> None:
    response = api.amend(order_id, BODY, key=alice_key, headers={"KALSHI-ACCESS-SIGNATURE": ""})
    assert_401(response, "authentication_error", "missing_header")
    assert "KALSHI-ACCESS-SIGNATURE" in response.json()["error"]["message"]


def test_unknown_key(api: AmendApi, order_id: str, alice_key: TestKey) -> None:
    stranger = TestKey("stranger", alice_key.private_key)
    assert_401(api.amend(order_id, BODY, key=stranger), "authentication_error", "INVALID_API_KEY")


def test_a_signature_by_another_key_is_incorrect(api: AmendApi, order_id: str, bob_key: TestKey) -> None:
    impostor = TestKey("alice-key", bob_key.private_key)
    response = api.amend(order_id, BODY, key=impostor)
    assert_401(response, "authentication_error", "INCORRECT_API_KEY_SIGNATURE")


@pytest.mark.parametrize(
    "signed_path",
    [
        "/portfolio/events/orders/{id}/amend",  # without /trade-api/v2
        "/trade-api/v2/portfolio/events/orders/{id}/amend?subaccount=0",  # with the query
        "/trade-api/v2/portfolio/events/orders/{id}/amend/",
    ],
)
def test_signing_the_wrong_path_fails(
    api: AmendApi, order_id: str, alice_key: TestKey, signed_path: str
) -> None:
    response = api.amend(
        order_id, BODY, key=alice_key, subaccount=0, signed_path=signed_path.format(id=order_id)
    )
    assert_401(response, "authentication_error", "INCORRECT_API_KEY_SIGNATURE")


def test_the_query_string_is_not_signed(api: AmendApi, order_id: str, alice_key: TestKey) -> None:
    assert api.amend(order_id, BODY, key=alice_key, subaccount=0).status_code == 200


@pytest.mark.parametrize(("order_id", "raw"), [("ord 1", "ord%201"), ("a/b", "a%2Fb")])
def test_the_raw_percent_encoded_path_is_what_is_signed(
    api: AmendApi, exchange: Exchange, alice_key: TestKey, order_id: str, raw: str
) -> None:
    exchange.place_order("alice", MARKET, "bid", "0.50", "10", order_id=order_id)
    path = amend_path(raw)
    decoded = amend_path(order_id)
    response = api.amend(order_id, BODY, key=alice_key, path=path, signed_path=decoded)
    assert_401(response, "authentication_error", "INCORRECT_API_KEY_SIGNATURE")
    response = api.amend(order_id, BODY, key=alice_key, path=path)
    assert response.status_code == 200, response.text
    assert response.json()["order_id"] == order_id
    assert exchange.post_count(path) == 2


@pytest.mark.parametrize(
    ("offset_ms", "accepted"),
    [(-10_000, True), (10_000, True), (-10_001, False), (10_001, False), (-60_000, False)],
)
def test_the_timestamp_window_applies_both_ways(
    api: AmendApi, order_id: str, alice_key: TestKey, offset_ms: int, accepted: bool
) -> None:
    response = api.amend(order_id, BODY, key=alice_key, ts_ms=api.now_ms() + offset_ms)
    if accepted:
        assert response.status_code == 200
    else:
        assert_401(response, "header_timestamp_expired", None)


def test_the_window_is_configurable(
    api: AmendApi, exchange: Exchange, order_id: str, alice_key: TestKey
) -> None:
    exchange.timestamp_window_s = 60.0
    assert api.amend(order_id, BODY, key=alice_key, ts_ms=api.now_ms() - 59_000).status_code == 200


def test_a_malformed_timestamp(api: AmendApi, order_id: str, alice_key: TestKey) -> None:
    response = api.amend(order_id, BODY, key=alice_key, headers={"KALSHI-ACCESS-TIMESTAMP": "1.7e12"})
    assert_401(response, "authentication_error", "INVALID_TIMESTAMP")


def test_server_clock_skew_refuses_a_correct_local_clock_and_shows_in_date(
    api: AmendApi, exchange: Exchange, clock: FakeClock, order_id: str, alice_key: TestKey
) -> None:
    exchange.clock_offset_s = 40.0
    response = api.amend(order_id, BODY, key=alice_key, ts_ms=int(clock() * 1000))
    assert_401(response, "header_timestamp_expired", None)
    assert response.headers["Date"] == "Wed, 18 Nov 2026 21:47:20 GMT"
    # A client that learns the offset from Date signs with the exchange's time.
    assert api.amend(order_id, BODY, key=alice_key).status_code == 200


def test_every_response_has_one_date_from_the_exchange_clock(
    api: AmendApi, exchange: Exchange, order_id: str, alice_key: TestKey, carol_key: TestKey
) -> None:
    responses = [
        api.amend(order_id, BODY, key=alice_key),  # 200
        api.amend(order_id, BODY, key=alice_key, ts_ms=0),  # 401
        api.amend(order_id, b"{", key=alice_key),  # 400 flat
        api.amend("nope", BODY, key=alice_key),  # 404
        api.client.get(api.server.root_url + "/trade-api/v2/nothing-here"),  # 404 route
        api.client.get(api.server.root_url + amend_path(order_id)),  # 405
    ]
    exchange.write_bucket_size = 0.0  # buckets are made on first use: carol's is empty
    responses.append(api.amend("nope", BODY, key=carol_key))  # 429
    assert [r.status_code for r in responses] == [200, 401, 400, 404, 404, 405, 429]
    for response in responses:
        assert response.headers.get_list("Date") == [T0_DATE], response
        assert response.headers["content-type"] == "application/json"


def test_a_read_only_key_is_forbidden(
    api: AmendApi, exchange: Exchange, order_id: str, carol_key: TestKey
) -> None:
    viewer = TestKey("alice-viewer", carol_key.private_key)
    exchange.add_account(viewer.key_id, viewer.public_pem, account="alice", read_only=True)
    response = api.amend(order_id, BODY, key=viewer)
    assert response.status_code == 403
    assert error_code(response) == "forbidden"
