"""The Starlette application: Amend Order (V2) under /trade-api/v2, admin views under /_admin.

Request flow of an amend, in Kalshi's order: signature (401), key permission (403),
write token bucket (429), JSON decoding (400, flat body), spec validation (400), then
the exchange itself (404/503/409/400/200). Every response of the endpoint is checked
against the spec before it leaves.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from decimal import Decimal
from email.utils import formatdate
from pathlib import Path
from typing import Any, NoReturn

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .auth import KEY_HEADER, SIGNATURE_HEADER, authenticate
from .engine import AmendRequest, AmendResult, Order, Side
from .errors import (
    RATE_LIMITED_BODY,
    AuthenticationFailed,
    ExchangeError,
    Forbidden,
    InternalError,
    JsonBody,
    NotFound,
    bare_error,
    flat_error,
    nested_error,
)
from .exchange import Exchange, RequestRecord
from .money import format_count, format_dollars
from .validation import DEFAULT_SPEC_PATH, ProblemKind, SpecRequest, SpecResponse, SpecValidator

API_PREFIX = "/trade-api/v2"
AMEND_ROUTE = API_PREFIX + "/portfolio/events/orders/{order_id:path}/amend"

logger = logging.getLogger("local_exchange")


def create_app(
    exchange: Exchange, *, strict_responses: bool = True, spec_path: Path = DEFAULT_SPEC_PATH
) -> ASGIApp:
    """The ASGI app serving `exchange`.

    `strict_responses`: a response that breaks the spec becomes a 500 (and is recorded in
    `exchange.server_errors`); otherwise it is only recorded and logged.
    """
    amend_endpoint = _AmendEndpoint(exchange, SpecValidator(spec_path), strict_responses)

    async def admin_book(request: Request) -> Response:
        try:
            book = exchange.book(request.path_params["ticker"])
        except KeyError:
            raise NotFound("no such market") from None
        return JSONResponse(
            {
                "ticker": book.ticker,
                "paused": book.paused,
                "bids": [_order_json(o) for o in book.bids],
                "asks": [_order_json(o) for o in book.asks],
            }
        )

    async def admin_order(request: Request) -> Response:
        try:
            order = exchange.order(request.path_params["order_id"])
        except KeyError:
            raise NotFound("no such order") from None
        return JSONResponse(_order_json(order))

    starlette = Starlette(
        routes=[
            Route(AMEND_ROUTE, amend_endpoint.endpoint, methods=["POST"]),
            Route("/_admin/book/{ticker}", admin_book, methods=["GET"]),
            Route("/_admin/orders/{order_id}", admin_order, methods=["GET"]),
        ],
        exception_handlers={
            HTTPException: _http_exception,
            ExchangeError: _exchange_error,
            Exception: _unhandled,
        },
    )
    return _Outermost(starlette, exchange)


class _AmendEndpoint:
    def __init__(self, exchange: Exchange, validator: SpecValidator, strict: bool) -> None:
        self._exchange = exchange
        self._validator = validator
        self._strict = strict

    async def endpoint(self, request: Request) -> Response:
        raw_path: bytes = request.scope["raw_path"]
        body = await request.body()
        spec_request = SpecRequest.build(
            method="POST",
            raw_path=raw_path.decode("latin-1"),
            query=request.query_params,
            headers=request.headers,
            content_type=request.headers.get("content-type", "application/octet-stream"),
            body=body,
        )
        status, payload = self._handle(request, raw_path, body, spec_request)
        if self._exchange.response_delay_s > 0:
            # After the amend was applied: a client timing out cannot know the outcome.
            await asyncio.sleep(self._exchange.response_delay_s)
        return self._checked_response(spec_request, status, payload)

    def _handle(
        self, request: Request, raw_path: bytes, body: bytes, spec_request: SpecRequest
    ) -> tuple[int, JsonBody]:
        exchange = self._exchange
        try:
            key = authenticate(
                request.headers,
                "POST",
                raw_path,
                find_key=exchange.api_key,
                now_ms=exchange.now_ms(),
                window_ms=int(exchange.timestamp_window_s * 1000),
            )
        except AuthenticationFailed as error:
            return error.status, error.body()
        exchange.record_signature(key.key_id, request.headers[SIGNATURE_HEADER])
        if key.read_only:
            forbidden = Forbidden("this API key is read-only", details="INSUFFICIENT_PERMISSIONS")
            return forbidden.status, forbidden.body()
        if not exchange.take_write_tokens(key.account):
            return 429, dict(RATE_LIMITED_BODY)

        try:
            payload = json.loads(body, parse_float=Decimal, parse_constant=_refuse_constant)
        except ValueError as error:  # JSONDecodeError and UnicodeDecodeError both are
            return 400, flat_error("bad_request", f"invalid JSON body: {error}")

        not_integer = _integer_fields_with_a_point(payload)
        if not_integer:
            # JSON Schema counts 1.0 as an integer, Kalshi's Go decoder does not: it fails
            # to decode the body, which Kalshi reports in the flat shape.
            return 400, flat_error("bad_request", f"{not_integer} must be a JSON integer, without a point")

        problem = self._validator.check_request(spec_request)
        if problem is not None:
            if problem.kind is ProblemKind.QUERY:
                return 400, bare_error(problem.message)
            if problem.kind is ProblemKind.NO_OPERATION:
                return 404, nested_error("not_found", problem.message)
            return 400, nested_error("invalid_parameters", problem.message)

        fault = exchange.take_fault()
        if fault is not None and not fault.applied:
            return fault.status, _fault_body(fault.status)
        try:
            result = exchange.amend(
                key.account,
                request.path_params["order_id"],
                _amend_request(payload),
                subaccount=int(request.query_params.get("subaccount", "0")),
            )
        except ExchangeError as error:
            return error.status, error.body()
        if fault is not None:
            return fault.status, _fault_body(fault.status)
        return 200, render_amend(result, null_for_absent=exchange.null_for_absent)

    def _checked_response(self, request: SpecRequest, status: int, payload: JsonBody) -> Response:
        response = JSONResponse(payload, status_code=status)
        problem = self._validator.check_response(
            request,
            SpecResponse(status, "application/json", response.headers, bytes(response.body)),
        )
        if problem is None:
            return response
        description = f"response {status} {payload!r} breaks openapi.yaml: {problem}"
        self._exchange.record_server_error(description)
        logger.error("local exchange bug: %s", description)
        if not self._strict:
            return response
        return JSONResponse(InternalError(f"local exchange bug: {description}").body(), status_code=500)


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


INTEGER_FIELDS = ("exchange_index", "expiration_time")


def _integer_fields_with_a_point(payload: object) -> str | None:
    """The first integer field sent as a number with a point or exponent (parsed as Decimal)."""
    if isinstance(payload, dict):
        for name in INTEGER_FIELDS:
            if isinstance(payload.get(name), Decimal):
                return name
    return None


def _amend_request(payload: dict[str, Any]) -> AmendRequest:
    """The validated JSON body as an `AmendRequest` (types are guaranteed by the spec)."""
    return AmendRequest(
        ticker=payload["ticker"],
        side=Side(payload["side"]),
        price=Decimal(payload["price"]),
        count=Decimal(payload["count"]),
        client_order_id=payload.get("client_order_id"),
        updated_client_order_id=payload.get("updated_client_order_id"),
        exchange_index=payload.get("exchange_index"),
        expiration_time=payload.get("expiration_time"),
    )


def render_amend(result: AmendResult, *, null_for_absent: bool = False) -> JsonBody:
    """The 200 body: optional fields are present exactly when Kalshi's docs say."""
    body: JsonBody = {"order_id": result.order_id, "ts_ms": result.ts_ms}
    if result.client_order_id is not None:
        body["client_order_id"] = result.client_order_id
    optional = {
        "remaining_count": _maybe(format_count, result.remaining_count),
        "fill_count": _maybe(format_count, result.fill_count),
        "average_fill_price": _maybe(format_dollars, result.average_fill_price),
        "average_fee_paid": _maybe(format_dollars, result.average_fee_paid),
    }
    for name, value in optional.items():
        if value is not None or null_for_absent:
            body[name] = value
    return body


def _maybe(formatter: Callable[[Decimal], str], value: Decimal | None) -> str | None:
    return None if value is None else formatter(value)


def _fault_body(status: int) -> JsonBody:
    if status == 503:
        return nested_error("service_unavailable", "injected fault: service unavailable")
    return nested_error("internal_server_error", "injected fault: internal error")


def _order_json(order: Order) -> JsonBody:
    return {
        "order_id": order.order_id,
        "account": order.account,
        "subaccount": order.subaccount,
        "ticker": order.ticker,
        "side": order.side.value,
        "price": format_dollars(order.price),
        "fill_count": format_count(order.filled),
        "remaining_count": format_count(order.remaining),
        "client_order_id": order.client_order_id,
        "expiration_time": order.expiration_time,
        "status": order.status.value,
    }


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = "not_found" if exc.status_code == 404 else "bad_request"
    return JSONResponse(nested_error(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers)


async def _exchange_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ExchangeError)
    return JSONResponse(exc.body(), status_code=exc.status)


async def _unhandled(request: Request, exc: Exception) -> Response:
    return JSONResponse(
        nested_error("internal_server_error", f"local exchange bug: {type(exc).__name__}"),
        status_code=500,
    )


class _Outermost:
    """Wraps everything, Starlette's own error pages included, so that every response
    carries a `Date` from the exchange's clock and every request is recorded."""

    def __init__(self, app: ASGIApp, exchange: Exchange) -> None:
        self._app = app
        self._exchange = exchange

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        recorded = False

        def record(status: int) -> None:
            nonlocal recorded
            recorded = True
            self._exchange.record_request(_record(scope, status, self._exchange.now_ms()))

        async def send_with_date(message: Message) -> None:
            if message["type"] == "http.response.start":
                # Recorded before the client can see the response: a test that got an
                # answer can rely on the request being counted.
                record(message["status"])
                date = formatdate(self._exchange.now(), usegmt=True).encode("ascii")
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"date"]
                message = {**message, "headers": [*headers, (b"date", date)]}
            await send(message)

        try:
            await self._app(scope, receive, send_with_date)
        except Exception as error:
            # Starlette already sent its 500 (through send_with_date) and re-raised.
            logger.exception("unhandled error in the local exchange")
            self._exchange.record_server_error(f"unhandled {type(error).__name__}: {error}")
        finally:
            if not recorded:  # no response at all (the client went away)
                record(500)


def _record(scope: Scope, status: int, ts_ms: int) -> RequestRecord:
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    return RequestRecord(
        method=scope["method"],
        path=scope.get("raw_path", scope["path"].encode()).decode("latin-1"),
        query=scope.get("query_string", b"").decode("latin-1"),
        status=status,
        key_id=headers.get(KEY_HEADER.lower()),
        ts_ms=ts_ms,
    )
