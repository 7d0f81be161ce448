"""Every amend ends in a result or in exactly one of three outcome classes.

:func:`amend_order` / :func:`amend_order_async` wrap the generated
``amend_order_v2`` call: they return the parsed ``AmendOrderV2Response`` on 200 and
raise :class:`~auth_hooks.errors.NotSent`, :class:`~auth_hooks.errors.Rejected`
(:class:`~auth_hooks.errors.RateLimited` for 429) or
:class:`~auth_hooks.errors.OutcomeUnknown` otherwise; whatever goes wrong once the
request may have left (an exception nobody foresaw included) is ``OutcomeUnknown``,
with the original exception as ``__cause__``. Only :class:`KalshiConfigError` (bad
arguments, found before sending) and ``BaseException``\\ s such as ``CancelledError``
pass through unclassified.

Nothing that may have reached the exchange is ever sent again by this module: only a
connection that was never made is retried (by the transport, a bounded number of
times), and a ``429`` only when the caller opts in with ``rate_limit_retry``
(a rejected amend was not applied). ``write_bucket`` paces amends so the exchange's
bucket is not emptied in the first place (see :mod:`auth_hooks.ratelimit`).

:func:`check_response` runs as an httpx response hook in every client
:func:`~auth_hooks.make_client` builds, so that calling the generated functions
directly cannot crash on what the generated parser does not expect (a status outside
the IANA list such as Cloudflare's 520, an HTML page, truncated or absurdly nested
JSON, a 200 without its required fields or with fields of the wrong JSON type): such
responses raise the outcome class instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import NoReturn

import attrs
import httpx
from kalshi_trade_api.api.orders import amend_order_v2
from kalshi_trade_api.client import AuthenticatedClient
from kalshi_trade_api.models import AmendOrderV2Request, AmendOrderV2Response, ErrorResponse
from kalshi_trade_api.types import UNSET, Response, Unset

from .classify import MAYBE_APPLIED, outcome_for_status, outcome_for_transport_error
from .errors import (
    KalshiConfigError,
    OutcomeUnknown,
    RateLimited,
    RequestOutcome,
    preview,
)
from .fixed_point import WIRE_COUNT, WIRE_PRICE
from .ratelimit import AMEND_TOKEN_COST, RetryOn429, WriteTokenBucket

logger = logging.getLogger("auth_hooks")


@attrs.frozen
class AppliedResponse:
    """An applied amend: the parsed result, and the body exactly as the exchange sent it."""

    status_code: int
    content: bytes
    headers: Mapping[str, str]
    parsed: AmendOrderV2Response


# -- the calls ----------------------------------------------------------------------


def amend_order(
    client: AuthenticatedClient,
    order_id: str,
    body: AmendOrderV2Request,
    *,
    subaccount: int | Unset = UNSET,
    rate_limit_retry: RetryOn429 | None = None,
    write_bucket: WriteTokenBucket | None = None,
) -> AmendOrderV2Response:
    """Amends a resting order; returns the exchange's result or raises an outcome class.

    ``write_bucket`` (opt-in) takes :data:`~auth_hooks.ratelimit.AMEND_TOKEN_COST`
    tokens before each send, waiting for them if need be. ``rate_limit_retry``
    (opt-in) re-sends after a 429, and only after a 429; by default a 429 raises
    :class:`RateLimited` at once.
    """
    return amend_order_detailed(
        client,
        order_id,
        body,
        subaccount=subaccount,
        rate_limit_retry=rate_limit_retry,
        write_bucket=write_bucket,
    ).parsed


def amend_order_detailed(
    client: AuthenticatedClient,
    order_id: str,
    body: AmendOrderV2Request,
    *,
    subaccount: int | Unset = UNSET,
    rate_limit_retry: RetryOn429 | None = None,
    write_bucket: WriteTokenBucket | None = None,
) -> AppliedResponse:
    """Like :func:`amend_order`, but returns the whole 200 response (raw ``content``, headers)."""
    _check_arguments(order_id, body)
    attempt = 1
    while True:
        if write_bucket is not None:
            write_bucket.acquire(AMEND_TOKEN_COST)
        try:
            try:
                response = amend_order_v2.sync_detailed(
                    order_id, client=client, body=body, subaccount=subaccount
                )
            except BaseException as exc:
                _raise_classified(exc, order_id, body)
            return _applied(response, order_id, body)
        except RateLimited as exc:
            delay = _before_retry(exc, attempt, rate_limit_retry, write_bucket)
        time.sleep(delay)
        attempt += 1


async def amend_order_async(
    client: AuthenticatedClient,
    order_id: str,
    body: AmendOrderV2Request,
    *,
    subaccount: int | Unset = UNSET,
    rate_limit_retry: RetryOn429 | None = None,
    write_bucket: WriteTokenBucket | None = None,
) -> AmendOrderV2Response:
    """The async twin of :func:`amend_order`, on the same client object."""
    applied = await amend_order_detailed_async(
        client,
        order_id,
        body,
        subaccount=subaccount,
        rate_limit_retry=rate_limit_retry,
        write_bucket=write_bucket,
    )
    return applied.parsed


async def amend_order_detailed_async(
    client: AuthenticatedClient,
    order_id: str,
    body: AmendOrderV2Request,
    *,
    subaccount: int | Unset = UNSET,
    rate_limit_retry: RetryOn429 | None = None,
    write_bucket: WriteTokenBucket | None = None,
) -> AppliedResponse:
    """The async twin of :func:`amend_order_detailed`; waits with ``asyncio.sleep``."""
    _check_arguments(order_id, body)
    attempt = 1
    while True:
        if write_bucket is not None:
            await write_bucket.acquire_async(AMEND_TOKEN_COST)
        try:
            try:
                response = await amend_order_v2.asyncio_detailed(
                    order_id, client=client, body=body, subaccount=subaccount
                )
            except BaseException as exc:
                _raise_classified(exc, order_id, body)
            return _applied(response, order_id, body)
        except RateLimited as exc:
            delay = _before_retry(exc, attempt, rate_limit_retry, write_bucket)
        import asyncio  # here: importing it costs sync-only bots start-up time

        await asyncio.sleep(delay)
        attempt += 1


# -- pieces shared by both -----------------------------------------------------------


def _check_arguments(order_id: str, body: AmendOrderV2Request) -> None:
    if not isinstance(body, AmendOrderV2Request):
        raise KalshiConfigError(f"body must be an AmendOrderV2Request, not {type(body).__name__}")
    # The model types price and count as str but does not enforce it: a float would go
    # out as a JSON number, which Kalshi rejects (and which is not the price meant).
    for name, value, pattern in (
        ("price", body.price, WIRE_PRICE),
        ("count", body.count, WIRE_COUNT),
    ):
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise KalshiConfigError(
                f"{name} must be a fixed-point string such as {'0.5600' if name == 'price' else '10.00'} "
                f"(see auth_hooks.fixed_point), got {value!r}"
            )
    # The generated code percent-encodes the id as one path segment, but "." and ".."
    # survive that and httpx would resolve them: the amend would go to another path.
    if not isinstance(order_id, str) or order_id in ("", ".", ".."):
        raise KalshiConfigError(f"order_id must be the exchange's order id, got {order_id!r}")


def _before_retry(
    exc: RateLimited, attempt: int, retry: RetryOn429 | None, bucket: WriteTokenBucket | None
) -> float:
    """After a 429: the wait before the next attempt, or re-raises when there is none."""
    if bucket is not None:
        bucket.drain()
    if retry is None:
        raise exc
    if attempt >= retry.max_attempts:
        if attempt > 1:
            exc.reason = f"{exc.reason} (after {attempt} attempts)"
        raise exc
    delay = retry.delay_s(attempt)
    logger.info(
        "429 on amend of order %s (not applied); attempt %d of %d in %.3f s",
        exc.order_id,
        attempt + 1,
        retry.max_attempts,
        delay,
    )
    return delay


def _raise_classified(exc: BaseException, order_id: str, body: AmendOrderV2Request) -> NoReturn:
    """Raises ``exc`` as its outcome class (with the order's ids), or as it is."""
    outcome = _classified(exc)
    if outcome is None:
        raise exc
    _with_order(outcome, order_id, body)
    if outcome is exc:
        raise outcome
    raise outcome from exc


def _classified(exc: BaseException) -> RequestOutcome | None:
    if isinstance(exc, RequestOutcome):
        return exc
    if isinstance(exc, httpx.HTTPError):
        return outcome_for_transport_error(exc)
    if isinstance(exc, KalshiConfigError) or not isinstance(exc, Exception):
        return None  # found before sending; or KeyboardInterrupt, CancelledError: not ours
    # Anything else (the generated model choking on an answer check_response let
    # through, a transport raising its own exception type) may have happened after the
    # request left: the conservative answer is "unknown", never "not sent".
    return OutcomeUnknown(
        f"unexpected {type(exc).__name__} while amending: {preview(str(exc))} ({MAYBE_APPLIED})"
    )


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
