"""The exceptions auth_hooks raises, and the one reader of Kalshi's error bodies.

Everything raised on purpose is a :class:`KalshiError`. The taxonomy splits first on
"nothing was sent" (bad input, found before sending) versus what happened to a request:

* :class:`KalshiConfigError`: bad input or configuration; nothing was sent.
* :class:`NotSent`: the request never left (connect failure, DNS, TLS handshake).
  Safe to send again.
* :class:`Rejected`: the exchange answered 4xx; nothing was applied. A subclass per
  case a bot handles differently: :class:`OrderNotFound` (404),
  :class:`AuthenticationFailed` (401/403), :class:`InvalidRequest` (400),
  :class:`Conflict` (409), :class:`RateLimited` (429).
* :class:`OutcomeUnknown`: a WRITE may have reached the exchange and we cannot tell
  what happened (timeout or connection loss after sending, any 5xx, a 2xx we cannot
  read). It MAY have been applied: resolve it (:mod:`auth_hooks.resolve`) before acting.
* :class:`ReadFailed`: a READ got no usable answer. A read changes nothing at the
  exchange, so it is never "maybe applied"; it may be sent again.

Resolving an unknown amend adds two verdicts, :class:`AmendNotApplied` and
:class:`OrderClosed` (see :mod:`auth_hooks.resolve`). A timeout is never called
retryable for a write: its outcome is unknown, not failed.
"""

from __future__ import annotations

import json
from typing import Any

# Bodies are kept for diagnosis, but only this much of them goes into str(exc):
# an HTML error page must not flood a log line.
_BODY_PREVIEW = 200


class KalshiError(Exception):
    """The root of every exception auth_hooks raises on purpose."""


class KalshiConfigError(KalshiError, ValueError):
    """Bad input or configuration, found before anything was sent."""


class KalshiKeyError(KalshiConfigError):
    """The private key cannot be used: missing, not a PEM key, wrong password, wrong type or size."""


class RequestOutcome(KalshiError):
    """Base of the outcome classes. Carries what is known of the exchange's answer.

    ``request_body`` and ``subaccount`` are what a write asked for (the generated
    request model as sent), so an unknown outcome can be resolved without the caller
    keeping them.
    """

    def __init__(
        self,
        reason: str,
        *,
        status: int | None = None,
        body: bytes = b"",
        code: str | None = None,
        message: str | None = None,
        order_id: str | None = None,
        updated_client_order_id: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.body = body
        self.code = code
        self.message = message
        self.order_id = order_id
        self.updated_client_order_id = updated_client_order_id
        self.request_body: Any = None
        self.subaccount: int | None = None

    def __str__(self) -> str:
        parts = [self.reason]
        if self.order_id is not None:
            parts.append(f"order_id={self.order_id}")
        if self.updated_client_order_id is not None:
            parts.append(f"updated_client_order_id={self.updated_client_order_id}")
        return "; ".join(parts)


class NotSent(RequestOutcome):
    """The request never reached the exchange; sending it again is safe."""


class Rejected(RequestOutcome):
    """The exchange answered 4xx: the request was not applied."""


class InvalidRequest(Rejected):
    """HTTP 400: the exchange found the request invalid (fix it before sending again)."""


class AuthenticationFailed(Rejected):
    """HTTP 401 or 403: key, signature, timestamp or permission refused."""


class OrderNotFound(Rejected):
    """HTTP 404: no such order (unknown, or no longer resting for a write)."""


class Conflict(Rejected):
    """HTTP 409: the updated client order id was already used by this account."""


class RateLimited(Rejected):
    """HTTP 429: the token bucket was empty. Not applied; Kalshi sends no Retry-After."""


# The Rejected class for each status a bot handles differently; other 4xx are Rejected.
REJECTED_BY_STATUS: dict[int, type[Rejected]] = {
    400: InvalidRequest,
    401: AuthenticationFailed,
    403: AuthenticationFailed,
    404: OrderNotFound,
    409: Conflict,
    429: RateLimited,
}


class OutcomeUnknown(RequestOutcome):
    """A write may or may not have been applied. Nothing was re-sent.

    After :func:`auth_hooks.resolve_amend` failed to tell, ``resolution`` holds its
    (still unknown) result.
    """

    resolution: Any = None


class ReadFailed(RequestOutcome):
    """A read got no usable answer (after its bounded retries). Nothing changed at the exchange."""


class AmendNotApplied(RequestOutcome):
    """Resolved: the order, read after an unknown outcome, does not show the amend.

    True as of the read only (``resolution.read_at``): a delayed request may still
    arrive until its signed timestamp leaves the exchange's window.
    """

    def __init__(self, reason: str, *, resolution: Any, **kwargs: Any) -> None:
        super().__init__(reason, **kwargs)
        self.resolution = resolution


class OrderClosed(RequestOutcome):
    """Resolved: the order is executed or canceled, so the amend no longer matters."""

    def __init__(self, reason: str, *, resolution: Any, **kwargs: Any) -> None:
        super().__init__(reason, **kwargs)
        self.resolution = resolution


def error_code_and_message(body: bytes | str | Any) -> tuple[str | None, str | None]:
    """Reads ``(code, message)`` out of any error body shape Kalshi sends.

    Nested ``{"error": {"code", "message", "details"}}``, flat ``{"code", "message"}``,
    bare ``{"msg": ...}`` and the rate limiter's ``{"error": "too many requests"}``;
    anything else (HTML, truncated JSON) gives a one-line preview as the message.
    ``body`` may be the raw bytes or an already decoded JSON value.
    """
    data: Any = body
    if isinstance(body, bytes | str):
        try:
            data = json.loads(body)
        except ValueError:
            return None, preview(body)
    if not isinstance(data, dict):
        return None, preview(json.dumps(data))
    error = data.get("error")
    if isinstance(error, dict):
        code, message, details = error.get("code"), error.get("message"), error.get("details")
    elif isinstance(error, str):
        code, message, details = None, error, None
    else:
        code, message, details = data.get("code"), data.get("message"), data.get("details")
        if message is None and isinstance(data.get("msg"), str):
            message = data["msg"]
    # Kalshi puts the precise cause of a 401 (INCORRECT_API_KEY_SIGNATURE) in details.
    if isinstance(details, str) and details and details not in str(message):
        message = f"{message} ({details})" if message else details
    return (
        code if isinstance(code, str) else None,
        message if isinstance(message, str) else None,
    )


def preview(body: bytes | str) -> str:
    """The first bytes of a body on one line, for messages."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = " ".join(text.split())
    return text if len(text) <= _BODY_PREVIEW else text[:_BODY_PREVIEW] + "..."
