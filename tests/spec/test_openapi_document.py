"""openapi.yaml is a valid OpenAPI 3.1 document whose examples match their own schemas,
and what the handwritten code hard-codes from it stays in step with it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from auth_hooks import ENVIRONMENTS

SPEC_PATH = Path(__file__).resolve().parents[2] / "openapi.yaml"
SPEC: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text())
OPERATION = SPEC["paths"]["/portfolio/events/orders/{order_id}/amend"]["post"]


def test_document_is_valid_openapi_3_1() -> None:
    assert SPEC["openapi"].startswith("3.1")
    validate(SPEC)


def _validator_for(ref: str) -> OAS31Validator:
    # The whole document as the root resource, so "#/components/..." refs resolve.
    return OAS31Validator({**SPEC, "$ref": ref})


def _examples() -> Iterator[tuple[str, str, Any]]:
    """(where, schema ref, example value) for every example in the document."""
    for name, schema in SPEC["components"]["schemas"].items():
        for index, example in enumerate(schema.get("examples", [])):
            yield f"schemas.{name}[{index}]", f"#/components/schemas/{name}", example
    media = OPERATION["requestBody"]["content"]["application/json"]
    for name, example in media.get("examples", {}).items():
        yield f"requestBody.{name}", media["schema"]["$ref"], example["value"]
    for status, response in OPERATION["responses"].items():
        if "$ref" in response:
            response = SPEC["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
        media = response["content"]["application/json"]
        for name, example in media.get("examples", {}).items():
            yield f"responses.{status}.{name}", media["schema"]["$ref"], example["value"]


EXAMPLES = list(_examples())


def test_every_schema_and_response_has_examples() -> None:
    places = {where.split(".")[0] for where, _, _ in EXAMPLES}
    assert places == {"schemas", "requestBody", "responses"}
    assert len(EXAMPLES) >= 15


@pytest.mark.parametrize(("where", "ref", "example"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_example_matches_its_schema(where: str, ref: str, example: Any) -> None:
    errors = [error.message for error in _validator_for(ref).iter_errors(example)]
    assert errors == [], where


@pytest.mark.parametrize(
    ("ref", "value", "valid"),
    [
        # Requests: price 2-4 decimals, count 0-2 decimals, strings only.
        ("#/components/schemas/AmendOrderV2Request", {"price": "0.56"}, True),
        ("#/components/schemas/AmendOrderV2Request", {"price": "0.5600"}, True),
        ("#/components/schemas/AmendOrderV2Request", {"price": "0.5"}, False),
        ("#/components/schemas/AmendOrderV2Request", {"price": "0.56001"}, False),
        ("#/components/schemas/AmendOrderV2Request", {"price": 0.56}, False),
        ("#/components/schemas/AmendOrderV2Request", {"count": "10"}, True),
        ("#/components/schemas/AmendOrderV2Request", {"count": "10.5"}, True),
        ("#/components/schemas/AmendOrderV2Request", {"count": "10.001"}, False),
        ("#/components/schemas/AmendOrderV2Request", {"count": "1E+1"}, False),
        ("#/components/schemas/AmendOrderV2Request", {"ticker": ""}, False),
        ("#/components/schemas/AmendOrderV2Request", {"side": "buy"}, False),
        ("#/components/schemas/AmendOrderV2Request", {"expiration_time": -1}, False),
        # Responses: prices up to 6 decimals, nullable counts.
        ("#/components/schemas/AmendOrderV2Response", {"average_fee_paid": "0.017500"}, True),
        ("#/components/schemas/AmendOrderV2Response", {"remaining_count": None}, True),
        ("#/components/schemas/AmendOrderV2Response", {"ts_ms": "123"}, False),
    ],
)
def test_fixed_point_and_field_rules(ref: str, value: dict[str, Any], valid: bool) -> None:
    base: dict[str, Any] = (
        {"ticker": "T", "side": "bid", "price": "0.56", "count": "10"}
        if ref.endswith("Request")
        else {"order_id": "o", "ts_ms": 1}
    )
    errors = list(_validator_for(ref).iter_errors({**base, **value}))
    assert (errors == []) is valid, [e.message for e in errors]


def test_servers_are_the_four_hosts_production_first() -> None:
    urls = [server["url"] for server in SPEC["servers"]]
    assert urls == [
        "https://external-api.kalshi.com/trade-api/v2",
        "https://api.elections.kalshi.com/trade-api/v2",
        "https://external-api.demo.kalshi.co/trade-api/v2",
        "https://demo-api.kalshi.co/trade-api/v2",
    ]
    assert {"prod": urls[0], "demo": urls[2]} == ENVIRONMENTS


def test_security_requires_all_three_headers_together() -> None:
    assert OPERATION["security"] == [
        {"kalshiAccessKey": [], "kalshiAccessSignature": [], "kalshiAccessTimestamp": []}
    ]
    schemes = SPEC["components"]["securitySchemes"]
    assert {s["name"] for s in schemes.values()} == {
        "KALSHI-ACCESS-KEY",
        "KALSHI-ACCESS-SIGNATURE",
        "KALSHI-ACCESS-TIMESTAMP",
    }


def test_every_operation_is_signed_and_lists_its_statuses() -> None:
    # Every operation of ours is signed like amend, and documents what it answers.
    for path, methods in SPEC["paths"].items():
        for method, operation in methods.items():
            assert operation["security"] == OPERATION["security"], (method, path)
            assert {"200", "401", "404", "500"} <= set(operation["responses"]), (method, path)


def test_exchange_index_has_no_default() -> None:
    # An omitted index lets the exchange route by ticker; a default would be sent.
    schema = SPEC["components"]["schemas"]["AmendOrderV2Request"]["properties"]["exchange_index"]
    assert "default" not in schema
