"""The local exchange fuzzed against openapi.yaml, WITH signing (schemathesis 4).

Schemathesis generates requests from the spec (valid ones and ones that break it);
each is signed by KalshiAuth exactly as it goes on the wire, sent to the exchange on
loopback, and its answer checked against the spec: a documented status, the declared
content type, a body valid for that status' schema, no 5xx, and schema-breaking input
refused with a 4xx. Some examples are "grounded" on a real resting order of a real
market, so the fuzz also reaches 200s, fills and 409s, not only 401/404.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeAlias

import httpx
import pytest
import schemathesis
from cryptography.hazmat.primitives.asymmetric import ed25519
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.parameters import ParameterLocation
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from auth_hooks import KalshiAuth
from local_exchange import Exchange, RunningServer, serve
from local_exchange.app import modelled_amend_fields

SPEC = Path(__file__).resolve().parents[2] / "openapi.yaml"
KEY_ID = "fuzz-key"
KEY = ed25519.Ed25519PrivateKey.generate()
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]

# Signed tests: KalshiAuth sets the three KALSHI-ACCESS-* headers, so schemathesis must
# not generate them (a "negative" case that drops them would be signed back to valid).
signed = schemathesis.openapi.from_path(SPEC)
signed.config.generation.update(with_security_parameters=False)
# @given (grounding) cannot be combined with the spec's examples: that test fuzzes only.
fuzz_only = schemathesis.openapi.from_path(SPEC)
fuzz_only.config.generation.update(with_security_parameters=False)
fuzz_only.config.phases.update(phases=["fuzzing"])
# Unsigned: the KALSHI-ACCESS-* headers are whatever schemathesis makes of the spec.
unsigned = schemathesis.openapi.from_path(SPEC)
AnyCase: TypeAlias = schemathesis.Case[Any]
_ids = itertools.count()
MAKER = "maker"


@pytest.fixture(scope="module")
def exchange_server() -> Iterator[RunningServer]:
    # A bucket that never runs dry: the fuzz should reach validation and matching,
    # not be answered 429 after 20 requests.
    exchange = Exchange(write_bucket_size=1e12, write_refill_per_s=1e12)
    exchange.add_account(
        KEY_ID, KEY.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    )
    maker_key = ed25519.Ed25519PrivateKey.generate().public_key()
    exchange.add_account(MAKER, maker_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    with serve(exchange) as server:
        yield server
    assert exchange.server_errors == [], "the exchange recorded responses that break the spec"


@pytest.fixture(scope="module")
def signed_client(exchange_server: RunningServer) -> Iterator[httpx.Client]:
    auth = KalshiAuth(KEY_ID, KEY)
    with httpx.Client(auth=auth, timeout=10.0) as client:
        yield client


grounding = st.fixed_dictionaries(
    {
        "side": st.sampled_from(["bid", "ask"]),
        "count": st.integers(1, 50),
        "maker_bid": st.integers(1, 98),
        "maker_spread": st.integers(1, 20),
        "new_price": st.integers(1, 99).map(lambda c: f"0.{c:02d}00"),
        "new_count": st.integers(0, 60).map(lambda n: f"{n}.00"),
        "reuse_client_order_id": st.booleans(),
        "client_order_id": st.booleans(),
        "subaccount_zero": st.booleans(),
        # Valid values or absent (the fuzzed random ones would mostly be refused with 400).
        "exchange_index": st.sampled_from([None, 0, -1]),
        "expiration_time": st.sampled_from([None, 0, 4_102_444_800]),  # 2100-01-01
    }
)


def ground(case: AnyCase, exchange: Exchange, g: dict[str, Any]) -> None:
    """Points the case at a fresh resting order of ours in a fresh market, with another
    account's bid and ask to trade against.

    Only components generated valid are touched: the component a negative case broke
    on purpose stays broken, so "refused with a 4xx" still means something.
    """
    n = next(_ids)
    ticker, client_order_id = f"KXFUZZ-{n}", f"fuzz-{n}"
    exchange.add_market(ticker)
    bid = g["maker_bid"]
    ask = min(99, bid + g["maker_spread"])
    exchange.place_order(MAKER, ticker, "bid", Decimal(bid).scaleb(-2), Decimal(20))
    if ask > bid:
        exchange.place_order(MAKER, ticker, "ask", Decimal(ask).scaleb(-2), Decimal(20))
    # Ours joins the maker's price on its side, so it rests; the amend may then cross.
    price = bid if g["side"] == "bid" or ask == bid else ask
    order_id = exchange.place_order(
        KEY_ID,
        ticker,
        g["side"],
        Decimal(price).scaleb(-2),
        Decimal(g["count"]),
        client_order_id=client_order_id,
    )

    def valid(location: ParameterLocation) -> bool:
        return case.meta is None or not case.meta.is_negative_at(location)

    if valid(ParameterLocation.PATH):
        case.path_parameters = {**(case.path_parameters or {}), "order_id": order_id}
    if valid(ParameterLocation.QUERY):
        # The order lives in subaccount 0: another one would not find it (404).
        case.query = {"subaccount": 0} if g["subaccount_zero"] else {}
    if valid(ParameterLocation.BODY) and isinstance(case.body, dict):
        # Extra properties (which the spec allows) are refused by the exchange rather
        # than ignored, as it does not model them (tests/exchange checks that): grounding
        # aims past that, at matching.
        kept = set(modelled_amend_fields()) - {"exchange_index", "expiration_time"}
        body = {k: v for k, v in case.body.items() if k in kept}
        body.update({k: g[k] for k in ("exchange_index", "expiration_time") if g[k] is not None})
        body.update(
            ticker=ticker,
            side=g["side"],
            price=g["new_price"],
            count=g["new_count"],
            # Reusing the order's own id asks for a 409 (client order ids are permanent).
            updated_client_order_id=client_order_id if g["reuse_client_order_id"] else f"fuzz-{n}-new",
        )
        if g["client_order_id"]:
            body["client_order_id"] = client_order_id  # the current one (another gives 400)
        else:
            body.pop("client_order_id", None)
        case.body = body


def send(
    client: httpx.Client, case: AnyCase, base_url: str, *, keep_auth: bool = False
) -> httpx.Response | None:
    """Sends the case as schemathesis serialises it (headers, query, body bytes)."""
    kwargs = case.as_transport_kwargs(base_url=base_url)
    headers = {
        k: v for k, v in kwargs["headers"].items() if keep_auth or not k.upper().startswith("KALSHI-ACCESS")
    }
    content = kwargs.get("data")
    if "json" in kwargs:  # any JSON value, null and NaN included
        content = json.dumps(kwargs["json"]).encode()
    try:
        return client.request(
            kwargs["method"], kwargs["url"], headers=headers, params=kwargs.get("params"), content=content
        )
    except (httpx.LocalProtocolError, httpx.InvalidURL, UnicodeEncodeError):
        return None  # a header or URL no HTTP client would send: nothing to check


@signed.parametrize()
@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
def test_signed_examples_and_edge_cases_get_spec_valid_answers(
    case: AnyCase, exchange_server: RunningServer, signed_client: httpx.Client
) -> None:
    # The spec's own examples, schemathesis' boundary cases, then random ones, all signed.
    response = send(signed_client, case, exchange_server.base_url)
    if response is not None:
        case.validate_response(response, checks=CHECKS)


@fuzz_only.parametrize()
@fuzz_only.given(g=grounding, grounded=st.booleans())
@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
def test_signed_fuzzed_amends_of_real_orders_get_spec_valid_answers(
    case: AnyCase,
    g: dict[str, Any],
    grounded: bool,
    exchange_server: RunningServer,
    signed_client: httpx.Client,
) -> None:
    if grounded:
        ground(case, exchange_server.exchange, g)
    response = send(signed_client, case, exchange_server.base_url)
    if response is not None:
        case.validate_response(response, checks=CHECKS)


@unsigned.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_unsigned_or_badly_signed_requests_get_a_spec_valid_401(
    case: AnyCase, exchange_server: RunningServer
) -> None:
    # Schemathesis fills the KALSHI-ACCESS-* headers with whatever the spec allows: the
    # exchange must refuse them with a documented 4xx, never a 5xx.
    with httpx.Client(timeout=10.0) as client:
        response = send(client, case, exchange_server.base_url, keep_auth=True)
    if response is not None:
        case.validate_response(response, checks=[c for c in CHECKS if c is not negative_data_rejection])
        assert 400 <= response.status_code < 500


CROSSING = {
    "side": "bid",
    "count": 5,
    "maker_bid": 40,
    "maker_spread": 2,  # the maker asks 0.42
    "new_price": "0.4200",
    "new_count": "5.00",
    "reuse_client_order_id": False,
    "client_order_id": True,
    "subaccount_zero": True,
    "exchange_index": None,
    "expiration_time": None,
}


@pytest.mark.parametrize(
    ("g", "status"),
    [(CROSSING, 200), (CROSSING | {"reuse_client_order_id": True}, 409)],
    ids=["crossing", "client-order-id-reused"],
)
def test_grounded_explicit_amends_get_spec_valid_answers(
    exchange_server: RunningServer, signed_client: httpx.Client, g: dict[str, Any], status: int
) -> None:
    # The fuzz above reaches fills and 409s only by chance; these explicit cases make
    # sure those answers are checked against the spec on every run.
    case = signed["/portfolio/events/orders/{order_id}/amend"]["POST"].Case(
        path_parameters={"order_id": "grounded below"},
        body={"ticker": "x", "side": "bid", "price": "0.01", "count": "1"},
        media_type="application/json",
    )
    exchange = exchange_server.exchange
    ground(case, exchange, g)
    response = send(signed_client, case, exchange_server.base_url)
    assert response is not None
    case.validate_response(response, checks=CHECKS)
    assert response.status_code == status, response.text
    if status == 200:
        assert response.json()["fill_count"] == "5.00"
        assert exchange.fills(order_id=response.json()["order_id"])


def test_the_fuzz_reached_every_kind_of_answer(exchange_server: RunningServer) -> None:
    # Runs last: the fuzz above must have got past the signature and the order lookup
    # to validation, matching and the client order id rule, not only 401s and 404s.
    statuses = {record.status for record in exchange_server.exchange.requests}
    if len(exchange_server.exchange.requests) < 100:
        pytest.skip("the fuzz tests above did not run (selected alone)")
    assert {200, 400, 401, 404, 409} <= statuses
    assert exchange_server.exchange.fills()  # some amends crossed the book and filled
