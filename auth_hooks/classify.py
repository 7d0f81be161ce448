"""How an answer, or its absence, is classified: the outcome classes by status and method.

Knows no operation: what a 200 of an operation must hold comes from that operation's
generated model, where :mod:`auth_hooks.call` parses it.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

import attrs
import httpx
from kalshi_trade_api.models import AmendOrderV2Response

from .errors import (
    NotSent,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    RequestOutcome,
    error_code_and_message,
    preview,
)
from .transports import never_sent

_IANA_STATUSES = frozenset(status.value for status in HTTPStatus)
# The statuses whose body the generated code parses as JSON (openapi.yaml's responses;
# a test keeps the two in step).
JSON_STATUSES = frozenset({200, 400, 401, 403, 404, 409, 429, 500, 503})
# What a 200 body must hold for the generated model to read it.
_REQUIRED_200_FIELDS = tuple(
    field.alias or field.name
    for field in attrs.fields(AmendOrderV2Response)
    if field.default is attrs.NOTHING and field.init
)
# The JSON types of the 200 fields (openapi.yaml's AmendOrderV2Response; a test keeps
# them in step). The generated model casts without checking: a 200 whose ts_ms is a
# string would come back as a model that lies about its types.
_200_FIELD_TYPES: dict[str, tuple[type, ...]] = {
    "order_id": (str,),
    "ts_ms": (int,),
    "client_order_id": (str,),
    "remaining_count": (str, type(None)),
    "fill_count": (str, type(None)),
    "average_fill_price": (str, type(None)),
    "average_fee_paid": (str, type(None)),
}

MAYBE_APPLIED = "the amend may have been applied; nothing was re-sent"


def outcome_for_status(status: int, body: bytes, *, reason: str | None = None) -> RequestOutcome:
    """The outcome class of an answer that is not a readable 200: 4xx rejected, else unknown."""
    try:
        code, message = error_code_and_message(body)
    except RecursionError:  # JSON nested too deep for the parser: not an error body we know
        code, message = None, preview(body)
    text = reason or f"HTTP {status} {code or '-'}: {message or preview(body) or '(empty body)'}"
    if status == 429:
        return RateLimited(text, status=status, body=body, code=code, message=message)
    if 400 <= status < 500:
        return Rejected(text, status=status, body=body, code=code, message=message)
    return OutcomeUnknown(f"{text} ({MAYBE_APPLIED})", status=status, body=body, code=code, message=message)


def outcome_for_transport_error(exc: httpx.HTTPError) -> RequestOutcome:
    """NotSent when the request cannot have left, OutcomeUnknown otherwise."""
    if never_sent(exc):
        return NotSent(f"not sent: {type(exc).__name__}: {exc}; safe to send again")
    return OutcomeUnknown(f"no answer: {type(exc).__name__}: {exc or 'connection lost'} ({MAYBE_APPLIED})")


def check_response(response: httpx.Response) -> None:
    """Raises the outcome class for a response the generated parser cannot take.

    Called with the body already read.
    """
    status = response.status_code
    if status not in _IANA_STATUSES:
        raise outcome_for_status(status, response.content)
    if status not in JSON_STATUSES:
        return  # the generated code does not parse these; amend_order classifies them
    try:
        data = json.loads(response.content)
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict):
        raise outcome_for_status(
            status,
            response.content,
            reason=f"HTTP {status} with a body that is not a JSON object: {preview(response.content)}",
        )
    if status == 200:
        problem = _unreadable_200(data)
        if problem:
            raise OutcomeUnknown(
                f"HTTP 200 {problem}: applied, but its result cannot be read; check the order",
                status=status,
                body=response.content,
            )


def _unreadable_200(data: dict[str, Any]) -> str | None:
    missing = [name for name in _REQUIRED_200_FIELDS if name not in data]
    if missing:
        return f"without {', '.join(missing)}"
    wrong = [
        name
        for name, types in _200_FIELD_TYPES.items()
        if name in data and (not isinstance(data[name], types) or isinstance(data[name], bool))
    ]
    if wrong:
        return "with " + ", ".join(f"{name} of JSON type {type(data[name]).__name__}" for name in wrong)
    return None


def read_and_check(response: httpx.Response) -> None:
    response.read()
    check_response(response)


async def aread_and_check(response: httpx.Response) -> None:
    await response.aread()
    check_response(response)
