"""check-regen's spec edits (the whole regenerate-and-use run is `make check-regen` itself)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate

from tools import check_regen
from tools.check_regen import add_additions

SPEC: dict[str, Any] = yaml.safe_load((Path(__file__).resolve().parents[2] / "openapi.yaml").read_text())


def _edited(spec: dict[str, Any]) -> dict[str, Any]:
    # Through YAML text and back, as check-regen writes the copy's openapi.yaml.
    edited: dict[str, Any] = yaml.safe_load(
        yaml.safe_dump(add_additions(copy.deepcopy(spec)), sort_keys=False)
    )
    return edited


def test_the_edited_spec_is_valid_and_holds_each_addition() -> None:
    edited = _edited(SPEC)
    validate(edited)
    schemas = edited["components"]["schemas"]
    request = schemas[check_regen.REQUEST_MODEL]
    assert request["properties"][check_regen.REQUEST_FIELD]["type"] == "boolean"
    assert check_regen.REQUEST_FIELD not in request.get("required", [])
    for model in check_regen.RESPONSE_MODELS:
        assert schemas[model]["properties"][check_regen.RESPONSE_FIELD]["type"] == "string"
        assert check_regen.RESPONSE_FIELD not in schemas[model].get("required", [])
    assert schemas["OrderStatus"]["enum"][-1] == check_regen.ENUM_VALUE
    operation = edited["paths"][check_regen.NEW_PATH]["get"]
    assert operation["operationId"] == check_regen.NEW_OPERATION
    assert operation["security"] == edited["paths"]["/portfolio/orders/{order_id}"]["get"]["security"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema == {"$ref": f"#/components/schemas/{check_regen.NEW_MODEL}"}
    assert schemas[check_regen.NEW_MODEL]["required"] == [check_regen.NEW_MODEL_FIELD]
    # Nothing that was there before changed, apart from the one enum.
    before = copy.deepcopy(SPEC["components"]["schemas"])
    before["OrderStatus"]["enum"].append(check_regen.ENUM_VALUE)
    for name, schema in before.items():
        kept = copy.deepcopy(schemas[name])
        kept.get("properties", {}).pop(check_regen.REQUEST_FIELD, None)
        kept.get("properties", {}).pop(check_regen.RESPONSE_FIELD, None)
        assert kept == schema, name


@pytest.mark.parametrize(
    "status",
    [
        {"type": "string", "enum": ["resting", "canceled", "executed"]},
        {"anyOf": [{"$ref": "#/components/schemas/OrderStatus"}, {"type": "null"}]},
        {"allOf": [{"$ref": "#/components/schemas/OrderStatus"}], "description": "3.0 style"},
    ],
    ids=["inline", "anyOf-null", "allOf"],
)
def test_the_enum_is_found_whatever_the_spelling_of_the_status_property(status: dict[str, Any]) -> None:
    spec = copy.deepcopy(SPEC)
    spec["components"]["schemas"]["Order"]["properties"]["status"] = status
    edited = add_additions(spec)
    enum_holder = check_regen._enum_schema(
        edited["components"]["schemas"], edited["components"]["schemas"]["Order"]["properties"]["status"]
    )
    assert enum_holder["enum"] == ["resting", "canceled", "executed", check_regen.ENUM_VALUE]


def test_the_stub_order_fits_the_order_schema() -> None:
    edited = _edited(SPEC)
    schemas = edited["components"]["schemas"]
    order = check_regen._example(schemas["Order"], schemas)
    validator = OAS31Validator({**edited, "$ref": "#/components/schemas/Order"})
    assert [error.message for error in validator.iter_errors(order)] == []
