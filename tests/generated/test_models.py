"""What the generated models do with the bodies the real API sends."""

from __future__ import annotations

import json
from typing import Any

import pytest
from kalshi_trade_api.models import (
    AmendOrderV2Request,
    AmendOrderV2Response,
    BookSide,
    ErrorDetail,
    ErrorResponse,
)
from kalshi_trade_api.types import UNSET

from auth_hooks import error_code_and_message

SEED_200 = {
    "order_id": "3b23c1c7-f4ef-4f0d-8b9a-9e53c61f1a0d",
    "ts_ms": 1715793690123,
    "client_order_id": "2a0e3fc9-b593-4aa3-96e5-82f7f7566c2a",
    "remaining_count": "10.00",
    "fill_count": "10.00",
    "average_fill_price": "0.5600",
    "average_fee_paid": "0.5600",
}
NULLABLE = ("remaining_count", "fill_count", "average_fill_price", "average_fee_paid")


def test_seed_page_response_parses_and_round_trips() -> None:
    parsed = AmendOrderV2Response.from_dict(SEED_200)
    assert parsed.order_id == SEED_200["order_id"]
    assert parsed.ts_ms == 1715793690123
    assert parsed.average_fill_price == "0.5600"
    assert parsed.to_dict() == SEED_200


@pytest.mark.parametrize("field", NULLABLE)
@pytest.mark.parametrize("state", ["absent", "null", "value"])
def test_absent_null_and_value_stay_three_different_things(field: str, state: str) -> None:
    body: dict[str, Any] = {"order_id": "o", "ts_ms": 1}
    if state == "null":
        body[field] = None
    elif state == "value":
        body[field] = "0.017500"
    parsed = AmendOrderV2Response.from_dict(body)
    expected = {"absent": UNSET, "null": None, "value": "0.017500"}[state]
    assert getattr(parsed, field) is expected or getattr(parsed, field) == expected
    assert parsed.to_dict() == body  # key presence survives the round trip


def test_unknown_fields_are_kept_not_fatal() -> None:
    body = {**SEED_200, "queue_position": 3, "new_field": {"nested": True}}
    parsed = AmendOrderV2Response.from_dict(body)
    assert parsed.additional_properties == {"queue_position": 3, "new_field": {"nested": True}}
    assert parsed.to_dict() == body


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (
            {"error": {"code": "not_found", "message": "order not found", "details": "", "service": "oms"}},
            "not_found",
            "order not found",
        ),
        (
            {
                "error": {
                    "code": "authentication_error",
                    "message": "bad signature",
                    "details": "INCORRECT_API_KEY_SIGNATURE",
                }
            },
            "authentication_error",
            "bad signature (INCORRECT_API_KEY_SIGNATURE)",
        ),
        ({"code": "bad_request", "message": "invalid character 'x'"}, "bad_request", "invalid character 'x'"),
        ({"msg": "subaccount must be between 0 and 63"}, None, "subaccount must be between 0 and 63"),
        ({"error": "too many requests"}, None, "too many requests"),
    ],
    ids=["nested", "nested-details", "flat", "msg", "rate-limit"],
)
def test_every_error_shape_parses_with_code_and_message_readable(
    body: dict[str, Any], code: str | None, message: str
) -> None:
    parsed = ErrorResponse.from_dict(body)
    assert parsed.to_dict() == body
    if isinstance(body.get("error"), dict):
        assert isinstance(parsed.error, ErrorDetail)
        assert parsed.error.code == code
    elif "error" in body:
        assert parsed.error == "too many requests"
    assert error_code_and_message(json.dumps(body).encode()) == (code, message)


def test_error_body_with_extra_fields_keeps_them() -> None:
    parsed = ErrorResponse.from_dict(
        {"error": {"code": "x", "message": "y", "trace": "t"}, "request_id": "r"}
    )
    assert parsed.additional_properties == {"request_id": "r"}
    assert isinstance(parsed.error, ErrorDetail)
    assert parsed.error.additional_properties == {"trace": "t"}


def test_non_json_error_body_gives_a_readable_message() -> None:
    code, message = error_code_and_message(b"<html><body><h1>502 Bad Gateway</h1></body></html>")
    assert code is None
    assert message == "<html><body><h1>502 Bad Gateway</h1></body></html>"


def test_request_omits_every_optional_field_unless_set() -> None:
    body = AmendOrderV2Request(ticker="T", side=BookSide.BID, price="0.5600", count="10.00")
    assert body.to_dict() == {"ticker": "T", "side": "bid", "price": "0.5600", "count": "10.00"}


def test_request_sends_optional_fields_when_set_including_exchange_index_zero() -> None:
    body = AmendOrderV2Request(
        ticker="T",
        side=BookSide.ASK,
        price="0.56",
        count="10",
        client_order_id="a",
        updated_client_order_id="b",
        exchange_index=0,
        expiration_time=0,
    )
    wire = json.loads(json.dumps(body.to_dict()))
    assert wire == {
        "ticker": "T",
        "side": "ask",
        "price": "0.56",
        "count": "10",
        "client_order_id": "a",
        "updated_client_order_id": "b",
        "exchange_index": 0,
        "expiration_time": 0,
    }
    assert isinstance(wire["price"], str)
    assert isinstance(wire["count"], str)
