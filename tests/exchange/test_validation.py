"""The exchange and openapi.yaml cannot drift: requests and responses are checked with
openapi-core against the spec itself."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.datastructures import Headers, QueryParams

from local_exchange import Exchange, serve
from local_exchange import app as app_module
from local_exchange.validation import (
    DEFAULT_SPEC_PATH,
    ProblemKind,
    SpecRequest,
    SpecResponse,
    SpecValidator,
    integer_body_fields,
    load_spec,
)

from .conftest import MARKET
from .support import AmendApi, TestKey

PATH = "/trade-api/v2/portfolio/events/orders/abc/amend"
SIGNED = {"KALSHI-ACCESS-KEY": "k", "KALSHI-ACCESS-TIMESTAMP": "1", "KALSHI-ACCESS-SIGNATURE": "s"}


@pytest.fixture(scope="module")
def validator() -> SpecValidator:
    return SpecValidator()


def spec_request(body: Any, query: str = "") -> SpecRequest:
    return SpecRequest.build(
        method="POST",
        raw_path=PATH,
        query=QueryParams(query),
        headers=Headers(SIGNED),
        content_type="application/json",
        body=json.dumps(body).encode(),
    )


def check_body(validator: SpecValidator, **fields: Any) -> str | None:
    body = {"ticker": "T", "side": "bid", "price": "0.56", "count": "10", **fields}
    problem = validator.check_request(spec_request(body))
    return None if problem is None else problem.message


def test_the_spec_is_loaded_once() -> None:
    assert load_spec(DEFAULT_SPEC_PATH) is load_spec(DEFAULT_SPEC_PATH)


def test_sibling_patterns_next_to_ref_are_applied(validator: SpecValidator) -> None:
    # FixedPointDollars allows 1-6 decimals and a sign; the request's own sibling
    # `pattern` (OpenAPI 3.1: both apply) narrows price to 2-4 decimals, unsigned.
    for price in ("0.5", "0.56789", "-0.56"):
        problem = check_body(validator, price=price)
        assert problem is not None
        assert "[0-9]{2,4}" in problem
    for price in ("0.56", "0.5600"):
        assert check_body(validator, price=price) is None
    # Count: FixedPointCount allows a sign; the sibling pattern does not.
    problem = check_body(validator, count="-1")
    assert problem is not None
    assert "count" in problem


def test_query_problems_are_told_apart(validator: SpecValidator) -> None:
    body = {"ticker": "T", "side": "bid", "price": "0.56", "count": "10"}
    problem = validator.check_request(spec_request(body, "subaccount=64"))
    assert problem is not None
    assert problem.kind is ProblemKind.QUERY
    assert problem.message == "subaccount: 64 is greater than the maximum of 63"


def test_the_specs_own_response_examples_are_valid(validator: SpecValidator) -> None:
    spec = load_spec(DEFAULT_SPEC_PATH).spec
    operation = spec / "paths" / "/portfolio/events/orders/{order_id}/amend" / "post"
    examples = operation / "responses" / "200" / "content" / "application/json" / "examples"
    request = spec_request({"ticker": "T", "side": "bid", "price": "0.56", "count": "10"})
    for name, example in examples.items():
        data = json.dumps(example.read_value()["value"]).encode()
        response = SpecResponse(200, "application/json", {}, data)
        assert validator.check_response(request, response) is None, name


@pytest.mark.parametrize(
    "bad",
    [
        {"order_id": "x"},  # ts_ms missing
        {"order_id": "x", "ts_ms": "1"},
        {"order_id": "x", "ts_ms": 1, "fill_count": 3},
        {"order_id": "x", "ts_ms": 1, "average_fill_price": "0.5600000"},  # 7 decimals
    ],
)
def test_bad_responses_are_caught(validator: SpecValidator, bad: dict[str, Any]) -> None:
    request = spec_request({"ticker": "T", "side": "bid", "price": "0.56", "count": "10"})
    response = SpecResponse(200, "application/json", {}, json.dumps(bad).encode())
    assert validator.check_response(request, response) is not None


@pytest.fixture
def broken_render(monkeypatch: pytest.MonkeyPatch) -> None:
    """Makes the exchange answer a 200 that breaks the spec (ts_ms as a string)."""

    def render(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return {"order_id": "x", "ts_ms": "not an integer"}

    monkeypatch.setattr(app_module, "render_amend", render)


@pytest.fixture
def order_id(exchange: Exchange) -> str:
    return exchange.place_order("alice", MARKET, "bid", "0.40", "10")


BODY = {"ticker": MARKET, "side": "bid", "price": "0.40", "count": "9"}


@pytest.fixture
def own_server_api(exchange: Exchange, request: pytest.FixtureRequest) -> Iterator[AmendApi]:
    """A server outside the `server` fixture, which would fail on the recorded error."""
    strict = request.param
    with serve(exchange, strict_responses=strict) as running, httpx.Client() as client:
        yield AmendApi(running, client)


@pytest.mark.usefixtures("broken_render")
@pytest.mark.parametrize("own_server_api", [True], indirect=True)
def test_a_response_that_breaks_the_spec_is_a_loud_500(
    own_server_api: AmendApi, exchange: Exchange, order_id: str, alice_key: TestKey
) -> None:
    response = own_server_api.amend(order_id, BODY, key=alice_key)
    assert response.status_code == 500
    assert "breaks openapi.yaml" in response.json()["error"]["message"]
    (recorded,) = exchange.server_errors
    assert "ts_ms" in recorded


@pytest.mark.usefixtures("broken_render")
@pytest.mark.parametrize("own_server_api", [False], indirect=True)
def test_without_strict_responses_the_bad_response_is_sent_but_recorded(
    own_server_api: AmendApi, exchange: Exchange, order_id: str, alice_key: TestKey
) -> None:
    response = own_server_api.amend(order_id, BODY, key=alice_key)
    assert response.status_code == 200
    assert response.json()["ts_ms"] == "not an integer"
    assert len(exchange.server_errors) == 1


def test_the_spec_is_read_from_inside_the_package() -> None:
    # An installed local_exchange has no repository around it: its spec ships inside.
    import local_exchange

    package_dir = Path(local_exchange.__file__).resolve().parent
    assert DEFAULT_SPEC_PATH.parent == package_dir
    repository_spec = package_dir.parent / "openapi.yaml"
    assert DEFAULT_SPEC_PATH.read_bytes() == repository_spec.read_bytes()  # the one spec, not a copy


def test_the_integer_fields_held_to_json_integers_come_from_the_spec() -> None:
    # Not a copy of the spec in the exchange: an integer field added there is covered too.
    assert integer_body_fields("AmendOrderV2") == {"exchange_index", "expiration_time"}
    assert integer_body_fields("GetOrder") == frozenset()
