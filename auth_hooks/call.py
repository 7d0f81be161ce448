"""One way to call any generated operation: its parsed 2xx, or exactly one outcome class.

    from kalshi_trade_api.api.orders import get_order
    order = call(get_order.sync_detailed, order_id, client=client).order
    order = (await call_async(get_order.asyncio_detailed, order_id, client=client)).order

The first argument is the generated ``sync_detailed`` / ``asyncio_detailed`` of any
operation; the rest are that function's own arguments, type-checked against it, and
the result is typed as the operation's 2xx model. :func:`call_detailed` also returns
the raw body and headers. Nothing here is written per operation: the request is built
by the operation module's generated ``_get_kwargs`` and the 2xx parsed by its
``_parse_response`` (openapi-python-client's layout of every endpoint module), then
checked against the model's own field types (:func:`~auth_hooks.classify.model_problem`).

Failures, by where they happened:

* arguments the generated code cannot encode (a wrong enum value, a Decimal in a body,
  a URL too long for any server): :class:`KalshiConfigError`, nothing sent;
* the outcome classes of :mod:`auth_hooks.classify` afterwards.

Reads (GET) are retried after a transport failure or a 5xx, a bounded number of times
with jitter (:data:`READ_ATTEMPTS`): a read changes nothing at the exchange. Writes are
never retried here.
"""

from __future__ import annotations

import enum
import random
import sys
import time
import typing
from collections.abc import Awaitable, Callable
from typing import Any, Generic, ParamSpec, TypeVar

import attrs
import httpx
from kalshi_trade_api.client import AuthenticatedClient
from kalshi_trade_api.models import ErrorResponse
from kalshi_trade_api.types import Response

from .classify import (
    CLASSIFIED_BY_CALLER,
    field_hints,
    is_read,
    model_problem,
    outcome_for_status,
    outcome_for_transport_error,
    outcome_for_unexpected,
    outcome_for_unreadable,
)
from .client import KalshiClient
from .errors import KalshiConfigError, KalshiError, ReadFailed, RequestOutcome, preview
from .transports import DEADLINE_EXTENSION

P = ParamSpec("P")
R = TypeVar("R")

# Attempts of a read in all (first try included), and the jittered waits between them.
READ_ATTEMPTS = 3
READ_RETRY_DELAYS_S = (0.05, 0.25)
# Longer request targets are refused by common servers and CDNs (414); found before sending.
MAX_URL_BYTES = 8192


@attrs.frozen
class Answer(Generic[R]):
    """A 2xx answer: the parsed model, and the body exactly as the exchange sent it."""

    status_code: int
    content: bytes
    headers: httpx.Headers
    parsed: R


@attrs.frozen
class ReadRetry:
    """How a read is retried: attempts in all, and a deadline (monotonic seconds) or None."""

    attempts: int = READ_ATTEMPTS
    deadline: float | None = None


DEFAULT_READ_RETRY = ReadRetry()


def call(operation: Callable[P, Response[R | ErrorResponse]], /, *args: P.args, **kwargs: P.kwargs) -> R:
    """Calls a generated ``sync_detailed``; returns its parsed 2xx or raises an outcome class."""
    answer: Answer[R] = call_with_retry(operation, args, kwargs, DEFAULT_READ_RETRY)
    return answer.parsed


def call_detailed(
    operation: Callable[P, Response[R | ErrorResponse]], /, *args: P.args, **kwargs: P.kwargs
) -> Answer[R]:
    """Like :func:`call`, with the raw body, headers and status of the answer."""
    return call_with_retry(operation, args, kwargs, DEFAULT_READ_RETRY)


async def call_async(
    operation: Callable[P, Awaitable[Response[R | ErrorResponse]]], /, *args: P.args, **kwargs: P.kwargs
) -> R:
    """The async twin of :func:`call`: pass the generated ``asyncio_detailed``."""
    answer: Answer[R] = await call_with_retry_async(operation, args, kwargs, DEFAULT_READ_RETRY)
    return answer.parsed


async def call_detailed_async(
    operation: Callable[P, Awaitable[Response[R | ErrorResponse]]], /, *args: P.args, **kwargs: P.kwargs
) -> Answer[R]:
    """The async twin of :func:`call_detailed`."""
    return await call_with_retry_async(operation, args, kwargs, DEFAULT_READ_RETRY)


# -- the two drivers: only the I/O differs -------------------------------------------


def call_with_retry(
    operation: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], retry: ReadRetry
) -> Answer[Any]:
    endpoint, client, request_kwargs = _prepare(operation, args, kwargs)
    route = client.sync_route() if isinstance(client, KalshiClient) else None
    prepared = route[0].prepare(request_kwargs) if route is not None else None
    if route is not None and prepared is not None:
        lane, pool = route
        method = _check_url_size(prepared.method, prepared.url_bytes)

        def send() -> httpx.Response:
            return lane.send(pool, prepared, retry.deadline)

    else:
        http = client.get_httpx_client()
        request = _build(http, request_kwargs, retry)
        method = request.method

        def send() -> httpx.Response:
            return http.send(request)

    attempt = 1
    while True:
        try:
            try:
                response = send()
            except KalshiError:
                raise
            except Exception as exc:
                raise _failure(exc, method) from exc
            return endpoint.answer(client, response, method)
        except RequestOutcome as outcome:
            delay = _retry_delay(outcome, method, attempt, retry)
        time.sleep(delay)
        attempt += 1


async def call_with_retry_async(
    operation: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], retry: ReadRetry
) -> Answer[Any]:
    endpoint, client, request_kwargs = _prepare(operation, args, kwargs)
    route = client.async_route() if isinstance(client, KalshiClient) else None
    prepared = route[0].prepare(request_kwargs) if route is not None else None
    if route is not None and prepared is not None:
        lane, pool = route
        method = _check_url_size(prepared.method, prepared.url_bytes)

        async def send() -> httpx.Response:
            return await lane.send_async(pool, prepared, retry.deadline)

    else:
        http = client.get_async_httpx_client()
        request = _build(http, request_kwargs, retry)
        method = request.method

        async def send() -> httpx.Response:
            return await http.send(request)

    attempt = 1
    while True:
        try:
            try:
                response = await send()
            except KalshiError:
                raise
            except Exception as exc:
                raise _failure(exc, method) from exc
            return endpoint.answer(client, response, method)
        except RequestOutcome as outcome:
            delay = _retry_delay(outcome, method, attempt, retry)
        import asyncio  # here: importing it costs sync-only bots start-up time

        await asyncio.sleep(delay)
        attempt += 1


# -- pieces shared by both ------------------------------------------------------------


@attrs.frozen
class _Endpoint:
    """The generated module of one operation: how it builds a request and parses a 2xx."""

    name: str
    get_kwargs: Callable[..., dict[str, Any]]
    parse: Callable[..., Any]

    def answer(self, client: AuthenticatedClient, response: httpx.Response, method: str) -> Answer[Any]:
        status = response.status_code
        if not 200 <= status < 300:
            raise outcome_for_status(status, response.content, method=method)
        try:
            parsed = self.parse(client=client, response=response)
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
            # json.loads or the model's from_dict: a missing field, a wrong type or enum value.
            problem = f"that {self.name} cannot read ({type(exc).__name__}: {preview(str(exc))})"
            raise outcome_for_unreadable(status, response.content, problem, method=method) from None
        if parsed is None or isinstance(parsed, ErrorResponse):
            problem = f"that {self.name} does not document"
            raise outcome_for_unreadable(status, response.content, problem, method=method)
        problem_text = model_problem(parsed)
        if problem_text:
            raise outcome_for_unreadable(status, response.content, problem_text, method=method)
        return Answer(status, response.content, response.headers, parsed)


_ENDPOINTS: dict[Callable[..., Any], _Endpoint] = {}


def _endpoint(operation: Callable[..., Any]) -> _Endpoint:
    endpoint = _ENDPOINTS.get(operation)
    if endpoint is None:
        module = sys.modules.get(getattr(operation, "__module__", ""))
        get_kwargs = getattr(module, "_get_kwargs", None)
        parse = getattr(module, "_parse_response", None)
        if module is None or get_kwargs is None or parse is None:
            raise KalshiConfigError(
                f"{operation!r} is not a generated operation function: pass e.g. get_order.sync_detailed"
            )
        endpoint = _Endpoint(module.__name__.rsplit(".", 1)[-1], get_kwargs, parse)
        _ENDPOINTS[operation] = endpoint
    return endpoint


def _prepare(
    operation: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[_Endpoint, AuthenticatedClient, dict[str, Any]]:
    """The endpoint, the client and httpx's request arguments; bad arguments raise before sending."""
    endpoint = _endpoint(operation)
    kwargs = dict(kwargs)
    client = kwargs.pop("client", None)
    if not isinstance(client, AuthenticatedClient):
        raise KalshiConfigError("client must be the client make_client returns")
    body = kwargs.get("body")
    if body is not None and attrs.has(type(body)):
        kwargs["body"] = _with_enum_members(body, f"{endpoint.name} body")
    try:
        request_kwargs = endpoint.get_kwargs(*args, **kwargs)
    except (TypeError, ValueError, AttributeError, KeyError) as exc:
        raise KalshiConfigError(f"{endpoint.name}: bad arguments: {type(exc).__name__}: {exc}") from None
    return endpoint, client, request_kwargs


def _build(
    http: httpx.Client | httpx.AsyncClient, request_kwargs: dict[str, Any], retry: ReadRetry
) -> httpx.Request:
    """The httpx request (for a client without a direct route), every attempt bounded by
    the caller's one deadline."""
    request_kwargs["extensions"] = {CLASSIFIED_BY_CALLER: True}
    if retry.deadline is not None:
        request_kwargs["extensions"][DEADLINE_EXTENSION] = retry.deadline
    try:
        request = http.build_request(**request_kwargs)
    except (TypeError, ValueError, httpx.InvalidURL) as exc:  # a Decimal in a body, a URL too long
        raise KalshiConfigError(f"request cannot be encoded: {type(exc).__name__}: {exc}") from None
    _check_url_size(request.method, len(request.url.raw_path) + len(request.url.raw_host))
    return request


def _check_url_size(method: str, size: int) -> str:
    """``method``, once the URL is known to fit what servers accept."""
    if size > MAX_URL_BYTES:
        raise KalshiConfigError(
            f"request URL is {size} bytes, more than the {MAX_URL_BYTES} servers accept "
            f"(an id that is not the exchange's?)"
        )
    return method


def _with_enum_members(model: Any, where: str) -> Any:
    """The body with plain strings in enum fields turned into members ("bid" -> BookSide.BID).

    The generated ``to_dict`` needs the member; a plain string equal to a valid value
    is what a user means. Anything else is refused here, before sending.
    """
    changes: dict[str, Any] = {}
    for name, enum_type, absent in _enum_fields(type(model)):
        value = getattr(model, name)
        if isinstance(value, enum_type) or (isinstance(value, absent) and not isinstance(value, str)):
            continue
        try:
            changes[name] = enum_type(value)
        except (ValueError, TypeError):
            allowed = ", ".join(str(member.value) for member in enum_type)
            raise KalshiConfigError(f"{where}: {name} must be one of {allowed}, got {value!r}") from None
    return attrs.evolve(model, **changes) if changes else model


_EnumField = tuple[str, type[enum.Enum], tuple[type, ...]]
_ENUM_FIELDS: dict[type, list[_EnumField]] = {}


def _enum_fields(cls: type) -> list[_EnumField]:
    """(name, enum type, the types that mean "left out") of each enum field of a model."""
    found = _ENUM_FIELDS.get(cls)
    if found is None:
        found = []
        for name, hint in field_hints(cls).items():
            options = typing.get_args(hint) or (hint,)
            enums = [o for o in options if isinstance(o, type) and issubclass(o, enum.Enum)]
            if enums:
                absent = tuple(o for o in options if isinstance(o, type) and o not in enums)
                found.append((name, enums[0], absent))
        _ENUM_FIELDS[cls] = found
    return found


def _failure(exc: Exception, method: str) -> RequestOutcome:
    """The outcome of an exception raised while sending; ``exc`` is kept as its cause.

    httpx puts the request on its exceptions, and the request's headers hold the
    signature (replayable with another body within the timestamp window): every
    request in the chain is replaced by one with the method and URL only.
    """
    _forget_headers(exc)
    if isinstance(exc, httpx.HTTPError):
        return outcome_for_transport_error(exc, method=method)
    return outcome_for_unexpected(exc, method=method)


def _forget_headers(exc: BaseException) -> None:
    seen: set[int] = set()
    pending = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, httpx.HTTPError):
            try:
                request = current.request
            except RuntimeError:  # no request attached
                pass
            else:
                current.request = httpx.Request(request.method, request.url)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def _retry_delay(outcome: RequestOutcome, method: str, attempt: int, retry: ReadRetry) -> float:
    """The wait before retrying a failed read, or re-raises ``outcome`` when there is none."""
    if not isinstance(outcome, ReadFailed) or not is_read(method) or attempt >= retry.attempts:
        if attempt > 1:
            outcome.reason = f"{outcome.reason} (after {attempt} attempts)"
        raise outcome
    base = READ_RETRY_DELAYS_S[min(attempt, len(READ_RETRY_DELAYS_S)) - 1]
    delay = base * (0.5 + random.random())  # noqa: S311 - jitter, not security
    if retry.deadline is not None and time.monotonic() + delay >= retry.deadline:
        raise outcome
    return delay
