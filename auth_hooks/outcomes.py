"""Every amend ends in a result or in exactly one of three outcome classes.

:func:`amend_order` / :func:`amend_order_async` wrap the generated
``amend_order_v2`` call: they return the parsed ``AmendOrderV2Response`` on 200 and
raise :class:`~auth_hooks.errors.NotSent`, :class:`~auth_hooks.errors.Rejected`
(:class:`~auth_hooks.errors.RateLimited` for 429) or
:class:`~auth_hooks.errors.OutcomeUnknown` otherwise. Nothing that may have reached
the exchange is ever sent again by this module; only a connection that was never
made is retried (by the transport, a bounded number of times).

:func:`check_response` runs as an httpx response hook in every client
:func:`~auth_hooks.make_client` builds, so that calling the generated functions
directly cannot crash on what the generated parser does not expect (a status outside
the IANA list such as Cloudflare's 520, an HTML page, truncated JSON, a 200 without
its required fields): such responses raise the outcome class instead.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from http import HTTPStatus

import attrs
import httpx
from kalshi_trade_api.api.orders import amend_order_v2
from kalshi_trade_api.client import AuthenticatedClient
from kalshi_trade_api.models import AmendOrderV2Request, AmendOrderV2Response, ErrorResponse
from kalshi_trade_api.types import UNSET, Response, Unset

from .errors import (
    NotSent,
    OutcomeUnknown,
    RateLimited,
    Rejected,
    RequestOutcome,
    error_code_and_message,
    preview,
)

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

# Transport errors raised before any byte of the request could have left.
_NEVER_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
)


MAYBE_APPLIED = "the amend may have been applied; nothing was re-sent"


def outcome_for_status(status: int, body: bytes, *, reason: str | None = None) -> RequestOutcome:
    """The outcome class of an answer that is not a readable 200: 4xx rejected, else unknown."""
    code, message = error_code_and_message(body)
    text = reason or f"HTTP {status} {code or '-'}: {message or preview(body) or '(empty body)'}"
    if status == 429:
        return RateLimited(text, status=status, body=body, code=code, message=message)
    if 400 <= status < 500:
        return Rejected(text, status=status, body=body, code=code, message=message)
    return OutcomeUnknown(f"{text} ({MAYBE_APPLIED})", status=status, body=body, code=code, message=message)


def outcome_for_transport_error(exc: httpx.HTTPError) -> RequestOutcome:
    """NotSent when the request cannot have left, OutcomeUnknown otherwise."""
    if isinstance(exc, _NEVER_SENT) and not _lost_after_connect(exc):
        return NotSent(f"not sent: {type(exc).__name__}: {exc}; safe to send again")
    return OutcomeUnknown(f"no answer: {type(exc).__name__}: {exc or 'connection lost'} ({MAYBE_APPLIED})")


def _lost_after_connect(exc: httpx.HTTPError) -> bool:
    # httpx-aiohttp maps every aiohttp.ClientConnectionError, including a server that
    # drops the connection after reading the request, to httpx.ConnectTimeout. Only
    # aiohttp's own connector errors really mean "never connected".
    cause = exc.__cause__
    if cause is None or not type(cause).__module__.startswith("aiohttp"):
        return False
    import aiohttp  # only reached when aiohttp raised, so it is installed

    return not isinstance(cause, aiohttp.ClientConnectorError)


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
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise outcome_for_status(
            status,
            response.content,
            reason=f"HTTP {status} with a body that is not a JSON object: {preview(response.content)}",
        )
    if status == 200:
        missing = [name for name in _REQUIRED_200_FIELDS if name not in data]
        if missing:
            raise OutcomeUnknown(
                f"HTTP 200 without {', '.join(missing)}: applied, but its result cannot be read; check the order",
                status=status,
                body=response.content,
            )


def amend_order(
    client: AuthenticatedClient,
    order_id: str,
    body: AmendOrderV2Request,
    *,
    subaccount: int | Unset = UNSET,
) -> AmendOrderV2Response:
    """Amends a resting order; returns the exchange's result or raises an outcome class."""
    return amend_order_detailed(client, order_id, body, subaccount=subaccount).parsed


def amend_order_detailed(
    client: AuthenticatedClient,
    order_id: str,
    body: AmendOrderV2Request,
    *,
    subaccount: int | Unset = UNSET,
) -> AppliedResponse:
    """Like :func:`amend_order`, but returns the whole 200 response (raw ``content``, headers)."""
    try:
        response = amend_order_v2.sync_detailed(order_id, client=client, body=body, subaccount=subaccount)
    except BaseException as exc:
        raise _classified(exc, order_id, body) from exc
    return _applied(response, order_id, body)


async def amend_order_async(
    client: AuthenticatedClient,
    order_id: str,
    body: AmendOrderV2Request,
    *,
    subaccount: int | Unset = UNSET,
) -> AmendOrderV2Response:
    """The async twin of :func:`amend_order`, on the same client object."""
    try:
        response = await amend_order_v2.asyncio_detailed(
            order_id, client=client, body=body, subaccount=subaccount
        )
    except BaseException as exc:
        raise _classified(exc, order_id, body) from exc
    return _applied(response, order_id, body).parsed


def _classified(exc: BaseException, order_id: str, body: AmendOrderV2Request) -> BaseException:
    if isinstance(exc, RequestOutcome):
        outcome = exc
    elif isinstance(exc, httpx.HTTPError):
        outcome = outcome_for_transport_error(exc)
    elif isinstance(exc, KeyError | TypeError | ValueError | AttributeError):
        # The generated model could not read an answer check_response let through.
        outcome = OutcomeUnknown(
            f"the exchange's answer could not be read ({type(exc).__name__}); check the order"
        )
    else:
        return exc  # KeyboardInterrupt, CancelledError, ...: not ours to classify
    return _with_order(outcome, order_id, body)


@attrs.frozen
class AppliedResponse:
    """An applied amend: the parsed result, and the body exactly as the exchange sent it."""

    status_code: int
    content: bytes
    headers: Mapping[str, str]
    parsed: AmendOrderV2Response


def _applied(
    response: Response[AmendOrderV2Response | ErrorResponse], order_id: str, body: AmendOrderV2Request
) -> AppliedResponse:
    parsed = response.parsed
    if isinstance(parsed, AmendOrderV2Response):
        return AppliedResponse(int(response.status_code), response.content, response.headers, parsed)
    raise _with_order(outcome_for_status(int(response.status_code), response.content), order_id, body)


def _with_order(outcome: RequestOutcome, order_id: str, body: AmendOrderV2Request) -> RequestOutcome:
    outcome.order_id = order_id
    if isinstance(body.updated_client_order_id, str):
        outcome.updated_client_order_id = body.updated_client_order_id
    return outcome
