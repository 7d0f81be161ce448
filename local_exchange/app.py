"""The Starlette application: Amend Order (V2) and Get Order under /trade-api/v2, admin
views under /_admin.

Request flow of an amend, in Kalshi's order: signature (401, from the headers alone),
key permission (403), write token bucket (429), reading the body (capped in size and
time), JSON decoding (400, flat body), spec validation (400), fields the exchange does
not model (400), then the exchange itself (404/503/409/400/200). Get Order: signature
(401), then the order (404/200). Every response of both is checked against the spec
before it leaves.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
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

from .auth import KEY_HEADER, SIGNATURE_HEADER, ApiKey, authenticate
from .engine import AmendRequest, AmendResult, Order, Side
from .errors import (
    RATE_LIMITED_BODY,
    AuthenticationFailed,
    ExchangeError,
    Forbidden,
    InternalError,
    InvalidParameters,
    JsonBody,
    NotFound,
    bare_error,
    flat_error,
    nested_error,
)
from .exchange import RECORDED_TEXT_LIMIT, Exchange, RequestRecord
from .money import format_count, format_dollars
from .order_view import render_order
from .validation import (
    DEFAULT_SPEC_PATH,
    ProblemKind,
    SpecRequest,
    SpecResponse,
    SpecValidator,
    integer_body_fields,
)

API_PREFIX = "/trade-api/v2"
AMEND_ROUTE = API_PREFIX + "/portfolio/events/orders/{order_id:path}/amend"
ORDER_ROUTE = API_PREFIX + "/portfolio/orders/{order_id:path}"

# An amend body is a few hundred bytes; anything near this is abuse, not an amend.
MAX_BODY_BYTES = 64 * 1024
BODY_TIMEOUT_S = 10.0
MAX_JSON_DEPTH = 32

logger = logging.getLogger("local_exchange")


def create_app(
    exchange: Exchange,
    *,
    strict_responses: bool = True,
    spec_path: Path = DEFAULT_SPEC_PATH,
    body_timeout_s: float = BODY_TIMEOUT_S,
) -> ASGIApp:
    """The ASGI app serving `exchange`.

    `strict_responses`: a response that breaks the spec becomes a 500 (and is recorded in
    `exchange.server_errors`); otherwise it is only recorded and logged.
    `body_timeout_s`: how long a signed request may take to send its whole body.
    """
    api = _Api(exchange, SpecValidator(spec_path), strict_responses, body_timeout_s)

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

    get_order = Route(ORDER_ROUTE, api.get_order, methods=["GET"])
    # Starlette adds HEAD to every GET route; the spec has no HEAD operation to check it by.
    assert get_order.methods is not None
    get_order.methods.discard("HEAD")
    starlette = Starlette(
        routes=[
            Route(AMEND_ROUTE, api.amend, methods=["POST"]),
            get_order,
            Route("/_admin/book/{ticker}", admin_book, methods=["GET"]),
            Route("/_admin/orders/{order_id}", admin_order, methods=["GET"]),
        ],
        exception_handlers={
            HTTPException: _http_exception,
            ExchangeError: _exchange_error,
            Exception: _unhandled,
        },
    )
    # Kalshi answers a path it does not serve with 404, never with a redirect to another.
    starlette.router.redirect_slashes = False
    return _Outermost(starlette, exchange)


@dataclass(frozen=True)
class _Answer:
    status: int
    payload: JsonBody
    body: bytes | None = None  # the request body as read, if it was
    # The request body was not read to its end (too big, too slow): the connection
    # cannot carry another request, so it is closed after this answer.
    close: bool = False


class BodyRefused(Exception):
    """A request body the exchange will not read whole; the message says why."""


class _Api:
    """The signed endpoints: Amend Order (V2) and Get Order."""

    def __init__(self, exchange: Exchange, validator: SpecValidator, strict: bool, body_timeout_s: float):
        self._exchange = exchange
        self._validator = validator
        self._strict = strict
        self._body_timeout_s = body_timeout_s
        self._integer_fields = integer_body_fields("AmendOrderV2", validator.spec_path)

    async def amend(self, request: Request) -> Response:
        answer = await self._amend(request)
        if self._exchange.response_delay_s > 0:
            # After the amend was applied: a client timing out cannot know the outcome.
            await asyncio.sleep(self._exchange.response_delay_s)
        return self._checked_response(request, answer)

    async def get_order(self, request: Request) -> Response:
        return self._checked_response(request, self._get_order(request))

    def _authenticate(self, request: Request) -> ApiKey | _Answer:
        """The key that signed the request (method and raw path, no query), or the 401."""
        exchange = self._exchange
        try:
            key = authenticate(
                request.headers,
                request.method,
                request.scope["raw_path"],
                find_key=exchange.api_key,
                now_ms=exchange.now_ms(),
                window_ms=int(exchange.timestamp_window_s * 1000),
            )
        except AuthenticationFailed as error:
            return _Answer(error.status, error.body())
        exchange.record_signature(key.key_id, request.headers[SIGNATURE_HEADER])
        return key

    async def _amend(self, request: Request) -> _Answer:
        exchange = self._exchange
        # Headers only, before a byte of the body is read: an unsigned sender cannot make
        # the exchange read (or wait for) anything.
        key = self._authenticate(request)
        if isinstance(key, _Answer):
            return key
        if key.read_only:
            forbidden = Forbidden("this API key is read-only", details="INSUFFICIENT_PERMISSIONS")
            return _Answer(forbidden.status, forbidden.body())
        if not exchange.take_write_tokens(key.account):
            return _Answer(429, dict(RATE_LIMITED_BODY))

        try:
            body = await read_body(request, MAX_BODY_BYTES, self._body_timeout_s)
        except BodyRefused as error:
            return _Answer(400, nested_error("bad_request", str(error)), close=True)
        try:
            payload = decode_json(body)
        except ValueError as error:
            # Kalshi reports a body its decoder cannot read in the flat shape.
            return _Answer(400, flat_error("bad_request", str(error)), body)

        not_integer = _integer_fields_with_a_point(payload, self._integer_fields)
        if not_integer:
            # JSON Schema counts 1.0 as an integer, Kalshi's Go decoder does not: it fails
            # to decode the body, which Kalshi reports in the flat shape.
            message = f"{not_integer} must be a JSON integer, without a point"
            return _Answer(400, flat_error("bad_request", message), body)

        problem = self._validator.check_request(self._spec_request(request, body))
        if problem is not None:
            if problem.kind is ProblemKind.QUERY:
                return _Answer(400, bare_error(problem.message), body)
            if problem.kind is ProblemKind.NO_OPERATION:
                return _Answer(404, nested_error("not_found", problem.message), body)
            return _Answer(400, nested_error("invalid_parameters", problem.message), body)
        try:
            amend_request = amend_request_from_body(payload)
            refuse_unmodelled_query(request, AMEND_QUERY)
        except InvalidParameters as error:
            return _Answer(error.status, error.body(), body)

        subaccount = request.query_params.get("subaccount", "0")
        if not (subaccount.isascii() and subaccount.isdigit()):
            # The spec's integer check goes through Python's int(), which also takes
            # " 3", "1_0" and non-ASCII digits; Kalshi's decoder takes none of them.
            message = f"subaccount must be written in digits 0-9, not {subaccount!r}"
            return _Answer(400, bare_error(message), body)

        fault = exchange.take_fault()
        if fault is not None and not fault.applied:
            return _Answer(fault.status, _fault_body(fault.status), body)
        try:
            result = exchange.amend(
                key.account, request.path_params["order_id"], amend_request, subaccount=int(subaccount)
            )
        except ExchangeError as error:
            return _Answer(error.status, error.body(), body)
        if fault is not None:
            return _Answer(fault.status, _fault_body(fault.status), body)
        return _Answer(200, render_amend(result, null_for_absent=self._exchange.null_for_absent), body)

    def _get_order(self, request: Request) -> _Answer:
        # A read: signed like any request, but it costs no write tokens and a read-only
        # key may make it. Its body, if any, means nothing and is not read.
        key = self._authenticate(request)
        if isinstance(key, _Answer):
            return key
        problem = self._validator.check_request(self._spec_request(request, None))
        if problem is not None:
            if problem.kind is ProblemKind.QUERY:
                return _Answer(400, bare_error(problem.message))
            return _Answer(404, nested_error("not_found", problem.message))
        try:
            # Query parameters are not refused here: Get Order documents no 400, and an
            # unknown one cannot change what a read does.
            order = self._exchange.read_order(key.account, request.path_params["order_id"])
        except NotFound as error:
            return _Answer(error.status, error.body())
        return _Answer(200, {"order": render_order(order)})

    def _spec_request(self, request: Request, body: bytes | None) -> SpecRequest:
        raw_path: bytes = request.scope["raw_path"]
        return SpecRequest.build(
            method=request.method,
            raw_path=raw_path.decode("latin-1"),
            query=request.query_params,
            headers=request.headers,
            content_type=request.headers.get("content-type", "application/octet-stream"),
            body=body,
        )

    def _checked_response(self, request: Request, answer: _Answer) -> Response:
        headers = {"connection": "close"} if answer.close else None
        response = JSONResponse(answer.payload, status_code=answer.status, headers=headers)
        problem = self._validator.check_response(
            self._spec_request(request, answer.body),
            SpecResponse(answer.status, "application/json", response.headers, bytes(response.body)),
        )
        if problem is None:
            return response
        description = f"response {answer.status} {answer.payload!r} breaks openapi.yaml: {problem}"
        self._exchange.record_server_error(description)
        logger.error("local exchange bug: %s", description)
        if not self._strict:
            return response
        return JSONResponse(
            InternalError(f"local exchange bug: {description}").body(), status_code=500, headers=headers
        )


async def read_body(request: Request, limit: int, timeout_s: float) -> bytes:
    """The whole body, or BodyRefused when it is bigger than `limit` bytes or has not
    arrived within `timeout_s`: memory and time spent on a request stay bounded."""
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise BodyRefused(f"request body of {declared} bytes is over the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise BodyRefused(f"request body is over the limit of {limit} bytes")
                chunks.append(chunk)
    except TimeoutError:
        raise BodyRefused(f"request body did not arrive within {timeout_s:g} s") from None
    return b"".join(chunks)


def decode_json(body: bytes) -> Any:
    """The parsed body (floats as Decimal), or ValueError saying what is wrong with it."""
    try:
        payload = json.loads(body, parse_float=Decimal, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError(f"invalid JSON body: nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError, too many digits
        raise ValueError(f"invalid JSON body: {error}") from None
    problem = _structure_problem(payload)
    if problem is not None:
        raise ValueError(f"invalid JSON body: {problem}")
    return payload


def _structure_problem(value: object) -> str | None:
    """What makes a parsed JSON value unfit to handle, walked without recursion:

    - nesting deeper than MAX_JSON_DEPTH (validation and messages recurse into it);
    - a lone UTF-16 surrogate ("\\ud800"), which JSON text may hold but UTF-8 cannot, so
      no answer that quotes the string could be sent.
    """
    pending: list[tuple[object, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        children: Iterable[object]
        if isinstance(item, dict):
            children = [*item.keys(), *item.values()]
        elif isinstance(item, list):
            children = item
        elif isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "a string holds a lone UTF-16 surrogate"
            continue
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            return f"nested deeper than {MAX_JSON_DEPTH} levels"
        pending.extend((child, depth + 1) for child in children)
    return None


def _refuse_constant(name: str) -> NoReturn:
    raise ValueError(f"{name} is not valid JSON")


def _integer_fields_with_a_point(payload: object, integer_fields: frozenset[str]) -> str | None:
    """The first integer field sent as a number with a point or exponent (parsed as Decimal)."""
    if isinstance(payload, dict):
        for name in sorted(integer_fields):
            if isinstance(payload.get(name), Decimal):
                return name
    return None


# How a body field becomes an AmendRequest argument when the JSON value is not already
# the right type. The fields themselves come from AmendRequest: what the engine consumes
# is by definition what the exchange models.
_CONVERT: dict[str, Callable[[Any], Any]] = {"side": Side, "price": Decimal, "count": Decimal}


# The query parameters the amend handler reads (`subaccount`, above).
AMEND_QUERY = ("subaccount",)


def refuse_unmodelled_query(request: Request, modelled: tuple[str, ...]) -> None:
    """A query parameter the exchange has no semantics for is refused, not ignored: the
    spec may add one (a dry run, say) whose silent absence would change the outcome."""
    for name in request.query_params:
        if name not in modelled:
            raise InvalidParameters(
                f"{name}: the local exchange does not model this query parameter, so it refuses"
                f" the request rather than ignore it (it models {', '.join(modelled)})"
            )


def modelled_amend_fields() -> tuple[str, ...]:
    """The amend body fields the exchange has semantics for (AmendRequest's fields)."""
    return tuple(f.name for f in dataclasses.fields(AmendRequest))


def amend_request_from_body(payload: dict[str, Any]) -> AmendRequest:
    """The spec-validated JSON body as an `AmendRequest`.

    A field the exchange does not model is refused (400) rather than ignored: ignoring
    e.g. a post_only flag would fill an order its sender asked never to take liquidity.
    """
    modelled = modelled_amend_fields()
    for name in payload:
        if name not in modelled:
            raise InvalidParameters(
                f"{name}: the local exchange does not model this field, so it refuses the"
                f" request rather than ignore it (it models {', '.join(modelled)})"
            )
    return AmendRequest(**{name: _CONVERT.get(name, _same)(value) for name, value in payload.items()})


def _same(value: Any) -> Any:
    return value


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
    key_id = headers.get(KEY_HEADER.lower())
    return RequestRecord(
        method=scope["method"][:RECORDED_TEXT_LIMIT],
        path=_cut(scope.get("raw_path", scope["path"].encode()).decode("latin-1")),
        query=_cut(scope.get("query_string", b"").decode("latin-1")),
        status=status,
        key_id=None if key_id is None else _cut(key_id),
        ts_ms=ts_ms,
    )


def _cut(text: str) -> str:
    """Records keep at most RECORDED_TEXT_LIMIT characters of anything a client sent."""
    return text[:RECORDED_TEXT_LIMIT]
